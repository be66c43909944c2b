//! A test application: the core on a fresh store (memory, SQLite or PostgreSQL) with a cheap
//! password hash and a clock the test controls, and the client in front of it.

use super::auth::{cheap_hasher, login_throttle, token_service};
use super::client::ApiClient;
use super::stores::{StoreGuard, StoreKind, fresh_ports};
use axum::http::StatusCode;
use serde_json::{Value, json};
use snackdrawer::app::{Bounds, Snackdrawer};
use snackdrawer::ports::{Catalogue, Clock};
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A clock that only moves when told to.
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    fn new() -> Self {
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

pub struct TestApp {
    /// The core, for tests that call the use cases without HTTP.
    pub app: Snackdrawer,
    /// The clock the token service and the login throttle read.
    pub clock: Arc<ManualClock>,
    client: ApiClient,
    _store: StoreGuard,
}

/// Requests go to the app's client: `app.get("/snacks/")`.
impl Deref for TestApp {
    type Target = ApiClient;

    fn deref(&self) -> &ApiClient {
        &self.client
    }
}

impl TestApp {
    /// A fresh, empty store of the given kind: no users, no snacks.
    pub async fn new(store: StoreKind) -> Self {
        Self::bounded(store, Bounds::none()).await
    }

    /// As `new`, with the list limits and write rate of `bounds`.
    pub async fn bounded(store: StoreKind, bounds: Bounds) -> Self {
        let clock = Arc::new(ManualClock::new());
        let hasher = Arc::new(cheap_hasher());
        let tokens = Arc::new(token_service(clock.clone()));
        let throttle = login_throttle(clock.clone());
        let (ports, guard) = fresh_ports(store, hasher, tokens, throttle).await;
        let app = Snackdrawer::bounded(ports, bounds);
        Self { client: ApiClient::new(app.clone()), app, clock, _store: guard }
    }

    /// A fresh store with the default catalogue (snacks 1 to 12, "chips" first).
    pub async fn seeded(store: StoreKind) -> Self {
        let test_app = Self::new(store).await;
        test_app.app.seed_catalogue().await.expect("seeding an empty store works");
        test_app
    }

    /// Registers `username` (password "secret") and returns the id.
    pub async fn register(&self, username: &str) -> i64 {
        let created = self.post_credentials("/auth/users", username).await;
        created["id"].as_i64().expect("registration returns an id")
    }

    /// Logs `username` in (password "secret") and returns the token.
    pub async fn log_in(&self, username: &str) -> String {
        let created = self.post_credentials("/auth/login", username).await;
        created["token"].as_str().expect("login returns a token").to_owned()
    }

    /// POSTs `username` with password "secret" to `path`; returns the body of the 201.
    async fn post_credentials(&self, path: &str, username: &str) -> Value {
        let credentials = json!({"username": username, "password": "secret"});
        let reply = self.post(path).json(credentials).send().await;
        assert_eq!(reply.status, StatusCode::CREATED, "POST {path} as {username}: {}", reply.text);
        reply.json
    }

    /// Registers and logs in; returns the token.
    pub async fn user(&self, username: &str) -> String {
        self.register(username).await;
        self.log_in(username).await
    }

    /// Creates a drawer as the token's owner and returns its id.
    pub async fn drawer(&self, token: &str, name: &str) -> i64 {
        let reply = self.post("/drawers/").token(token).json(json!({ "name": name })).send().await;
        assert_eq!(reply.status, StatusCode::CREATED, "creating drawer {name}: {}", reply.text);
        reply.json["drawer"]["id"].as_i64().expect("a drawer has an id")
    }
}
