//! How far and how fast one user's writes may go: each list stops at its limit with a 409 that
//! names it, and a user writing faster than the write rate gets 429 with `Retry-After` (but a
//! 404 for a drawer that is not theirs, as ever), on every store, through the HTTP API.

use super::assertions::assert_error_shape;
use super::fixtures::{add_snack, create_drawer, create_snack, delete_drawer, remove_snack};
use crate::support::TestApp;
use crate::support::stores::{StoreKind, for_each_store};
use governor::clock::FakeRelativeClock;
use serde_json::json;
use snackdrawer::adapters::write_rate::{PerUserBuckets, WriteRateSettings};
use snackdrawer::app::{Bounds, DEFAULT_CATALOGUE};
use snackdrawer::domain::ListLimits;
use snackdrawer::ports::Catalogue;
use std::sync::Arc;
use std::time::Duration;

/// Room for one snack beyond the seeded catalogue, two drawers, two snacks a drawer.
const TIGHT: ListLimits = ListLimits {
    catalogue: DEFAULT_CATALOGUE.len() as u32 + 1,
    drawers_per_user: 2,
    snacks_per_drawer: 2,
};

async fn tight(store: StoreKind) -> TestApp {
    let app = TestApp::bounded(store, Bounds { lists: TIGHT, write_rate: None }).await;
    app.app.seed_catalogue().await.unwrap();
    app
}

async fn a_full_catalogue_answers_409_naming_its_limit(store: StoreKind) {
    let app = tight(store).await;
    let token = app.user("alice").await;
    assert_eq!(create_snack(&app, &token, "kale chips").await.status, 201);
    let full = create_snack(&app, &token, "seaweed").await;
    assert_eq!(
        assert_error_shape(&full, 409),
        "409 Conflict: catalogue limit reached: the catalogue may hold at most 13 snacks"
    );
    let listed = app.get("/snacks/").send().await.json["snacks"].as_array().unwrap().len();
    assert_eq!(listed, 13);
}

async fn a_user_s_drawers_stop_at_their_limit_and_others_do_not(store: StoreKind) {
    let app = tight(store).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let desk = app.drawer(&alice, "desk").await;
    app.drawer(&alice, "shelf").await;
    let full = create_drawer(&app, &alice, "attic").await;
    assert_eq!(
        assert_error_shape(&full, 409),
        "409 Conflict: drawer limit reached: a user may have at most 2 drawers"
    );
    assert_eq!(create_drawer(&app, &bob, "attic").await.status, 201);
    assert_eq!(delete_drawer(&app, &alice, desk).await.status, 204);
    assert_eq!(create_drawer(&app, &alice, "attic").await.status, 201, "deleting frees room");
}

async fn a_full_drawer_answers_409_naming_its_limit(store: StoreKind) {
    let app = tight(store).await;
    let alice = app.user("alice").await;
    let desk = app.drawer(&alice, "desk").await;
    for snack in [1, 2] {
        assert_eq!(add_snack(&app, &alice, desk, json!(snack)).await.status, 201);
    }
    let full = add_snack(&app, &alice, desk, json!(3)).await;
    let expected =
        format!("409 Conflict: drawer with ID {desk} is full: a drawer may hold at most 2 snacks");
    assert_eq!(assert_error_shape(&full, 409), expected);
    assert_eq!(remove_snack(&app, &alice, desk, 1).await.status, 204);
    assert_eq!(add_snack(&app, &alice, desk, json!(3)).await.status, 201, "taking out frees room");
}

/// A write rate of one a second after a burst of three, on a clock the test moves.
fn one_a_second(clock: &FakeRelativeClock) -> Bounds {
    let settings = WriteRateSettings { per_second: 1, burst: 3 };
    let buckets = PerUserBuckets::with_clock(settings, clock.clone()).unwrap();
    Bounds { lists: ListLimits::UNBOUNDED, write_rate: Some(Arc::new(buckets)) }
}

async fn writing_too_fast_answers_429_on_every_write_route(store: StoreKind) {
    let clock = FakeRelativeClock::default();
    let app = TestApp::bounded(store, one_a_second(&clock)).await;
    app.app.seed_catalogue().await.unwrap();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let desk = app.drawer(&alice, "desk").await;
    assert_eq!(add_snack(&app, &alice, desk, json!(1)).await.status, 201);
    assert_eq!(create_snack(&app, &alice, "kale chips").await.status, 201);
    let refusals = [
        create_snack(&app, &alice, "seaweed").await,
        create_drawer(&app, &alice, "shelf").await,
        add_snack(&app, &alice, desk, json!(2)).await,
        remove_snack(&app, &alice, desk, 1).await,
        delete_drawer(&app, &alice, desk).await,
    ];
    for refused in &refusals {
        assert_eq!(
            assert_error_shape(refused, 429),
            "429 Too Many Requests: too many writes from this user, retry in 1 s"
        );
        assert_eq!(refused.headers["retry-after"], "1");
    }
    assert_eq!(app.get("/drawers/").token(&alice).send().await.status, 200, "reads are free");
    let bobs = app.drawer(&bob, "shelf").await;
    for (foreign, missing) in [
        (
            add_snack(&app, &alice, bobs, json!(2)).await,
            add_snack(&app, &alice, 999, json!(2)).await,
        ),
        (remove_snack(&app, &alice, bobs, 2).await, remove_snack(&app, &alice, 999, 2).await),
        (delete_drawer(&app, &alice, bobs).await, delete_drawer(&app, &alice, 999).await),
    ] {
        assert_eq!(foreign.status, 404, "a throttled user still cannot tell: {}", foreign.text);
        assert_eq!(missing.status, 404, "{}", missing.text);
    }
    clock.advance(Duration::from_secs(1));
    assert_eq!(create_drawer(&app, &alice, "shelf").await.status, 201, "one more a second");
}

for_each_store!(
    a_full_catalogue_answers_409_naming_its_limit,
    a_user_s_drawers_stop_at_their_limit_and_others_do_not,
    a_full_drawer_answers_409_naming_its_limit,
    writing_too_fast_answers_429_on_every_write_route,
);
