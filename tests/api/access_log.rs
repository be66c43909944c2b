//! Every request writes its access line, on the real binary: answered, cut off by the request
//! deadline, or abandoned by a client that hung up first (status 499, as nginx logs it); and
//! none when `RUST_LOG` turns the access target off.

use crate::support::server::RunningServer;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The access lines for `route`, as JSON.
fn access_lines(server: &RunningServer, route: &str) -> Vec<Value> {
    server
        .logs()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["target"] == "snackdrawer::access" && entry["route"] == route)
        .collect()
}

/// Waits (at most 5 s) for an access line for `route`, and returns it.
async fn access_line(server: &RunningServer, route: &str) -> Value {
    let started = Instant::now();
    loop {
        if let Some(line) = access_lines(server, route).pop() {
            return line;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no access line: {:#?}", server.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_request_whose_client_hung_up_still_writes_its_access_line() {
    let server = RunningServer::start(&[("SNACKDRAWER_FAULTS", "GET /snacks/ hang")]);
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let gave_up = impatient.get(server.url("/snacks/")).send().await;
    assert!(gave_up.is_err_and(|error| error.is_timeout()), "the request should hang");

    let line = access_line(&server, "/snacks/").await;
    assert_eq!(line["status"], 499, "{line}");
    assert_eq!(line["method"], "GET", "{line}");
    assert!(line["duration_ms"].as_f64().unwrap() >= 250.0, "{line}");
}

#[tokio::test]
async fn a_request_cut_off_by_the_deadline_writes_its_access_line() {
    let server = RunningServer::start(&[
        ("SNACKDRAWER_FAULTS", "GET /snacks/ hang"),
        ("SNACKDRAWER_REQUEST_TIMEOUT", "0.3"),
    ]);
    let response = reqwest::get(server.url("/snacks/")).await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);

    let line = access_line(&server, "/snacks/").await;
    assert_eq!(line["status"], 503, "{line}");
}

#[tokio::test]
async fn rust_log_can_turn_the_access_line_off() {
    let mut server = RunningServer::start(&[("RUST_LOG", "info,snackdrawer::access=warn")]);
    let response = reqwest::get(server.url("/snacks/")).await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let logs = tokio::task::spawn_blocking(move || {
        assert!(server.terminate().success());
        server.logs()
    })
    .await
    .unwrap();
    assert!(logs.iter().any(|line| line.contains("snackdrawer is serving")), "{logs:#?}");
    assert!(!logs.iter().any(|line| line.contains("snackdrawer::access")), "{logs:#?}");
}
