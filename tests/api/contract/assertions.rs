//! What a reply of the contract looks like: a JSON success whole, an error in the contract's
//! shape, a 204 empty.

use crate::support::client::Reply;
use axum::http::StatusCode;
use serde_json::Value;

fn assert_json_content_type(reply: &Reply) {
    assert_eq!(
        reply.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "JSON responses say so: {reply:?}"
    );
}

/// Asserts a JSON success: exact status, `application/json` and the whole body.
pub fn assert_json(reply: &Reply, status: u16, expected: Value) {
    assert_eq!(reply.status.as_u16(), status, "unexpected status; body: {}", reply.text);
    assert_json_content_type(reply);
    assert_eq!(reply.json, expected, "body: {}", reply.text);
}

/// Asserts the error shape `{"error": "<code> <reason phrase>: <description>"}` with a
/// non-empty description, and returns the `error` text.
pub fn assert_error_shape(reply: &Reply, status: u16) -> &str {
    assert_eq!(reply.status.as_u16(), status, "unexpected status; body: {}", reply.text);
    let reason = StatusCode::from_u16(status).unwrap().canonical_reason().unwrap();
    let prefix = format!("{status} {reason}: ");
    let error = reply.error();
    assert!(
        error.starts_with(&prefix) && error.len() > prefix.len(),
        "error {error:?} is not of the form {prefix:?} + description"
    );
    error
}

/// Asserts a 400 whose description mentions `problem` (a field name, "JSON", "object", …).
pub fn assert_bad_request(reply: &Reply, problem: &str) {
    let error = assert_error_shape(reply, 400);
    assert!(error.contains(problem), "error {error:?} should mention {problem:?}");
}

pub fn assert_no_content(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "body: {}", reply.text);
    assert!(reply.text.is_empty(), "204 has no body, got {:?}", reply.text);
}

/// Asserts two replies could not be told apart.
pub fn assert_same_reply(left: &Reply, right: &Reply) {
    assert_eq!((left.status, &left.text), (right.status, &right.text));
}
