//! Where the contract tests start (a seeded store, alice and her drawer), the errors they
//! expect most, and shorthands for the requests they send.

use crate::support::TestApp;
use crate::support::client::Reply;
use crate::support::stores::StoreKind;
use serde_json::{Value, json};
use snackdrawer::app::DEFAULT_CATALOGUE;

// The refusals several sections expect, word for word.
pub const NO_TOKEN: &str = "401 Unauthorized: no authentication token";
pub const INVALID_TOKEN: &str = "401 Unauthorized: invalid authentication token";
pub const BAD_CREDENTIALS: &str = "401 Unauthorized: username or password incorrect";

/// A body that is not even JSON.
pub const NOT_JSON: &str = "this is not json";

/// Catalogue snack `id` of the seeded store, as the API shows it.
pub fn catalogue_snack(id: usize) -> Value {
    json!({"id": id, "name": DEFAULT_CATALOGUE[id - 1]})
}

/// A seeded app with alice logged in.
pub async fn seeded_with_alice(store: StoreKind) -> (TestApp, String) {
    let app = TestApp::seeded(store).await;
    let token = app.user("alice").await;
    (app, token)
}

/// A seeded app where alice owns drawer "foo" holding `snacks`.
pub struct Fixture {
    pub app: TestApp,
    pub token: String,
    pub drawer: i64,
}

pub async fn alice_with_drawer(store: StoreKind, snacks: &[i64]) -> Fixture {
    let (app, token) = seeded_with_alice(store).await;
    let drawer = app.drawer(&token, "foo").await;
    for &snack in snacks {
        assert_eq!(add_snack(&app, &token, drawer, json!(snack)).await.status, 201);
    }
    Fixture { app, token, drawer }
}

pub fn drawer_path(drawer: i64) -> String {
    format!("/drawers/{drawer}")
}

pub fn drawer_snack_path(drawer: i64, snack: i64) -> String {
    format!("/drawers/{drawer}/snacks/{snack}")
}

pub async fn add_snack(app: &TestApp, token: &str, drawer: i64, snack: Value) -> Reply {
    app.post(&drawer_path(drawer)).token(token).json(json!({ "snack": snack })).send().await
}

pub async fn get_drawer(app: &TestApp, token: &str, drawer: i64) -> Reply {
    app.get(&drawer_path(drawer)).token(token).send().await
}

pub async fn remove_snack(app: &TestApp, token: &str, drawer: i64, snack: i64) -> Reply {
    app.delete(&drawer_snack_path(drawer, snack)).token(token).send().await
}

pub async fn delete_drawer(app: &TestApp, token: &str, drawer: i64) -> Reply {
    app.delete(&drawer_path(drawer)).token(token).send().await
}

pub async fn create_snack(app: &TestApp, token: &str, name: &str) -> Reply {
    app.post("/snacks/").token(token).json(json!({ "name": name })).send().await
}

pub async fn create_drawer(app: &TestApp, token: &str, name: &str) -> Reply {
    app.post("/drawers/").token(token).json(json!({ "name": name })).send().await
}

pub async fn register(app: &TestApp, username: &str, password: &str) -> Reply {
    app.post("/auth/users").json(json!({"username": username, "password": password})).send().await
}

pub async fn log_in(app: &TestApp, username: &str, password: &str) -> Reply {
    app.post("/auth/login").json(json!({"username": username, "password": password})).send().await
}

/// Sends `body` as-is, labelled as JSON, with alice's token (harmless on the auth routes).
pub async fn post_raw(app: &TestApp, token: &str, path: &str, body: impl Into<Vec<u8>>) -> Reply {
    app.post(path)
        .token(token)
        .header("content-type", "application/json")
        .raw_body(body)
        .send()
        .await
}

/// The contents of the caller's drawer, as snack ids, after asserting the GET succeeds.
pub async fn contents_ids(app: &TestApp, token: &str, drawer: i64) -> Vec<i64> {
    let reply = get_drawer(app, token, drawer).await;
    assert_eq!(reply.status, 200, "body: {}", reply.text);
    let contents = reply.json["drawer"]["contents"].as_array().expect("contents is an array");
    contents.iter().map(|snack| snack["id"].as_i64().unwrap()).collect()
}

/// A JSON object of exactly `len` bytes whose only field is one the service ignores.
pub fn padded_body(len: usize) -> String {
    let overhead = r#"{"pad":""}"#.len();
    let body = format!(r#"{{"pad":"{}"}}"#, "a".repeat(len - overhead));
    assert_eq!(body.len(), len);
    body
}
