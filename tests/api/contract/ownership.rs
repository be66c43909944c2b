//! Ownership: another user's drawer answers exactly like a missing one, and stays unchanged.

use super::assertions::{assert_error_shape, assert_json, assert_no_content, assert_same_reply};
use super::fixtures::{
    Fixture, add_snack, alice_with_drawer, contents_ids, delete_drawer, get_drawer, remove_snack,
};
use crate::support::TestApp;
use crate::support::client::Reply;
use crate::support::stores::{StoreKind, for_each_store};
use serde_json::json;

async fn another_user_cannot_read_a_drawer(store: StoreKind) {
    let Fixture { app, drawer, .. } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    get_drawer(&app, &bob, drawer)
        .await
        .assert_error(404, &format!("404 Not Found: drawer with ID == {drawer} not found"));
}

async fn another_user_cannot_add_to_a_drawer(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    let not_found = format!("404 Not Found: drawer with ID {drawer} does not exist");
    // A new snack, one already inside and a missing one all answer alike: no 422 gives it away.
    for snack in [2, 1, 99] {
        add_snack(&app, &bob, drawer, json!(snack)).await.assert_error(404, &not_found);
    }
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn another_user_cannot_remove_from_a_drawer(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    assert_error_shape(&remove_snack(&app, &bob, drawer, 1).await, 404);
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn another_user_cannot_delete_a_drawer(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    assert_error_shape(&delete_drawer(&app, &bob, drawer).await, 404);
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn another_users_drawers_are_not_listed(store: StoreKind) {
    let Fixture { app, .. } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    assert_json(&app.get("/drawers/").token(&bob).send().await, 200, json!({"drawers": []}));
}

async fn a_drawer_is_unchanged_by_another_users_attempts(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1, 3]).await;
    let before = get_drawer(&app, &token, drawer).await;
    let bob = app.user("bob").await;
    add_snack(&app, &bob, drawer, json!(2)).await;
    remove_snack(&app, &bob, drawer, 1).await;
    delete_drawer(&app, &bob, drawer).await;
    assert_same_reply(&get_drawer(&app, &token, drawer).await, &before);
}

/// Bob's four requests on `drawer`: read, add, remove, delete.
async fn bobs_attempts(app: &TestApp, bob: &str, drawer: i64) -> Vec<Reply> {
    vec![
        get_drawer(app, bob, drawer).await,
        add_snack(app, bob, drawer, json!(1)).await,
        remove_snack(app, bob, drawer, 1).await,
        delete_drawer(app, bob, drawer).await,
    ]
}

async fn another_users_drawer_answers_exactly_like_a_missing_one(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    let while_alices = bobs_attempts(&app, &bob, drawer).await;
    assert_no_content(&delete_drawer(&app, &token, drawer).await);
    let once_missing = bobs_attempts(&app, &bob, drawer).await;
    for (theirs, missing) in while_alices.iter().zip(&once_missing) {
        assert_error_shape(theirs, 404);
        assert_same_reply(theirs, missing);
    }
}

for_each_store!(
    another_user_cannot_read_a_drawer,
    another_user_cannot_add_to_a_drawer,
    another_user_cannot_remove_from_a_drawer,
    another_user_cannot_delete_a_drawer,
    another_users_drawers_are_not_listed,
    a_drawer_is_unchanged_by_another_users_attempts,
    another_users_drawer_answers_exactly_like_a_missing_one,
);
