//! `/metrics` after known traffic: every family the dashboards rely on, with the expected
//! labels and exact counts, the two exposition formats, exemplars, and no secrets.
//!
//! Separate binary: process-wide metrics must start at zero, and it sets the global subscriber.

#[path = "api/support/auth.rs"]
mod auth;
#[path = "api/support/client.rs"]
mod client;

use async_trait::async_trait;
use auth::{cheap_hasher, login_throttle, token_service};
use client::{ApiClient, Reply, RequestBuilder};
use serde_json::json;
use snackdrawer::adapters::clock::SystemClock;
use snackdrawer::adapters::memory::MemoryStore;
use snackdrawer::app::{Ports, Snackdrawer};
use snackdrawer::domain::{PasswordHash, Username};
use snackdrawer::ports::Catalogue;
use snackdrawer::ports::{StoreError, StoreHealth, UserRepository};
use snackdrawer::telemetry;
use snackdrawer::telemetry::Observed;
use snackdrawer::telemetry::request_trace::TraceSampler;
use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

/// A store whose health check always fails, so `/readyz` answers 503.
struct Unhealthy;

#[async_trait]
impl StoreHealth for Unhealthy {
    async fn ping(&self) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("the test says so".into()))
    }
}

/// A store whose health check never answers.
struct Stuck;

#[async_trait]
impl StoreHealth for Stuck {
    async fn ping(&self) -> Result<(), StoreError> {
        std::future::pending().await
    }
}

/// How many calls of `function` were abandoned before they finished.
fn cancelled(text: &str, function: &str) -> f64 {
    let function = format!(r#"function="{function}""#);
    sample(text, "snackdrawer_function_calls_cancelled_total", &[&function])
}

/// The API as production wires it, every port observed, with the catalogue seeded.
async fn observed_api() -> ApiClient {
    let memory = MemoryStore::new();
    // A user whose stored hash cannot be read: logging in as them makes the hasher fail.
    let corrupt = Username::parse("corrupt").unwrap();
    memory.create(&corrupt, &PasswordHash::new("not a hash")).await.unwrap();
    let store = Arc::new(Observed::store(memory, "memory"));
    let ports = Ports {
        users: store.clone(),
        snacks: store.clone(),
        drawers: store,
        store_health: Arc::new(Observed::store(Unhealthy, "memory")),
        hasher: Arc::new(Observed::auth(cheap_hasher())),
        tokens: Arc::new(Observed::auth(token_service(Arc::new(SystemClock)))),
        login_throttle: login_throttle(Arc::new(SystemClock)),
    };
    let core = Snackdrawer::new(ports);
    core.seed_catalogue().await.unwrap();
    ApiClient::new(core)
}

/// The value of the one sample whose name is `name` and whose labels include every `label`.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    let matching: Vec<&str> = text
        .lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .collect();
    assert_eq!(matching.len(), 1, "one {name} sample with {labels:?}, found {matching:#?}");
    let value = matching[0].rsplit(' ').next().unwrap();
    value.parse().unwrap_or_else(|_| panic!("a number in {}", matching[0]))
}

async fn scrape(app: &ApiClient, accept: Option<&str>) -> Reply {
    let request = app.get("/metrics");
    let request = match accept {
        Some(accept) => request.header("accept", accept),
        None => request,
    };
    let reply = request.send().await;
    assert_eq!(reply.status, 200);
    reply
}

#[tokio::test]
async fn metrics_tell_what_happened() {
    // Tracing on and every request sampled, with the binary's trace layer (no exporter).
    let provider = telemetry::local_tracer_provider(TraceSampler::always());
    let subscriber =
        telemetry::registry(Targets::new()).with(telemetry::trace_layer(&provider, Targets::new()));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let app = observed_api().await;
    let mut trace_ids = HashSet::new();
    let mut send = async |request: RequestBuilder<'_>| {
        let reply = request.send().await;
        trace_ids.insert(reply.headers["x-trace-id"].to_str().unwrap().to_owned());
        reply
    };
    for _ in 0..3 {
        assert_eq!(send(app.get("/snacks/")).await.status, 200);
    }
    let password = "correct horse battery staple";
    let credentials = json!({"username": "metered", "password": password});
    assert_eq!(send(app.post("/auth/users").json(credentials.clone())).await.status, 201);
    let login = send(app.post("/auth/login").json(credentials)).await;
    let token = login.json["token"].as_str().unwrap().to_owned();
    assert_eq!(send(app.get("/drawers/").token(&token)).await.status, 200);
    let corrupt = json!({"username": "corrupt", "password": password});
    assert_eq!(send(app.post("/auth/login").json(corrupt)).await.status, 500);
    assert_eq!(send(app.get("/drawers/").token("garbage")).await.status, 401);
    assert_eq!(send(app.get("/snacks/99")).await.status, 404);
    assert_eq!(send(app.get("/no/such/route")).await.status, 404);
    assert_eq!(send(app.get("/readyz")).await.status, 503);

    let text = scrape(&app, None).await;
    trace_ids.insert(text.headers["x-trace-id"].to_str().unwrap().to_owned());
    assert_eq!(text.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = text.text;
    let http = |route: &str, method: &str, status: u16| {
        sample(
            &text,
            "http_server_request_duration_seconds_count",
            &[
                &format!(r#"http_route="{route}""#),
                &format!(r#"http_request_method="{method}""#),
                &format!(r#"http_response_status_code="{status}""#),
            ],
        )
    };
    assert_eq!(http("/snacks/", "GET", 200), 3.0);
    assert_eq!(http("/auth/users", "POST", 201), 1.0);
    assert_eq!(http("/auth/login", "POST", 201), 1.0);
    assert_eq!(http("/auth/login", "POST", 500), 1.0);
    assert_eq!(http("/drawers/", "GET", 200), 1.0);
    assert_eq!(http("/drawers/", "GET", 401), 1.0);
    assert_eq!(http("/snacks/{id}", "GET", 404), 1.0);
    assert_eq!(http("unmatched", "GET", 404), 1.0);
    assert_eq!(http("/readyz", "GET", 503), 1.0);
    assert!(!text.contains("/no/such/route"), "raw paths are never labels");
    let bucket_10s = sample(
        &text,
        "http_server_request_duration_seconds_bucket",
        &[r#"le="10.0""#, r#"http_route="/snacks/""#],
    );
    assert_eq!(bucket_10s, 3.0, "buckets reach 10 s");
    assert_eq!(
        sample(&text, "http_server_active_requests", &[r#"http_request_method="GET""#]),
        1.0,
        "the scrape itself"
    );

    let calls = |function: &str, result: &str| {
        sample(
            &text,
            "function_calls_total",
            &[
                &format!(r#"function="{function}""#),
                &format!(r#"result="{result}""#),
                r#"service_name="snackdrawer""#,
            ],
        )
    };
    // `module` is where the measured code lives.
    for (function, module) in [
        ("SnackRepository::list", "snackdrawer::adapters::memory"),
        ("PasswordHasher::hash", "snackdrawer::adapters::scrypt"),
        ("TokenService::issue", "snackdrawer::adapters::jwt"),
        ("StoreHealth::ping", "metrics"),
        ("GET /snacks/", "snackdrawer::adapters::http"),
    ] {
        let (function_label, module_label) =
            (format!(r#"function="{function}""#), format!(r#"module="{module}""#));
        let labels = [function_label.as_str(), module_label.as_str()];
        assert_eq!(sample(&text, "function_calls_concurrent", &labels), 0.0, "{function}");
    }
    assert_eq!(calls("SnackRepository::list", "ok"), 4.0, "three requests and the seeding's look");
    assert_eq!(calls("SnackRepository::create", "ok"), 12.0, "the seeded catalogue");
    assert_eq!(calls("SnackRepository::get", "ok"), 1.0);
    assert_eq!(calls("UserRepository::create", "ok"), 1.0);
    assert_eq!(calls("UserRepository::find_by_username", "ok"), 2.0);
    assert_eq!(calls("UserRepository::find_by_id", "ok"), 1.0, "the token's account");
    assert_eq!(calls("DrawerRepository::list_by_owner", "ok"), 1.0);
    assert_eq!(calls("PasswordHasher::hash", "ok"), 1.0);
    assert_eq!(calls("PasswordHasher::verify", "ok"), 1.0);
    assert_eq!(calls("PasswordHasher::verify", "error"), 1.0, "the unreadable stored hash");
    assert_eq!(calls("TokenService::issue", "ok"), 1.0);
    assert_eq!(
        calls("TokenService::verify", "ok"),
        2.0,
        "an invalid token is an answer, not a failure"
    );
    assert_eq!(calls("StoreHealth::ping", "error"), 1.0);
    assert_eq!(calls("GET /snacks/", "ok"), 3.0);
    assert_eq!(calls("GET /readyz", "error"), 1.0, "5xx counts against the API objective");
    assert_eq!(calls("GET /snacks/", "error"), 0.0, "an error series exists at 0 before any error");
    assert_eq!(
        sample(
            &text,
            "function_calls_total",
            &[
                r#"function="GET /snacks/""#,
                r#"result="ok""#,
                r#"objective_name="api""#,
                r#"objective_percentile="99.9""#
            ]
        ),
        3.0
    );
    assert_eq!(
        sample(
            &text,
            "function_calls_duration_seconds_count",
            &[r#"function="DrawerRepository::list_by_owner""#]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "function_calls_duration_seconds_bucket",
            &[
                r#"function="GET /snacks/""#,
                r#"le="0.25""#,
                r#"objective_latency_threshold="0.25""#,
            ]
        ),
        3.0
    );
    // A call abandoned half-way (its client hung up) is not a call: no result, no latency; it
    // comes off the in-flight gauge and is counted as cancelled.
    assert_eq!(cancelled(&text, "StoreHealth::ping"), 0.0);
    let stuck = Observed::store(Stuck, "memory");
    let abandoned = tokio::time::timeout(Duration::from_millis(10), stuck.ping()).await;
    assert!(abandoned.is_err(), "the stuck ping cannot finish");
    let after = scrape(&app, None).await;
    trace_ids.insert(after.headers["x-trace-id"].to_str().unwrap().to_owned());
    let after = after.text;
    assert_eq!(cancelled(&after, "StoreHealth::ping"), 1.0);
    assert_eq!(
        sample(
            &after,
            "function_calls_total",
            &[r#"function="StoreHealth::ping""#, r#"result="error""#]
        ),
        1.0,
        "still only the readiness check's failure"
    );
    let ping_latency = [r#"function="StoreHealth::ping""#];
    assert_eq!(sample(&after, "function_calls_duration_seconds_count", &ping_latency), 1.0);
    assert_eq!(sample(&after, "function_calls_concurrent", &ping_latency), 0.0);
    for line in after.lines().filter(|line| line.starts_with("function_calls_total{")) {
        assert!(
            line.contains(r#"result="ok""#) || line.contains(r#"result="error""#),
            "the autometrics specification allows ok and error alone: {line}"
        );
    }

    let commit = env!("SNACKDRAWER_COMMIT");
    assert_eq!(
        sample(
            &text,
            "build_info",
            &[
                &format!(r#"version="{}""#, env!("CARGO_PKG_VERSION")),
                &format!(r#"commit="{commit}""#),
                r#"service_name="snackdrawer""#,
                r#"repository_url="""#,
                r#"repository_provider="""#,
                r#"autometrics_version="1.0.0""#,
            ]
        ),
        1.0
    );
    assert!(!commit.is_empty());
    for secret in [password, token.as_str()] {
        assert!(!text.contains(secret), "a secret leaked into the metrics");
    }
    promtool_accepts(&text);

    let openmetrics = scrape(&app, Some("application/openmetrics-text; version=1.0.0")).await;
    trace_ids.insert(openmetrics.headers["x-trace-id"].to_str().unwrap().to_owned());
    assert_eq!(
        openmetrics.headers["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(openmetrics.text.ends_with("# EOF\n"));
    // Every exemplar is a trace a request was answered with, and both histograms have some.
    for family in
        ["http_server_request_duration_seconds_bucket", "function_calls_duration_seconds_bucket"]
    {
        let exemplars: Vec<&str> = openmetrics
            .text
            .lines()
            .filter(|line| line.starts_with(family))
            .filter_map(|line| line.split_once(r#" # {trace_id=""#))
            .map(|(_, exemplar)| exemplar.split('"').next().unwrap())
            .collect();
        assert!(!exemplars.is_empty(), "no exemplar on {family}");
        for trace_id in exemplars {
            assert_eq!(trace_id.len(), 32, "{trace_id}");
            assert!(
                trace_ids.contains(trace_id),
                "{trace_id} is not a trace the app answered with"
            );
        }
    }
}

/// `promtool check metrics` on the Prometheus text, when promtool is installed (CI installs it).
fn promtool_accepts(text: &str) {
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: promtool is not installed (apt-get install -y prometheus) ***\n"
        );
        return;
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
