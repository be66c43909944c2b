//! The real binary when its database fails under it: a SQLite file moved away, deleted or put
//! back; a PostgreSQL server that freezes, vanishes or is not ours. The service never creates
//! a database while it runs, answers 503 (at once, once the database is known to be down),
//! says why in an error line, and heals by itself.

use crate::support::relay::Relay;
use crate::support::remote::Client;
use crate::support::server::RunningServer;
use crate::support::stores::{FreshDatabase, postgres_enabled, sqlite_url};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// What the issue asks of a store known to be down.
const AT_ONCE: Duration = Duration::from_millis(100);
/// What the issue asks of recovery once the database is back.
const RECOVERY: Duration = Duration::from_secs(1);

/// Settings that keep outage tests short: the breaker probes every 0.1 s. No reads are kept:
/// these tests time the breaker, and `read_cache` times kept reads through an outage.
const QUICK: [(&str, &str); 4] = [
    ("SNACKDRAWER_DB_ACQUIRE_TIMEOUT", "0.5"),
    ("SNACKDRAWER_DB_STATEMENT_TIMEOUT", "1"),
    ("SNACKDRAWER_DB_PROBE_INTERVAL", "0.1"),
    ("SNACKDRAWER_CACHE_TTL", "0"),
];

fn start(url: &str) -> RunningServer {
    start_with(url, &[])
}

/// `start`, with `extra` settings winning over the quick ones.
fn start_with(url: &str, extra: &[(&str, &str)]) -> RunningServer {
    let mut env = vec![("DATABASE_URL", url)];
    env.extend(QUICK);
    env.extend(extra);
    RunningServer::start(&env)
}

/// Polls `path` every 20 ms until it answers 200 and returns how long that took; only 503s
/// are allowed meanwhile.
async fn time_to_ok(client: &Client, path: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = client.get(path, None).await;
        if status == StatusCode::OK {
            return started.elapsed();
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "only 503 while down: {body}");
        assert!(started.elapsed() < limit, "{path} still {status} after {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Keeps asking for `path` until the breaker has opened (its warning is logged once more
/// than `opened_before` times), at most `limit`; every answer meanwhile must be a 503.
async fn wait_until_known_down(
    server: &RunningServer,
    client: &Client,
    path: &str,
    opened_before: usize,
    limit: Duration,
) {
    let started = Instant::now();
    while breaker_openings(server) == opened_before {
        client.assert_unavailable(path).await;
        assert!(started.elapsed() < limit, "the breaker did not open within {limit:?}");
    }
}

fn breaker_openings(server: &RunningServer) -> usize {
    server.logs().iter().filter(|line| line.contains("the database is down")).count()
}

/// Twenty requests in a row, each a 503 answered within `AT_ONCE`; prints the slowest
/// (`--nocapture` shows it).
async fn assert_refused_at_once(client: &Client, path: &str) {
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let asked = Instant::now();
        client.assert_unavailable(path).await;
        let took = asked.elapsed();
        assert!(took < AT_ONCE, "{path} took {took:?} with the database known to be down");
        slowest = slowest.max(took);
    }
    println!("{path}: 20 refusals, the slowest in {slowest:?}");
}

/// Waits (at most 5 s) for an error line containing `containing`: the breaker's probe
/// writes it, in the background.
async fn assert_error_logged(server: &RunningServer, containing: &str) {
    let started = Instant::now();
    let said = |line: &String| line.contains(r#""level":"ERROR""#) && line.contains(containing);
    while !server.logs().iter().any(said) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no error line says why: {:#?}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A registered, logged-in user with a drawer, written through the service.
async fn some_writes(client: &Client) -> String {
    let (status, _) =
        client.post("/auth/users", None, json!({"username": "ann", "password": "pw"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = client.log_in("ann").await;
    let (status, _) = client.post("/drawers/", Some(&token), json!({"name": "desk"})).await;
    assert_eq!(status, StatusCode::CREATED);
    token
}

/// Several requests at once, so that the pool holds several connections.
async fn warm_the_pool(client: &Client) {
    for _ in 0..5 {
        let path = "/snacks/";
        let answers =
            tokio::join!(client.get(path, None), client.get(path, None), client.get(path, None));
        for (status, body) in [answers.0, answers.1, answers.2] {
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
}

fn database_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("snackdrawer.db")
}

#[tokio::test]
async fn a_sqlite_file_moved_away_answers_503_creates_nothing_and_heals_when_put_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&sqlite_url(&dir));
    let client = Client::new(&server);
    let token = some_writes(&client).await;

    let (file, aside) = (database_file(&dir), dir.path().join("aside.db"));
    std::fs::rename(&file, &aside).unwrap();
    for path in ["/snacks/", "/readyz"] {
        client.assert_unavailable(path).await;
    }
    let (status, body) = client.post("/drawers/", Some(&token), json!({"name": "shelf"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(!file.exists(), "the running service created a database at {}", file.display());
    assert_error_logged(&server, "no longer the one this service opened").await;

    std::fs::rename(&aside, &file).unwrap();
    let took = time_to_ok(&client, "/readyz", RECOVERY * 5).await;
    println!("put back: ready after {took:?}");
    for _ in 0..40 {
        let (status, body) = client.get("/drawers/", Some(&token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["drawers"][0]["name"], "desk", "the same database: {body}");
    }
}

#[tokio::test]
async fn a_sqlite_file_deleted_under_a_warm_pool_takes_no_more_writes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&sqlite_url(&dir));
    let client = Client::new(&server);
    let token = some_writes(&client).await;
    for _ in 0..10 {
        assert_eq!(client.get("/drawers/", Some(&token)).await.0, StatusCode::OK); // warm
    }

    std::fs::remove_file(database_file(&dir)).unwrap();
    for n in 0..20 {
        let name = format!("lost {n}");
        let (status, body) = client.post("/drawers/", Some(&token), json!({ "name": name })).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "a write to a deleted file: {body}");
    }
    client.assert_unavailable("/readyz").await;
    assert_error_logged(&server, "no longer the one this service opened").await;
}

#[tokio::test]
async fn only_a_start_asked_to_may_create_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = database_file(&dir);
    let url = format!("sqlite://{}", file.display());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_snackdrawer"))
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("there is no database file") && said.contains("mode=rwc"), "{said}");
    assert!(!Path::new(&file).exists());
}

#[tokio::test]
async fn a_frozen_or_vanished_postgres_is_refused_at_once_and_heals_within_a_second() {
    if !postgres_enabled() {
        return;
    }
    let database = FreshDatabase::create().await;
    let mut relay = Relay::start().await;
    // Probes of a frozen database may take the whole acquire timeout: a new one must not wait
    // for the last to time out, or recovery would take up to 2 s.
    let slow_probes = [("SNACKDRAWER_DB_ACQUIRE_TIMEOUT", "2")];
    let server = start_with(&relay.url_for(&database.url), &slow_probes);
    let client = Client::new(&server);
    time_to_ok(&client, "/snacks/", Duration::from_secs(10)).await;
    warm_the_pool(&client).await;

    relay.freeze();
    // The first requests wait for their bounds; then the breaker opens.
    let frozen = Instant::now();
    wait_until_known_down(&server, &client, "/snacks/", 0, Duration::from_secs(10)).await;
    println!("frozen: known down after {:?}", frozen.elapsed());
    assert_refused_at_once(&client, "/snacks/").await;
    assert_refused_at_once(&client, "/readyz").await;
    relay.thaw();
    let took = time_to_ok(&client, "/snacks/", Duration::from_secs(10)).await;
    assert!(took < RECOVERY, "back {took:?} after the database thawed");
    println!("thawed: back after {took:?}");

    warm_the_pool(&client).await;
    relay.cut().await;
    let cut = Instant::now();
    wait_until_known_down(&server, &client, "/snacks/", 1, Duration::from_secs(10)).await;
    println!("cut: known down after {:?}", cut.elapsed());
    assert_refused_at_once(&client, "/snacks/").await;
    relay.restore();
    let took = time_to_ok(&client, "/snacks/", Duration::from_secs(10)).await;
    assert!(took < RECOVERY, "back {took:?} after the database came back");
    println!("restored: back after {took:?}");

    let logs = server.logs().join("\n");
    assert!(logs.contains("the database is down"), "{logs}");
    assert!(logs.contains("the database answers again"), "{logs}");
    assert!(!logs.contains(r#""level":"ERROR""#), "an outage is not a bug: {logs}");
}

#[tokio::test]
async fn a_postgres_statement_is_cancelled_by_the_statement_timeout() {
    if !postgres_enabled() {
        return;
    }
    let database = FreshDatabase::create().await;
    let server = start(&database.url);
    let client = Client::new(&server);
    time_to_ok(&client, "/snacks/", Duration::from_secs(10)).await;

    // Another session holds the catalogue locked: reading it waits, until the timeout.
    let locker = Database::connect(&database.url).await.unwrap();
    let transaction = sea_orm::TransactionTrait::begin(&locker).await.unwrap();
    transaction.execute_unprepared("LOCK TABLE snacks IN ACCESS EXCLUSIVE MODE").await.unwrap();
    client.assert_unavailable("/snacks/").await;
    transaction.rollback().await.unwrap();
    assert_eq!(client.get("/snacks/", None).await.0, StatusCode::OK);

    let logs = server.logs().join("\n");
    assert!(logs.contains("canceling statement due to statement timeout"), "{logs}");
    assert!(!logs.contains("the database is down"), "a slow statement is no outage: {logs}");
}

#[tokio::test]
async fn a_postgres_database_without_our_tables_is_unavailable_not_a_500() {
    if !postgres_enabled() {
        return;
    }
    let database = FreshDatabase::create().await;
    let server = start(&database.url);
    let client = Client::new(&server);
    time_to_ok(&client, "/readyz", Duration::from_secs(10)).await;

    let admin = Database::connect(&database.url).await.unwrap();
    admin
        .execute_unprepared(
            "DROP TABLE drawer_snacks, drawers, snacks, users, seaql_migrations CASCADE",
        )
        .await
        .unwrap();
    admin.close().await.unwrap();
    for path in ["/snacks/", "/readyz"] {
        client.assert_unavailable(path).await;
    }
    assert_error_logged(&server, "is not Snackdrawer's").await;
}

#[test]
fn a_statement_timeout_beyond_the_request_deadline_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_snackdrawer"))
        .env_clear()
        .env("DATABASE_URL", sqlite_url(&dir))
        .env("SNACKDRAWER_DB_STATEMENT_TIMEOUT", "30")
        .env("SNACKDRAWER_REQUEST_TIMEOUT", "30s")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("must be below SNACKDRAWER_REQUEST_TIMEOUT"), "{said}");
    assert!(!dir.path().join("snackdrawer.db").exists(), "refused before opening the store");
}

/// Runs `snackdrawer migrate` on `url`, expecting it to fail; returns all it said.
fn failed_migration(url: &str) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_snackdrawer"))
        .env_clear()
        .env("DATABASE_URL", url)
        .env("SNACKDRAWER_DB_ACQUIRE_TIMEOUT", "0.3")
        .env("SNACKDRAWER_LOG_FORMAT", "text")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    (String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr)).into()
}

/// The pool alone says only "Connection pool timed out": it retries a refused connection
/// until its acquire timeout.
#[test]
fn a_postgres_that_is_not_listening_is_said_to_refuse_and_where() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let said = failed_migration(&format!("postgres://app:hunter2@127.0.0.1:{port}/snacks"));
    let expected = format!("cannot connect to the PostgreSQL database at 127.0.0.1:{port}");
    assert!(said.contains(&expected), "{said}");
    assert!(said.to_lowercase().contains("connection refused"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
}

/// A folder that is missing, rather than one that cannot be written to: the tests may run as
/// root, who may write anywhere. Both fail the same way, in the same place.
#[test]
fn a_sqlite_file_that_cannot_be_created_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("no-such-folder").join("snackdrawer.db");
    let said = failed_migration(&format!("sqlite://{}?mode=rwc", file.display()));
    let expected = format!("cannot create the database file {}", file.display());
    assert!(said.contains(&expected), "{said}");
}
