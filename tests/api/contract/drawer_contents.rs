//! POST /drawers/{id} and DELETE /drawers/{id}/snacks/{snack_id}: a catalogue snack goes into
//! a drawer once, and comes out.

use super::assertions::{assert_bad_request, assert_error_shape, assert_json, assert_no_content};
use super::fixtures::{
    Fixture, add_snack, alice_with_drawer, contents_ids, drawer_path, remove_snack,
    seeded_with_alice,
};
use crate::support::stores::{StoreKind, for_each_store};
use serde_json::json;

async fn add_snack_answers_201_with_a_message(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    let reply = add_snack(&app, &token, drawer, json!(2)).await;
    assert_json(&reply, 201, json!({"message": "snack added to drawer"}));
    assert_eq!(contents_ids(&app, &token, drawer).await, [2]);
}

async fn add_snack_to_missing_drawer_is_404(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    add_snack(&app, &token, 9, json!(2))
        .await
        .assert_error(404, "404 Not Found: drawer with ID 9 does not exist");
}

async fn add_missing_snack_is_422(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    add_snack(&app, &token, drawer, json!(99))
        .await
        .assert_error(422, "422 Unprocessable Entity: snack with ID 99 does not exist");
    assert!(contents_ids(&app, &token, drawer).await.is_empty());
}

async fn add_snack_already_in_drawer_is_422(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[2]).await;
    add_snack(&app, &token, drawer, json!(2)).await.assert_error(
        422,
        &format!(
            "422 Unprocessable Entity: snack with ID 2 already exists in drawer with ID {drawer}"
        ),
    );
    assert_eq!(contents_ids(&app, &token, drawer).await, [2]);
}

async fn add_snack_needs_snack_to_be_an_integer_of_at_least_one(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    let not_positive_integers = [
        json!(0),
        json!(-1),
        json!("2"),
        json!(2.5),
        json!(null),
        json!(true),
        json!([2]),
        json!({"id": 2}),
        json!(9_223_372_036_854_775_808_u64),
    ];
    for snack in not_positive_integers {
        let reply = add_snack(&app, &token, drawer, snack.clone()).await;
        assert_error_shape(&reply, 400);
        if snack.is_i64() {
            reply.assert_error(400, "400 Bad Request: snack ID must be >= 1");
        }
    }
    let missing = app.post(&drawer_path(drawer)).token(&token).json(json!({})).send().await;
    assert_bad_request(&missing, "snack");
    assert!(contents_ids(&app, &token, drawer).await.is_empty());
}

async fn remove_snack_answers_204_and_the_snack_is_gone(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1, 3]).await;
    assert_no_content(&remove_snack(&app, &token, drawer, 1).await);
    assert_eq!(contents_ids(&app, &token, drawer).await, [3]);
}

async fn removing_a_snack_twice_is_404_the_second_time(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    assert_no_content(&remove_snack(&app, &token, drawer, 1).await);
    assert_error_shape(&remove_snack(&app, &token, drawer, 1).await, 404);
}

async fn removing_a_snack_that_is_not_in_the_drawer_is_404(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    assert_error_shape(&remove_snack(&app, &token, drawer, 2).await, 404);
    assert_error_shape(&remove_snack(&app, &token, drawer, 99).await, 404);
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn removing_from_a_missing_drawer_is_404(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    assert_error_shape(&remove_snack(&app, &token, 9, 1).await, 404);
}

async fn a_removed_snack_can_be_added_again(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    assert_no_content(&remove_snack(&app, &token, drawer, 1).await);
    assert_eq!(add_snack(&app, &token, drawer, json!(1)).await.status, 201);
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn remove_snack_with_id_zero_is_400(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    remove_snack(&app, &token, drawer, 0)
        .await
        .assert_error(400, "400 Bad Request: snack ID must be >= 1");
    remove_snack(&app, &token, 0, 1)
        .await
        .assert_error(400, "400 Bad Request: drawer ID must be >= 1");
}

for_each_store!(
    add_snack_answers_201_with_a_message,
    add_snack_to_missing_drawer_is_404,
    add_missing_snack_is_422,
    add_snack_already_in_drawer_is_422,
    add_snack_needs_snack_to_be_an_integer_of_at_least_one,
    remove_snack_answers_204_and_the_snack_is_gone,
    removing_a_snack_twice_is_404_the_second_time,
    removing_a_snack_that_is_not_in_the_drawer_is_404,
    removing_from_a_missing_drawer_is_404,
    a_removed_snack_can_be_added_again,
    remove_snack_with_id_zero_is_400,
);
