//! Every request writes its access line, on the real binary: answered, cut off by the request
//! deadline, or abandoned by a client that hung up first (status 499, as nginx logs it); and
//! none when `RUST_LOG` turns the access target off. In text, the line ends with the trace id
//! the response's `x-trace-id` names.

use crate::support::TestApp;
use crate::support::server::RunningServer;
use crate::support::stores::StoreKind;
use serde_json::Value;
use snackdrawer::telemetry;
use snackdrawer::telemetry::request_trace::TraceSampler;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt;

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

/// Text lines, as the binary writes them on a terminal, kept for the test.
#[derive(Clone, Default)]
struct TextLines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for TextLines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tracing_subscriber::fmt::MakeWriter<'_> for TextLines {
    type Writer = Self;

    fn make_writer(&self) -> Self {
        self.clone()
    }
}

/// In-process, with the binary's text log layer: a traced request and one that is not.
#[tokio::test]
async fn a_text_access_line_ends_with_the_trace_id_of_its_response() {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let lines = TextLines::default();
    let provider = telemetry::local_tracer_provider(TraceSampler::always());
    let subscriber = telemetry::registry(telemetry::log_levels())
        .with(telemetry::trace_layer(&provider, telemetry::log_levels()))
        .with(telemetry::text_logs(lines.clone()));
    let _default = tracing::subscriber::set_default(subscriber);
    let app = TestApp::seeded(StoreKind::Memory).await;
    for flags in ["01", "00"] {
        let traceparent = format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}");
        let reply = app.get("/snacks/1").header("traceparent", &traceparent).send().await;
        assert_eq!(reply.status, 200);
        let trace_id = reply.headers["x-trace-id"].to_str().unwrap().to_owned();
        let text = String::from_utf8(std::mem::take(&mut *lines.0.lock().unwrap())).unwrap();
        let access = text.lines().find(|line| line.contains("request served"));
        let access = access.unwrap_or_else(|| panic!("no access line: {text}"));
        assert!(access.ends_with(&format!(" trace_id={trace_id}")), "{flags}: {access}");
    }
}
