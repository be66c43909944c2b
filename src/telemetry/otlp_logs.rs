//! Log lines as OTLP log records, beside stdout: the `opentelemetry-appender-tracing` bridge
//! turns each event the logs let through into a record (the message as its body, the event's
//! fields as attributes, the level as severity, the target as scope), and a processor gives it
//! the trace and span ids of the request it was written in before the batch exporter takes it.
//!
//! Why a processor for the ids: the bridge finds them only on a traced request's spans; a
//! request that is not sampled has no spans, yet its JSON lines carry its ids, so its records
//! should too. Records are exported in batches from a thread of the SDK's; a record costs the
//! request its building and a place in the queue (docs/measuring.md).

use super::request_trace::RequestTrace;
use super::setup::log_filter;
use opentelemetry::InstrumentationScope;
use opentelemetry::logs::LogRecord as _;
use opentelemetry::trace::TraceFlags;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{
    BatchLogProcessor, LogExporter, LogProcessor, SdkLogRecord, SdkLoggerProvider,
};
use std::time::Duration;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::registry::LookupSpan;

/// A logger provider exporting through `exporter` in batches, with the traces' `resource`.
pub fn logger_provider(
    exporter: impl LogExporter + 'static,
    resource: Resource,
) -> SdkLoggerProvider {
    let batches = BatchLogProcessor::builder(exporter).build();
    SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_log_processor(WithRequestIds(batches))
        .build()
}

/// The layer sending log lines to `provider`, filtered by `RUST_LOG` (`info` when unset) as
/// the stdout lines are, less the exporting libraries' own lines, which would otherwise be
/// exported in turn (a failing export logging its failure, exported, failing…).
pub fn otlp_logs<S>(provider: &SdkLoggerProvider) -> impl Layer<S>
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    let not_the_exporters = filter_fn(|metadata| {
        let target = metadata.target();
        !["opentelemetry", "hyper", "h2", "tonic", "tower", "reqwest", "rustls"]
            .iter()
            .any(|library| target.starts_with(library))
    });
    OpenTelemetryTracingBridge::new(provider).with_filter(log_filter().and(not_the_exporters))
}

/// Gives a record written inside a request that is not traced (no span, so the bridge found no
/// ids) the request's trace and span ids, as its JSON line carries them.
#[derive(Debug)]
struct WithRequestIds<P>(P);

impl<P: LogProcessor> LogProcessor for WithRequestIds<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if record.trace_context().is_none()
            && let Some(trace) = RequestTrace::current()
        {
            let flags = if trace.sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
            record.set_trace_context(trace.trace_id, trace.span_id, Some(flags));
        }
        self.0.emit(record, scope);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.0.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}
