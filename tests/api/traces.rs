//! The real binary exporting to a real OTLP receiver, over gRPC and over HTTP/protobuf: spans
//! nest request → use case → port with the OpenTelemetry attributes, a `traceparent` joins the
//! caller's trace, the JSON logs carry the same trace id, 5xx (not 4xx) marks a span as an
//! error, and no password or token appears anywhere.

use crate::otlp_receiver::{Received, attribute, grpc_receiver, hex, http_receiver};
use crate::support::TestApp;
use crate::support::server::RunningServer;
use crate::support::stores::StoreKind;
use axum::http::HeaderMap;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as SpanStatus;
use serde_json::{Value, json};
use snackdrawer::telemetry;
use snackdrawer::telemetry::request_trace::TraceSampler;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const PASSWORD: &str = "tr0ub4dor&3-never-logged";

struct Exported {
    spans: Vec<Span>,
    service_names: Vec<String>,
    headers: Vec<HeaderMap>,
}

impl Exported {
    /// The spans of every trace export, and each export's headers and resource service name.
    fn from(received: &Received) -> Self {
        Self {
            spans: received.spans().into_iter().map(|(_, span)| span).collect(),
            service_names: received.resource_attribute("service.name"),
            headers: received.requests().into_iter().map(|(_, headers)| headers).collect(),
        }
    }

    /// The one span named `name` whose parent is `parent` (any parent when `None`).
    fn span(&self, name: &str, parent: Option<&Span>) -> &Span {
        let found: Vec<&Span> = self
            .spans
            .iter()
            .filter(|span| span.name == name)
            .filter(|span| {
                parent
                    .is_none_or(|p| span.parent_span_id == p.span_id && span.trace_id == p.trace_id)
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one span {name:?} under {:?}; all: {:#?}",
            parent.map(|p| &p.name),
            self.names()
        );
        found[0]
    }

    /// The one server span named `name` that answered `status`.
    fn request(&self, name: &str, status: u16) -> &Span {
        let status = status.to_string();
        let found: Vec<&Span> = self
            .spans
            .iter()
            .filter(|span| span.name == name)
            .filter(|span| {
                attribute(&span.attributes, "http.response.status_code").as_deref() == Some(&status)
            })
            .collect();
        assert_eq!(found.len(), 1, "one {name} answering {status}; all: {:#?}", self.names());
        found[0]
    }

    fn names(&self) -> Vec<&str> {
        self.spans.iter().map(|span| span.name.as_str()).collect()
    }
}

fn status_code(span: &Span) -> i32 {
    span.status.as_ref().map_or(SpanStatus::Unset as i32, |status| status.code)
}

async fn the_trace_is_whole(
    protocol: &str,
    receiver: SocketAddr,
    received: Received,
    service: Option<&str>,
) {
    let endpoint = format!("http://{receiver}");
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=test-team-key"),
        ("SNACKDRAWER_REQUEST_TIMEOUT", "0.5"),
        // A store call that never ends: the request deadline answers 503.
        ("SNACKDRAWER_FAULTS", "SnackRepository::get hang"),
    ];
    // AUTOMETRICS_SERVICE_NAME names the service on spans and metrics alike, over
    // OTEL_SERVICE_NAME.
    if let Some(service) = service {
        env.push(("OTEL_SERVICE_NAME", "outranked-by-autometrics"));
        env.push(("AUTOMETRICS_SERVICE_NAME", service));
        env.push(("AUTOMETRICS_REPOSITORY_URL", "https://github.com/acme/snackdrawer"));
    }
    let mut server = RunningServer::start(&env);
    let http = reqwest::Client::new();
    let credentials = json!({"username": "traced", "password": PASSWORD});
    let registered = http.post(server.url("/auth/users")).json(&credentials).send().await.unwrap();
    assert_eq!(registered.status(), 201);
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut request = http.post(server.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let login = post("/auth/login", None, credentials.clone()).await;
    let token = login["token"].as_str().unwrap().to_owned();
    let drawer = post("/drawers/", Some(&token), json!({"name": "desk"})).await;
    let path = format!("/drawers/{}", drawer["drawer"]["id"]);
    let read = http
        .get(server.url(&path))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .header("user-agent", "trace-test/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["x-trace-id"], CALLER_TRACE, "the response names the trace");
    let refused = http.get(server.url("/drawers/")).bearer_auth("garbage").send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let stalled = http.get(server.url("/snacks/1")).send().await.unwrap();
    assert_eq!(stalled.status(), 503);
    let metrics = http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();

    let logs = tokio::task::spawn_blocking(move || {
        assert!(server.terminate().success());
        server.logs()
    })
    .await
    .unwrap();
    let exported = Exported::from(&received);

    // The caller's trace, continued: request → use case → database.
    let request = exported.request("GET /drawers/{id}", 200);
    assert_eq!(hex(&request.trace_id), CALLER_TRACE);
    assert_eq!(hex(&request.parent_span_id), CALLER_SPAN);
    assert_eq!(request.kind, SpanKind::Server as i32);
    for (key, value) in [
        ("http.request.method", "GET"),
        ("http.route", "/drawers/{id}"),
        ("http.response.status_code", "200"),
        ("url.path", path.as_str()),
        ("user_agent.original", "trace-test/1.0"),
        ("client.address", "127.0.0.1"),
        ("enduser.id", "1"),
    ] {
        assert_eq!(attribute(&request.attributes, key).as_deref(), Some(value), "{key}");
    }
    let use_case = exported.span("get_drawer", Some(request));
    // Ids are numbers a trace viewer can filter on, not `DrawerId(1)`.
    let value = |key| {
        let found = use_case.attributes.iter().find(|kv| kv.key == key);
        found.and_then(|kv| kv.value.clone()).and_then(|value| value.value)
    };
    assert_eq!(value("caller"), Some(AnyValue::IntValue(1)));
    assert_eq!(value("id"), drawer["drawer"]["id"].as_i64().map(AnyValue::IntValue));
    let database = exported.span("SELECT drawers", Some(use_case));
    assert_eq!(database.kind, SpanKind::Client as i32);
    for (key, value) in [
        ("db.system.name", "memory"),
        ("db.operation.name", "SELECT"),
        ("db.collection.name", "drawers"),
    ] {
        assert_eq!(attribute(&database.attributes, key).as_deref(), Some(value), "{key}");
    }

    // Password work is in the trace too, hashing on the blocking pool included.
    let register = exported.span("register", Some(exported.request("POST /auth/users", 201)));
    exported.span("PasswordHasher::hash", Some(register));
    exported.span("INSERT users", Some(register));
    let log_in = exported.span("log_in", Some(exported.request("POST /auth/login", 201)));
    exported.span("PasswordHasher::verify", Some(log_in));
    exported.span("TokenService::issue", Some(log_in));

    // 4xx is the client's problem; 5xx is ours.
    let unauthorized = exported.span("GET /drawers/", None);
    assert_eq!(
        attribute(&unauthorized.attributes, "http.response.status_code").as_deref(),
        Some("401")
    );
    assert_ne!(status_code(unauthorized), SpanStatus::Error as i32);
    let timed_out = exported
        .spans
        .iter()
        .find(|span| {
            attribute(&span.attributes, "http.response.status_code").as_deref() == Some("503")
        })
        .expect("the timed-out request's span");
    assert_eq!(status_code(timed_out), SpanStatus::Error as i32);

    let service_name = service.unwrap_or("snackdrawer");
    assert!(exported.service_names.iter().all(|name| name == service_name));
    let named = format!(r#"service_name="{service_name}""#);
    let build_info = metrics.lines().find(|line| line.starts_with("build_info{")).unwrap();
    assert!(build_info.contains(&named), "{build_info}");
    let (url, provider) = match service {
        Some(_) => ("https://github.com/acme/snackdrawer", "github"),
        None => ("", ""),
    };
    assert!(build_info.contains(&format!(r#"repository_url="{url}""#)), "{build_info}");
    assert!(build_info.contains(&format!(r#"repository_provider="{provider}""#)), "{build_info}");
    let calls = metrics.lines().filter(|line| line.starts_with("function_calls_total{"));
    assert!(calls.clone().count() > 0 && calls.clone().all(|line| line.contains(&named)));
    assert!(
        exported
            .headers
            .iter()
            .all(|h| h.get("x-honeycomb-team").is_some_and(|v| v == "test-team-key"))
    );

    // The logs point at the same trace.
    let access: Value = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["target"] == "snackdrawer::access" && line["route"] == "/drawers/{id}")
        .expect("an access line for the drawer read");
    assert_eq!(access["trace_id"], CALLER_TRACE);
    assert_eq!(access["status"], 200);
    assert_eq!(access["span_id"], hex(&request.span_id), "the request span's own id");
    // A 5xx is logged once, with its cause, in the trace of the request that got it.
    let failures: Vec<Value> = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "request failed: dependency unavailable")
        .collect();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    let cause = failures[0]["error"].as_str().unwrap_or_default();
    assert!(cause.contains("did not complete within"), "{cause}");
    assert_eq!(failures[0]["trace_id"], hex(&timed_out.trace_id));
    assert_eq!(failures[0]["route"], attribute(&timed_out.attributes, "http.route").unwrap());

    // No secret anywhere.
    let attributes: Vec<String> = exported
        .spans
        .iter()
        .flat_map(|span| span.attributes.iter().map(|kv| format!("{}={:?}", kv.key, kv.value)))
        .collect();
    for secret in [PASSWORD, token.as_str()] {
        assert!(!logs.iter().any(|line| line.contains(secret)), "a secret in the logs");
        assert!(!attributes.iter().any(|attr| attr.contains(secret)), "a secret in a span");
    }
}

#[tokio::test]
async fn traces_export_over_grpc() {
    let received = Received::default();
    let receiver = grpc_receiver(received.clone(), None).await;
    the_trace_is_whole("grpc", receiver, received, None).await;
}

#[tokio::test]
async fn traces_export_over_http_protobuf() {
    let received = Received::default();
    let receiver = http_receiver(received.clone(), None).await;
    the_trace_is_whole("http/protobuf", receiver, received, Some("snackdrawer-under-test")).await;
}

#[tokio::test]
async fn without_an_endpoint_nothing_is_exported() {
    let mut server = RunningServer::start(&[]);
    let serving =
        server.logs().into_iter().find(|line| line.contains("snackdrawer is serving")).unwrap();
    let serving: Value = serde_json::from_str(&serving).unwrap();
    assert_eq!(serving["trace_export"], false);
    let response = reqwest::get(server.url("/snacks/")).await.unwrap();
    let trace_id = response.headers()["x-trace-id"].to_str().unwrap().to_owned();
    assert_eq!(trace_id.len(), 32, "trace ids exist without export");

    // Nothing is sampled, so no span is built, yet the request's log lines carry its ids.
    let logs = tokio::task::spawn_blocking(move || {
        assert!(server.terminate().success());
        server.logs()
    })
    .await
    .unwrap();
    let access = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["target"] == "snackdrawer::access" && line["route"] == "/snacks/")
        .expect("an access line for the catalogue read");
    assert_eq!(access["trace_id"], trace_id.as_str());
    assert_eq!(access["span_id"].as_str().unwrap().len(), 16);
    assert!(access.get("span").is_none(), "no span was opened: {access}");
}

/// Counts the spans the subscriber opens.
struct SpansOpened(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for SpansOpened {
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: LayerContext<'_, S>,
    ) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A caller's sampling decision is followed: its trace id names the request either way, and a
/// request it did not sample opens no span at all (in-process, with the binary's layers).
#[tokio::test]
async fn an_unsampled_caller_gets_its_trace_id_and_no_spans() {
    // Process-wide, and what the binary installs: it changes only how a `traceparent` is read.
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let provider = telemetry::local_tracer_provider(TraceSampler::always());
    let opened = Arc::new(AtomicUsize::new(0));
    let subscriber = telemetry::registry(telemetry::log_levels())
        .with(telemetry::trace_layer(&provider, telemetry::log_levels()))
        .with(SpansOpened(opened.clone()));
    let _default = tracing::subscriber::set_default(subscriber);
    let app = TestApp::seeded(StoreKind::Memory).await;
    for (flags, sampled) in [("00", false), ("01", true)] {
        opened.store(0, Ordering::SeqCst);
        let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-{flags}");
        let reply = app.get("/snacks/1").header("traceparent", &traceparent).send().await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.headers["x-trace-id"], CALLER_TRACE);
        let spans = opened.load(Ordering::SeqCst);
        assert_eq!(spans > 0, sampled, "{traceparent}: {spans} spans opened");
    }
}

/// The attributes of the one `fault.injected` event on `span`.
fn fault_event(span: &Span) -> &[KeyValue] {
    let events: Vec<_> =
        span.events.iter().filter(|event| event.name == "fault.injected").collect();
    assert_eq!(events.len(), 1, "one fault.injected event on {}: {:#?}", span.name, span.events);
    &events[0].attributes
}

#[tokio::test]
async fn an_injected_fault_is_an_event_on_the_span_it_hit_and_marks_its_request() {
    let received = Received::default();
    let receiver = http_receiver(received.clone(), None).await;
    let endpoint = format!("http://{receiver}");
    let mut server = RunningServer::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        (
            "SNACKDRAWER_FAULTS",
            "SnackRepository::list latency=20ms; GET /snacks/{id} error=internal",
        ),
    ]);
    let http = reqwest::Client::new();
    assert_eq!(http.get(server.url("/snacks/")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(server.url("/snacks/1")).send().await.unwrap().status(), 500);
    assert_eq!(http.get(server.url("/healthz")).send().await.unwrap().status(), 200);
    tokio::task::spawn_blocking(move || assert!(server.terminate().success())).await.unwrap();
    let exported = Exported::from(&received);

    // A port fault: the event is on the database span, inside the request that is marked.
    let listed = exported.request("GET /snacks/", 200);
    assert_eq!(attribute(&listed.attributes, "fault.injected").as_deref(), Some("true"));
    let database = exported.span("SELECT snacks", Some(exported.span("list_snacks", Some(listed))));
    let event = fault_event(database);
    assert_eq!(attribute(event, "fault.target").as_deref(), Some("SnackRepository::list"));
    assert_eq!(attribute(event, "fault.kind").as_deref(), Some("latency"));
    let delay: f64 = attribute(event, "fault.delay_ms").unwrap().parse().unwrap();
    assert!((delay - 20.0).abs() < 1e-9, "{delay}");

    // A route fault: the event is on the request span, which failed as a real 500 would.
    let failed = exported.request("GET /snacks/{id}", 500);
    assert_eq!(attribute(&failed.attributes, "fault.injected").as_deref(), Some("true"));
    assert_eq!(attribute(fault_event(failed), "fault.kind").as_deref(), Some("internal"));
    assert_eq!(status_code(failed), SpanStatus::Error as i32);

    let healthy = exported.request("GET /healthz", 200);
    assert_eq!(
        attribute(&healthy.attributes, "fault.injected"),
        None,
        "untouched requests are not marked"
    );
}
