//! Where each signal (traces, logs) is exported over OTLP, and the exporters that send it:
//! endpoint, protocol, headers and TLS, resolved per signal as the OpenTelemetry specification
//! lays out (`OTEL_EXPORTER_OTLP_<SIGNAL>_*` over `OTEL_EXPORTER_OTLP_*`), with Honeycomb as
//! the last default.
//!
//! Why resolved here rather than left to the SDK: the SDK picks neither the protocol nor the
//! TLS roots from the environment, and one place deciding for both signals keeps traces and
//! logs going to the same place unless told otherwise. The SDK still reads the timeout,
//! compression and per-signal header variables itself.

use super::honeycomb::Honeycomb;
use opentelemetry_otlp::{
    LogExporter, Protocol, SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use percent_encoding::percent_decode_str;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// The OTLP settings common to every signal, from flags or variables.
#[derive(Debug, Clone, Default)]
pub struct OtlpSettings {
    /// The collector (`OTEL_EXPORTER_OTLP_ENDPOINT`); `None` exports nothing unless a signal's
    /// own endpoint or Honeycomb is set.
    pub endpoint: Option<String>,
    /// OTLP over gRPC rather than HTTP/protobuf.
    pub grpc: bool,
    /// `key=value,key2=value2`, values URL-encoded, sent with every export.
    pub headers: Option<String>,
    /// A PEM file of the certificate authorities to trust instead of the system's.
    pub certificate: Option<PathBuf>,
    /// Honeycomb, when `HONEYCOMB_API_KEY` is set.
    pub honeycomb: Option<Honeycomb>,
    /// For a classic Honeycomb key's dataset.
    pub service_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    #[error("OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas")]
    Headers,
    #[error("{0} must be http/protobuf or grpc")]
    Protocol(String),
    #[error("cannot read the OTLP certificate file {}", .0.display())]
    CertificateFile(PathBuf, #[source] std::io::Error),
    #[error("the OTLP certificate file {} holds no PEM certificate", .0.display())]
    Certificate(PathBuf),
    #[error("cannot build the OTLP exporter")]
    Exporter(#[source] opentelemetry_otlp::ExporterBuildError),
}

/// A signal exported over OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Logs,
}

impl Signal {
    /// `TRACES` in `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
    fn variable(self, setting: &str) -> String {
        let signal = match self {
            Self::Traces => "TRACES",
            Self::Logs => "LOGS",
        };
        format!("OTEL_EXPORTER_OTLP_{signal}_{setting}")
    }

    /// What OTLP/HTTP appends to a collector's address for this signal.
    fn path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Logs => "/v1/logs",
        }
    }
}

/// Where one signal goes, and how.
#[derive(Debug, PartialEq)]
struct Destination {
    /// The whole URL for HTTP, the server's address for gRPC.
    endpoint: String,
    grpc: bool,
    headers: HashMap<String, String>,
    /// PEM certificate authorities to trust instead of the system's, for an `https` endpoint.
    certificate: Option<Vec<u8>>,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`, in milliseconds.
    timeout: Duration,
}

/// Where `signal` is exported, or `None` when nowhere: the signal's own endpoint as it is, else
/// the collector's with the signal's path (HTTP) or as it is (gRPC), else Honeycomb's when its
/// key is set, with its headers. `env` reads a variable.
fn destination(
    settings: &OtlpSettings,
    signal: Signal,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Destination>, OtlpError> {
    let protocol_variable = signal.variable("PROTOCOL");
    let grpc = match env(&protocol_variable).as_deref() {
        None => settings.grpc,
        Some("grpc") => true,
        Some("http/protobuf") => false,
        Some(_) => return Err(OtlpError::Protocol(protocol_variable)),
    };
    let with_path = |base: &str| match grpc {
        true => base.to_owned(),
        false => format!("{}{}", base.trim_end_matches('/'), signal.path()),
    };
    let collector = settings.endpoint.as_deref().filter(|endpoint| !endpoint.is_empty());
    let mut headers = HashMap::new();
    let endpoint = if let Some(endpoint) = env(&signal.variable("ENDPOINT")) {
        endpoint
    } else if let Some(collector) = collector {
        with_path(collector)
    } else if let Some(honeycomb) = &settings.honeycomb {
        headers.extend(honeycomb.headers(&settings.service_name));
        with_path(&honeycomb.endpoint)
    } else {
        return Ok(None);
    };
    // Headers set explicitly win over Honeycomb's.
    headers.extend(parse_headers(settings.headers.as_deref().unwrap_or(""))?);
    let certificate = match env(&signal.variable("CERTIFICATE")).map(PathBuf::from) {
        Some(path) => Some(path),
        None => settings.certificate.clone(),
    };
    let certificate = certificate.map(read_certificate).transpose()?;
    let timeout = env(&signal.variable("TIMEOUT"))
        .or_else(|| env("OTEL_EXPORTER_OTLP_TIMEOUT"))
        .and_then(|millis| millis.parse().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis);
    Ok(Some(Destination { endpoint, grpc, headers, certificate, timeout }))
}

/// The file's PEM, checked to hold at least one certificate, so a wrong file stops the start
/// rather than every export.
fn read_certificate(path: PathBuf) -> Result<Vec<u8>, OtlpError> {
    let pem =
        std::fs::read(&path).map_err(|error| OtlpError::CertificateFile(path.clone(), error))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certificates) if !certificates.is_empty() => Ok(pem),
        _ => Err(OtlpError::Certificate(path)),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The span exporter, or `None` when traces go nowhere.
pub fn span_exporter(settings: &OtlpSettings) -> Result<Option<SpanExporter>, OtlpError> {
    let Some(destination) = destination(settings, Signal::Traces, &env)? else {
        return Ok(None);
    };
    let exporter = if destination.grpc {
        grpc(SpanExporter::builder().with_tonic(), &destination)?.build()
    } else {
        http(SpanExporter::builder().with_http(), &destination)?.build()
    };
    exporter.map(Some).map_err(OtlpError::Exporter)
}

/// The log record exporter, or `None` when logs go nowhere.
pub fn log_exporter(settings: &OtlpSettings) -> Result<Option<LogExporter>, OtlpError> {
    let Some(destination) = destination(settings, Signal::Logs, &env)? else {
        return Ok(None);
    };
    let exporter = if destination.grpc {
        grpc(LogExporter::builder().with_tonic(), &destination)?.build()
    } else {
        http(LogExporter::builder().with_http(), &destination)?.build()
    };
    exporter.map(Some).map_err(OtlpError::Exporter)
}

/// Whether `destination` is reached over TLS; if so, rustls has its process-wide provider. A
/// build of the whole workspace gives rustls both ring (ours) and aws-lc-rs (the load
/// generator's), and then rustls will not pick one by itself.
fn is_tls(destination: &Destination) -> bool {
    let tls = destination.endpoint.starts_with("https://");
    if tls {
        // An error only says a provider is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    tls
}

/// An exporter over gRPC to `destination`. tonic trusts the system's roots for an `https`
/// endpoint by itself; a certificate file replaces them.
fn grpc<B: WithExportConfig + WithTonicConfig>(
    builder: B,
    destination: &Destination,
) -> Result<B, OtlpError> {
    let headers =
        axum::http::HeaderMap::try_from(&destination.headers).map_err(|_| OtlpError::Headers)?;
    let mut builder = builder
        .with_endpoint(destination.endpoint.clone())
        .with_timeout(destination.timeout)
        .with_metadata(tonic::metadata::MetadataMap::from_headers(headers));
    if let (Some(pem), true) = (&destination.certificate, is_tls(destination)) {
        let roots = tonic::transport::Certificate::from_pem(pem);
        builder =
            builder.with_tls_config(tonic::transport::ClientTlsConfig::new().ca_certificate(roots));
    }
    Ok(builder)
}

/// An exporter over HTTP/protobuf to `destination`. The SDK's client trusts the system's roots;
/// with a certificate file, a client of our own trusts that file's authorities alone.
fn http<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    destination: &Destination,
) -> Result<B, OtlpError> {
    let mut builder = builder
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(destination.endpoint.clone())
        .with_timeout(destination.timeout)
        .with_headers(destination.headers.clone());
    if let (Some(pem), true) = (&destination.certificate, is_tls(destination)) {
        builder = builder.with_http_client(http_client(pem, destination.timeout)?);
    }
    Ok(builder)
}

/// A blocking client (the batch processors export from threads of their own) trusting only
/// the certificate authorities in `pem`. Built on a thread of its own, as the SDK does: a
/// blocking client may not be built inside the async runtime.
fn http_client(pem: &[u8], timeout: Duration) -> Result<reqwest::blocking::Client, OtlpError> {
    let pem = pem.to_vec();
    let build = move || {
        let mut builder =
            reqwest::blocking::Client::builder().timeout(timeout).tls_built_in_root_certs(false);
        for certificate in reqwest::Certificate::from_pem_bundle(&pem)? {
            builder = builder.add_root_certificate(certificate);
        }
        builder.build()
    };
    let built = std::thread::spawn(build).join().expect("building an HTTP client does not panic");
    built.map_err(|error| {
        OtlpError::Exporter(opentelemetry_otlp::ExporterBuildError::InternalFailure(
            error.to_string(),
        ))
    })
}

/// `key=value,key2=value2`, values URL-encoded, as the OpenTelemetry specification writes them.
fn parse_headers(raw: &str) -> Result<HashMap<String, String>, OtlpError> {
    raw.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').ok_or(OtlpError::Headers)?;
            let value =
                percent_decode_str(value.trim()).decode_utf8().map_err(|_| OtlpError::Headers)?;
            Ok((key.trim().to_owned(), value.into_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::honeycomb::{self, HoneycombKey};

    #[test]
    fn headers_are_pairs_with_url_encoded_values() {
        let headers = parse_headers("x-honeycomb-team=abc, authorization=Bearer%20t0k").unwrap();
        assert_eq!(headers["x-honeycomb-team"], "abc");
        assert_eq!(headers["authorization"], "Bearer t0k");
        assert!(parse_headers("").unwrap().is_empty());
        assert!(parse_headers("no-equals-sign").is_err());
    }

    fn honeycomb() -> Honeycomb {
        Honeycomb {
            key: HoneycombKey::parse("environment-key").unwrap(),
            endpoint: honeycomb::DEFAULT_ENDPOINT.to_owned(),
            dataset: None,
        }
    }

    /// Endpoint, gRPC or not, and headers, sorted.
    type Resolved = (String, bool, Vec<(String, String)>);

    /// Where `signal` goes with `settings` and the variables `vars`.
    fn resolved(
        settings: &OtlpSettings,
        signal: Signal,
        vars: &[(&str, &str)],
    ) -> Option<Resolved> {
        let env = |name: &str| {
            vars.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
        };
        let destination = destination(settings, signal, &env).unwrap()?;
        let mut headers: Vec<_> = destination.headers.into_iter().collect();
        headers.sort();
        Some((destination.endpoint, destination.grpc, headers))
    }

    fn team(key: &str) -> Vec<(String, String)> {
        vec![("x-honeycomb-team".to_owned(), key.to_owned())]
    }

    #[test]
    fn each_signal_goes_to_its_own_endpoint_else_the_collector_s_path() {
        let nowhere = OtlpSettings::default();
        assert_eq!(resolved(&nowhere, Signal::Logs, &[]), None);
        let logs_only = [("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:4318/custom")];
        assert_eq!(
            resolved(&nowhere, Signal::Logs, &logs_only),
            Some(("http://logs:4318/custom".to_owned(), false, vec![]))
        );
        assert_eq!(resolved(&nowhere, Signal::Traces, &logs_only), None);

        let collector =
            OtlpSettings { endpoint: Some("http://collector:4318/".to_owned()), ..nowhere };
        let (endpoint, grpc, _) = resolved(&collector, Signal::Logs, &[]).unwrap();
        assert_eq!((endpoint.as_str(), grpc), ("http://collector:4318/v1/logs", false));
        let grpc_logs = [("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc")];
        let (endpoint, grpc, _) = resolved(&collector, Signal::Logs, &grpc_logs).unwrap();
        assert_eq!((endpoint.as_str(), grpc), ("http://collector:4318/", true));
        let (_, grpc, _) = resolved(&collector, Signal::Traces, &grpc_logs).unwrap();
        assert!(!grpc, "the logs' protocol is theirs alone");
        let env = |_: &str| Some("http/json".to_owned());
        assert!(destination(&collector, Signal::Traces, &env).is_err());
    }

    #[test]
    fn honeycomb_is_the_default_that_explicit_settings_override() {
        let settings = OtlpSettings {
            honeycomb: Some(honeycomb()),
            service_name: "snackdrawer".to_owned(),
            ..OtlpSettings::default()
        };
        assert_eq!(
            resolved(&settings, Signal::Traces, &[]),
            Some(("https://api.honeycomb.io/v1/traces".to_owned(), false, team("environment-key")))
        );
        let grpc = OtlpSettings { grpc: true, ..settings.clone() };
        let (endpoint, _, _) = resolved(&grpc, Signal::Logs, &[]).unwrap();
        assert_eq!(endpoint, "https://api.honeycomb.io");

        // An explicit header replaces Honeycomb's; an explicit endpoint gets no Honeycomb key.
        let headers =
            OtlpSettings { headers: Some("x-honeycomb-team=other".to_owned()), ..settings.clone() };
        assert_eq!(resolved(&headers, Signal::Logs, &[]).unwrap().2, team("other"));
        let collector =
            OtlpSettings { endpoint: Some("http://collector:4318".to_owned()), ..settings.clone() };
        assert_eq!(
            resolved(&collector, Signal::Traces, &[]),
            Some(("http://collector:4318/v1/traces".to_owned(), false, vec![]))
        );
        let own = [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/v1/traces")];
        assert_eq!(resolved(&settings, Signal::Traces, &own).unwrap().2, vec![]);
        assert_eq!(resolved(&settings, Signal::Logs, &own).unwrap().2, team("environment-key"));
    }
}
