//! The one place where a failure becomes an HTTP response.
//!
//! Every error body is `{"error": "<code> <reason phrase>: <description>"}`, as the old service
//! wrote them. Causes of 5xx answers are logged here (inside the request's span) and never sent
//! to the client.

use crate::app::AppError;
use crate::domain::ValidationError;
use crate::telemetry::error_chain;
use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

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
            Self::App(app) => match app {
                AppError::Invalid(_) => StatusCode::BAD_REQUEST,
                AppError::InvalidToken | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
                AppError::SnackNotFound(_)
                | AppError::DrawerNotFound(_)
                | AppError::DrawerDoesNotExist(_)
                | AppError::SnackNotInDrawer { .. } => StatusCode::NOT_FOUND,
                AppError::UsernameTaken
                | AppError::SnackNameTaken(_)
                | AppError::DrawerNameTaken(_)
                | AppError::SnackDoesNotExist(_)
                | AppError::SnackAlreadyInDrawer { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // An outage (503) is worth a warning per request; a 500 is a bug.
        match status {
            StatusCode::SERVICE_UNAVAILABLE => {
                tracing::warn!(error = %error_chain(&self), "request failed: dependency unavailable");
            }
            _ if status.is_server_error() => {
                tracing::error!(error = %error_chain(&self), "request failed");
            }
            _ => {}
        }
        let reason = status.canonical_reason().unwrap_or("Error");
        let body = json!({ "error": format!("{} {reason}: {self}", status.as_u16()) });
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match status {
            StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

pub async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::UnknownRoute(format!("{method} {}", uri.path()))
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(method, uri.path().to_owned())
}
