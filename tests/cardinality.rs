//! What a client sends at will (methods nobody defined, paths no route matches, user agents)
//! mints no metric series and no fault target, with nothing armed, in lazy mode and under a
//! `*` rule; and on the request span it is recorded bounded: a made-up method as `_OTHER` with
//! the original beside it, long values cut.
//!
//! Separate binary: the metrics are process-wide, and the series count is compared exactly,
//! so nothing else may be sending requests meanwhile (the two tests here take turns).

#[path = "api/support/auth.rs"]
mod auth;

use auth::{cheap_hasher, login_throttle, token_service};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use snackdrawer::adapters::clock::SystemClock;
use snackdrawer::adapters::http::{AddressLimits, ROUTES};
use snackdrawer::adapters::memory::MemoryStore;
use snackdrawer::app::Snackdrawer;
use snackdrawer::chaos::lazy::LazySettings;
use snackdrawer::chaos::plan::{Delay, Plan};
use snackdrawer::chaos::{ChangedBy, FaultInjector, admin};
use snackdrawer::ports::Catalogue;
use snackdrawer::startup::{decorated_ports, http_api, observed_use_cases};
use snackdrawer::telemetry::request_trace::TraceSampler;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The two tests take turns: each sends requests the other's counts would see.
static TAKING_TURNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ADMIN_TOKEN: &str = "admin-token-admin-token-admin-token-0123";

/// Made-up requests of each kind sent first, so that every series they may make exists.
const WARM_UP: usize = 20;
/// Made-up requests of each kind sent then, each value new: more than any bounded set.
const FLOOD: usize = 300;

#[derive(Clone, Copy, Debug)]
enum Armed {
    Nothing,
    LazyMode,
    EveryRequestRule,
}

/// The API as the binary wires it, with faults armed as `armed` says; the admin API beside it
/// when they are.
async fn api(armed: Armed) -> (Router, Option<Router>) {
    let injector = match armed {
        Armed::Nothing => None,
        Armed::LazyMode => {
            let lazy = LazySettings {
                nap_probability: 0.5,
                nap: Delay::Fixed(Duration::ZERO),
                refusal_probability: 0.5,
                ramp: Duration::ZERO,
            };
            let injector = FaultInjector::new(ROUTES, lazy, None, Some(7));
            injector.lazy_on(None, ChangedBy::Admin);
            Some(Arc::new(injector))
        }
        Armed::EveryRequestRule => {
            let injector = FaultInjector::new(ROUTES, LazySettings::default(), None, Some(7));
            let plan = Plan::parse("* error=unavailable p=0.3; * latency=0ms p=0.5", ROUTES);
            injector.replace_plan(plan.unwrap(), ChangedBy::Admin);
            Some(Arc::new(injector))
        }
    };
    let clock = Arc::new(SystemClock);
    let ports = decorated_ports(
        MemoryStore::new(),
        "memory",
        cheap_hasher(),
        token_service(clock.clone()),
        login_throttle(clock),
        injector.as_ref(),
    );
    let core = Snackdrawer::new(ports);
    core.seed_catalogue().await.unwrap();
    let admin = injector
        .clone()
        .map(|injector| admin::router(injector, admin::AdminToken::parse(ADMIN_TOKEN).unwrap()));
    let timeout = Duration::from_secs(30);
    let api = http_api(
        observed_use_cases(core),
        timeout,
        AddressLimits::OFF,
        TraceSampler::always(),
        injector,
    );
    (api, admin)
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// `n` made-up requests of each kind, every value new (`round` tells the rounds apart): a
/// made-up method on a route and off any, a lower-case `get`, a path no route matches, and a
/// known route, each with a user agent of its own.
async fn send_made_up(api: &Router, round: &str, n: usize) {
    for i in 0..n {
        let made_up = format!("{round}-{i}");
        let method = Method::from_bytes(format!("X-{made_up}").as_bytes()).unwrap();
        let nowhere = format!("/nowhere/{made_up}");
        for (method, path) in [
            (method.clone(), "/snacks/"),
            (method, &nowhere),
            (Method::from_bytes(b"get").unwrap(), "/snacks/"),
            (Method::GET, &nowhere),
            (Method::GET, "/snacks/"),
        ] {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header("user-agent", format!("flooder/{made_up}"));
            send(api, request.body(Body::empty()).unwrap()).await;
        }
    }
}

/// The samples on `/metrics` (a histogram's buckets count each).
async fn series(api: &Router) -> usize {
    let (status, text) = send(api, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    text.lines().filter(|line| !line.is_empty() && !line.starts_with('#')).count()
}

/// `GET /faults`: its body, and its list of what was injected.
async fn faults(admin: &Router) -> (String, Vec<Value>) {
    let request = Request::get("/faults").header("authorization", format!("Bearer {ADMIN_TOKEN}"));
    let (status, body) = send(admin, request.body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown: Value = serde_json::from_str(&body).unwrap();
    (body, shown["injected"].as_array().unwrap().clone())
}

#[tokio::test]
async fn made_up_methods_paths_and_user_agents_mint_no_series_and_no_fault_targets() {
    let _turn = TAKING_TURNS.lock().await;
    let mut grew = Vec::new();
    for armed in [Armed::Nothing, Armed::LazyMode, Armed::EveryRequestRule] {
        let (api, admin) = api(armed).await;
        send_made_up(&api, &format!("{armed:?}-warm-up"), WARM_UP).await;
        // The first scrape makes the scrape's own series, after it has been written out.
        series(&api).await;
        let series_before = series(&api).await;
        let faults_before = match &admin {
            Some(admin) => Some(faults(admin).await),
            None => None,
        };

        send_made_up(&api, &format!("{armed:?}-flood"), FLOOD).await;

        let series_after = series(&api).await;
        if series_after != series_before {
            grew.push(format!("{armed:?}: /metrics from {series_before} to {series_after} series"));
        }
        let Some(((body_before, injected_before), admin)) = faults_before.zip(admin) else {
            continue;
        };
        let (body_after, injected_after) = faults(&admin).await;
        assert!(!injected_after.is_empty(), "{armed:?}: faults were injected");
        let targets = |injected: &[Value]| -> Vec<(Value, Value)> {
            injected.iter().map(|i| (i["target"].clone(), i["kind"].clone())).collect()
        };
        // The same targets, whose counts grow by a digit or so each.
        let (before, after) = (body_before.len(), body_after.len());
        if targets(&injected_after) != targets(&injected_before)
            || after > before + 2 * injected_after.len()
        {
            grew.push(format!(
                "{armed:?}: GET /faults from {} to {} targets, {before} to {after} bytes",
                injected_before.len(),
                injected_after.len()
            ));
        }
    }
    assert!(grew.is_empty(), "{FLOOD} made-up values of each kind: {grew:#?}");
}

/// The fields each request span was opened with.
#[derive(Clone, Default)]
struct RequestSpans(Arc<Mutex<Vec<BTreeMap<String, String>>>>);

impl<S: tracing::Subscriber> Layer<S> for RequestSpans {
    fn on_new_span(&self, attributes: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        struct Fields<'a>(&'a mut BTreeMap<String, String>);
        impl Visit for Fields<'_> {
            fn record_str(&mut self, field: &Field, value: &str) {
                self.0.insert(field.name().into(), value.into());
            }
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                self.0.insert(field.name().into(), format!("{value:?}"));
            }
        }
        if attributes.metadata().name() == "request" {
            let mut fields = BTreeMap::new();
            attributes.record(&mut Fields(&mut fields));
            self.0.lock().unwrap().push(fields);
        }
    }
}

#[tokio::test]
async fn the_request_span_names_a_made_up_method_other_keeps_the_original_and_cuts_long_values() {
    let _turn = TAKING_TURNS.lock().await;
    let spans = RequestSpans::default();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let (api, _) = api(Armed::Nothing).await;
    let long = "x".repeat(5000);
    let sent = [
        ("GET", "/snacks/".to_owned(), "curl/8".to_owned()),
        ("BREW", "/snacks/".to_owned(), "curl/8".to_owned()),
        ("get", format!("/nowhere/{long}"), format!("flooder/{long}")),
        (&*format!("X-{long}"), "/nowhere".to_owned(), format!("{long}-agent")),
        ("QUERY", "/snacks/".to_owned(), "curl/8".to_owned()),
    ];
    for (method, path, agent) in &sent {
        let request = Request::builder().method(*method).uri(path).header("user-agent", agent);
        send(&api, request.body(Body::empty()).unwrap()).await;
    }

    let spans = spans.0.lock().unwrap().clone();
    assert_eq!(spans.len(), sent.len(), "{spans:#?}");
    let field = |span: &BTreeMap<String, String>, name: &str| span.get(name).cloned();
    assert_eq!(field(&spans[0], "http.request.method").as_deref(), Some("GET"));
    assert_eq!(field(&spans[0], "http.request.method_original"), None, "only when it differs");
    assert_eq!(field(&spans[1], "http.request.method").as_deref(), Some("_OTHER"));
    assert_eq!(field(&spans[1], "http.request.method_original").as_deref(), Some("BREW"));
    assert_eq!(field(&spans[1], "otel.name").as_deref(), Some("_OTHER /snacks/"));
    assert_eq!(field(&spans[2], "http.request.method_original").as_deref(), Some("get"));
    assert_eq!(field(&spans[2], "otel.name").as_deref(), Some("_OTHER"), "no route matched");
    assert_eq!(field(&spans[4], "http.request.method").as_deref(), Some("QUERY"), "known");
    for span in &spans[2..4] {
        for name in ["http.request.method_original", "url.path", "user_agent.original"] {
            let value = field(span, name).unwrap_or_else(|| panic!("{name} in {span:?}"));
            assert!(!value.is_empty() && value.len() <= 512, "{name}: {} bytes", value.len());
        }
    }
    let cut = field(&spans[3], "user_agent.original").unwrap();
    assert!(cut.starts_with("xxx") && cut.len() == 512, "the start of it, cut: {cut}");
}
