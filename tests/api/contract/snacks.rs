//! GET /snacks/, GET /snacks/{id} and POST /snacks/: the catalogue in id order, one snack,
//! and new snacks, whose names are unique across all users.

use super::assertions::assert_json;
use super::fixtures::{catalogue_snack, create_snack, seeded_with_alice};
use crate::support::TestApp;
use crate::support::stores::{StoreKind, for_each_store};
use serde_json::{Value, json};
use snackdrawer::app::DEFAULT_CATALOGUE;

async fn snack_list_is_the_catalogue_in_id_order(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    let expected: Vec<Value> = (1..=DEFAULT_CATALOGUE.len()).map(catalogue_snack).collect();
    let reply = app.get("/snacks/").send().await;
    assert_json(&reply, 200, json!({ "snacks": expected }));
    assert_eq!(reply.json["snacks"][0], json!({"id": 1, "name": "chips"}));
}

async fn snack_list_of_an_empty_store_is_empty(store: StoreKind) {
    let app = TestApp::new(store).await;
    assert_json(&app.get("/snacks/").send().await, 200, json!({"snacks": []}));
}

/// The list is read (and its body rendered) before and after the write: a body kept from
/// before the write would miss the new snack.
async fn snack_list_needs_no_token_and_shows_new_snacks_last(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    let listed = || async { app.get("/snacks/").send().await.json["snacks"].clone() };
    assert_eq!(listed().await, listed().await, "two reads of an unchanged catalogue");
    assert_eq!(listed().await.as_array().unwrap().len(), DEFAULT_CATALOGUE.len());
    let id = create_snack(&app, &token, "salted caramel").await.json["snack"]["id"].clone();
    let snacks = listed().await.as_array().unwrap().clone();
    assert_eq!(snacks.len(), DEFAULT_CATALOGUE.len() + 1);
    assert_eq!(snacks.last(), Some(&json!({"id": id, "name": "salted caramel"})));
}

async fn get_snack_by_id(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    assert_json(&app.get("/snacks/1").send().await, 200, json!({"snack": catalogue_snack(1)}));
    assert_json(&app.get("/snacks/12").send().await, 200, json!({"snack": catalogue_snack(12)}));
}

async fn get_snack_zero_is_400(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    app.get("/snacks/0").send().await.assert_error(400, "400 Bad Request: snack ID must be >= 1");
}

async fn get_missing_snack_is_404(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    app.get("/snacks/99")
        .send()
        .await
        .assert_error(404, "404 Not Found: snack with ID == 99 not found");
}

async fn create_snack_answers_201_with_the_snack(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    let reply = create_snack(&app, &token, "salted caramel").await;
    let id = reply.json["snack"]["id"].as_i64().expect("an integer id");
    assert!(id > DEFAULT_CATALOGUE.len() as i64, "a new id: {id}");
    assert_json(&reply, 201, json!({"snack": {"id": id, "name": "salted caramel"}}));
    let fetched = app.get(&format!("/snacks/{id}")).send().await;
    assert_json(&fetched, 200, json!({"snack": {"id": id, "name": "salted caramel"}}));
}

async fn create_snack_with_a_taken_name_is_422(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    create_snack(&app, &token, "pretzels").await.assert_error(
        422,
        r#"422 Unprocessable Entity: snack with name "pretzels" already exists"#,
    );
}

async fn snack_names_are_global_across_users(store: StoreKind) {
    let (app, alice) = seeded_with_alice(store).await;
    let bob = app.user("bob").await;
    assert_eq!(create_snack(&app, &alice, "salted caramel").await.status, 201);
    create_snack(&app, &bob, "salted caramel").await.assert_error(
        422,
        r#"422 Unprocessable Entity: snack with name "salted caramel" already exists"#,
    );
}

async fn snack_names_are_case_sensitive(store: StoreKind) {
    let app = TestApp::new(store).await;
    let token = app.user("alice").await;
    let upper = create_snack(&app, &token, "Chocolate").await;
    let lower = create_snack(&app, &token, "chocolate").await;
    assert_eq!((upper.status.as_u16(), lower.status.as_u16()), (201, 201));
    assert_ne!(upper.json["snack"]["id"], lower.json["snack"]["id"]);
    create_snack(&app, &token, "Chocolate").await.assert_error(
        422,
        r#"422 Unprocessable Entity: snack with name "Chocolate" already exists"#,
    );
}

for_each_store!(
    snack_list_is_the_catalogue_in_id_order,
    snack_list_of_an_empty_store_is_empty,
    snack_list_needs_no_token_and_shows_new_snacks_last,
    get_snack_by_id,
    get_snack_zero_is_400,
    get_missing_snack_is_404,
    create_snack_answers_201_with_the_snack,
    create_snack_with_a_taken_name_is_422,
    snack_names_are_global_across_users,
    snack_names_are_case_sensitive,
);
