//! The real binary exporting log records and spans to a real OTLP receiver (`otlp_receiver`):
//! a request's records carry its trace id, over HTTP/protobuf and gRPC; `OTEL_LOGS_EXPORTER=none`
//! keeps them on stdout; TLS with a private certificate authority is trusted when named and
//! refused when not; and `HONEYCOMB_API_KEY` alone sends both signals, with its headers, to the
//! Honeycomb endpoint (here a local TLS receiver standing in for it), never printing the key.

use crate::otlp_receiver::{
    Received, Record, TestCa, attribute, grpc_receiver, hex, http_receiver,
};
use crate::support::server::RunningServer;
use serde_json::Value;
use std::process::Command;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const UNSAMPLED_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Runs the binary with `env`, sends a sampled and an unsampled catalogue read, stops it (which
/// flushes both exporters) and returns its stdout lines.
async fn run(env: &[(&str, &str)]) -> Vec<String> {
    let mut server = RunningServer::start(env);
    let http = reqwest::Client::new();
    for (trace, flags) in [(CALLER_TRACE, "01"), (UNSAMPLED_TRACE, "00")] {
        let read = http
            .get(server.url("/snacks/1"))
            .header("traceparent", format!("00-{trace}-{CALLER_SPAN}-{flags}"))
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        assert_eq!(read.headers()["x-trace-id"], trace);
    }
    tokio::task::spawn_blocking(move || {
        assert!(server.terminate().success());
        server.logs()
    })
    .await
    .unwrap()
}

/// The access record of the request in `trace`.
fn access_record<'a>(records: &'a [Record], trace: &str) -> &'a Record {
    let found: Vec<&Record> = records
        .iter()
        .filter(|record| record.body().as_deref() == Some("request served"))
        .filter(|record| hex(&record.record.trace_id) == trace)
        .collect();
    assert_eq!(found.len(), 1, "one access record in trace {trace}");
    found[0]
}

/// The JSON access line of the request in `trace`.
fn access_line(logs: &[String], trace: &str) -> Value {
    logs.iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["target"] == "snackdrawer::access" && line["trace_id"] == trace)
        .unwrap_or_else(|| panic!("an access line in trace {trace}: {logs:#?}"))
}

async fn a_request_s_log_records_carry_its_trace_id(protocol: &str, received: Received, at: &str) {
    let logs = run(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", at),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_SERVICE_NAME", "logs-under-test"),
    ])
    .await;
    let serving = logs.iter().find(|line| line.contains("snackdrawer is serving")).unwrap();
    assert!(serving.contains(r#""log_export":true"#), "{serving}");
    let records = received.records();
    let spans = received.spans();

    // The sampled request: its record has the request span's ids, as its JSON line does.
    let request = spans
        .iter()
        .map(|(_, span)| span)
        .find(|span| span.name == "GET /snacks/{id}" && hex(&span.trace_id) == CALLER_TRACE)
        .expect("the sampled request's span");
    let sampled = access_record(&records, CALLER_TRACE);
    assert_eq!(hex(&sampled.record.span_id), hex(&request.span_id));
    let line = access_line(&logs, CALLER_TRACE);
    assert_eq!(line["span_id"], hex(&request.span_id));

    // The same fields as the JSON line, the level as severity, the traces' resource.
    assert_eq!(sampled.record.severity_number, 9, "INFO");
    assert_eq!(sampled.record.severity_text, "INFO");
    assert_eq!(sampled.scope, "snackdrawer::access");
    for field in ["method", "route", "status"] {
        let in_line = match &line[field] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        assert_eq!(sampled.attribute(field), Some(in_line), "{field}");
    }
    assert!(sampled.attribute("duration_ms").unwrap().parse::<f64>().unwrap() > 0.0);
    assert_eq!(sampled.service_name.as_deref(), Some("logs-under-test"));
    assert!(spans.iter().all(|(service, _)| service.as_deref() == Some("logs-under-test")));

    // The unsampled request has no spans, yet its record has its ids, as its line does.
    assert!(!spans.iter().any(|(_, span)| hex(&span.trace_id) == UNSAMPLED_TRACE));
    let unsampled = access_record(&records, UNSAMPLED_TRACE);
    let line = access_line(&logs, UNSAMPLED_TRACE);
    assert_eq!(line["span_id"], hex(&unsampled.record.span_id));

    // Start-up lines, outside any request, are exported without ids.
    let serving = records
        .iter()
        .find(|record| record.body().as_deref() == Some("snackdrawer is serving"))
        .expect("the start-up line as a record");
    assert!(serving.record.trace_id.is_empty(), "{:?}", serving.record.trace_id);
    assert_eq!(serving.attribute("log_export").as_deref(), Some("true"));
}

#[tokio::test]
async fn log_records_export_over_http_protobuf_with_their_request_s_trace_id() {
    let received = Received::default();
    let receiver = http_receiver(received.clone(), None).await;
    let at = format!("http://{receiver}");
    a_request_s_log_records_carry_its_trace_id("http/protobuf", received, &at).await;
}

#[tokio::test]
async fn log_records_export_over_grpc_with_their_request_s_trace_id() {
    let received = Received::default();
    let receiver = grpc_receiver(received.clone(), None).await;
    let at = format!("http://{receiver}");
    a_request_s_log_records_carry_its_trace_id("grpc", received, &at).await;
}

#[tokio::test]
async fn otel_logs_exporter_none_keeps_logs_on_stdout() {
    let received = Received::default();
    let receiver = http_receiver(received.clone(), None).await;
    let at = format!("http://{receiver}");
    let logs = run(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &at), ("OTEL_LOGS_EXPORTER", "none")]).await;
    access_line(&logs, UNSAMPLED_TRACE);
    assert!(!received.spans().is_empty(), "spans still go");
    assert!(received.records().is_empty(), "no log record goes");
    let paths: Vec<String> = received.requests().into_iter().map(|(path, _)| path).collect();
    assert!(paths.iter().all(|path| path == "/v1/traces"), "{paths:?}");
}

/// The paths the receiver got, deduplicated, for an export over `protocol` to `receiver`
/// behind TLS, with `certificates` set (`OTEL_EXPORTER_OTLP_…CERTIFICATE`).
async fn exported_over_tls(
    protocol: &str,
    received: &Received,
    receiver: std::net::SocketAddr,
    certificates: &[(&str, &str)],
) -> Vec<String> {
    let at = format!("https://{receiver}");
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", at.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
    ];
    env.extend_from_slice(certificates);
    run(&env).await;
    let mut paths: Vec<String> = received.requests().into_iter().map(|(path, _)| path).collect();
    paths.sort();
    paths.dedup();
    paths
}

async fn tls_is_trusted_with_the_ca_and_refused_without(protocol: &str, paths: [&str; 2]) {
    let ca = TestCa::new();
    let [traces, logs] = paths;
    for (certificates, expected) in [
        (vec![("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.ca_path())], vec![logs, traces]),
        // The system's roots do not know this authority.
        (vec![], vec![]),
        (vec![("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", ca.ca_path())], vec![logs]),
        (vec![("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", ca.ca_path())], vec![traces]),
    ] {
        let received = Received::default();
        let receiver = match protocol {
            "grpc" => grpc_receiver(received.clone(), Some(&ca)).await,
            _ => http_receiver(received.clone(), Some(&ca)).await,
        };
        let paths = exported_over_tls(protocol, &received, receiver, &certificates).await;
        assert_eq!(paths, expected, "{protocol} with {certificates:?}");
    }
}

#[tokio::test]
async fn tls_over_http_is_trusted_with_the_private_ca_and_refused_without() {
    tls_is_trusted_with_the_ca_and_refused_without("http/protobuf", ["/v1/traces", "/v1/logs"])
        .await;
}

#[tokio::test]
async fn tls_over_grpc_is_trusted_with_the_private_ca_and_refused_without() {
    let paths = [
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    ];
    tls_is_trusted_with_the_ca_and_refused_without("grpc", paths).await;
}

const CLASSIC_KEY: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn honeycomb_api_key_alone_sends_traces_and_logs_with_its_headers() {
    let ca = TestCa::new();
    let received = Received::default();
    let receiver = http_receiver(received.clone(), Some(&ca)).await;
    let honeycomb = format!("https://{receiver}");
    let logs = run(&[
        ("HONEYCOMB_API_KEY", CLASSIC_KEY),
        ("HONEYCOMB_API_ENDPOINT", &honeycomb),
        ("HONEYCOMB_DATASET", "snacks"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.ca_path()),
    ])
    .await;
    let requests = received.requests();
    let mut paths: Vec<&str> = requests.iter().map(|(path, _)| path.as_str()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths, ["/v1/logs", "/v1/traces"]);
    for (path, headers) in &requests {
        assert_eq!(headers["x-honeycomb-team"], CLASSIC_KEY, "{path}");
        assert_eq!(headers["x-honeycomb-dataset"], "snacks", "{path}");
        assert_eq!(headers["content-type"], "application/x-protobuf", "{path}");
    }
    let request = received.spans().into_iter().find(|(_, span)| span.name == "GET /snacks/{id}");
    let (service, request) = request.expect("the request's span");
    assert_eq!(service.as_deref(), Some("snackdrawer"));
    assert_eq!(attribute(&request.attributes, "http.route").as_deref(), Some("/snacks/{id}"));
    access_record(&received.records(), CALLER_TRACE);
    assert!(!logs.iter().any(|line| line.contains(CLASSIC_KEY)), "the key in the logs");
}

#[tokio::test]
async fn an_environment_key_sends_no_dataset_and_an_explicit_endpoint_wins() {
    let ca = TestCa::new();
    let (honeycomb, collector) = (Received::default(), Received::default());
    let honeycomb_at = format!("https://{}", http_receiver(honeycomb.clone(), Some(&ca)).await);
    let collector_at = format!("http://{}", grpc_receiver(collector.clone(), None).await);
    let key = "AbCdEfGhIjKlMnOpQrStUv";
    let logs = run(&[
        ("HONEYCOMB_API_KEY", key),
        ("HONEYCOMB_API_ENDPOINT", &honeycomb_at),
        ("HONEYCOMB_DATASET", "ignored-for-environment-keys"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.ca_path()),
        // Traces go to the collector named explicitly, without the key; logs to Honeycomb.
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &collector_at),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
    ])
    .await;
    let paths: Vec<String> = honeycomb.requests().into_iter().map(|(path, _)| path).collect();
    assert!(!paths.is_empty() && paths.iter().all(|path| path == "/v1/logs"), "{paths:?}");
    for (_, headers) in honeycomb.requests() {
        assert_eq!(headers["x-honeycomb-team"], key);
        assert!(headers.get("x-honeycomb-dataset").is_none(), "{headers:?}");
    }
    assert!(!collector.spans().is_empty());
    assert!(collector.records().is_empty());
    for (_, headers) in collector.requests() {
        assert!(headers.get("x-honeycomb-team").is_none(), "the key went to the collector");
    }
    assert!(!logs.iter().any(|line| line.contains(key)), "the key in the logs");
}

#[test]
fn the_honeycomb_key_is_not_printed_in_help_or_in_errors() {
    let snackdrawer = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_snackdrawer"));
        command.env_clear().env("HONEYCOMB_API_KEY", "hunter2-honeycomb");
        command
    };
    let help = snackdrawer().arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for variable in [
        "HONEYCOMB_API_KEY",
        "HONEYCOMB_API_ENDPOINT",
        "HONEYCOMB_DATASET",
        "OTEL_LOGS_EXPORTER",
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
    ] {
        assert!(help.contains(variable), "--help does not mention {variable}");
    }
    assert!(!help.contains("hunter2"), "{help}");

    let refused = Command::new(env!("CARGO_BIN_EXE_snackdrawer"))
        .env_clear()
        .env("HONEYCOMB_API_KEY", "hunter2 honeycomb")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let error = String::from_utf8(refused.stderr).unwrap();
    assert!(error.contains("--honeycomb-api-key") && !error.contains("hunter2"), "{error}");
}
