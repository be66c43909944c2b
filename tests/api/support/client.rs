//! The HTTP API driven in-process: the real router, with the request layer and `/metrics`, in
//! front of a core; requests built as a client builds them, replies read whole.
//!
//! Shared with the metrics binary, which compiles this file on its own: keep it self-contained
//! and keep every item in use there too. What only the api binary sends and checks is in
//! `requests.rs`.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use snackdrawer::adapters::http::AddressLimits;
use snackdrawer::app::Snackdrawer;
use snackdrawer::startup::{http_api, observed_use_cases};
use snackdrawer::telemetry::request_trace::TraceSampler;
use std::time::Duration;
use tower::ServiceExt;

pub struct ApiClient {
    router: Router,
}

impl ApiClient {
    /// The API over `core` as production wires it (use cases observed, every request traced).
    pub fn new(core: Snackdrawer) -> Self {
        let use_cases = observed_use_cases(core);
        let timeout = Duration::from_secs(30);
        // In-process requests carry no peer address: the per-address limit could not apply.
        Self::over(http_api(use_cases, timeout, AddressLimits::OFF, TraceSampler::always(), None))
    }

    /// A client of `router`, however it was put together.
    pub fn over(router: Router) -> Self {
        Self { router }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            router: &self.router,
            request: Request::builder().method(method).uri(path),
            body: Body::empty(),
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::POST, path)
    }
}

pub struct RequestBuilder<'a> {
    router: &'a Router,
    request: axum::http::request::Builder,
    body: Body,
}

impl RequestBuilder<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    /// Sends the token the way old clients do.
    pub fn token(self, token: &str) -> Self {
        self.header("x-access-token", token)
    }

    pub fn json(self, value: Value) -> Self {
        self.header("content-type", "application/json").raw_body(value.to_string())
    }

    pub fn raw_body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Body::from(bytes.into());
        self
    }

    pub async fn send(self) -> Reply {
        let request = self.request.body(self.body).expect("a well-formed test request");
        let response =
            self.router.clone().oneshot(request).await.expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("a readable body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, text, json }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}
