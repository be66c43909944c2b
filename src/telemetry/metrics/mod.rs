//! Metrics: one Prometheus registry for the whole process, holding the HTTP families recorded
//! by the router's middleware and the function-call families (in the autometrics format,
//! `calls.rs`) recorded by the port decorators. It is made on first use; `init` makes it at
//! start so `/metrics` is complete before the first request.
//!
//! Exemplars carry the trace id of the request being served when that request is sampled,
//! read from the task-local the HTTP middleware keeps (`request_trace`): far cheaper than
//! asking the tracing subscriber for the current span's OpenTelemetry context on every call.
//! It is kept as 16 bytes and written out in hex only when `/metrics` is rendered.
//!
//! Everything a request or a call records into is resolved once and kept (`RouteMetrics` per
//! route and method, `Function` per port method): a port call looks nothing up, a request
//! looks its route up once, and neither builds a label set or allocates.

mod calls;
mod exposition;
pub mod faults;
mod pool;
mod process;

pub use calls::{CallOutcome, Function, Identity, record_call, record_call_sync};
pub use pool::watch_pool;

use super::request_trace::RequestTrace;
use opentelemetry::trace::TraceId;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

/// Latency buckets for every histogram: fine-grained under 100 ms, where a healthy service
/// lives, and reaching 10 s so the injected delays of lazy mode stay visible. 0.25 s is the
/// API latency objective's threshold and must stay a boundary.
pub const LATENCY_BUCKETS: [f64; 15] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0];

/// Labels of the HTTP histogram, named after the OpenTelemetry HTTP conventions.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    http_route: &'static str,
    http_request_method: &'static str,
    http_response_status_code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    http_request_method: &'static str,
}

/// The exemplar attached to a sample: the trace of a request that landed in it.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TraceExemplar {
    trace_id: HexTraceId,
}

/// Written as the 32 lowercase hex digits trace viewers search for.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct HexTraceId([u8; 16]);

impl EncodeLabelValue for HexTraceId {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        self.0.iter().try_for_each(|byte| write!(encoder, "{byte:02x}"))
    }
}

fn exemplar(trace_id: Option<TraceId>) -> Option<TraceExemplar> {
    trace_id.map(|id| TraceExemplar { trace_id: HexTraceId(id.to_bytes()) })
}

/// The exemplar of a call measured now: the sampled trace of the request it serves.
fn current_trace_exemplar() -> Option<TraceExemplar> {
    exemplar(RequestTrace::current().and_then(RequestTrace::exemplar))
}

struct HttpFamilies {
    registry: Registry,
    duration: Family<RequestLabels, HistogramWithExemplars<TraceExemplar>>,
    active: Family<MethodLabel, Gauge>,
}

static HTTP: OnceLock<HttpFamilies> = OnceLock::new();

/// Registers the HTTP families and the function-call families.
fn registered() -> &'static HttpFamilies {
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
        faults::register(&mut registry);
        pool::register(&mut registry);
        process::register(&mut registry);
        HttpFamilies { registry, duration, active }
    })
}

/// Names the service on every series and prepares the registry, so `/metrics` is complete
/// before the first request. Call once at start, before anything is measured: only the first
/// identity counts (returns whether it was this one), and measuring first takes the default.
pub fn init(identity: Identity) -> bool {
    let fresh = calls::identify(identity);
    registered();
    fresh
}

/// The methods the OpenTelemetry HTTP conventions know: RFC 9110's, PATCH (RFC 5789) and QUERY.
const KNOWN_METHODS: [&str; 10] =
    ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"];

/// What every signal calls a method outside `KNOWN_METHODS`.
pub const OTHER_METHOD: &str = "_OTHER";

/// A request's method as every signal names it (labels, span names, fault targets): itself if
/// known, else `_OTHER`, so that no client can mint a value (the OpenTelemetry convention;
/// methods are case-sensitive, so `get` is `_OTHER` too).
pub fn method_label(method: &str) -> &'static str {
    KNOWN_METHODS.into_iter().find(|known| *known == method).unwrap_or(OTHER_METHOD)
}

/// The route label of requests no route matched (their paths are not labels: unbounded).
const UNMATCHED: &str = "unmatched";

/// The series of one route template and method, resolved on its first request and kept for
/// the life of the process (the set is bounded: routes times known methods).
pub struct RouteMetrics {
    method: &'static str,
    route: &'static str,
    /// The API call series, `function="GET /drawers/{id}"`.
    api: Function,
    active: Gauge,
    /// The latency histogram of each status code this route has answered.
    durations: RwLock<Vec<(u16, HistogramWithExemplars<TraceExemplar>)>>,
}

impl RouteMetrics {
    /// `"GET /drawers/{id}"`: the API call's `function` label, and the request span's name.
    pub fn name(&self) -> &'static str {
        self.api.name()
    }

    /// The `http_request_method` label.
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// The `http_route` label: the route template, or `unmatched`.
    pub fn template(&self) -> &'static str {
        self.route
    }

    /// Counts a request as in flight until the returned guard is dropped, which also happens
    /// when the client hangs up and the request is abandoned. `module` is the code serving the
    /// route (the API call series' `module` label); `started` is when the request
    /// reached the middleware, so its latency includes the telemetry set-up; `trace_id` is the
    /// exemplar of the request's own series (its port calls read theirs from the current
    /// `RequestTrace`).
    pub fn start(
        &'static self,
        module: &'static str,
        started: Instant,
        trace_id: Option<TraceId>,
    ) -> ServingRequest {
        self.active.inc();
        let exemplar = exemplar(trace_id);
        let api = calls::Measured::start(&self.api, module, started, exemplar);
        ServingRequest { route: self, exemplar, api }
    }

    /// Records one request's latency in the histogram of its status code, made on the
    /// route's first answer with that code.
    fn observe(&self, status: u16, elapsed: Duration, exemplar: Option<TraceExemplar>) {
        let seconds = elapsed.as_secs_f64();
        let find = |durations: &[(u16, HistogramWithExemplars<TraceExemplar>)]| {
            durations.iter().position(|(code, _)| *code == status)
        };
        {
            let durations = self.durations.read().unwrap_or_else(|p| p.into_inner());
            if let Some(at) = find(&durations) {
                durations[at].1.observe(seconds, exemplar);
                return;
            }
        }
        let labels = RequestLabels {
            http_route: self.route,
            http_request_method: self.method,
            http_response_status_code: status,
        };
        let histogram = registered().duration.get_or_create(&labels).clone();
        histogram.observe(seconds, exemplar);
        let mut durations = self.durations.write().unwrap_or_else(|p| p.into_inner());
        if find(&durations).is_none() {
            durations.push((status, histogram));
        }
    }
}

/// The series of requests for `method` on the route template `route` (`None`: no route
/// matched). Only ever a template, never a raw path: each new value is kept for good.
pub fn route(method: &'static str, route: Option<&str>) -> &'static RouteMetrics {
    type Routes = HashMap<&'static str, Vec<&'static RouteMetrics>>;
    static ROUTES: OnceLock<RwLock<Routes>> = OnceLock::new();
    let route = route.unwrap_or(UNMATCHED);
    let find = |routes: &Routes| routes.get(route)?.iter().find(|r| r.method == method).copied();
    let routes = ROUTES.get_or_init(Default::default);
    if let Some(found) = find(&routes.read().unwrap_or_else(|p| p.into_inner())) {
        return found;
    }
    let mut routes = routes.write().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = find(&routes) {
        return found;
    }
    let template: &'static str = match routes.get_key_value(route) {
        Some((known, _)) => known,
        None => Box::leak(route.into()),
    };
    let name: &'static str = Box::leak(format!("{method} {template}").into_boxed_str());
    let resolved: &'static RouteMetrics = Box::leak(Box::new(RouteMetrics {
        method,
        route: template,
        api: Function::api(name),
        active: registered()
            .active
            .get_or_create(&MethodLabel { http_request_method: method })
            .clone(),
        durations: RwLock::default(),
    }));
    routes.entry(template).or_default().push(resolved);
    resolved
}

/// A request being served; see `RouteMetrics::start`.
pub struct ServingRequest {
    route: &'static RouteMetrics,
    exemplar: Option<TraceExemplar>,
    api: calls::Measured<'static>,
}

impl ServingRequest {
    /// The route and method being served.
    pub fn route(&self) -> &'static RouteMetrics {
        self.route
    }

    /// Records the answer: its latency by status code, and a 5xx as an error of the API.
    /// Returns how long the request took.
    pub fn finish(mut self, status: u16) -> Duration {
        let server_error = (500..600).contains(&status);
        let elapsed =
            self.api.finish(if server_error { CallOutcome::Error } else { CallOutcome::Ok });
        self.route.observe(status, elapsed, self.exemplar);
        elapsed
    }
}

impl Drop for ServingRequest {
    fn drop(&mut self) {
        self.route.active.dec();
    }
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
    encode(&mut openmetrics, &registered().registry).expect("writing to a String cannot fail");
    match format {
        Format::OpenMetrics => openmetrics,
        Format::Prometheus => exposition::openmetrics_to_prometheus(&openmetrics),
    }
}
