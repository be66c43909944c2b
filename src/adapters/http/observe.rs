//! Request-level telemetry, as one middleware around every route: the server span (continuing
//! a caller's W3C `traceparent`), the HTTP metrics, the API objective's call record, the
//! access log line, and the `x-trace-id` response header that lets a user look a request up.

use crate::adapters::metrics::{self, CallOutcome};
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use opentelemetry::trace::TraceContextExt;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
use tracing::{Instrument, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The response header carrying the request's trace id.
pub const TRACE_ID_HEADER: &str = "x-trace-id";

/// The route label of requests no route matched (their paths are not labels: unbounded).
const UNMATCHED: &str = "unmatched";

pub async fn observe_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = metrics::method_label(request.method().as_str());
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned());
    let route_label = route.as_deref().unwrap_or(UNMATCHED);
    let span = tracing::info_span!(
        "request",
        otel.name = %route.as_deref().map_or_else(|| method.to_owned(), |r| format!("{method} {r}")),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = route.as_deref(),
        url.path = request.uri().path(),
        user_agent.original = request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()),
        client.address = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| tracing::field::display(peer.ip())),
        http.response.status_code = Empty,
        enduser.id = Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&opentelemetry_http::HeaderExtractor(request.headers()))
    });
    span.set_parent(parent);

    let trace_id = {
        let context = span.context();
        let span_context = context.span().span_context().clone();
        span_context.is_valid().then(|| span_context.trace_id().to_string())
    };

    let _in_flight = metrics::request_started(method);
    let function = route_function(method, route_label);
    let mut response = metrics::in_request_trace(trace_id.clone(), async {
        let api_call = metrics::record_api_request(function);
        let response = next.run(request).instrument(span.clone()).await;
        let status = response.status();
        api_call.finish(if status.is_server_error() {
            CallOutcome::Error
        } else {
            CallOutcome::Ok
        });
        metrics::request_finished(
            route_label,
            method,
            status.as_u16(),
            started.elapsed().as_secs_f64(),
        );
        response
    })
    .await;

    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    span.in_scope(|| {
        tracing::info!(
            target: "snackdrawer::access",
            method,
            route = route_label,
            status = status.as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request served"
        );
    });
    if let Some(value) = trace_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert(TRACE_ID_HEADER, value);
    }
    response
}

/// `"GET /drawers/{id}"`, as the `function` label of the API's call series. The labels are
/// `'static`; the set is bounded (routes × known methods), so each is leaked once.
fn route_function(method: &'static str, route: &str) -> &'static str {
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let name = format!("{method} {route}");
    let mut seen = SEEN.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = seen.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    seen.insert(leaked);
    leaked
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
