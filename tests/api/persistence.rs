//! The real binary on the SQL stores: what is written survives a SIGTERM and a restart, and
//! PostgreSQL outages answer 503 quickly and heal by themselves.

use crate::support::relay::Relay;
use crate::support::remote::Client;
use crate::support::server::RunningServer;
use crate::support::stores::{FreshDatabase, postgres_admin_url, postgres_enabled, sqlite_url};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn sqlite_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SNACKDRAWER_JWT_SECRET", "the same secret across both starts!"),
    ];

    let mut first = RunningServer::start(&env);
    let client = Client::new(&first);
    let (status, _) =
        client.post("/auth/users", None, json!({"username": "ann", "password": "pw"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = client.log_in("ann").await;
    let (_, created) = client.post("/snacks/", Some(&token), json!({"name": "kale chips"})).await;
    let (_, drawer) = client.post("/drawers/", Some(&token), json!({"name": "desk"})).await;
    let drawer_path = format!("/drawers/{}", drawer["drawer"]["id"]);
    for snack in [created["snack"]["id"].clone(), json!(3)] {
        let (status, _) = client.post(&drawer_path, Some(&token), json!({ "snack": snack })).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let before = client.get(&drawer_path, Some(&token)).await;
    let catalogue = client.get("/snacks/", None).await;
    assert!(first.terminate().success());

    let second = RunningServer::start(&env);
    let client = Client::new(&second);
    assert_eq!(client.get("/snacks/", None).await, catalogue, "seeded once, not on every start");
    assert_eq!(client.get(&drawer_path, Some(&token)).await, before, "an old token still works");
    let token = client.log_in("ann").await;
    assert_eq!(client.get(&drawer_path, Some(&token)).await, before);
    let logs = second.logs().join("\n");
    assert!(!logs.contains("seeded the snack catalogue"), "{logs}");
}

#[tokio::test]
async fn the_migrate_command_prepares_a_database_and_is_harmless_twice() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    for _ in 0..2 {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_snackdrawer"))
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(dir.path().join("snackdrawer.db").exists());
}

#[tokio::test]
async fn postgres_unreachable_at_start_then_cut_then_back() {
    if !postgres_enabled() {
        return;
    }
    let database = FreshDatabase::create().await;
    let mut relay = Relay::start().await;
    relay.cut().await;
    let url = relay.url_for(&database.url);
    let server = RunningServer::start(&[
        ("DATABASE_URL", url.as_str()),
        ("SNACKDRAWER_DB_ACQUIRE_TIMEOUT", "0.3"),
    ]);
    let client = Client::new(&server);

    // Down from the start: the service runs, answers 503, and stays alive.
    client.assert_unavailable("/snacks/").await;
    client.assert_unavailable("/readyz").await;
    assert_eq!(client.get("/healthz", None).await.0, StatusCode::OK);

    // Up: it migrates and seeds by itself.
    relay.restore();
    client.wait_for_ok("/readyz", Duration::from_secs(60)).await;
    let (status, snacks) = client.get("/snacks/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(snacks["snacks"][0], json!({"id": 1, "name": "chips"}));

    // Cut while serving: pooled connections die and new ones are refused.
    relay.cut().await;
    for _ in 0..3 {
        client.assert_unavailable("/snacks/").await;
    }
    relay.restore();
    client.wait_for_ok("/snacks/", Duration::from_secs(30)).await;
}

#[tokio::test]
async fn postgres_connections_terminated_by_the_server_heal() {
    if !postgres_enabled() {
        return;
    }
    let database = FreshDatabase::create().await;
    let server = RunningServer::start(&[
        ("DATABASE_URL", database.url.as_str()),
        ("SNACKDRAWER_DB_ACQUIRE_TIMEOUT", "0.3"),
    ]);
    let client = Client::new(&server);
    client.wait_for_ok("/snacks/", Duration::from_secs(10)).await;

    let admin = Database::connect(postgres_admin_url().unwrap()).await.unwrap();
    let (_, name) = database.url.rsplit_once('/').unwrap();
    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();
    for _ in 0..3 {
        client.assert_unavailable("/snacks/").await;
    }
    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    client.wait_for_ok("/snacks/", Duration::from_secs(10)).await;
    let logs = server.logs().join("\n");
    assert!(!logs.contains("\"level\":\"ERROR\""), "an outage is not a bug: {logs}");
}
