//! The one place where a failure becomes an HTTP response.
//!
//! Every error body is `{"error": "<code> <reason phrase>: <description>"}`, as the old service
//! wrote them. The cause of a 5xx answer is never sent to the client: it travels in the
//! response's extensions as a `ServerFailure`, for whatever wraps the router to log (the
//! telemetry request layer does), so this adapter needs no logging of its own.

use super::extract::numeric_ids;
use crate::domain::ValidationError;
use crate::ports::{AppError, retry_after_seconds};
use axum::extract::Path;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("no authentication token")]
    MissingToken,
    #[error("{0}")]
    BadBody(String),
    #[error("request body is larger than {} bytes", super::BODY_LIMIT_BYTES)]
    BodyTooLarge,
    #[error("no route for {0}")]
    UnknownRoute(String),
    #[error("method {0} is not allowed for {1}")]
    MethodNotAllowed(Method, String),
    #[error("the request did not complete within {0:?}")]
    TimedOut(std::time::Duration),
    /// The client stopped sending its body: its fault, not the service's.
    #[error("the request body did not arrive within {0:?}")]
    BodyTimedOut(std::time::Duration),
    /// One client address sent more password requests than its share (`address_limit`).
    #[error("too many requests from this address, retry in {} s", retry_after_seconds(*.0))]
    TooManyRequests(std::time::Duration),
    /// Lazy mode's refusal; the cause says it was injected.
    #[error("too lazy to answer right now, retry later")]
    TooLazy(#[source] crate::ports::BoxError),
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        Self::App(error.into())
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken => StatusCode::UNAUTHORIZED,
            Self::BadBody(_) => StatusCode::BAD_REQUEST,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnknownRoute(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(..) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TimedOut(_) | Self::TooLazy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::BodyTimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::App(app) => match app {
                AppError::Invalid(_) => StatusCode::BAD_REQUEST,
                AppError::InvalidToken | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
                AppError::LoginThrottled(_) | AppError::WriteThrottled(_) => {
                    StatusCode::TOO_MANY_REQUESTS
                }
                AppError::SnackNotFound(_)
                | AppError::DrawerNotFound(_)
                | AppError::DrawerDoesNotExist(_)
                | AppError::SnackNotInDrawer { .. } => StatusCode::NOT_FOUND,
                AppError::UsernameTaken
                | AppError::SnackNameTaken(_)
                | AppError::DrawerNameTaken(_)
                | AppError::SnackDoesNotExist(_)
                | AppError::SnackAlreadyInDrawer { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::ListFull(_) => StatusCode::CONFLICT,
                AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}

/// Why a request was answered with a 5xx: the error, with its chain of causes, in the
/// response's extensions. A plain `std` type, so that the layer that logs it needs nothing
/// from this adapter.
pub type ServerFailure = Arc<dyn std::error::Error + Send + Sync>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let json = HeaderValue::from_static("application/json");
        let mut response =
            (status, [(header::CONTENT_TYPE, json)], error_body(status, &self)).into_response();
        let headers = response.headers_mut();
        // RFC 6750: say how to authenticate when the token is missing or bad (not for a
        // failed login, which is about a password).
        let challenge = match &self {
            Self::MissingToken => Some("Bearer"),
            Self::App(AppError::InvalidToken) => Some(r#"Bearer error="invalid_token""#),
            _ => None,
        };
        if let Some(challenge) = challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        // RFC 9110: the rest of the body may still come; the connection cannot be reused.
        if status == StatusCode::REQUEST_TIMEOUT {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        match &self {
            Self::TooManyRequests(wait)
            | Self::App(AppError::LoginThrottled(wait) | AppError::WriteThrottled(wait)) => {
                headers.insert(header::RETRY_AFTER, retry_after_seconds(*wait).into());
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        if status.is_server_error() {
            response.extensions_mut().insert::<ServerFailure>(Arc::new(self));
        }
        response
    }
}

/// The contract's error body, the same for every failure.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// `<code> <reason phrase>: <description>`, e.g. `404 Not Found: snack with ID == 99 not
    /// found`.
    #[schema(
        pattern = "^[45][0-9]{2} [A-Za-z -]+: ",
        example = "404 Not Found: snack with ID == 99 not found"
    )]
    error: String,
}

/// The contract's error body: `{"error": "<code> <reason>: <description>"}`.
pub fn error_body(status: StatusCode, description: impl std::fmt::Display) -> String {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = ErrorBody { error: format!("{} {reason}: {description}", status.as_u16()) };
    serde_json::to_string(&body).expect("a struct of one string serialises")
}

pub async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::UnknownRoute(format!("{method} {}", uri.path()))
}

/// A known route with a method it does not serve; but a non-numeric id makes the route
/// unknown whatever the method, so that is checked first.
pub async fn method_not_allowed(
    method: Method,
    uri: Uri,
    segments: Option<Path<Vec<String>>>,
) -> ApiError {
    if segments.is_some_and(|Path(segments)| numeric_ids(&segments).is_none()) {
        return ApiError::UnknownRoute(format!("{method} {}", uri.path()));
    }
    ApiError::MethodNotAllowed(method, uri.path().to_owned())
}
