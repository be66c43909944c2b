//! What every answer of the API must look like, whoever asked and however badly: an error is
//! `{"error": "<code> <reason>: <description>"}` served as JSON, and a 5xx is a bug unless it is
//! a 503 that says when to retry (`Retry-After`), which is how the service sheds load. A 429
//! says when to retry too: a login limit, which a well-behaved client waits out. An answer the
//! service marks `x-fault-injected: true` is a fault it was asked to inject (docs/faults.md):
//! it says nothing about the service's behaviour, so it is counted apart and judged by nothing.

use crate::reply::Reply;
use crate::violation::ViolationKind;
use hyper::header::{CONTENT_TYPE, RETRY_AFTER};
use hyper::{HeaderMap, StatusCode};
use std::time::Duration;

/// The longest wait taken from a `Retry-After`; the per-username back-off may ask for minutes,
/// longer than a run wants to wait.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// How long to wait before sending a request again, when the answer asks the client to come back
/// later: a 503 shedding load or a 429 from a login limit, for the whole seconds of their
/// `Retry-After` (1 s without one). `None` for any other answer.
pub fn retry_after(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::SERVICE_UNAVAILABLE && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let seconds = headers.get(RETRY_AFTER).and_then(|value| value.to_str().ok()?.parse().ok());
    Some(Duration::from_secs(seconds.unwrap_or(1)).min(LONGEST_WAIT))
}

/// The header the service sends, `true`, on every answer into which a fault was injected.
const FAULT_INJECTED: &str = "x-fault-injected";

/// Whether the service marked this answer as carrying an injected fault.
pub fn fault_injected(headers: &HeaderMap) -> bool {
    headers.get(FAULT_INJECTED).is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true"))
}

/// Whether the answer holds the client back and says when to come back: a 503 shedding load or a
/// 429, with `Retry-After`. It is about the service's state, not about what was asked.
pub fn holds_back(reply: &Reply) -> bool {
    let status = reply.status;
    (status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS)
        && reply.headers.contains_key(RETRY_AFTER)
}

/// The violation `reply` is, if any.
pub fn judge(reply: &Reply) -> Option<ViolationKind> {
    let status = reply.status;
    let sheds_load =
        status == StatusCode::SERVICE_UNAVAILABLE && reply.headers.contains_key(RETRY_AFTER);
    if status.is_server_error() && !sheds_load {
        return Some(ViolationKind::ServerError);
    }
    let is_error = status.is_client_error() || status.is_server_error();
    (is_error && !has_error_shape(reply)).then_some(ViolationKind::Contract)
}

fn has_error_shape(reply: &Reply) -> bool {
    let is_json = reply
        .header(CONTENT_TYPE.as_str())
        .is_some_and(|content_type| content_type.starts_with("application/json"));
    let Some(serde_json::Value::Object(fields)) = reply.json() else {
        return false;
    };
    let prefix = format!(
        "{} {}: ",
        reply.status.as_u16(),
        reply.status.canonical_reason().unwrap_or_default()
    );
    let text = fields.get("error").and_then(serde_json::Value::as_str);
    is_json && fields.len() == 1 && text.is_some_and(|text| text.starts_with(&prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{HeaderMap, HeaderValue};

    fn reply(status: u16, content_type: &str, body: &str) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        Reply { status: StatusCode::from_u16(status).unwrap(), headers, body: body.into() }
    }

    const JSON: &str = "application/json";

    #[test]
    fn a_well_formed_error_passes() {
        let answer =
            reply(404, JSON, r#"{"error": "404 Not Found: drawer with ID == 9 not found"}"#);
        assert_eq!(judge(&answer), None);
        assert_eq!(judge(&reply(200, "text/plain", "anything")), None);
    }

    #[test]
    fn an_error_in_another_shape_breaks_the_contract() {
        for answer in [
            reply(404, "text/plain", "not found"),
            reply(404, JSON, r#"{"error": "not found"}"#),
            reply(400, JSON, r#"{"error": "404 Not Found: wrong code"}"#),
            reply(401, JSON, r#"{"error": "401 Unauthorized: x", "detail": 1}"#),
            reply(405, JSON, ""),
            reply(422, "text/html", r#"{"error": "422 Unprocessable Entity: x"}"#),
        ] {
            assert_eq!(judge(&answer), Some(ViolationKind::Contract), "{}", answer.body);
        }
    }

    #[test]
    fn a_503_or_a_429_says_how_long_to_wait_and_nothing_else_does() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(StatusCode::UNAUTHORIZED, &headers), None);
        assert_eq!(
            retry_after(StatusCode::SERVICE_UNAVAILABLE, &headers),
            Some(Duration::from_secs(1))
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(
            retry_after(StatusCode::TOO_MANY_REQUESTS, &headers),
            Some(Duration::from_secs(3))
        );
        assert_eq!(retry_after(StatusCode::CREATED, &headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("300"));
        assert_eq!(retry_after(StatusCode::TOO_MANY_REQUESTS, &headers), Some(LONGEST_WAIT));
    }

    #[test]
    fn only_a_true_x_fault_injected_marks_a_fault() {
        let mut headers = HeaderMap::new();
        assert!(!fault_injected(&headers));
        headers.insert(FAULT_INJECTED, HeaderValue::from_static("false"));
        assert!(!fault_injected(&headers));
        headers.insert(FAULT_INJECTED, HeaderValue::from_static("true"));
        assert!(fault_injected(&headers));
    }

    #[test]
    fn a_5xx_is_a_server_error_unless_it_sheds_load() {
        let internal =
            reply(500, JSON, r#"{"error": "500 Internal Server Error: internal error"}"#);
        assert_eq!(judge(&internal), Some(ViolationKind::ServerError));
        let body = r#"{"error": "503 Service Unavailable: retry later"}"#;
        assert_eq!(judge(&reply(503, JSON, body)), Some(ViolationKind::ServerError));
        let mut shed = reply(503, JSON, body);
        shed.headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        assert_eq!(judge(&shed), None);
    }
}
