//! Shared test harness: an application on a fresh store (memory, SQLite or PostgreSQL) with a
//! cheap password hash and a clock the test controls, driven in-process through the real router.
//!
//! Each test binary compiles this module on its own and uses part of it.
#![allow(dead_code)]

pub mod server;
pub mod stores;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use snackdrawer::app::{Ports, Snackdrawer};
use snackdrawer::outbound::jwt::JwtTokens;
use snackdrawer::outbound::scrypt::{HashingLimits, ScryptCost, ScryptHasher};
use snackdrawer::ports::Catalogue;
use snackdrawer::ports::Clock;
use snackdrawer::startup::{http_api, observed_use_cases};
use snackdrawer::telemetry::request_trace::TraceSampler;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use stores::{StoreGuard, StoreKind, fresh_ports};
use tower::ServiceExt;

/// The secret tests sign tokens with.
pub const SECRET: &[u8] = b"test secret, never used outside tests";
/// Token lifetime in the harness.
pub const TOKEN_TTL: Duration = Duration::from_secs(900);
/// scrypt at its cheapest: tests exercise the real hasher without paying for it.
pub const CHEAP_SCRYPT: ScryptCost = ScryptCost { log_n: 4, r: 8, p: 1 };

/// A clock that only moves when told to.
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    pub fn new() -> Self {
        Self(Mutex::new(SystemTime::now()))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

/// Runs the futures at once on the runtime's worker threads; results come back in order.
pub async fn concurrently<T: Send + 'static>(
    futures: impl IntoIterator<Item = impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await.expect("a concurrent task panicked"));
    }
    results
}

/// The harness's clock, cheap hasher and token service.
pub fn auth_adapters() -> (Arc<ManualClock>, ScryptHasher, JwtTokens) {
    let clock = Arc::new(ManualClock::new());
    let hasher = ScryptHasher::new(CHEAP_SCRYPT, HashingLimits { workers: 2, queue: 1024 })
        .expect("cheap scrypt parameters are valid");
    let tokens = JwtTokens::new(SECRET, TOKEN_TTL, clock.clone());
    (clock, hasher, tokens)
}

pub struct TestApp {
    pub app: Snackdrawer,
    pub clock: Arc<ManualClock>,
    router: Router,
    _store: StoreGuard,
}

impl TestApp {
    /// A fresh, empty store of the given kind: no users, no snacks.
    pub async fn new(store: StoreKind) -> Self {
        let (clock, hasher, tokens) = auth_adapters();
        let (ports, guard) = fresh_ports(store, Arc::new(hasher), Arc::new(tokens)).await;
        Self::with_ports(ports, clock, guard)
    }

    /// An app over `ports` as given: for tests that wrap or replace adapters.
    pub fn with_ports(ports: Ports, clock: Arc<ManualClock>, guard: StoreGuard) -> Self {
        let app = Snackdrawer::new(ports);
        Self {
            router: http_api(
                observed_use_cases(app.clone()),
                Duration::from_secs(30),
                TraceSampler::always(),
            ),
            app,
            clock,
            _store: guard,
        }
    }

    /// A fresh store with the default catalogue (snacks 1 to 12, "chips" first).
    pub async fn seeded(store: StoreKind) -> Self {
        let test_app = Self::new(store).await;
        test_app.app.seed_catalogue().await.expect("seeding an empty store works");
        test_app
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

    pub fn delete(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::DELETE, path)
    }

    /// Registers `username` (password "secret") and returns the id.
    pub async fn register(&self, username: &str) -> i64 {
        let reply = self
            .post("/auth/users")
            .json(serde_json::json!({"username": username, "password": "secret"}))
            .send()
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "registering {username}: {}", reply.text);
        reply.json["id"].as_i64().expect("registration returns an id")
    }

    /// Logs `username` in (password "secret") and returns the token.
    pub async fn log_in(&self, username: &str) -> String {
        let reply = self
            .post("/auth/login")
            .json(serde_json::json!({"username": username, "password": "secret"}))
            .send()
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "logging in {username}: {}", reply.text);
        reply.json["token"].as_str().expect("login returns a token").to_owned()
    }

    /// Registers and logs in; returns the token.
    pub async fn user(&self, username: &str) -> String {
        self.register(username).await;
        self.log_in(username).await
    }

    /// Creates a drawer as the token's owner and returns its id.
    pub async fn drawer(&self, token: &str, name: &str) -> i64 {
        let reply = self
            .post("/drawers/")
            .token(token)
            .json(serde_json::json!({ "name": name }))
            .send()
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "creating drawer {name}: {}", reply.text);
        reply.json["drawer"]["id"].as_i64().expect("a drawer has an id")
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

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn json(mut self, value: Value) -> Self {
        self.request = self.request.header("content-type", "application/json");
        self.body = Body::from(value.to_string());
        self
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
