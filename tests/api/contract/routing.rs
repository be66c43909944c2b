//! Routing: unknown paths 404 and wrong methods 405, in the error shape; ids that are not
//! numbers are unknown routes; /snacks and /drawers answer with or without the trailing slash.

use super::assertions::{assert_error_shape, assert_json, assert_same_reply};
use super::fixtures::{
    Fixture, alice_with_drawer, contents_ids, drawer_path, drawer_snack_path, seeded_with_alice,
};
use crate::support::TestApp;
use crate::support::stores::{StoreKind, for_each_store};
use axum::http::Method;
use serde_json::json;

async fn unknown_routes_are_404_in_the_error_shape(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    for path in ["/", "/nope", "/auth", "/auth/nope", "/snack/1", "/drawers/1/snacks", "/metrics/x"]
    {
        assert_error_shape(&app.get(path).token(&token).send().await, 404);
        assert_error_shape(&app.post(path).token(&token).send().await, 404);
    }
}

async fn trailing_slashes_on_items_and_auth_routes_are_unknown(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    assert_error_shape(&app.get("/snacks/1/").send().await, 404);
    assert_error_shape(&app.get(&format!("/drawers/{drawer}/")).token(&token).send().await, 404);
    let credentials = json!({"username": "alice", "password": "secret"});
    for path in ["/auth/users/", "/auth/login/"] {
        let reply = app.post(path).json(credentials.clone()).send().await;
        assert_error_shape(&reply, 404);
    }
}

async fn wrong_methods_are_405_in_the_error_shape(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    let wrong = [
        (Method::GET, "/auth/users".to_owned()),
        (Method::GET, "/auth/login".to_owned()),
        (Method::DELETE, "/snacks/".to_owned()),
        (Method::PUT, "/snacks".to_owned()),
        (Method::POST, "/snacks/1".to_owned()),
        (Method::DELETE, "/snacks/1".to_owned()),
        (Method::DELETE, "/drawers/".to_owned()),
        (Method::PUT, drawer_path(drawer)),
        (Method::PATCH, drawer_path(drawer)),
        (Method::GET, drawer_snack_path(drawer, 1)),
    ];
    for (method, path) in wrong {
        let reply = app.request(method, &path).token(&token).send().await;
        assert_error_shape(&reply, 405);
        assert!(reply.headers.contains_key("allow"), "405 says what is allowed: {path}");
    }
    let allowed = app.request(Method::PUT, "/snacks/").send().await;
    assert_eq!(allowed.headers["allow"], "GET,HEAD,POST");
}

async fn a_non_numeric_id_is_404_whatever_the_method(store: StoreKind) {
    let app = TestApp::new(store).await;
    for path in ["/snacks/abc", "/drawers/abc", "/drawers/-1/snacks/1", "/drawers/1/snacks/x"] {
        for method in [Method::PUT, Method::PATCH, Method::GET, Method::DELETE] {
            let reply = app.request(method.clone(), path).send().await;
            assert_error_shape(&reply, 404);
        }
    }
}

async fn snacks_and_drawers_without_trailing_slash_serve_the_same(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    assert_same_reply(&app.get("/snacks").send().await, &app.get("/snacks/").send().await);
    let created = app.post("/snacks").token(&token).json(json!({"name": "nachos"})).send().await;
    let id = created.json["snack"]["id"].clone();
    assert_json(&created, 201, json!({"snack": {"id": id, "name": "nachos"}}));

    let created = app.post("/drawers").token(&token).json(json!({"name": "foo"})).send().await;
    let id = created.json["drawer"]["id"].clone();
    assert_json(&created, 201, json!({"drawer": {"contents": [], "id": id, "name": "foo"}}));
    let without = app.get("/drawers").bearer(&token).send().await;
    assert_same_reply(&without, &app.get("/drawers/").bearer(&token).send().await);
    assert_json(&without, 200, json!({"drawers": [{"id": id, "name": "foo"}]}));
}

async fn non_numeric_and_negative_ids_are_unknown_routes(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    let snack_paths = ["/snacks/abc", "/snacks/-1", "/snacks/1.5", "/snacks/+1", "/snacks/1e3"];
    for path in snack_paths {
        assert_error_shape(&app.get(path).send().await, 404);
    }
    for path in ["/drawers/abc", "/drawers/-1", "/drawers/99999999999999999999"] {
        assert_error_shape(&app.get(path).token(&token).send().await, 404);
        let add = app.post(path).token(&token).json(json!({"snack": 1})).send().await;
        assert_error_shape(&add, 404);
        assert_error_shape(&app.delete(path).token(&token).send().await, 404);
    }
    for path in [format!("/drawers/{drawer}/snacks/abc"), "/drawers/-1/snacks/1".into()] {
        assert_error_shape(&app.delete(&path).token(&token).send().await, 404);
    }
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn unknown_id_routes_are_404_even_without_a_token(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    assert_error_shape(&app.get("/drawers/abc").send().await, 404);
    assert_error_shape(&app.delete("/drawers/-1").send().await, 404);
}

for_each_store!(
    unknown_routes_are_404_in_the_error_shape,
    trailing_slashes_on_items_and_auth_routes_are_unknown,
    wrong_methods_are_405_in_the_error_shape,
    a_non_numeric_id_is_404_whatever_the_method,
    snacks_and_drawers_without_trailing_slash_serve_the_same,
    non_numeric_and_negative_ids_are_unknown_routes,
    unknown_id_routes_are_404_even_without_a_token,
);
