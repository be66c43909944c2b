//! The core on its own: use cases over the in-memory store, without HTTP in the way, and the
//! password hasher's promises (bounded work, equal work for unknown users).

use crate::support::TestApp;
use crate::support::stores::StoreKind;
use snackdrawer::adapters::scrypt::{HashingLimits, ScryptCost, ScryptHasher};
use snackdrawer::app::DEFAULT_CATALOGUE;
use snackdrawer::domain::{
    ClientAddress, DrawerId, DrawerName, Password, SnackId, SnackName, Username,
};
use snackdrawer::ports::{Access, Accounts, AppError, Catalogue, Drawers};
use snackdrawer::ports::{AuthError, PasswordHasher};
use std::sync::Arc;

fn username(raw: &str) -> Username {
    Username::parse(raw).unwrap()
}

fn password(raw: &str) -> Password {
    Password::parse(raw).unwrap()
}

#[tokio::test]
async fn a_registered_user_logs_in_and_is_recognised_by_the_token() {
    let core = TestApp::new(StoreKind::Memory).await.app;
    let user = core.register(username("ann"), password("pw")).await.unwrap();
    let token = core
        .log_in(username("ann").into(), password("pw"), ClientAddress::InProcess)
        .await
        .unwrap();
    assert_eq!(core.authenticate(token.expose(), Access::Read).await.unwrap(), user.id);
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_fail_alike() {
    let core = TestApp::new(StoreKind::Memory).await.app;
    core.register(username("ann"), password("pw")).await.unwrap();
    let wrong = core
        .log_in(username("ann").into(), password("nope"), ClientAddress::InProcess)
        .await
        .unwrap_err();
    let unknown = core
        .log_in(username("bob").into(), password("pw"), ClientAddress::InProcess)
        .await
        .unwrap_err();
    assert!(matches!(wrong, AppError::BadCredentials));
    assert!(matches!(unknown, AppError::BadCredentials));
}

#[tokio::test]
async fn seeding_fills_an_empty_catalogue_once() {
    let core = TestApp::new(StoreKind::Memory).await.app;
    assert_eq!(core.seed_catalogue().await.unwrap(), DEFAULT_CATALOGUE.len());
    assert_eq!(core.seed_catalogue().await.unwrap(), 0, "a second start adds nothing");
    let names: Vec<String> =
        core.list_snacks().await.unwrap().iter().map(|s| s.name.as_str().to_owned()).collect();
    assert_eq!(names, DEFAULT_CATALOGUE);
}

#[tokio::test]
async fn a_catalogue_with_snacks_is_not_seeded() {
    let core = TestApp::new(StoreKind::Memory).await.app;
    let ann = core.register(username("ann"), password("pw")).await.unwrap().id;
    core.create_snack(ann, SnackName::parse("kale chips").unwrap()).await.unwrap();
    assert_eq!(core.seed_catalogue().await.unwrap(), 0);
    assert_eq!(core.list_snacks().await.unwrap().len(), 1);
}

#[tokio::test]
async fn another_users_drawer_does_not_exist_for_you() {
    let core = TestApp::seeded(StoreKind::Memory).await.app;
    let ann = core.register(username("ann"), password("pw")).await.unwrap().id;
    let bob = core.register(username("bob"), password("pw")).await.unwrap().id;
    let drawer = core.create_drawer(ann, DrawerName::parse("desk").unwrap()).await.unwrap().id;
    let snack = SnackId::new(1).unwrap();

    assert!(matches!(core.get_drawer(bob, drawer).await, Err(AppError::DrawerNotFound(_))));
    assert!(matches!(
        core.put_snack_in_drawer(bob, drawer, snack).await,
        Err(AppError::DrawerDoesNotExist(_))
    ));
    assert!(matches!(core.delete_drawer(bob, drawer).await, Err(AppError::DrawerDoesNotExist(_))));
    assert!(core.list_drawers(bob).await.unwrap().is_empty());

    core.put_snack_in_drawer(ann, drawer, snack).await.unwrap();
    assert!(matches!(
        core.take_snack_from_drawer(bob, drawer, snack).await,
        Err(AppError::DrawerDoesNotExist(_))
    ));
    assert_eq!(core.get_drawer(ann, drawer).await.unwrap().contents.len(), 1);
}

#[tokio::test]
async fn deleting_a_drawer_deletes_its_contents() {
    let core = TestApp::seeded(StoreKind::Memory).await.app;
    let ann = core.register(username("ann"), password("pw")).await.unwrap().id;
    let name = DrawerName::parse("desk").unwrap();
    let drawer = core.create_drawer(ann, name.clone()).await.unwrap().id;
    core.put_snack_in_drawer(ann, drawer, SnackId::new(2).unwrap()).await.unwrap();
    core.delete_drawer(ann, drawer).await.unwrap();
    assert!(matches!(core.get_drawer(ann, drawer).await, Err(AppError::DrawerNotFound(_))));
    let again = core.create_drawer(ann, name).await.unwrap();
    assert_ne!(again.id, drawer);
    assert!(core.get_drawer(ann, again.id).await.unwrap().contents.is_empty());
    assert_eq!(DrawerId::new(again.id.get()).unwrap(), again.id);
}

/// Hashing costly enough (64 MiB, around 100 ms) that a hash is still running when the test
/// looks.
fn slow_hasher(limits: HashingLimits) -> Arc<ScryptHasher> {
    Arc::new(ScryptHasher::new(ScryptCost { log_n: 16, r: 8, p: 1 }, limits).unwrap())
}

/// Once `busy` holds the only worker (and there is no queue), is another hash refused?
async fn refuses_while(
    hasher: &Arc<ScryptHasher>,
    busy: tokio::task::JoinHandle<Result<bool, AuthError>>,
) -> bool {
    while hasher.in_flight() == 0 && !busy.is_finished() {
        tokio::task::yield_now().await;
    }
    let refused = matches!(hasher.hash(&password("other")).await, Err(AuthError::Overloaded));
    busy.await.unwrap().unwrap();
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashing_beyond_workers_and_queue_is_refused_not_queued() {
    let hasher = slow_hasher(HashingLimits { workers: 1, queue: 0 });
    let stored = hasher.hash(&password("pw")).await.unwrap();
    let busy = {
        let hasher = hasher.clone();
        tokio::spawn(async move { hasher.verify(&password("pw"), Some(&stored)).await })
    };
    assert!(refuses_while(&hasher, busy).await, "a second hash was queued beyond the limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checking_an_unknown_user_does_real_hashing_work() {
    let hasher = slow_hasher(HashingLimits { workers: 1, queue: 0 });
    let busy = {
        let hasher = hasher.clone();
        tokio::spawn(async move { hasher.verify(&password("pw"), None).await })
    };
    assert!(refuses_while(&hasher, busy).await, "the unknown-user check took no worker");
    assert!(!hasher.verify(&password("pw"), None).await.unwrap(), "an unknown user never matches");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_gives_up_does_not_free_its_hashing_slot() {
    let hasher = slow_hasher(HashingLimits { workers: 1, queue: 0 });
    let abandoned = {
        let hasher = hasher.clone();
        tokio::spawn(async move { hasher.hash(&password("pw")).await })
    };
    while hasher.in_flight() == 0 && !abandoned.is_finished() {
        tokio::task::yield_now().await;
    }
    abandoned.abort(); // what hyper does to a handler when its client hangs up
    let _ = abandoned.await;
    assert_eq!(hasher.in_flight(), 1, "the hash still runs, so it still counts");
    assert!(matches!(hasher.hash(&password("other")).await, Err(AuthError::Overloaded)));
}
