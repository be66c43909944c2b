//! The admin API: the fault plan and lazy mode, changed at runtime. It listens on its own
//! address (`SNACKDRAWER_ADMIN_LISTEN`, off by default), never on the public port, and every
//! request must carry the admin token as `Authorization: Bearer`. Its answers and errors have
//! the public API's JSON shapes, a body too large included (413, at the public API's limit).
//!
//! - `GET /faults`: the plan, lazy mode (and its schedule) and the injection counters;
//! - `PUT /faults`: a new plan, `{"text": "…"}` in the compact form or `{"rules": [...]}`;
//! - `DELETE /faults`: no rules, no laziness and no lazy schedule, at once;
//! - `POST /lazy`, optionally `{"for": "2m"}`, and `DELETE /lazy` (which ramps out);
//! - `DELETE /lazy/schedule`: no more scheduled episodes; `DELETE /incidents/schedule`: no
//!   more scheduled incidents;
//! - `POST /faults/mystery`, optionally `{"seed": N}`: an incident of the catalogue, untold
//!   (201); `POST /faults/guess`, `{"name": "…"}`: right or wrong; `POST /faults/reveal`: the
//!   answer. While a mystery is a secret, every answer about the state is only that it runs.

use super::injector::{ChangedBy, FaultInjector, MysteryError, View};
use super::mystery::{Answer, Guess, Running};
use super::plan::{self, Plan, RuleSpec};
use crate::adapters::http::{ApiError, BODY_LIMIT_BYTES};
use crate::ports::AppError;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The admin API's bearer token; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl AdminToken {
    /// Long enough that guessing it is hopeless.
    pub const MIN_BYTES: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() < Self::MIN_BYTES {
            return Err(format!(
                "must be at least {} bytes (try `openssl rand -base64 32`)",
                Self::MIN_BYTES
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn admits(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

#[derive(Clone)]
struct Admin {
    injector: Arc<FaultInjector>,
    token: Arc<AdminToken>,
}

/// The admin API over `injector`, for bearers of `token`.
pub fn router(injector: Arc<FaultInjector>, token: AdminToken) -> Router {
    let admin = Admin { injector, token: Arc::new(token) };
    Router::new()
        .route("/faults", get(show).put(replace).delete(clear))
        .route("/lazy", post(lazy_on).delete(lazy_off))
        .route("/lazy/schedule", delete(stop_schedule))
        .route("/faults/mystery", post(start_mystery))
        .route("/faults/guess", post(guess))
        .route("/faults/reveal", post(reveal))
        .route("/incidents/schedule", delete(stop_incidents))
        .fallback(unknown)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn_with_state(admin.clone(), bearer_only))
        .with_state(admin)
}

async fn bearer_only(State(admin): State<Admin>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match presented {
        None => ApiError::MissingToken.into_response(),
        Some(token) if !admin.token.admits(token.trim()) => {
            ApiError::App(AppError::InvalidToken).into_response()
        }
        Some(_) => next.run(request).await,
    }
}

async fn show(State(admin): State<Admin>) -> Json<View> {
    Json(admin.injector.view())
}

/// A new plan: its compact text or its rules, not both.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    text: Option<String>,
    rules: Option<Vec<RuleSpec>>,
}

/// A request body, or the reason there is none in the error shape: 413 past the limit.
struct Body(Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(request, state).await.map(Self).map_err(|rejection| {
            match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge,
                _ => ApiError::BadBody(rejection.body_text()),
            }
        })
    }
}

async fn replace(State(admin): State<Admin>, Body(body): Body) -> Result<Json<View>, ApiError> {
    let body: PlanBody = json(&body)?;
    let routes = admin.injector.routes();
    let plan = match (body.text, body.rules) {
        (Some(text), None) => Plan::parse(&text, routes),
        (None, Some(rules)) => Plan::from_specs(&rules, routes),
        _ => return Err(ApiError::BadBody("give the plan as \"text\" or as \"rules\"".into())),
    }
    .map_err(|error| ApiError::BadBody(error.to_string()))?;
    admin.injector.replace_plan(plan, ChangedBy::Admin);
    Ok(Json(admin.injector.view()))
}

async fn clear(State(admin): State<Admin>) -> Json<View> {
    admin.injector.clear(ChangedBy::Admin);
    Json(admin.injector.view())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LazyBody {
    /// How long, as `2m`; for good when absent.
    #[serde(rename = "for")]
    lasting: Option<String>,
}

async fn lazy_on(State(admin): State<Admin>, Body(body): Body) -> Result<Json<View>, ApiError> {
    let body: LazyBody = optional_json(&body)?;
    let lasting = body
        .lasting
        .map(|text| plan::parse_duration(&text))
        .transpose()
        .map_err(|problem| ApiError::BadBody(format!("\"for\": {problem}")))?;
    if lasting.is_some_and(|lasting| lasting.is_zero()) {
        return Err(ApiError::BadBody("\"for\" must be longer than 0".into()));
    }
    admin.injector.lazy_on(lasting, ChangedBy::Admin);
    Ok(Json(admin.injector.view()))
}

async fn lazy_off(State(admin): State<Admin>) -> Json<View> {
    admin.injector.lazy_off(ChangedBy::Admin);
    Json(admin.injector.view())
}

async fn stop_incidents(State(admin): State<Admin>) -> Json<View> {
    admin.injector.stop_incidents(ChangedBy::Admin);
    Json(admin.injector.view())
}

async fn stop_schedule(State(admin): State<Admin>) -> Json<View> {
    admin.injector.stop_schedule(ChangedBy::Admin);
    Json(admin.injector.view())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MysteryBody {
    /// Picks the incident repeatably.
    seed: Option<u64>,
}

async fn start_mystery(
    State(admin): State<Admin>,
    Body(body): Body,
) -> Result<(StatusCode, Json<Running>), ApiError> {
    let body: MysteryBody = optional_json(&body)?;
    Ok((StatusCode::CREATED, Json(admin.injector.start_mystery(body.seed, ChangedBy::Admin))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuessBody {
    name: String,
}

async fn guess(State(admin): State<Admin>, Body(body): Body) -> Result<Json<Guess>, ApiError> {
    let body: GuessBody = json(&body)?;
    admin.injector.guess(body.name.trim()).map(Json).map_err(mystery_error)
}

async fn reveal(State(admin): State<Admin>) -> Result<Json<Answer>, ApiError> {
    admin.injector.reveal().map(Json).map_err(mystery_error)
}

/// No mystery to guess or reveal, or a name outside the catalogue: the client's mistake.
fn mystery_error(error: MysteryError) -> ApiError {
    ApiError::BadBody(error.to_string())
}

/// The body as `T`, or `T::default()` when it is empty.
fn optional_json<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) { Ok(T::default()) } else { json(body) }
}

/// The body as a JSON object of shape `T` (serde would also take an array for a struct).
fn json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    let invalid = |error| ApiError::BadBody(format!("invalid JSON: {error}"));
    let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
    if !value.is_object() {
        return Err(ApiError::BadBody("the body must be a JSON object".into()));
    }
    serde_json::from_value(value).map_err(invalid)
}

async fn unknown(method: Method, uri: Uri) -> ApiError {
    ApiError::UnknownRoute(format!("{method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(method, uri.path().to_owned())
}
