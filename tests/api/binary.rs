//! The real binary, as users run it: an old client's whole session, `--help` and errors that
//! keep secrets, list limits and a write rate as set, and a clean stop on SIGTERM that lets
//! in-flight requests finish.

use crate::support::server::{
    RunningServer, half_sent_registration, read_status, signal_terminate,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the old service's clients do: register, log in, send `x-access-token`, and log in
/// again when a request answers 401.
struct OldClient {
    http: reqwest::Client,
    server_url: String,
    token: Option<String>,
}

impl OldClient {
    fn new(server: &RunningServer) -> Self {
        Self { http: reqwest::Client::new(), server_url: server.base_url.clone(), token: None }
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let mut request = self.http.post(format!("{}{path}", self.server_url)).json(&body);
        if let Some(token) = &self.token {
            request = request.header("x-access-token", token);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{path}", self.server_url));
        if let Some(token) = &self.token {
            request = request.header("x-access-token", token);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn log_in(&mut self) {
        let (status, body) =
            self.post("/auth/login", json!({"username": "oldtimer", "password": "pw"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        self.token = Some(body["token"].as_str().unwrap().to_owned());
    }

    /// GET with the old client's retry: on 401, log in again and repeat once.
    async fn get_with_relogin(&mut self, path: &str) -> (StatusCode, Value) {
        let first = self.get(path).await;
        if first.0 != StatusCode::UNAUTHORIZED {
            return first;
        }
        self.log_in().await;
        self.get(path).await
    }
}

#[tokio::test]
async fn an_old_client_session_works_unchanged() {
    let server = RunningServer::start(&[("SNACKDRAWER_TOKEN_TTL", "1")]);
    // Tokens are valid through the second their `exp` names: 1 s of lifetime means up to 2 s.
    let mut client = OldClient::new(&server);

    let (status, body) = client.get("/snacks/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["snacks"][0], json!({"id": 1, "name": "chips"}), "seeded catalogue");

    let (status, body) =
        client.post("/auth/users", json!({"username": "oldtimer", "password": "pw"})).await;
    assert_eq!((status, body), (StatusCode::CREATED, json!({"id": 1, "username": "oldtimer"})));
    client.log_in().await;

    let (status, body) = client.post("/drawers/", json!({"name": "desk"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body, json!({"drawer": {"contents": [], "id": 1, "name": "desk"}}));
    let (status, body) = client.post("/drawers/1", json!({"snack": 2})).await;
    assert_eq!((status, body), (StatusCode::CREATED, json!({"message": "snack added to drawer"})));

    // The one-second token expires; the client's re-login recovers.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, body) = client.get("/drawers/1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"error": "401 Unauthorized: invalid authentication token"}));
    let (status, body) = client.get_with_relogin("/drawers/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"drawer": {"contents": [{"id": 2, "name": "pretzels"}], "id": 1, "name": "desk"}})
    );
}

/// The list limits and the write rate are the settings' (the contract tests build the service
/// with bounds of their own, so only the binary shows that the settings reach it).
#[tokio::test]
async fn list_limits_and_the_write_rate_come_from_the_settings() {
    let server = RunningServer::start(&[
        ("SNACKDRAWER_MAX_CATALOGUE_SNACKS", "13"),
        ("SNACKDRAWER_MAX_DRAWERS_PER_USER", "1"),
        ("SNACKDRAWER_MAX_SNACKS_PER_DRAWER", "1"),
        ("SNACKDRAWER_WRITE_RATE_PER_USER", "1"),
        ("SNACKDRAWER_WRITE_BURST_PER_USER", "6"),
    ]);
    let mut client = OldClient::new(&server);
    client.post("/auth/users", json!({"username": "oldtimer", "password": "pw"})).await;
    client.log_in().await;
    // Six writes, the burst: one more than each list holds (the seeded catalogue has 12).
    let mut answers = vec![];
    for (path, body) in [
        ("/snacks/", json!({"name": "kale chips"})),
        ("/snacks/", json!({"name": "seaweed"})),
        ("/drawers/", json!({"name": "desk"})),
        ("/drawers/", json!({"name": "shelf"})),
        ("/drawers/1", json!({"snack": 1})),
        ("/drawers/1", json!({"snack": 2})),
    ] {
        let (status, body) = client.post(path, body).await;
        answers.push((status.as_u16(), body["error"].as_str().map(str::to_owned)));
    }
    let full = |limit: &str| Some(format!("409 Conflict: {limit}"));
    assert_eq!(
        answers,
        [
            (201, None),
            (409, full("catalogue limit reached: the catalogue may hold at most 13 snacks")),
            (201, None),
            (409, full("drawer limit reached: a user may have at most 1 drawers")),
            (201, None),
            (409, full("drawer with ID 1 is full: a drawer may hold at most 1 snacks")),
        ]
    );
    // At one write a second, most of twenty writes in a row are refused.
    let mut throttled = 0;
    for n in 0..20 {
        let (status, _) = client.post("/drawers/", json!({"name": format!("d{n}")})).await;
        throttled += usize::from(status == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(throttled >= 10, "{throttled} of 20 writes were throttled");
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_exits_zero() {
    let mut server = RunningServer::start(&[]);
    let (mut stream, rest) = half_sent_registration(&server).await;
    tokio::time::sleep(Duration::from_millis(100)).await; // let the server read what was sent
    signal_terminate(server.pid());
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(rest).await.unwrap();
    assert_eq!(read_status(stream).await, "HTTP/1.1 201 Created");
    let exit = tokio::task::spawn_blocking(move || (server.terminate(), server.logs()));
    let (status, logs) = exit.await.unwrap();
    assert!(status.success(), "exit status {status:?}; logs: {logs:#?}");
    assert!(logs.iter().any(|line| line.contains("stopped cleanly")), "{logs:#?}");
}

#[tokio::test]
async fn a_stalled_upload_is_answered_408_and_does_not_hold_up_shutdown() {
    let mut server = RunningServer::start(&[
        ("SNACKDRAWER_REQUEST_TIMEOUT", "0.5"),
        ("SNACKDRAWER_SHUTDOWN_GRACE", "1"),
    ]);
    let (mut stream, _never_sent) = half_sent_registration(&server).await;
    let mut answer = String::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer));
    read.await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{answer}");
    let body: Value = serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(
        body,
        json!({"error": "408 Request Timeout: the request body did not arrive within 500ms"})
    );
    // The client's fault: not a failed call of the route.
    let metrics = reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap();
    let failed = metrics
        .lines()
        .filter(|line| line.starts_with("function_calls_total{") && line.contains("POST /auth"))
        .find(|line| line.contains(r#"result="error""#) && !line.ends_with(" 0"));
    assert_eq!(failed, None, "{metrics}");

    // Another stalled client during shutdown: the process still exits within the grace.
    let (_stalled, _) = half_sent_registration(&server).await;
    let exit = tokio::task::spawn_blocking(move || server.terminate()).await.unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn a_request_that_outlives_the_grace_is_cut_off_and_the_log_says_so() {
    let mut server = RunningServer::start(&[
        ("SNACKDRAWER_FAULTS", "GET /snacks/ latency=20s"),
        ("SNACKDRAWER_SHUTDOWN_GRACE", "0.5"),
    ]);
    let slow = tokio::spawn(reqwest::get(server.url("/snacks/")));
    tokio::time::sleep(Duration::from_millis(300)).await; // the request is in flight
    let exit = tokio::task::spawn_blocking(move || (server.terminate(), server.logs()));
    let (status, logs) = exit.await.unwrap();
    assert!(status.success(), "{status:?}");
    assert!(slow.await.unwrap().is_err(), "the slow request was cut off");
    assert!(logs.iter().any(|line| line.contains("outlived the shutdown grace")), "{logs:#?}");
    assert!(!logs.iter().any(|line| line.contains("stopped cleanly")), "{logs:#?}");
}

/// The binary's stderr when it refuses `args` with `env`.
fn refusal(args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_snackdrawer"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap();
    assert!(!output.status.success(), "{args:?} was accepted");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn secrets_are_not_printed_in_help_or_in_errors() {
    let secret_url = "postgres://app:hunter2@db:5432/snacks";
    let help = Command::new(env!("CARGO_BIN_EXE_snackdrawer"))
        .arg("--help")
        .env("DATABASE_URL", secret_url)
        .env("SNACKDRAWER_JWT_SECRET", "hunter2-hunter2-hunter2-hunter2-hunter2")
        .env("SNACKDRAWER_ADMIN_TOKEN", "hunter2-hunter2-hunter2-hunter2-hunter2")
        .env("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=hunter2")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("DATABASE_URL") && !help.contains("hunter2"), "{help}");

    let error = refusal(&["--jwt-secret", "hunter2"], &[]);
    assert!(error.contains("--jwt-secret") && !error.contains("hunter2"), "{error}");
    let error = refusal(&[], &[("SNACKDRAWER_ADMIN_TOKEN", "hunter2")]);
    assert!(error.contains("--admin-token") && !error.contains("hunter2"), "{error}");
    let error = refusal(&["--database-url", "mysql://app:hunter2@db/snacks"], &[]);
    assert!(error.contains("mysql://app:***@db/snacks") && !error.contains("hunter2"), "{error}");
}

#[test]
fn help_explains_every_setting() {
    let output = Command::new(env!("CARGO_BIN_EXE_snackdrawer")).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for variable in [
        "SNACKDRAWER_LISTEN",
        "DATABASE_URL",
        "SNACKDRAWER_JWT_SECRET",
        "SNACKDRAWER_TOKEN_TTL",
        "SNACKDRAWER_SEED",
        "SNACKDRAWER_SCRYPT_LOG_N",
        "SNACKDRAWER_HASH_WORKERS",
        "SNACKDRAWER_HASH_QUEUE",
        "SNACKDRAWER_LOG_FORMAT",
        "SNACKDRAWER_DB_MAX_CONNECTIONS",
        "SNACKDRAWER_DB_ACQUIRE_TIMEOUT",
        "SNACKDRAWER_DB_STATEMENT_TIMEOUT",
        "SNACKDRAWER_DB_PROBE_INTERVAL",
        "SNACKDRAWER_REQUEST_TIMEOUT",
        "SNACKDRAWER_SHUTDOWN_GRACE",
        "SNACKDRAWER_HEADER_TIMEOUT",
        "SNACKDRAWER_IDLE_TIMEOUT",
        "SNACKDRAWER_MAX_CONNECTIONS",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_SERVICE_NAME",
        "SNACKDRAWER_FAULTS",
        "SNACKDRAWER_FAULTS_FILE",
        "SNACKDRAWER_FAULTS_SEED",
        "SNACKDRAWER_LAZY",
        "SNACKDRAWER_LAZY_SCHEDULE",
        "SNACKDRAWER_LAZY_NAP_PROBABILITY",
        "SNACKDRAWER_LAZY_NAP_MEDIAN",
        "SNACKDRAWER_LAZY_NAP_P99",
        "SNACKDRAWER_LAZY_REFUSAL_PROBABILITY",
        "SNACKDRAWER_LAZY_RAMP",
        "SNACKDRAWER_ADMIN_LISTEN",
        "SNACKDRAWER_ADMIN_TOKEN",
        "SNACKDRAWER_CACHE_TTL",
        "SNACKDRAWER_LOGIN_LIMITS",
        "SNACKDRAWER_PASSWORD_RATE_PER_ADDRESS",
        "SNACKDRAWER_WRITE_RATE_PER_USER",
        "SNACKDRAWER_WRITE_BURST_PER_USER",
        "SNACKDRAWER_MAX_CATALOGUE_SNACKS",
        "SNACKDRAWER_MAX_DRAWERS_PER_USER",
        "SNACKDRAWER_MAX_SNACKS_PER_DRAWER",
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_LOGS_EXPORTER",
        "HONEYCOMB_API_KEY",
        "HONEYCOMB_API_ENDPOINT",
        "HONEYCOMB_DATASET",
    ] {
        assert!(help.contains(variable), "--help does not mention {variable}:\n{help}");
    }
}

#[tokio::test]
async fn seeding_can_be_switched_off_by_variable() {
    let server = RunningServer::start(&[("SNACKDRAWER_SEED", "false")]);
    let body: Value = reqwest::get(server.url("/snacks/")).await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({"snacks": []}));
}

#[tokio::test]
async fn a_database_password_never_reaches_the_logs() {
    let server = RunningServer::start(&[
        ("DATABASE_URL", "postgres://app:hunter2@127.0.0.1:1/snacks"),
        ("SNACKDRAWER_DB_ACQUIRE_TIMEOUT", "0.3"),
    ]);
    let response = reqwest::get(server.url("/snacks/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let logs = server.logs();
    assert!(logs.iter().any(|line| line.contains("unreachable")), "{logs:#?}");
    let place = "cannot connect to the PostgreSQL database at 127.0.0.1:1";
    assert!(logs.iter().any(|line| line.contains(place)), "{logs:#?}");
    assert!(!logs.iter().any(|line| line.contains("hunter2")), "{logs:#?}");
}
