//! Telemetry set-up: the OpenTelemetry tracer (exporting over OTLP only when an endpoint is
//! configured) and the log subscriber (text on a terminal, JSON lines otherwise, and OTLP log
//! records beside them where the spans go, unless `OTEL_LOGS_EXPORTER=none`).
//!
//! Every request gets a trace id, for its logs and its `x-trace-id` header, whether or not it
//! is traced. Which requests are traced is the sampler's choice (`OTEL_TRACES_SAMPLER`,
//! OpenTelemetry's default of every request when unset); with no OTLP endpoint nothing would
//! be sent, so unless a sampler is named, no request is traced and spans cost nothing (see
//! `request_trace`). `RUST_LOG=warn` thins the logs without taking spans out of
//! traces; inside a request that is not sampled there are no spans, for the logs either.

use super::access_line::AccessLineWriter;
use super::otlp::{self, OtlpError, OtlpSettings};
use super::otlp_logs::{logger_provider, otlp_logs};
use super::request_trace::{self, RequestIds, RequestTrace, TraceSampler};
use super::text_logs::text_logs;
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry::{Key, KeyValue};
use opentelemetry_otlp::SpanExporter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracerProvider};
use tracing::Level;
use tracing::Metadata;
use tracing::subscriber::Interest;
use tracing_subscriber::Registry;
use tracing_subscriber::filter::{LevelFilter, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::layer::{self, Layered};
use tracing_subscriber::registry::Scope;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// What the set-up needs to know, as plain values: it reads no configuration of its own
/// (beyond the variables the OpenTelemetry SDK, the OTLP specification and `RUST_LOG` define).
#[derive(Debug, Clone)]
pub struct TraceSettings {
    /// `service.name` on exported spans and log records.
    pub service_name: String,
    /// JSON lines rather than text for people.
    pub json_logs: bool,
    /// Where spans and log records are exported; nowhere unless an endpoint or Honeycomb is set.
    pub otlp: OtlpSettings,
    /// Log records are exported too, wherever spans would be (`OTEL_LOGS_EXPORTER=otlp`).
    pub export_logs: bool,
}

pub type TelemetryError = OtlpError;

/// Keeps the tracer and logger providers so shutdown can flush what is still buffered, and the
/// sampler the HTTP layer decides with.
pub struct Telemetry {
    provider: SdkTracerProvider,
    logs: Option<SdkLoggerProvider>,
    sampler: TraceSampler,
    exporting: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Installs the global subscriber and tracer. Call once, inside the tokio runtime (the gRPC
/// exporter needs it), before anything logs.
pub fn init(settings: &TraceSettings) -> Result<Telemetry, TelemetryError> {
    let exporter = otlp::span_exporter(&settings.otlp)?;
    let log_exporter =
        if settings.export_logs { otlp::log_exporter(&settings.otlp)? } else { None };
    let exporting = exporter.is_some();
    let sampler = configured_sampler(exporting);
    let resource = resource(&settings.service_name);
    let provider = tracer_provider(exporter, resource.clone(), sampler.clone());
    let logs = log_exporter.map(|exporter| logger_provider(exporter, resource));
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let levels = log_levels();
    let traces = trace_layer(&provider, levels.clone());
    let registry = registry(levels).with(traces);
    // Each combination its own subscriber type: with logs not exported, the subscriber is the
    // one it was before they could be, not one with an empty layer to skip on every event.
    match (settings.json_logs, &logs) {
        (true, None) => registry.with(json_logs(std::io::stdout)).init(),
        (true, Some(logs)) => registry.with(json_and_otlp_logs(std::io::stdout, logs)).init(),
        (false, None) => registry.with(text_logs(std::io::stdout)).init(),
        (false, Some(logs)) => {
            registry.with(text_logs(std::io::stdout)).with(otlp_logs(logs)).init()
        }
    }
    Ok(Telemetry { provider, logs, sampler, exporting })
}

/// The sampler `OTEL_TRACES_SAMPLER` (`_ARG`) names, as the SDK reads it; when none is named
/// and nothing is exported, one that samples nothing.
fn configured_sampler(exporting: bool) -> TraceSampler {
    if !exporting && env("OTEL_TRACES_SAMPLER").is_none() {
        return TraceSampler::never();
    }
    TraceSampler::from(opentelemetry_sdk::trace::Config::default().sampler)
}

impl Telemetry {
    pub fn exporting(&self) -> bool {
        self.exporting
    }

    /// Whether log records are exported over OTLP.
    pub fn exporting_logs(&self) -> bool {
        self.logs.is_some()
    }

    /// What decides which requests are traced; the HTTP router takes it.
    pub fn sampler(&self) -> TraceSampler {
        self.sampler.clone()
    }

    /// Flushes buffered spans and log records and stops the exporters. Blocks, so it runs off
    /// the async workers.
    pub async fn shutdown(self) {
        let (provider, logs) = (self.provider, self.logs);
        let flushed = tokio::task::spawn_blocking(move || {
            (provider.shutdown(), logs.map(|logs| logs.shutdown()))
        });
        match flushed.await {
            Ok((spans, logs)) => {
                if let Err(error) = spans {
                    tracing::warn!(%error, "could not flush the last spans");
                }
                if let Some(Err(error)) = logs {
                    // Written after the log exporter stopped: to stdout only.
                    tracing::warn!(%error, "could not flush the last log records");
                }
            }
            Err(error) => tracing::warn!(%error, "the span and log flush panicked"),
        }
    }
}

/// What the logs ask for, by target and level: `RUST_LOG` read as targets (without span-field
/// directives, which only the log filter itself understands: a `RUST_LOG` with them counts
/// as its most verbose level everywhere), or `info` when unset.
pub fn log_levels() -> Targets {
    let Some(rust_log) = env("RUST_LOG") else {
        return Targets::new().with_default(Level::INFO);
    };
    rust_log.parse().unwrap_or_else(|_| {
        Targets::new().with_default(log_filter().max_level_hint().unwrap_or(LevelFilter::INFO))
    })
}

/// The layer turning tracing spans into OpenTelemetry spans, configured for cost: spans at
/// INFO and above, plus deeper spans where `log_levels` asks for them, so
/// `RUST_LOG=snackdrawer=debug` adds detail where it names but `RUST_LOG=warn` takes none
/// away; no busy/idle timing, source locations or thread names; and only warnings and errors,
/// not every log line, become span events. It goes on `registry`. Public, like `registry` and
/// `json_logs`, so the instrumentation benchmark measures exactly what the binary runs.
pub fn trace_layer<S>(provider: &SdkTracerProvider, log_levels: Targets) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let spans = TracedSpans(log_levels);
    let spans_and_warnings = filter_fn(move |metadata| {
        if metadata.is_span() { spans.wants(metadata) } else { *metadata.level() <= Level::WARN }
    });
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("snackdrawer"))
        .with_tracked_inactivity(false)
        .with_location(false)
        .with_threads(false)
        .with_filter(spans_and_warnings)
}

/// The span registry every layer sits on, which opens no span inside a request that is not
/// sampled (`SampledRequestsOnly`): such a span would be built, tracked and dropped without
/// ever being exported. Those requests' JSON log lines still carry their trace and span ids
/// (`json_logs`), not the fields of spans around them; text log lines, which show the spans a
/// line was written in, show none. `log_levels` from `log_levels()`.
pub fn registry(log_levels: Targets) -> Layered<SampledRequestsOnly, Registry> {
    tracing_subscriber::registry().with(SampledRequestsOnly(TracedSpans(log_levels)))
}

/// Which spans are traced (INFO and above, and where the logs ask for more), and which events
/// anyone wants (warnings and errors become span events; the rest as the logs ask).
struct TracedSpans(Targets);

impl TracedSpans {
    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::INFO || self.0.would_enable(metadata.target(), metadata.level())
    }

    fn wants_event(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::WARN || self.0.would_enable(metadata.target(), metadata.level())
    }
}

/// A filter for the whole subscriber that keeps spans out of unsampled requests. A per-layer
/// filter could not: tracing-subscriber 0.3 creates a span that every per-layer filter refuses
/// (its registry refuses one only when all 64 filter slots do), and the log filter wants
/// INFO spans anyway. It sits directly on the registry, below the per-layer filters.
///
/// It must answer for every callsite, because an answer of "always" here turns a callsite
/// that every per-layer filter refuses into "sometimes", checked again on every call. So it
/// refuses outright what nobody wants: spans the trace layer would not take (statement spans
/// at TRACE, say) and events below both the trace layer's warnings and the log levels. A log
/// filter asking for more than `log_levels` expresses (span-field directives) gets at most that.
pub struct SampledRequestsOnly(TracedSpans);

impl<S: tracing::Subscriber> Layer<S> for SampledRequestsOnly {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.is_span() {
            if self.0.wants(metadata) { Interest::sometimes() } else { Interest::never() }
        } else if self.0.wants_event(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: layer::Context<'_, S>) -> bool {
        !metadata.is_span() || request_trace::recording()
    }
}

/// A real SDK tracer provider with no exporter, sampling with `sampler`.
pub fn local_tracer_provider(sampler: TraceSampler) -> SdkTracerProvider {
    tracer_provider(None, resource("snackdrawer"), sampler)
}

/// What spans and log records say about the process: its `service.name`, what
/// `OTEL_RESOURCE_ATTRIBUTES` adds (the SDK reads it), and a `service.instance.id` telling
/// replicas apart: a random UUID for each process unless that variable names one (a pod's
/// name, say).
fn resource(service_name: &str) -> Resource {
    let named = Resource::builder().with_service_name(service_name.to_owned()).build();
    if named.get(&Key::from_static_str(INSTANCE_ID)).is_some() {
        return named;
    }
    Resource::builder()
        .with_service_name(service_name.to_owned())
        .with_attribute(KeyValue::new(INSTANCE_ID, random_uuid()))
        .build()
}

const INSTANCE_ID: &str = "service.instance.id";

/// A version 4 UUID, as the conventions suggest for `service.instance.id`.
fn random_uuid() -> String {
    let mut bytes = RandomIdGenerator::default().new_trace_id().to_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

pub(super) fn log_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The SDK reads `OTEL_RESOURCE_ATTRIBUTES` itself. The sampler is the one requests are
/// decided with, and the id generator gives a request's root span its decided trace id.
fn tracer_provider(
    exporter: Option<SpanExporter>,
    resource: Resource,
    sampler: TraceSampler,
) -> SdkTracerProvider {
    let mut builder = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(sampler)
        .with_id_generator(RequestIds::default());
    if let Some(exporter) = exporter {
        builder = builder.with_batch_exporter(exporter);
    }
    builder.build()
}

/// JSON lines to `make_writer`, filtered by `RUST_LOG` (`info` when unset), with the event's
/// fields at the top level, the current span, and flat `trace_id` and `span_id` fields on
/// every line written inside a request: the OpenTelemetry span's ids when it is traced, the
/// request's own otherwise. Under the same filter sits the access line's writer
/// (`AccessLineWriter`), through which a request that is not traced writes that line itself,
/// in this layer's format, at a fraction of the cost.
pub fn json_logs<S, W>(make_writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'lookup> tracing_subscriber::registry::LookupSpan<'lookup>,
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Clone + Send + Sync + 'static,
{
    let access_lines = AccessLineWriter::new(make_writer.clone());
    json_lines(make_writer).and_then(access_lines).with_filter(log_filter())
}

/// JSON lines to `make_writer` as `json_logs` writes them, and the same lines as OTLP log
/// records to `provider`. Without the access line's writer: the OTLP layer needs every access
/// line as an event, so with logs exported the JSON layer writes them all.
pub fn json_and_otlp_logs<S, W>(make_writer: W, provider: &SdkLoggerProvider) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'lookup> tracing_subscriber::registry::LookupSpan<'lookup>,
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Clone + Send + Sync + 'static,
{
    json_lines(make_writer).with_filter(log_filter()).and_then(otlp_logs(provider))
}

/// The JSON log layer alone, unfiltered. Without the access line's writer beside it, every
/// access line is a tracing event, which other layers (OTLP logs) see too.
fn json_lines<S, W>(make_writer: W) -> json_subscriber::JsonLayer<S, W>
where
    S: tracing::Subscriber + for<'lookup> tracing_subscriber::registry::LookupSpan<'lookup>,
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Clone + Send + Sync + 'static,
{
    let mut layer = json_subscriber::JsonLayer::new(make_writer);
    layer.with_timer("timestamp", tracing_subscriber::fmt::time::SystemTime);
    layer.with_level("level");
    layer.with_target("target");
    layer.with_flattened_event();
    layer.with_current_span("span");
    layer.add_multiple_dynamic_fields(|event, ctx, writer| {
        if let Some((trace_id, span_id)) = line_ids(ctx.event_scope(event)) {
            let _ = writer.write_field("trace_id", trace_id.to_string());
            let _ = writer.write_field("span_id", span_id.to_string());
        }
    });
    layer
}

/// The trace and span ids of a log line whose spans (innermost first) are `spans`: those of
/// the nearest OpenTelemetry span if the request is traced, the request's own otherwise; none
/// outside a request.
pub(super) fn line_ids<'a, R>(spans: Option<Scope<'a, R>>) -> Option<(TraceId, SpanId)>
where
    R: tracing_subscriber::registry::LookupSpan<'a>,
{
    let traced = spans.and_then(|mut spans| {
        spans.find_map(|span| {
            let extensions = span.extensions();
            let otel = extensions.get::<tracing_opentelemetry::OtelData>()?;
            // A span continuing a remote trace takes its trace id from the parent context.
            let trace_id = match otel.parent_cx.span().span_context().trace_id() {
                TraceId::INVALID => otel.builder.trace_id?,
                remote => remote,
            };
            Some((trace_id, otel.builder.span_id?))
        })
    });
    traced.or_else(|| RequestTrace::current().map(|trace| (trace.trace_id, trace.span_id)))
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
