//! Telemetry set-up: the OpenTelemetry tracer (exporting over OTLP only when an endpoint is
//! configured) and the log subscriber (text on a terminal, JSON lines otherwise).
//!
//! The tracer provider is a real SDK provider even without an exporter, so every request gets
//! a trace id for its logs, its `x-trace-id` header and the metrics' exemplars. Logs and traces
//! are filtered separately: `RUST_LOG=warn` thins the logs without switching tracing off.

use crate::config::LogFormat;
use opentelemetry::trace::{TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal;
use tracing_subscriber::filter::{FilterExt, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The service name on spans when `OTEL_SERVICE_NAME` does not give one.
pub const DEFAULT_SERVICE_NAME: &str = "snackdrawer";

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("unsupported OTEL_EXPORTER_OTLP_PROTOCOL {0:?}: use grpc or http/protobuf")]
    Protocol(String),
    #[error("cannot build the OTLP exporter")]
    Exporter(#[source] opentelemetry_otlp::ExporterBuildError),
}

/// Keeps the tracer provider so shutdown can flush the spans still buffered.
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Installs the global subscriber and tracer. Call once, inside the tokio runtime (the gRPC
/// exporter needs it), before anything logs.
pub fn init(format: LogFormat) -> Result<Telemetry, TelemetryError> {
    let exporter = span_exporter_from_env()?;
    let exporting = exporter.is_some();
    let provider = tracer_provider(exporter);
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("snackdrawer"))
        .with_filter(LevelFilter::INFO.or(log_filter()));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let registry = tracing_subscriber::registry().with(traces);
    if json {
        registry.with(json_logs().with_filter(log_filter())).init();
    } else {
        registry.with(tracing_subscriber::fmt::layer().with_filter(log_filter())).init();
    }
    Ok(Telemetry { provider, exporting })
}

impl Telemetry {
    pub fn exporting(&self) -> bool {
        self.exporting
    }

    /// Flushes buffered spans and stops the exporter. Blocks, so it runs off the async workers.
    pub async fn shutdown(self) {
        let provider = self.provider;
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "could not flush the last spans"),
            Err(error) => tracing::warn!(%error, "the span flush panicked"),
        }
    }
}

fn log_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Tracing export is on exactly when an OTLP endpoint is configured. The exporter reads the
/// endpoint, headers, timeout and compression variables itself; the protocol is ours to read.
fn span_exporter_from_env() -> Result<Option<SpanExporter>, TelemetryError> {
    if env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none()
        && env("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
    {
        return Ok(None);
    }
    let protocol = env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_else(|| "http/protobuf".to_owned());
    let exporter = match protocol.as_str() {
        "grpc" => SpanExporter::builder().with_tonic().build(),
        "http/protobuf" => {
            SpanExporter::builder().with_http().with_protocol(Protocol::HttpBinary).build()
        }
        other => return Err(TelemetryError::Protocol(other.to_owned())),
    };
    exporter.map(Some).map_err(TelemetryError::Exporter)
}

/// The SDK reads `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_TRACES_SAMPLER`
/// (`_ARG`) itself; the service name defaults to `snackdrawer` here.
fn tracer_provider(exporter: Option<SpanExporter>) -> SdkTracerProvider {
    let mut resource = Resource::builder();
    if env("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(DEFAULT_SERVICE_NAME);
    }
    let mut builder = SdkTracerProvider::builder().with_resource(resource.build());
    if let Some(exporter) = exporter {
        builder = builder.with_batch_exporter(exporter);
    }
    builder.build()
}

/// JSON lines with the event's fields at the top level, the current span, and flat `trace_id`
/// and `span_id` fields on every line written inside a traced span.
fn json_logs<S>() -> json_subscriber::JsonLayer<S, fn() -> std::io::Stdout>
where
    S: tracing::Subscriber + for<'lookup> tracing_subscriber::registry::LookupSpan<'lookup>,
{
    let mut layer = json_subscriber::JsonLayer::stdout();
    layer.with_timer("timestamp", tracing_subscriber::fmt::time::SystemTime);
    layer.with_level("level");
    layer.with_target("target");
    layer.with_flattened_event();
    layer.with_current_span("span");
    layer.add_multiple_dynamic_fields(|event, ctx, writer| {
        let Some(span) = ctx.event_span(event) else { return };
        let extensions = span.extensions();
        let Some(otel) = extensions.get::<tracing_opentelemetry::OtelData>() else { return };
        // A span continuing a remote trace takes its trace id from the parent context.
        let trace_id = match otel.parent_cx.span().span_context().trace_id() {
            TraceId::INVALID => otel.builder.trace_id,
            remote => Some(remote),
        };
        if let Some(trace_id) = trace_id {
            let _ = writer.write_field("trace_id", trace_id.to_string());
        }
        if let Some(span_id) = otel.builder.span_id {
            let _ = writer.write_field("span_id", span_id.to_string());
        }
    });
    layer
}

/// "outer: inner: innermost", so one log field shows an error down to its root cause.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
