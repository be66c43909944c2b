//! The real binary, as users run it: an old client's whole session, `--help`, and a clean stop
//! on SIGTERM that lets in-flight requests finish.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;
use support::server::RunningServer;

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
    tokio::time::sleep(Duration::from_millis(2100)).await;
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

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_exits_zero() {
    // A costly hash keeps the registration in flight while the signal arrives.
    let mut server = RunningServer::start(&[("SNACKDRAWER_SCRYPT_LOG_N", "16")]);
    let url = server.url("/auth/users");
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .json(&json!({"username": "late", "password": "pw"}))
            .send()
            .await
            .map(|response| response.status())
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        (status, server.logs())
    });
    let (exit, logs) = status.await.unwrap();
    assert_eq!(in_flight.await.unwrap().unwrap(), StatusCode::CREATED);
    assert!(exit.success(), "exit status {exit:?}; logs: {logs:#?}");
    assert!(logs.iter().any(|line| line.contains("stopped cleanly")), "{logs:#?}");
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
