//! Metrics: one Prometheus registry for the whole process, holding the HTTP families recorded
//! by the router's middleware and the function-call families (in the autometrics format,
//! `calls.rs`) recorded by the port decorators. It is made on first use; `init` makes it at
//! start so `/metrics` is complete before the first request.
//!
//! Exemplars carry the trace id of the request being served, which the HTTP middleware puts
//! in a task-local (`in_request_trace`): reading it is far cheaper than asking the tracing
//! subscriber for the current span's OpenTelemetry context on every call.

mod calls;
mod exposition;

pub use calls::{CallOutcome, record_api_request, record_call, record_call_sync};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::future::Future;
use std::sync::OnceLock;

/// Latency buckets for every histogram: fine-grained under 100 ms, where a healthy service
/// lives, and reaching 10 s so the injected delays of lazy mode stay visible. 0.25 s is the
/// API latency objective's threshold and must stay a boundary.
pub const LATENCY_BUCKETS: [f64; 15] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0];

/// Labels of the HTTP histogram, named after the OpenTelemetry HTTP conventions.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    http_route: String,
    http_request_method: &'static str,
    http_response_status_code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    http_request_method: &'static str,
}

/// The exemplar attached to a sample: the trace of a request that landed in it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TraceExemplar {
    trace_id: String,
}

tokio::task_local! {
    static REQUEST_TRACE: Option<String>;
}

/// Runs `request` with `trace_id` as the exemplar of every call measured inside it.
pub async fn in_request_trace<F: Future>(trace_id: Option<String>, request: F) -> F::Output {
    REQUEST_TRACE.scope(trace_id, request).await
}

fn current_trace_id() -> Option<String> {
    REQUEST_TRACE.try_with(Clone::clone).ok().flatten()
}

struct HttpFamilies {
    registry: Registry,
    duration: Family<RequestLabels, HistogramWithExemplars<TraceExemplar>>,
    active: Family<MethodLabel, Gauge>,
}

static HTTP: OnceLock<HttpFamilies> = OnceLock::new();

/// Registers the HTTP families and the function-call families.
fn http() -> &'static HttpFamilies {
    HTTP.get_or_init(|| {
        let mut registry = Registry::default();
        let duration = Family::<_, HistogramWithExemplars<_>>::new_with_constructor(|| {
            HistogramWithExemplars::new(LATENCY_BUCKETS.into_iter())
        });
        registry.register_with_unit(
            "http_server_request_duration",
            "Duration of HTTP requests, by route template, method and status code",
            Unit::Seconds,
            duration.clone(),
        );
        let active = Family::<MethodLabel, Gauge>::default();
        registry.register(
            "http_server_active_requests",
            "HTTP requests being served right now",
            active.clone(),
        );
        calls::register(&mut registry);
        HttpFamilies { registry, duration, active }
    })
}

/// Prepares the registry and the build information series; call at start so `/metrics` is
/// complete before the first request.
pub fn init() {
    http();
}

/// The methods HTTP defines; anything else is reported as `_OTHER` so a client cannot mint
/// label values (the OpenTelemetry convention).
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] =
        ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"];
    KNOWN.into_iter().find(|known| *known == method).unwrap_or("_OTHER")
}

/// Counts a request as in flight until the returned guard is dropped, which also happens
/// when the client hangs up and the request is abandoned.
pub fn request_started(method: &'static str) -> InFlight {
    let gauge = http().active.get_or_create(&MethodLabel { http_request_method: method }).clone();
    gauge.inc();
    InFlight(gauge)
}

pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Records a finished request; the request's trace id becomes the bucket's exemplar.
pub fn request_finished(route: &str, method: &'static str, status: u16, seconds: f64) {
    let labels = RequestLabels {
        http_route: route.to_owned(),
        http_request_method: method,
        http_response_status_code: status,
    };
    http()
        .duration
        .get_or_create(&labels)
        .observe(seconds, current_trace_id().map(|trace_id| TraceExemplar { trace_id }));
}

/// The exposition formats `/metrics` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The classic Prometheus text format (0.0.4): what curl and most tools expect.
    Prometheus,
    /// OpenMetrics 1.0 text, which carries exemplars.
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Every metric of the process, in `format`.
pub fn render(format: Format) -> String {
    let mut openmetrics = String::new();
    encode(&mut openmetrics, &http().registry).expect("writing to a String cannot fail");
    match format {
        Format::OpenMetrics => openmetrics,
        Format::Prometheus => exposition::openmetrics_to_prometheus(&openmetrics),
    }
}
