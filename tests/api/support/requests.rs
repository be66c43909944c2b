//! What only the api binary sends and checks, on top of `client.rs` (which the metrics binary
//! compiles too, and uses all of): DELETE, the `Authorization: Bearer` header, and the
//! contract's error shape.

use super::client::{ApiClient, Reply, RequestBuilder};
use axum::http::Method;

impl ApiClient {
    pub fn delete(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::DELETE, path)
    }
}

impl RequestBuilder<'_> {
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }
}

impl Reply {
    /// Asserts the contract's error shape and returns the `error` string.
    pub fn error(&self) -> &str {
        assert_eq!(
            self.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "errors are JSON: {self:?}"
        );
        self.json["error"].as_str().unwrap_or_else(|| panic!("no error field in {}", self.text))
    }

    /// Asserts status and full error text at once, showing the body on failure.
    pub fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        assert_eq!(self.error(), error);
    }
}
