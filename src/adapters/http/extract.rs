//! Extractors that apply the contract's check order: path ids that are not numbers make the
//! route unknown (404), then the token (401), then — inside the handler — id >= 1 (400), then
//! the body (400/413). The body is read by the extractor but its errors are held back until the
//! handler asks for it, so a bad body never hides a bad id.

use super::ApiError;
use crate::domain::UserId;
use crate::ports::{Access, AppError, UseCases};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _, Unexpected};
use std::convert::Infallible;
use std::sync::Arc;

/// The numeric segments of the path, in order. Anything but plain ASCII digits (a sign, a
/// letter, an overflow) means the URL names no resource: 404, as for an unknown route.
pub struct PathIds<const N: usize>(pub [i64; N]);

impl<S: Send + Sync, const N: usize> FromRequestParts<S> for PathIds<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = Path::<Vec<String>>::from_request_parts(parts, state).await.ok();
        segments
            .and_then(|Path(segments)| numeric_ids(&segments))
            .and_then(|ids| ids.try_into().ok())
            .map(PathIds)
            .ok_or_else(|| ApiError::UnknownRoute(format!("{} {}", parts.method, parts.uri.path())))
    }
}

/// The segments as ids, if every one is plain ASCII digits that fit an `i64`.
pub fn numeric_ids(segments: &[String]) -> Option<Vec<i64>> {
    segments
        .iter()
        .map(|segment| {
            let digits = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
            digits.then(|| segment.parse().ok()).flatten()
        })
        .collect()
}

/// The authenticated user making the request. A request with an unsafe method (anything but
/// `GET`, `HEAD`, `OPTIONS`, `TRACE`) changes something, so its account is checked as the store
/// holds it now.
pub struct Caller(pub UserId);

impl<U: UseCases> FromRequestParts<Arc<U>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<U>) -> Result<Self, ApiError> {
        let token = presented_token(&parts.headers)?;
        let access = if parts.method.is_safe() { Access::Read } else { Access::Write };
        Ok(Caller(app.authenticate(token, access).await?))
    }
}

/// The token from `x-access-token` (what old clients send) or `Authorization: Bearer`.
/// An empty header counts as absent; when both are sent, `x-access-token` wins; a header sent
/// twice is ambiguous and refused.
fn presented_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let invalid = || ApiError::App(AppError::InvalidToken);
    let single = |name| -> Result<Option<&str>, ApiError> {
        let mut values = headers.get_all(name).iter().filter(|value| !value.is_empty());
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(value), None) => value.to_str().map(Some).map_err(|_| invalid()),
            (Some(_), Some(_)) => Err(invalid()),
        }
    };
    if let Some(token) = single(header::HeaderName::from_static("x-access-token"))? {
        return Ok(token);
    }
    match single(header::AUTHORIZATION)?.map(|value| value.split_once(' ')) {
        None => Err(ApiError::MissingToken),
        Some(Some((scheme, token))) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        Some(_) => Err(invalid()),
    }
}

/// A request body, read but not yet judged; `parse` gives the verdict.
pub struct JsonBody(Result<Bytes, ApiError>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Infallible> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge
            } else {
                ApiError::BadBody(rejection.body_text())
            }
        });
        Ok(Self(bytes))
    }
}

impl JsonBody {
    /// The body as a JSON object of shape `T`. Content-Type is not insisted on: old clients and
    /// a bare `curl -d` send JSON under other types, and the bytes decide.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        let bytes = self.0?;
        if bytes.is_empty() {
            return Err(ApiError::BadBody("request body is empty; expected a JSON object".into()));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|error| {
            ApiError::BadBody(format!("request body is not valid JSON: {error}"))
        })?;
        if !value.is_object() {
            return Err(ApiError::BadBody("request body must be a JSON object".into()));
        }
        // The path names the field: "password: invalid type: boolean `true`, expected a string".
        serde_path_to_error::deserialize(value)
            .map_err(|error| ApiError::BadBody(format!("invalid request body: {error}")))
    }
}

/// Reads a body field that holds an integer (`#[serde(deserialize_with = "integer")]`), written
/// either way JSON allows: `7`, or `7.0`, which JSON Schema counts as the same integer and which
/// some clients' JSON libraries write. A fraction, or a float too large for `f64` to hold
/// exactly (beyond 2^53), is refused as not an integer.
pub fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    const EXACT_IN_F64: f64 = 9_007_199_254_740_992.0; // 2^53
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(integer) = number.as_i64() {
        return Ok(integer);
    }
    match (number.as_u64(), number.as_f64()) {
        (Some(too_large), _) => Err(D::Error::invalid_value(
            Unexpected::Unsigned(too_large),
            &"a 64-bit signed integer",
        )),
        (None, Some(float)) if float.fract() == 0.0 && float.abs() <= EXACT_IN_F64 => {
            Ok(float as i64)
        }
        (None, float) => {
            Err(D::Error::invalid_type(Unexpected::Float(float.unwrap_or(f64::NAN)), &"an integer"))
        }
    }
}
