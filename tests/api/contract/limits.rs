//! Limits on names (1 to 64 characters) and passwords (1 to 1024 bytes).

use super::assertions::assert_bad_request;
use super::fixtures::{
    BAD_CREDENTIALS, create_drawer, create_snack, log_in, register, seeded_with_alice,
};
use crate::support::TestApp;
use crate::support::stores::{StoreKind, for_each_store};
use serde_json::json;
use snackdrawer::app::DEFAULT_CATALOGUE;

async fn names_of_64_characters_are_accepted(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    // Characters, not bytes: 64 two-byte characters fit.
    let name = "é".repeat(64);
    let user = register(&app, &name, "secret").await;
    assert_eq!((user.status.as_u16(), &user.json["username"]), (201, &json!(name)));
    let snack = create_snack(&app, &token, &name).await;
    assert_eq!((snack.status.as_u16(), &snack.json["snack"]["name"]), (201, &json!(name)));
    let drawer = create_drawer(&app, &token, &name).await;
    assert_eq!((drawer.status.as_u16(), &drawer.json["drawer"]["name"]), (201, &json!(name)));
}

async fn names_of_65_characters_or_none_are_400(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    for name in ["a".repeat(65), String::new()] {
        assert_bad_request(&register(&app, &name, "secret").await, "username");
        assert_bad_request(&log_in(&app, &name, "secret").await, "username");
        assert_bad_request(&create_snack(&app, &token, &name).await, "name");
        assert_bad_request(&create_drawer(&app, &token, &name).await, "name");
    }
    let snacks = app.get("/snacks/").send().await.json["snacks"].as_array().unwrap().len();
    assert_eq!(snacks, DEFAULT_CATALOGUE.len());
}

async fn passwords_of_1024_bytes_are_accepted(store: StoreKind) {
    let app = TestApp::new(store).await;
    let password = "p".repeat(1024);
    assert_eq!(register(&app, "alice", &password).await.status, 201);
    assert_eq!(log_in(&app, "alice", &password).await.status, 201);
}

async fn passwords_over_1024_bytes_or_empty_are_400(store: StoreKind) {
    let app = TestApp::new(store).await;
    app.register("alice").await;
    // 513 two-byte characters are 1026 bytes: the limit counts bytes.
    for password in ["p".repeat(1025), "é".repeat(513), String::new()] {
        assert_bad_request(&register(&app, "bob", &password).await, "password");
        assert_bad_request(&log_in(&app, "alice", &password).await, "password");
    }
    log_in(&app, "bob", "secret").await.assert_error(401, BAD_CREDENTIALS);
}

for_each_store!(
    names_of_64_characters_are_accepted,
    names_of_65_characters_or_none_are_400,
    passwords_of_1024_bytes_are_accepted,
    passwords_over_1024_bytes_or_empty_are_400,
);
