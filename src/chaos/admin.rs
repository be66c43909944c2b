//! The admin API: the fault plan and lazy mode, changed at runtime. It listens on its own
//! address (`SNACKDRAWER_ADMIN_LISTEN`, off by default), never on the public port, and every
//! request must carry the admin token as `Authorization: Bearer`. Its answers and errors have
//! the public API's JSON shapes.
//!
//! - `GET /faults`: the plan, lazy mode and the injection counters;
//! - `PUT /faults`: a new plan, `{"text": "…"}` in the compact form or `{"rules": [...]}`;
//! - `DELETE /faults`: no rules and no laziness, at once;
//! - `POST /lazy`, optionally `{"for": "2m"}`, and `DELETE /lazy` (which ramps out).

use super::injector::{ChangedBy, FaultInjector, Status};
use super::plan::{self, Plan, RuleSpec};
use crate::inbound::http::ApiError;
use crate::ports::AppError;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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
        .fallback(unknown)
        .method_not_allowed_fallback(method_not_allowed)
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

async fn show(State(admin): State<Admin>) -> Json<Status> {
    Json(admin.injector.status())
}

/// A new plan: its compact text or its rules, not both.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    text: Option<String>,
    rules: Option<Vec<RuleSpec>>,
}

async fn replace(State(admin): State<Admin>, body: Bytes) -> Result<Json<Status>, ApiError> {
    let body: PlanBody = json(&body)?;
    let routes = admin.injector.routes();
    let plan = match (body.text, body.rules) {
        (Some(text), None) => Plan::parse(&text, routes),
        (None, Some(rules)) => Plan::from_specs(&rules, routes),
        _ => return Err(ApiError::BadBody("give the plan as \"text\" or as \"rules\"".into())),
    }
    .map_err(|error| ApiError::BadBody(error.to_string()))?;
    admin.injector.replace_plan(plan, ChangedBy::Admin);
    Ok(Json(admin.injector.status()))
}

async fn clear(State(admin): State<Admin>) -> Json<Status> {
    admin.injector.clear(ChangedBy::Admin);
    Json(admin.injector.status())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LazyBody {
    /// How long, as `2m`; for good when absent.
    #[serde(rename = "for")]
    lasting: Option<String>,
}

async fn lazy_on(State(admin): State<Admin>, body: Bytes) -> Result<Json<Status>, ApiError> {
    let body: LazyBody =
        if body.iter().all(u8::is_ascii_whitespace) { LazyBody::default() } else { json(&body)? };
    let lasting = body
        .lasting
        .map(|text| plan::parse_duration(&text))
        .transpose()
        .map_err(|problem| ApiError::BadBody(format!("\"for\": {problem}")))?;
    if lasting.is_some_and(|lasting| lasting.is_zero()) {
        return Err(ApiError::BadBody("\"for\" must be longer than 0".into()));
    }
    admin.injector.lazy_on(lasting, ChangedBy::Admin);
    Ok(Json(admin.injector.status()))
}

async fn lazy_off(State(admin): State<Admin>) -> Json<Status> {
    admin.injector.lazy_off(ChangedBy::Admin);
    Json(admin.injector.status())
}

fn json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::BadBody(format!("invalid JSON: {error}")))
}

async fn unknown(method: Method, uri: Uri) -> ApiError {
    ApiError::UnknownRoute(format!("{method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(method, uri.path().to_owned())
}
