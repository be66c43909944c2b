//! The request span as a wide event, exported by the real binary to a real OTLP receiver: each
//! request's own span carries what a person would filter or group by (the caller, the drawer
//! and snack, how much came back, whether a kept copy answered, the store, the persona of the
//! load generator, the error's kind, the lazy level) and the resource names the replica.

use crate::otlp_receiver::{Received, attribute, http_receiver};
use crate::support::server::RunningServer;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Value, json};

const PERSONA_AGENT: &str = "snackdrawer-load/0.1.0 (nosy)";

/// Sends `method path` with `body`, as the nosy persona.
async fn send(
    server: &RunningServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Value {
    let nosy = reqwest::Client::builder().user_agent(PERSONA_AGENT).build().unwrap();
    server.send(&nosy, method, path, token, body).await.body
}

/// The exported spans named `name`, in the order they ended.
fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|span| span.name == name).collect()
}

fn attr(span: &Span, key: &str) -> Option<String> {
    attribute(&span.attributes, key)
}

#[tokio::test]
async fn each_request_span_carries_what_its_request_was_about() {
    let received = Received::default();
    let receiver = http_receiver(received.clone(), None).await;
    let database = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{receiver}");
    let url = crate::support::stores::sqlite_url(&database);
    let mut server = RunningServer::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("DATABASE_URL", &url),
        ("SNACKDRAWER_CACHE_TTL", "60"),
        // Lazy, at its full level at once, yet all but never napping or refusing: the level shows.
        ("SNACKDRAWER_LAZY", "true"),
        ("SNACKDRAWER_LAZY_RAMP", "0s"),
        ("SNACKDRAWER_LAZY_NAP_PROBABILITY", "0.000000001"),
        ("SNACKDRAWER_LAZY_REFUSAL_PROBABILITY", "0.000000001"),
    ]);
    let credentials = json!({"username": "ann", "password": "pw"});
    let user = send(&server, "POST", "/auth/users", None, Some(credentials.clone())).await;
    let user_id = user["id"].as_i64().unwrap().to_string();
    let login = send(&server, "POST", "/auth/login", None, Some(credentials)).await;
    let token = login["token"].as_str().unwrap();
    let drawer = send(&server, "POST", "/drawers/", Some(token), Some(json!({"name": "a"}))).await;
    let drawer_id = drawer["drawer"]["id"].as_i64().unwrap().to_string();
    let path = format!("/drawers/{drawer_id}");
    send(&server, "POST", &path, Some(token), Some(json!({"snack": 1}))).await;
    for _ in 0..2 {
        send(&server, "GET", &path, Some(token), None).await;
    }
    send(&server, "GET", "/drawers/999999", Some(token), None).await;
    let catalogue = send(&server, "GET", "/snacks/", None, None).await;
    let snacks = catalogue["snacks"].as_array().unwrap().len().to_string();
    reqwest::get(server.url("/snacks/1")).await.unwrap();
    tokio::task::spawn_blocking(move || assert!(server.terminate().success())).await.unwrap();

    let spans: Vec<Span> = received.spans().into_iter().map(|(_, span)| span).collect();
    let reads = named(&spans, "GET /drawers/{id}");
    assert_eq!(reads.len(), 3, "{spans:#?}");
    for (read, kept) in reads[..2].iter().zip(["false", "true"]) {
        assert_eq!(attr(read, "snackdrawer.drawer.id"), Some(drawer_id.clone()));
        assert_eq!(attr(read, "snackdrawer.snacks.returned").as_deref(), Some("1"));
        assert_eq!(attr(read, "snackdrawer.read.kept").as_deref(), Some(kept), "{read:#?}");
        assert_eq!(attr(read, "enduser.id"), Some(user_id.clone()));
        assert_eq!(attr(read, "snackdrawer.store").as_deref(), Some("sqlite"));
        assert_eq!(attr(read, "snackdrawer.load.persona").as_deref(), Some("nosy"));
        assert_eq!(attr(read, "snackdrawer.lazy.level").as_deref(), Some("1"));
        assert_eq!(attr(read, "error.type"), None);
    }
    assert_eq!(attr(reads[2], "error.type").as_deref(), Some("drawer_not_found"));
    assert_eq!(attr(reads[2], "snackdrawer.drawer.id").as_deref(), Some("999999"));

    let created = named(&spans, "POST /drawers/");
    assert_eq!(attr(created[0], "snackdrawer.drawer.id"), Some(drawer_id.clone()));
    let added = named(&spans, "POST /drawers/{id}");
    assert_eq!(attr(added[0], "snackdrawer.snack.id").as_deref(), Some("1"));
    assert_eq!(attr(added[0], "snackdrawer.drawer.id"), Some(drawer_id));
    let listed = named(&spans, "GET /snacks/");
    assert_eq!(attr(listed[0], "snackdrawer.snacks.returned"), Some(snacks));
    let other_client = named(&spans, "GET /snacks/{id}");
    assert_eq!(attr(other_client[0], "snackdrawer.load.persona"), None, "not the generator");
    assert_eq!(attr(other_client[0], "snackdrawer.snack.id").as_deref(), Some("1"));

    // No attribute is set twice on one span, however many calls set it.
    for span in &spans {
        let mut keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "{}: {keys:?}", span.name);
    }

    let instances = received.resource_attribute("service.instance.id");
    assert!(!instances.is_empty());
    assert!(instances.iter().all(|id| id == &instances[0]), "one replica, one id");
    let id = &instances[0];
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(id.as_bytes()[14], b'4', "version 4: {id}");
}

#[tokio::test]
async fn the_replica_s_id_may_be_named_by_the_resource_variable() {
    let received = Received::default();
    let receiver = http_receiver(received.clone(), None).await;
    let endpoint = format!("http://{receiver}");
    let mut server = RunningServer::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=pod-7"),
    ]);
    reqwest::get(server.url("/snacks/")).await.unwrap();
    tokio::task::spawn_blocking(move || assert!(server.terminate().success())).await.unwrap();
    let instances = received.resource_attribute("service.instance.id");
    assert!(!instances.is_empty());
    assert!(instances.iter().all(|id| id == "pod-7"), "{instances:?}");
}
