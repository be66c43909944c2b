//! Request-level telemetry, as one middleware around every route: the server span (continuing
//! a caller's W3C `traceparent`), the HTTP metrics, the API objective's call record, the
//! access log line, and the `x-trace-id` response header that lets a user look a request up.

use crate::adapters::metrics;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use opentelemetry::trace::{TraceContextExt, TraceId};
use std::net::SocketAddr;
use std::time::Instant;
use tracing::{Instrument, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The response header carrying the request's trace id.
pub const TRACE_ID_HEADER: &str = "x-trace-id";

pub async fn observe_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = metrics::method_label(request.method().as_str());
    let matched_path = request.extensions().get::<MatchedPath>().cloned();
    let matched = matched_path.as_ref().map(MatchedPath::as_str);
    let route = metrics::route(method, matched);
    let span = tracing::info_span!(
        "request",
        // The OpenTelemetry conventions name a request that matched no route by its method.
        otel.name = if matched.is_some() { route.name() } else { method },
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = matched,
        url.path = request.uri().path(),
        user_agent.original =
            request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()),
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
        span_context.is_valid().then(|| span_context.trace_id())
    };

    let trace_bytes = trace_id.map(TraceId::to_bytes);
    let serving = route.start(started, trace_bytes);
    let mut response =
        metrics::in_request_trace(trace_bytes, next.run(request).instrument(span.clone())).await;
    let status = response.status();
    let duration = serving.finish(status.as_u16());

    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    // An explicit parent gives the log layers the span's context without entering it.
    tracing::info!(
        target: "snackdrawer::access",
        parent: &span,
        method,
        route = route.template(),
        status = status.as_u16(),
        duration_ms = duration.as_secs_f64() * 1000.0,
        "request served"
    );
    if let Some(value) = trace_id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok()) {
        response.headers_mut().insert(TRACE_ID_HEADER, value);
    }
    response
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
