//! Uniqueness under concurrency: many identical requests at once give exactly one success and
//! 422 for all the others, and exactly one record.

use crate::support::TestApp;
use crate::support::stores::{StoreKind, for_each_store};
use serde_json::json;

const RACERS: usize = 24;

/// Runs the futures at once on the runtime's worker threads; results come back in order.
async fn concurrently<T: Send + 'static>(
    futures: impl IntoIterator<Item = impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await.expect("a concurrent task panicked"));
    }
    results
}

/// Asserts one 201 and 422 for every other racer.
fn assert_one_winner(statuses: &[u16]) {
    let created = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 422).count();
    assert_eq!((created, refused), (1, RACERS - 1), "statuses: {statuses:?}");
}

async fn concurrent_registrations_of_one_username_give_one_account(store: StoreKind) {
    let app = std::sync::Arc::new(TestApp::new(store).await);
    let statuses = concurrently((0..RACERS).map(|_| {
        let app = app.clone();
        async move {
            let body = json!({"username": "popular", "password": "secret"});
            app.post("/auth/users").json(body).send().await.status.as_u16()
        }
    }))
    .await;
    assert_one_winner(&statuses);
    app.log_in("popular").await;
}

async fn concurrent_creations_of_one_snack_give_one_snack(store: StoreKind) {
    let app = std::sync::Arc::new(TestApp::new(store).await);
    let token = app.user("alice").await;
    let statuses = concurrently((0..RACERS).map(|_| {
        let (app, token) = (app.clone(), token.clone());
        async move {
            let body = json!({"name": "pretzels"});
            app.post("/snacks/").token(&token).json(body).send().await.status.as_u16()
        }
    }))
    .await;
    assert_one_winner(&statuses);
    let snacks = app.get("/snacks/").send().await.json;
    assert_eq!(snacks, json!({"snacks": [{"id": 1, "name": "pretzels"}]}));
}

async fn concurrent_additions_of_one_snack_to_one_drawer_add_it_once(store: StoreKind) {
    let app = std::sync::Arc::new(TestApp::seeded(store).await);
    let token = app.user("alice").await;
    let drawer = app.drawer(&token, "desk").await;
    let statuses = concurrently((0..RACERS).map(|_| {
        let (app, token) = (app.clone(), token.clone());
        async move {
            let path = format!("/drawers/{drawer}");
            app.post(&path).token(&token).json(json!({"snack": 3})).send().await.status.as_u16()
        }
    }))
    .await;
    assert_one_winner(&statuses);
    let contents = app.get(&format!("/drawers/{drawer}")).token(&token).send().await;
    assert_eq!(contents.json["drawer"]["contents"], json!([{"id": 3, "name": "popcorn"}]));
}

for_each_store!(
    concurrent_registrations_of_one_username_give_one_account,
    concurrent_creations_of_one_snack_give_one_snack,
    concurrent_additions_of_one_snack_to_one_drawer_add_it_once,
);
