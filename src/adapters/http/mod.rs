//! The HTTP face of Snackdrawer: the routes of the contract in `docs/api.md`, on axum.
//!
//! Handlers are thin: extract (path ids, caller, body) in the contract's check order, call one
//! use case on the inbound port, shape the JSON. The port is a type parameter, not a trait
//! object: its methods return futures without boxing them. Every failure becomes an `ApiError`, turned
//! into a response in one place (`error.rs`). Nothing here is instrumented: `startup` wraps the
//! use cases and this router in the telemetry decorators.

mod address_limit;
mod auth;
mod deadline;
mod drawers;
mod error;
mod extract;
pub mod openapi;
mod probes;
pub mod server;
mod snacks;

pub use address_limit::{AddressLimits, limit_password_routes};
pub use error::{ApiError, ServerFailure};

use crate::ports::UseCases;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, Route, get};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tower::{Layer, Service, ServiceBuilder};
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

/// Request bodies larger than this answer 413.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// This module's path: the `module` of the API's function-call series.
pub const MODULE: &str = module_path!();

/// Every route, `METHOD /template`, as the router serves them (a test holds the two together).
pub const ROUTES: &[&str] = &[
    "POST /auth/users",
    "POST /auth/login",
    "GET /snacks",
    "GET /snacks/",
    "POST /snacks",
    "POST /snacks/",
    "GET /snacks/{id}",
    "GET /drawers",
    "GET /drawers/",
    "POST /drawers",
    "POST /drawers/",
    "GET /drawers/{id}",
    "POST /drawers/{id}",
    "DELETE /drawers/{id}",
    "DELETE /drawers/{id}/snacks/{snack_id}",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /openapi.json",
];

/// The paths that serve operators and tools (probes, metrics, the API's document) rather than
/// the API's users.
pub const OPERATIONAL_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics", "/openapi.json"];

/// The whole HTTP API over `app`. `/metrics` answers with `metrics`, which the caller supplies
/// so that this adapter stays ignorant of telemetry. A request that takes longer than
/// `request_timeout` is answered 408 if its body is still on its way, 503 otherwise. `around_routes` wraps each
/// route inside that deadline (`tower::layer::util::Identity` for nothing).
pub fn router<U, L>(
    app: Arc<U>,
    request_timeout: Duration,
    metrics: MethodRouter<Arc<U>>,
    around_routes: L,
) -> Router
where
    U: UseCases + 'static,
    L: Layer<Route> + Clone + Send + Sync + 'static,
    L::Service: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Response: IntoResponse + 'static,
    <L::Service as Service<Request>>::Future: Send + 'static,
{
    let (routes, mut document) = described_routes::<U>().split_for_parts();
    openapi::complete(&mut document);
    let document = Bytes::from(openapi::to_json(&document));
    routes
        .route("/openapi.json", get(move || openapi::serve(document.clone())))
        .route("/metrics", metrics)
        .fallback(error::unknown_route)
        .method_not_allowed_fallback(error::method_not_allowed)
        // One `layer` call for the three: each call wraps (and clones, per request) every
        // route once more.
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(request_timeout, deadline::deadline))
                .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
                .layer(around_routes),
        )
        .with_state(app)
}

/// The API's routes with their OpenAPI description: each `routes!` registers the handlers and
/// takes their `#[utoipa::path]`, so a route cannot be served undescribed.
fn described_routes<U: UseCases + 'static>() -> OpenApiRouter<Arc<U>> {
    let router = OpenApiRouter::with_openapi(openapi::Contract::openapi())
        .routes(routes!(auth::register))
        .routes(routes!(auth::log_in))
        .routes(routes!(snacks::get))
        .routes(routes!(drawers::get, drawers::add_snack, drawers::delete))
        .routes(routes!(drawers::take_snack))
        .routes(routes!(probes::healthz))
        .routes(routes!(probes::readyz));
    let router = with_and_without_slash(router, routes!(snacks::list, snacks::create));
    with_and_without_slash(router, routes!(drawers::list, drawers::create))
}

/// The document of the API, as `router` serves it, without a router: for `snackdrawer openapi`
/// and the tests. It does not depend on the port's type; any will do.
pub fn document<U: UseCases + 'static>() -> utoipa::openapi::OpenApi {
    let mut document = described_routes::<U>().into_openapi();
    openapi::complete(&mut document);
    document
}

/// The old service answered `/snacks` like `/snacks/` (through a redirect); serving both
/// directly saves old clients a round trip. (The document adds the twin in `openapi`.)
fn with_and_without_slash<S: Clone + Send + Sync + 'static>(
    router: OpenApiRouter<S>,
    (schemas, paths, methods): UtoipaMethodRouter<S>,
) -> OpenApiRouter<S> {
    let path = paths.paths.keys().next().expect("routes! names one path").clone();
    router.route(path.trim_end_matches('/'), methods.clone()).routes((schemas, paths, methods))
}
