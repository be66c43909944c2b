//! POST /auth/users and POST /auth/login: registering answers the id and the name, logging in
//! a token; a wrong password and an unknown user cannot be told apart.

use super::assertions::{assert_json, assert_same_reply};
use super::fixtures::{BAD_CREDENTIALS, log_in, register};
use crate::support::TestApp;
use crate::support::stores::{StoreKind, for_each_store};
use serde_json::json;

const USERNAME_TAKEN: &str = "422 Unprocessable Entity: username taken";

async fn register_answers_201_with_id_and_username_only(store: StoreKind) {
    let app = TestApp::new(store).await;
    let reply = register(&app, "cookiemonster", "secret").await;
    let id = reply.json["id"].as_i64().expect("an integer id");
    assert!(id >= 1);
    assert_json(&reply, 201, json!({"id": id, "username": "cookiemonster"}));
}

async fn each_registration_gets_its_own_id(store: StoreKind) {
    let app = TestApp::new(store).await;
    let first = app.register("alice").await;
    let second = app.register("bob").await;
    assert_ne!(first, second);
}

async fn registering_a_taken_username_is_422(store: StoreKind) {
    let app = TestApp::new(store).await;
    app.register("alice").await;
    register(&app, "alice", "another password").await.assert_error(422, USERNAME_TAKEN);
}

async fn usernames_are_case_sensitive(store: StoreKind) {
    let app = TestApp::new(store).await;
    app.register("alice").await;
    assert_eq!(register(&app, "Alice", "other").await.status, 201);
    log_in(&app, "Alice", "secret").await.assert_error(401, BAD_CREDENTIALS);
}

async fn login_answers_201_with_a_token_only(store: StoreKind) {
    let app = TestApp::new(store).await;
    app.register("alice").await;
    let reply = log_in(&app, "alice", "secret").await;
    let token = reply.json["token"].as_str().expect("a string token").to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert_json(&reply, 201, json!({ "token": token }));
    assert_eq!(app.get("/drawers/").token(&token).send().await.status, 200);
}

async fn wrong_password_and_unknown_user_get_the_same_401(store: StoreKind) {
    let app = TestApp::new(store).await;
    app.register("alice").await;
    let wrong_password = log_in(&app, "alice", "not the password").await;
    let unknown_user = log_in(&app, "mallory", "secret").await;
    wrong_password.assert_error(401, BAD_CREDENTIALS);
    assert_same_reply(&wrong_password, &unknown_user);
}

for_each_store!(
    register_answers_201_with_id_and_username_only,
    each_registration_gets_its_own_id,
    registering_a_taken_username_is_422,
    usernames_are_case_sensitive,
    login_answers_201_with_a_token_only,
    wrong_password_and_unknown_user_get_the_same_401,
);
