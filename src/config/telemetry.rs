//! The telemetry section: where traces and logs are exported (OTLP, or Honeycomb with one
//! key), the service's name on them and on every metric, and the log format.

use super::values::Setting;
use crate::telemetry::honeycomb::{self, Honeycomb, HoneycombKey};
use crate::telemetry::{OtlpSettings, TraceSettings, metrics};
use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Telemetry")]
pub struct TelemetrySettings {
    /// OTLP endpoint to export traces and logs to, e.g. http://localhost:4318 (HTTP) or
    /// http://localhost:4317 (gRPC). Unset: nothing is exported (unless HONEYCOMB_API_KEY).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otel_exporter_otlp_endpoint: Option<String>,

    /// OTLP transport: `http/protobuf` or `grpc`.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_PROTOCOL", default_value = "http/protobuf",
          value_parser = ["http/protobuf", "grpc"])]
    pub otel_exporter_otlp_protocol: String,

    /// Extra headers on every export, `key=value,key2=value2` (values URL-encoded), e.g. an
    /// API key such as `x-honeycomb-team=…`.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_HEADERS", hide_env_values = true)]
    pub otel_exporter_otlp_headers: Option<String>,

    /// A PEM file of the certificate authorities to trust for an https OTLP endpoint,
    /// instead of the system's (a private CA). Unset: the system's roots.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_CERTIFICATE")]
    pub otel_exporter_otlp_certificate: Option<PathBuf>,

    /// Where log records go besides stdout: `otlp` (where spans go, when an endpoint is set)
    /// or `none`.
    #[arg(long, env = "OTEL_LOGS_EXPORTER", default_value = "otlp",
          value_parser = ["otlp", "none"])]
    pub otel_logs_exporter: String,

    /// A Honeycomb API key: with no OTLP endpoint set, traces and logs go to Honeycomb
    /// (HONEYCOMB_API_ENDPOINT) with this key. Never printed.
    #[arg(long, env = "HONEYCOMB_API_KEY", hide_env_values = true,
          value_parser = Setting::secret(HoneycombKey::parse))]
    pub honeycomb_api_key: Option<HoneycombKey>,

    /// Honeycomb's OTLP endpoint, e.g. https://api.eu1.honeycomb.io for the EU region.
    #[arg(long, env = "HONEYCOMB_API_ENDPOINT", default_value = honeycomb::DEFAULT_ENDPOINT)]
    pub honeycomb_api_endpoint: String,

    /// The dataset for a classic Honeycomb key (32 hex digits). Default: the service's name.
    #[arg(long, env = "HONEYCOMB_DATASET")]
    pub honeycomb_dataset: Option<String>,

    /// The service's name on exported spans and on every metric series (`service_name`),
    /// unless AUTOMETRICS_SERVICE_NAME gives one. Default: snackdrawer.
    #[arg(long, env = "OTEL_SERVICE_NAME")]
    pub otel_service_name: Option<String>,

    /// The service's name on metrics and spans; wins over OTEL_SERVICE_NAME.
    #[arg(long, env = "AUTOMETRICS_SERVICE_NAME")]
    pub autometrics_service_name: Option<String>,

    /// Where the code lives, for the `repository_url` label of `build_info`.
    #[arg(long, env = "AUTOMETRICS_REPOSITORY_URL")]
    pub autometrics_repository_url: Option<String>,

    /// The code host (`github`, `gitlab`…) for `build_info`; derived from the repository URL
    /// when unset.
    #[arg(long, env = "AUTOMETRICS_REPOSITORY_PROVIDER")]
    pub autometrics_repository_provider: Option<String>,

    /// Log format: `text` for people, `json` for machines, `auto` picks text on a terminal.
    #[arg(long, env = "SNACKDRAWER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Auto,
    Text,
    Json,
}

/// The service's name when neither AUTOMETRICS_SERVICE_NAME nor OTEL_SERVICE_NAME gives one.
pub const DEFAULT_SERVICE_NAME: &str = "snackdrawer";

impl TelemetrySettings {
    /// AUTOMETRICS_SERVICE_NAME, else OTEL_SERVICE_NAME, else `snackdrawer`: the one name on
    /// metrics and spans alike.
    pub fn service_name(&self) -> &str {
        [&self.autometrics_service_name, &self.otel_service_name]
            .into_iter()
            .flatten()
            .find(|name| !name.is_empty())
            .map_or(DEFAULT_SERVICE_NAME, String::as_str)
    }

    /// Whether logs are JSON lines: asked for, or `auto` with stdout not a terminal.
    pub fn json_logs(&self) -> bool {
        match self.log_format {
            LogFormat::Json => true,
            LogFormat::Text => false,
            LogFormat::Auto => !std::io::stdout().is_terminal(),
        }
    }

    /// How logs are written and where traces and logs are exported.
    pub fn trace_settings(&self) -> TraceSettings {
        let honeycomb = self.honeycomb_api_key.clone().map(|key| Honeycomb {
            key,
            endpoint: Some(self.honeycomb_api_endpoint.clone())
                .filter(|endpoint| !endpoint.is_empty())
                .unwrap_or_else(|| honeycomb::DEFAULT_ENDPOINT.to_owned()),
            dataset: self.honeycomb_dataset.clone(),
        });
        TraceSettings {
            service_name: self.service_name().to_owned(),
            json_logs: self.json_logs(),
            otlp: OtlpSettings {
                endpoint: self.otel_exporter_otlp_endpoint.clone(),
                grpc: self.otel_exporter_otlp_protocol == "grpc",
                headers: self.otel_exporter_otlp_headers.clone(),
                certificate: self.otel_exporter_otlp_certificate.clone(),
                honeycomb,
                service_name: self.service_name().to_owned(),
            },
            export_logs: self.otel_logs_exporter == "otlp",
        }
    }

    /// The labels of `build_info` and every metric series.
    pub fn metrics_identity(&self) -> metrics::Identity {
        metrics::Identity {
            service_name: self.service_name().to_owned(),
            repository_url: self.autometrics_repository_url.clone().unwrap_or_default(),
            repository_provider: self.autometrics_repository_provider.clone().unwrap_or_default(),
        }
    }
}
