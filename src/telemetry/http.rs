//! Request-level telemetry, as one tower layer around every route: the trace decision and the
//! server span (continuing a caller's W3C `traceparent`), the HTTP metrics, the API
//! objective's call record, the access log line (also for a request whose client hung up
//! before the answer, with status 499; and, for a 5xx, the error line with the cause the
//! router left in the response), `fault.injected=true` on the span of a request a
//! fault was injected into, and the `x-trace-id` response header that lets a user look a
//! request up. Also the `/metrics` endpoint.
//!
//! What the client chose is bounded before it is recorded: the method is known or `_OTHER`
//! and the route a template or `unmatched` (`request_route`, which fault targets use too), so
//! labels cannot be minted; the raw method, path and user agent go on the span only, cut to
//! `CLIENT_TEXT_MAX_BYTES`.
//!
//! Why a hand-written layer rather than `axum::middleware::from_fn`: `from_fn` clones and
//! boxes the inner service and boxes its future on every request, which measured as a fifth
//! of the metrics' cost. Here the set-up runs in `call`, the inner route's future is wrapped
//! as it is, and the bookkeeping happens when it completes.

use super::access_line::AccessLine;
use super::error_chain;
use super::faults::FaultInjected;
use super::log_budget::LogBudget;
use super::metrics::{self, ServingRequest};
use super::request_trace::{RequestTrace, TraceSampler};
use super::wide_event;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::error::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The response header carrying the request's trace id.
pub const TRACE_ID_HEADER: HeaderName = HeaderName::from_static("x-trace-id");

/// The most of a value the client chose (a path, a user agent, a made-up method) that the
/// request span keeps: enough to recognise it, and long ones cannot swell every trace.
pub const CLIENT_TEXT_MAX_BYTES: usize = 512;

/// The series of `request`'s route and method, whose name (`GET /drawers/{id}`,
/// `_OTHER unmatched`) is what every signal calls the request, fault targets included: the
/// method as `metrics::method_label` bounds it and the route's template, never the raw method
/// or path, so that no client can mint a new one.
pub fn request_route(request: &Request) -> &'static metrics::RouteMetrics {
    let method = metrics::method_label(request.method().as_str());
    let matched = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    metrics::route(method, matched)
}

/// At most `CLIENT_TEXT_MAX_BYTES` of `text`, cut on a character boundary.
fn client_text(text: &str) -> &str {
    &text[..text.floor_char_boundary(CLIENT_TEXT_MAX_BYTES)]
}

/// Observes every request of the service it wraps: `sampler` decides which are traced, and
/// `module` names the code that serves the routes, for the API call series.
#[derive(Clone)]
pub struct ObserveLayer {
    sampler: TraceSampler,
    module: &'static str,
}

impl ObserveLayer {
    pub fn new(sampler: TraceSampler, module: &'static str) -> Self {
        Self { sampler, module }
    }
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner, sampler: self.sampler.clone(), module: self.module }
    }
}

#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    sampler: TraceSampler,
    module: &'static str,
}

impl<S> tower::Service<Request> for Observe<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ObservedRequest<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let route = request_route(&request);
        let method = route.method();
        let original_method =
            (method == metrics::OTHER_METHOD).then(|| client_text(request.method().as_str()));
        let matched = request.extensions().get::<MatchedPath>().is_some();
        let http_route = matched.then(|| route.template());
        // The OpenTelemetry conventions name a request that matched no route by its method.
        let name = if matched { route.name() } else { method };
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&opentelemetry_http::HeaderExtractor(request.headers()))
        });
        let trace = RequestTrace::decide(&self.sampler, &parent, name);
        let serving = route.start(self.module, started, trace.exemplar());
        // A root whatever encloses it (its parent is the caller, if any); an unsampled request
        // opens no span, a sampled one's takes the decided trace id.
        let span = trace.open_span(|| {
            let user_agent =
                request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok());
            tracing::info_span!(
                parent: None,
                "request",
                otel.name = name,
                otel.kind = "server",
                otel.status_code = Empty,
                http.request.method = method,
                http.request.method_original = original_method,
                http.route = http_route,
                url.path = client_text(request.uri().path()),
                user_agent.original = user_agent.map(client_text),
                snackdrawer.load.persona = user_agent.and_then(wide_event::persona),
                client.address = request
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(peer)| tracing::field::display(peer.ip())),
                http.response.status_code = Empty,
                enduser.id = Empty,
            )
        });
        if trace.sampled {
            span.set_parent(parent);
        }
        let inner = trace.scope(|| span.in_scope(|| self.inner.call(request)));
        ObservedRequest { inner, trace, span, serving: Some(serving), started }
    }
}

/// The access line's status for a request whose client hung up before the answer (nginx's
/// "client closed request"): no status was sent, but the line must still be written.
const CLIENT_CLOSED_REQUEST: u16 = 499;

pin_project_lite::pin_project! {
    /// A request being served: its route's future, run inside the request's trace and span.
    /// Dropped before it completes (the client hung up), it still writes its access line.
    pub struct ObservedRequest<F> {
        #[pin]
        inner: F,
        trace: RequestTrace,
        span: Span,
        serving: Option<ServingRequest>,
        started: Instant,
    }

    impl<F> PinnedDrop for ObservedRequest<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(serving) = this.serving.take() {
                let route = serving.route();
                let (span, trace, elapsed) = (&*this.span, *this.trace, this.started.elapsed());
                trace.scope(|| log_access(span, trace, route, CLIENT_CLOSED_REQUEST, elapsed));
            }
        }
    }
}

impl<F> Future for ObservedRequest<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (span, serving) = (this.span, this.serving);
        this.trace.scope(|| {
            let Ok(mut response) = std::task::ready!(span.in_scope(|| this.inner.poll(cx)));
            let serving = serving.take().expect("a request completes once");
            let route = serving.route();
            let status = response.status();
            let duration = serving.finish(status.as_u16());
            span.record("http.response.status_code", status.as_u16());
            if this.trace.sampled && response.extensions().get::<FaultInjected>().is_some() {
                span.set_attribute("fault.injected", true);
            }
            if status.is_server_error() {
                span.record("otel.status_code", "ERROR");
                log_failure(span, route, status, &response);
            }
            log_access(span, *this.trace, route, status.as_u16(), duration);
            let trace_id = HeaderValue::from_bytes(&this.trace.trace_id_hex())
                .expect("hex digits are a valid header value");
            response.headers_mut().insert(TRACE_ID_HEADER, trace_id);
            Poll::Ready(Ok(response))
        })
    }
}

/// The access line: one per request, answered or abandoned.
fn log_access(
    span: &Span,
    trace: RequestTrace,
    route: &metrics::RouteMetrics,
    status: u16,
    duration: Duration,
) {
    AccessLine { method: route.method(), route: route.template(), status, duration }
        .log(span, trace);
}

/// How often, at most, a 503 is logged: a flood of refused logins is one line per interval.
const UNAVAILABLE_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The error line of a 5xx answer, with the cause the router left in the response's
/// extensions (an `Arc<dyn Error + Send + Sync>`): a warning for an outage (503), at most one
/// per interval with the number held back, and an error for anything else, which is a bug.
/// Both name the route, so that a log search can pick one route's failures.
fn log_failure(
    span: &Span,
    route: &metrics::RouteMetrics,
    status: StatusCode,
    response: &Response,
) {
    static UNAVAILABLE: LogBudget = LogBudget::new(UNAVAILABLE_LOG_INTERVAL);
    let cause = response.extensions().get::<Arc<dyn Error + Send + Sync>>();
    let error = cause.map(|cause| error_chain(&**cause));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        if let Some(held_back) = UNAVAILABLE.admit() {
            tracing::warn!(
                parent: span,
                route = route.template(),
                error = error.as_deref(),
                not_logged_since_last = held_back,
                "request failed: dependency unavailable"
            );
        }
    } else {
        tracing::error!(
            parent: span,
            route = route.template(),
            error = error.as_deref(),
            "request failed"
        );
    }
}

/// `GET /metrics`: Prometheus text by default, OpenMetrics (with exemplars) when asked for.
pub async fn metrics_endpoint(headers: axum::http::HeaderMap) -> Response {
    let wants_openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains("application/openmetrics-text"));
    let format =
        if wants_openmetrics { metrics::Format::OpenMetrics } else { metrics::Format::Prometheus };
    ([(header::CONTENT_TYPE, format.content_type())], metrics::render(format)).into_response()
}
