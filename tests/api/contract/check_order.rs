//! The order of checks on protected routes: token (401), path id < 1 (400), body (400),
//! existence (404), business rules (422).

use super::assertions::assert_bad_request;
use super::fixtures::{
    INVALID_TOKEN, NO_TOKEN, NOT_JSON, add_snack, padded_body, post_raw, seeded_with_alice,
};
use crate::support::TestApp;
use crate::support::stores::{StoreKind, for_each_store};
use serde_json::json;
use snackdrawer::adapters::http::BODY_LIMIT_BYTES;

async fn token_is_checked_before_the_path_id(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    app.post("/drawers/0").raw_body(NOT_JSON).send().await.assert_error(401, NO_TOKEN);
    app.get("/drawers/0").send().await.assert_error(401, NO_TOKEN);
    app.delete("/drawers/0").send().await.assert_error(401, NO_TOKEN);
    app.delete("/drawers/0/snacks/0").send().await.assert_error(401, NO_TOKEN);
    app.get("/drawers/0").token("garbage").send().await.assert_error(401, INVALID_TOKEN);
}

async fn token_is_checked_before_the_body(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    for path in ["/snacks/", "/drawers/", "/drawers/1"] {
        app.post(path).raw_body(NOT_JSON).send().await.assert_error(401, NO_TOKEN);
        let too_large = padded_body(BODY_LIMIT_BYTES + 1);
        app.post(path).raw_body(too_large).send().await.assert_error(401, NO_TOKEN);
    }
}

async fn path_id_is_checked_before_the_body(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    post_raw(&app, &token, "/drawers/0", NOT_JSON)
        .await
        .assert_error(400, "400 Bad Request: drawer ID must be >= 1");
    add_snack(&app, &token, 0, json!("two"))
        .await
        .assert_error(400, "400 Bad Request: drawer ID must be >= 1");
}

async fn body_is_checked_before_the_drawer_exists(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    assert_bad_request(&post_raw(&app, &token, "/drawers/9", NOT_JSON).await, "JSON");
    add_snack(&app, &token, 9, json!(0))
        .await
        .assert_error(400, "400 Bad Request: snack ID must be >= 1");
    let missing_field = app.post("/drawers/9").token(&token).json(json!({})).send().await;
    assert_bad_request(&missing_field, "snack");
}

async fn drawer_existence_is_checked_before_the_snack(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    add_snack(&app, &token, 9, json!(99))
        .await
        .assert_error(404, "404 Not Found: drawer with ID 9 does not exist");
}

for_each_store!(
    token_is_checked_before_the_path_id,
    token_is_checked_before_the_body,
    path_id_is_checked_before_the_body,
    body_is_checked_before_the_drawer_exists,
    drawer_existence_is_checked_before_the_snack,
);
