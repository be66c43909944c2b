//! The HTTP face of Snackdrawer: the routes of the contract in `shared/API.md`, on axum.
//!
//! Handlers are thin: extract (path ids, caller, body) in the contract's check order, call one
//! use case, shape the JSON. Every failure becomes an `ApiError`, turned into a response in one
//! place (`error.rs`).

mod auth;
mod drawers;
mod error;
mod extract;
mod observe;
mod probes;
mod snacks;

pub use error::ApiError;
pub use observe::TRACE_ID_HEADER;

use crate::adapters::request_trace::TraceSampler;
use crate::app::Snackdrawer;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use std::time::Duration;

/// Request bodies larger than this answer 413.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The whole HTTP API over an application, observed (see `observe.rs`), with `sampler`
/// choosing which requests are traced; a request that takes longer than `request_timeout`
/// (reading its body included) is answered 503.
pub fn router(app: Snackdrawer, request_timeout: Duration, sampler: TraceSampler) -> Router {
    unobserved_router(app, request_timeout).layer(observe::ObserveLayer::new(sampler))
}

/// The same API without request telemetry: the baseline the instrumentation benchmark
/// compares against.
pub fn unobserved_router(app: Snackdrawer, request_timeout: Duration) -> Router {
    Router::new()
        .route("/auth/users", post(auth::register))
        .route("/auth/login", post(auth::log_in))
        .merge(with_and_without_slash("/snacks", get(snacks::list).post(snacks::create)))
        .route("/snacks/{id}", get(snacks::get))
        .merge(with_and_without_slash("/drawers", get(drawers::list).post(drawers::create)))
        .route("/drawers/{id}", get(drawers::get).post(drawers::add_snack).delete(drawers::delete))
        .route("/drawers/{id}/snacks/{snack_id}", delete(drawers::take_snack))
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(observe::metrics_endpoint))
        .fallback(error::unknown_route)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn_with_state(request_timeout, deadline))
        .with_state(app)
}

/// Bounds every request, so a stalled client or a stuck dependency cannot hold a connection
/// (or a graceful shutdown) forever.
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::TimedOut(limit).into_response(),
    }
}

/// The old service answered `/snacks` like `/snacks/` (through a redirect); serving both
/// directly saves old clients a round trip.
fn with_and_without_slash(path: &str, methods: MethodRouter<Snackdrawer>) -> Router<Snackdrawer> {
    Router::new().route(path, methods.clone()).route(&format!("{path}/"), methods)
}
