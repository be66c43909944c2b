//! GET and POST /drawers/, GET and DELETE /drawers/{id}: each user's own drawers, names
//! unique per user, contents in snack id order.

use super::assertions::{assert_error_shape, assert_json, assert_no_content};
use super::fixtures::{
    Fixture, alice_with_drawer, catalogue_snack, contents_ids, create_drawer, delete_drawer,
    get_drawer, seeded_with_alice,
};
use crate::support::stores::{StoreKind, for_each_store};
use serde_json::json;

async fn drawer_list_of_a_new_user_is_empty(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    assert_json(&app.get("/drawers/").token(&token).send().await, 200, json!({"drawers": []}));
}

async fn drawer_list_shows_only_the_callers_drawers_without_contents(store: StoreKind) {
    let Fixture { app, token: alice, drawer: first } = alice_with_drawer(store, &[1, 2]).await;
    let bob = app.user("bob").await;
    app.drawer(&bob, "bobs").await;
    let bar = app.drawer(&alice, "bar").await;
    let reply = app.get("/drawers/").token(&alice).send().await;
    assert_json(
        &reply,
        200,
        json!({"drawers": [{"id": first, "name": "foo"}, {"id": bar, "name": "bar"}]}),
    );
}

async fn create_drawer_answers_201_with_empty_contents(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    let reply = create_drawer(&app, &token, "foo").await;
    let id = reply.json["drawer"]["id"].as_i64().expect("an integer id");
    assert!(id >= 1);
    assert_json(&reply, 201, json!({"drawer": {"contents": [], "id": id, "name": "foo"}}));
}

async fn create_drawer_with_a_name_the_caller_uses_is_422(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    app.drawer(&token, "foo").await;
    create_drawer(&app, &token, "foo").await.assert_error(
        422,
        "422 Unprocessable Entity: drawer with name foo already exists for this user",
    );
}

async fn another_user_may_reuse_a_drawer_name(store: StoreKind) {
    let (app, alice) = seeded_with_alice(store).await;
    let bob = app.user("bob").await;
    let alices = app.drawer(&alice, "foo").await;
    let bobs = app.drawer(&bob, "foo").await;
    assert_ne!(alices, bobs);
}

async fn drawer_names_are_case_sensitive(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    app.drawer(&token, "foo").await;
    assert_eq!(create_drawer(&app, &token, "Foo").await.status, 201);
}

async fn get_drawer_lists_contents_in_snack_id_order(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[3, 1]).await;
    let expected = json!({"drawer": {
        "contents": [catalogue_snack(1), catalogue_snack(3)],
        "id": drawer,
        "name": "foo",
    }});
    assert_json(&get_drawer(&app, &token, drawer).await, 200, expected);
}

async fn get_drawer_zero_is_400(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    get_drawer(&app, &token, 0).await.assert_error(400, "400 Bad Request: drawer ID must be >= 1");
}

async fn get_missing_drawer_is_404(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    get_drawer(&app, &token, 9)
        .await
        .assert_error(404, "404 Not Found: drawer with ID == 9 not found");
}

async fn delete_drawer_answers_204_and_the_drawer_is_gone(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    assert_no_content(&delete_drawer(&app, &token, drawer).await);
    get_drawer(&app, &token, drawer)
        .await
        .assert_error(404, &format!("404 Not Found: drawer with ID == {drawer} not found"));
    assert_json(&app.get("/drawers/").token(&token).send().await, 200, json!({"drawers": []}));
}

async fn deleting_a_drawer_twice_is_404_the_second_time(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    assert_no_content(&delete_drawer(&app, &token, drawer).await);
    assert_error_shape(&delete_drawer(&app, &token, drawer).await, 404);
}

async fn a_deleted_drawers_name_can_be_used_again(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    assert_no_content(&delete_drawer(&app, &token, drawer).await);
    let again = app.drawer(&token, "foo").await;
    assert!(contents_ids(&app, &token, again).await.is_empty());
}

async fn delete_drawer_zero_is_400(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    delete_drawer(&app, &token, 0)
        .await
        .assert_error(400, "400 Bad Request: drawer ID must be >= 1");
}

for_each_store!(
    drawer_list_of_a_new_user_is_empty,
    drawer_list_shows_only_the_callers_drawers_without_contents,
    create_drawer_answers_201_with_empty_contents,
    create_drawer_with_a_name_the_caller_uses_is_422,
    another_user_may_reuse_a_drawer_name,
    drawer_names_are_case_sensitive,
    get_drawer_lists_contents_in_snack_id_order,
    get_drawer_zero_is_400,
    get_missing_drawer_is_404,
    delete_drawer_answers_204_and_the_drawer_is_gone,
    deleting_a_drawer_twice_is_404_the_second_time,
    a_deleted_drawers_name_can_be_used_again,
    delete_drawer_zero_is_400,
);
