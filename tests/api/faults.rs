//! Fault injection in-process: the router and ports as `startup` composes them with faults
//! armed (the memory store underneath), driven by plans and lazy mode set on the injector or
//! through the admin API. Each test makes its own injector, so they do not see each other's
//! plans; the injection counters on `/metrics` are process-wide, so only their growth is
//! checked there.

use crate::support::auth::{cheap_hasher, login_throttle, token_service};
use crate::support::client::{ApiClient, Reply};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use snackdrawer::adapters::clock::SystemClock;
use snackdrawer::adapters::http::{AddressLimits, ROUTES};
use snackdrawer::adapters::memory::MemoryStore;
use snackdrawer::app::Snackdrawer;
use snackdrawer::chaos::lazy::{LazySchedule, LazySettings};
use snackdrawer::chaos::plan::{Delay, Plan};
use snackdrawer::chaos::schedule::IncidentSchedule;
use snackdrawer::chaos::{ChangedBy, FaultInjector, admin, incidents};
use snackdrawer::ports::Catalogue;
use snackdrawer::startup::{decorated_ports, http_api, observed_use_cases};
use snackdrawer::telemetry::request_trace::TraceSampler;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// The API over a seeded memory store, wired as the binary wires it with faults armed.
struct FaultyApi {
    client: ApiClient,
    injector: Arc<FaultInjector>,
}

impl FaultyApi {
    async fn new(lazy: LazySettings, request_timeout: Duration) -> Self {
        let injector = Arc::new(FaultInjector::new(ROUTES, lazy, None, Some(7)));
        let ports = decorated_ports(
            MemoryStore::new(),
            "memory",
            cheap_hasher(),
            token_service(Arc::new(SystemClock)),
            login_throttle(Arc::new(SystemClock)),
            Some(&injector),
        );
        let core = Snackdrawer::new(ports);
        core.seed_catalogue().await.unwrap();
        let router = http_api(
            observed_use_cases(core),
            request_timeout,
            AddressLimits::OFF,
            TraceSampler::never(),
            Some(injector.clone()),
        );
        Self { client: ApiClient::over(router), injector }
    }

    async fn with_plan(plan: &str) -> Self {
        let api = Self::new(LazySettings::default(), Duration::from_secs(30)).await;
        api.set_plan(plan);
        api
    }

    fn set_plan(&self, plan: &str) {
        self.injector.replace_plan(Plan::parse(plan, ROUTES).unwrap(), ChangedBy::Admin);
    }

    /// A fresh user's token and an empty drawer of theirs.
    async fn user_with_drawer(&self) -> (String, i64) {
        let credentials = json!({"username": "fay", "password": "secret"});
        let registered = self.client.post("/auth/users").json(credentials.clone()).send().await;
        assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.text);
        let token = self.client.post("/auth/login").json(credentials).send().await.json["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let drawer = self.client.post("/drawers/").token(&token).json(json!({"name": "desk"}));
        let drawer = drawer.send().await.json["drawer"]["id"].as_i64().unwrap();
        (token, drawer)
    }

    async fn contents(&self, token: &str, drawer: i64) -> Value {
        let reply = self.client.get(&format!("/drawers/{drawer}")).token(token).send().await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.json["drawer"]["contents"].clone()
    }

    fn injected(&self, target: &str, kind: &str) -> u64 {
        let status = self.injector.status();
        let found = status.injected.iter().find(|i| i.target == target && i.kind == kind);
        found.map_or(0, |injected| injected.count)
    }

    async fn metrics(&self) -> String {
        self.client.get("/metrics").send().await.text
    }
}

fn injected_total(metrics: &str, target: &str, kind: &str) -> u64 {
    let series =
        format!("snackdrawer_faults_injected_total{{target=\"{target}\",kind=\"{kind}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |value| value.trim().parse().unwrap())
}

#[tokio::test]
async fn a_port_rule_makes_its_route_answer_503_with_the_contract_s_body_and_is_counted() {
    let api = FaultyApi::with_plan("").await;
    let (token, drawer) = api.user_with_drawer().await;
    let before = injected_total(&api.metrics().await, "DrawerRepository::add_snack", "unavailable");
    api.set_plan("DrawerRepository::add_snack error=unavailable");

    let add =
        api.client.post(&format!("/drawers/{drawer}")).token(&token).json(json!({"snack": 3}));
    let reply = add.send().await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.text);
    assert_eq!(
        reply.error(),
        "503 Service Unavailable: service temporarily unavailable, retry later"
    );
    assert_eq!(reply.headers["retry-after"], "1");

    assert_eq!(api.contents(&token, drawer).await, json!([]), "nothing was written");
    assert_eq!(api.client.get("/snacks/").send().await.status, StatusCode::OK, "other calls work");
    assert_eq!(api.injected("DrawerRepository::add_snack", "unavailable"), 1);
    let after = injected_total(&api.metrics().await, "DrawerRepository::add_snack", "unavailable");
    assert!(after > before, "the counter on /metrics grew: {before} then {after}");
}

#[tokio::test]
async fn the_function_series_of_a_faulty_port_name_the_adapter_s_module() {
    let api = FaultyApi::with_plan("SnackRepository::list latency=1ms").await;
    assert_eq!(api.client.get("/snacks/").send().await.status, StatusCode::OK);
    let metrics = api.metrics().await;
    let listed = metrics.lines().find(|line| {
        line.starts_with("function_calls_total{")
            && line.contains("function=\"SnackRepository::list\"")
            && line.contains("module=\"snackdrawer::adapters::memory\"")
    });
    assert!(listed.is_some(), "no series of the memory store's list:\n{metrics}");
    assert!(!metrics.contains("module=\"snackdrawer::chaos"), "the fault decorator is no module");
}

#[tokio::test]
async fn error_after_lands_the_write_and_answers_500() {
    let api = FaultyApi::with_plan("").await;
    let (token, drawer) = api.user_with_drawer().await;
    api.set_plan("DrawerRepository::add_snack error-after");

    let add =
        api.client.post(&format!("/drawers/{drawer}")).token(&token).json(json!({"snack": 3}));
    let reply = add.send().await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", reply.text);
    assert_eq!(reply.error(), "500 Internal Server Error: internal error");
    assert_eq!(api.contents(&token, drawer).await, json!([{"id": 3, "name": "popcorn"}]));
    assert_eq!(api.injected("DrawerRepository::add_snack", "error-after"), 1);
}

#[tokio::test]
async fn a_route_rule_hits_only_its_route() {
    let api = FaultyApi::with_plan("GET /snacks/{id} error=internal").await;
    let (token, _) = api.user_with_drawer().await;
    let reply = api.client.get("/snacks/2").send().await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.error(), "500 Internal Server Error: internal error");
    for path in ["/snacks/", "/snacks", "/drawers/"] {
        let reply = api.client.get(path).token(&token).send().await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    }
    assert_eq!(api.injected("GET /snacks/{id}", "internal"), 1);
    assert_eq!(api.injector.status().injected.len(), 1, "nothing else was hit");
}

#[tokio::test]
async fn a_response_with_a_fault_injected_says_so_and_no_other_does() {
    let api = FaultyApi::with_plan("").await;
    let marked = |reply: &Reply| {
        reply
            .headers
            .get_all("x-fault-injected")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    for (plan, path, status) in [
        ("GET /snacks/{id} error=unavailable", "/snacks/1", StatusCode::SERVICE_UNAVAILABLE),
        ("GET /snacks/{id} latency=1ms", "/snacks/1", StatusCode::OK),
        ("SnackRepository::get error=internal", "/snacks/1", StatusCode::INTERNAL_SERVER_ERROR),
        ("SnackRepository::get latency=1ms", "/snacks/1", StatusCode::OK),
    ] {
        api.set_plan(plan);
        let reply = api.client.get(path).send().await;
        assert_eq!(reply.status, status, "{plan}: {}", reply.text);
        assert_eq!(marked(&reply), ["true"], "{plan}");
        let untouched = api.client.get("/snacks/").send().await;
        assert_eq!(untouched.status, StatusCode::OK, "{plan}");
        assert!(marked(&untouched).is_empty(), "{plan}: armed, but nothing was injected");
    }
    api.set_plan("* error=unavailable");
    let refused = api.client.get("/nowhere").send().await;
    assert_eq!(
        (refused.status, marked(&refused)),
        (StatusCode::SERVICE_UNAVAILABLE, vec!["true".into()])
    );
    assert!(marked(&api.client.get("/healthz").send().await).is_empty(), "probes are spared");
    api.set_plan("");
    assert!(marked(&api.client.get("/snacks/1").send().await).is_empty());
}

#[tokio::test]
async fn latency_delays_the_call_and_hang_ends_at_the_request_deadline() {
    let api = FaultyApi::new(LazySettings::default(), Duration::from_millis(300)).await;
    api.set_plan("SnackRepository::list latency=150ms");
    let started = Instant::now();
    assert_eq!(api.client.get("/snacks/").send().await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150), "{:?}", started.elapsed());

    api.set_plan("SnackRepository::get hang");
    let started = Instant::now();
    let reply = api.client.get("/snacks/1").send().await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error(), "503 Service Unavailable: the request did not complete within 300ms");
    assert_eq!(reply.headers["retry-after"], "1");
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
}

#[tokio::test]
async fn rules_on_one_target_stack_their_delays_and_the_first_error_decides() {
    let api = FaultyApi::with_plan(
        "SnackRepository::* latency=60ms; SnackRepository::get latency=60ms; \
         SnackRepository::get error=internal; SnackRepository::get error=unavailable",
    )
    .await;
    let started = Instant::now();
    assert_eq!(api.client.get("/snacks/1").send().await.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(started.elapsed() >= Duration::from_millis(120), "{:?}", started.elapsed());
    assert_eq!(api.injected("SnackRepository::get", "latency"), 2);
    assert_eq!(api.injected("SnackRepository::get", "unavailable"), 0);
}

#[tokio::test]
async fn lazy_mode_refuses_with_retry_after_spares_the_probes_and_goes_away() {
    let always_refuses = LazySettings {
        nap_probability: 0.3,
        nap: Delay::Fixed(Duration::from_millis(1)),
        refusal_probability: 1.0,
        ramp: Duration::ZERO,
    };
    let api = FaultyApi::new(always_refuses, Duration::from_secs(30)).await;
    api.injector.lazy_on(None, ChangedBy::Admin);
    let reply = api.client.get("/snacks/").send().await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error(), "503 Service Unavailable: too lazy to answer right now, retry later");
    assert_eq!(reply.headers["retry-after"], "1");
    assert_eq!(api.client.get("/nowhere").send().await.status, StatusCode::SERVICE_UNAVAILABLE);
    for probe in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(api.client.get(probe).send().await.status, StatusCode::OK, "{probe}");
    }
    assert_eq!(api.injector.status().lazy.level, 1.0, "a zero ramp is a step");

    api.injector.lazy_off(ChangedBy::Admin);
    assert_eq!(api.client.get("/snacks/").send().await.status, StatusCode::OK);
    assert!(!api.injector.is_active(), "a zero ramp is over at once");
}

#[tokio::test]
async fn lazy_mode_naps_about_as_often_as_asked() {
    let naps_a_third = LazySettings {
        nap_probability: 0.3,
        nap: Delay::Fixed(Duration::from_millis(1)),
        refusal_probability: 0.02,
        ramp: Duration::ZERO,
    };
    let api = FaultyApi::new(naps_a_third, Duration::from_secs(30)).await;
    api.injector.lazy_on(None, ChangedBy::Start);
    let mut refused = 0;
    for _ in 0..500 {
        if api.client.get("/snacks/").send().await.status == StatusCode::SERVICE_UNAVAILABLE {
            refused += 1;
        }
    }
    let naps = api.injected("GET /snacks/", "latency");
    assert!((110..=190).contains(&naps), "{naps} naps in 500 requests at p=0.3 (seed 7)");
    assert!((2..=25).contains(&refused), "{refused} refusals in 500 requests at p=0.02");
    assert_eq!(api.injected("GET /snacks/", "unavailable"), refused);
}

#[tokio::test]
async fn every_route_a_plan_may_name_is_a_route_the_router_serves() {
    let api = FaultyApi::with_plan("").await;
    for route in ROUTES {
        let (method, template) = route.split_once(' ').unwrap();
        let path = template.replace("{id}", "1").replace("{snack_id}", "1");
        let reply = api.client.request(method.parse().unwrap(), &path).send().await;
        let unrouted =
            reply.status == StatusCode::METHOD_NOT_ALLOWED || reply.text.contains("no route for");
        assert!(!unrouted, "{route} is not served: {} {}", reply.status, reply.text);
    }
}

// The admin API, in-process.

const TOKEN: &str = "admin-token-admin-token-admin-token-0123";

async fn admin_call(
    router: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = body.map_or_else(Body::empty, |body| Body::from(body.to_string()));
    admin_send(router, request.body(body).unwrap()).await
}

async fn admin_send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Reply { status, headers, json: serde_json::from_slice(&bytes).unwrap_or(Value::Null), text }
}

#[tokio::test]
async fn the_admin_api_wants_the_token() {
    let api = FaultyApi::with_plan("").await;
    let admin = admin::router(api.injector.clone(), admin::AdminToken::parse(TOKEN).unwrap());
    for path in ["/faults", "/lazy", "/nowhere"] {
        let none = admin_call(&admin, "GET", path, None, None).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(none.error(), "401 Unauthorized: no authentication token");
        let wrong = admin_call(&admin, "GET", path, Some(&TOKEN.replace('0', "1")), None).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(wrong.error(), "401 Unauthorized: invalid authentication token");
    }
    let put = admin_call(&admin, "PUT", "/faults", None, Some(json!({"text": "* hang"}))).await;
    assert_eq!(put.status, StatusCode::UNAUTHORIZED);
    assert!(!api.injector.is_active(), "a refused request changed nothing");
    assert_eq!(
        admin_call(&admin, "GET", "/nowhere", Some(TOKEN), None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_admin_api_sets_shows_and_clears_the_plan_and_lazy_mode() {
    let api = FaultyApi::with_plan("").await;
    let admin = admin::router(api.injector.clone(), admin::AdminToken::parse(TOKEN).unwrap());
    let call = |method, path, body| admin_call(&admin, method, path, Some(TOKEN), body);

    let bad_plan = "GET /snacks/ latency=200ms; * error=sometimes";
    let start_message = Plan::parse(bad_plan, ROUTES).unwrap_err().to_string();
    let refused = call("PUT", "/faults", Some(json!({"text": bad_plan}))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.error(), format!("400 Bad Request: {start_message}"));
    let refused = call(
        "PUT",
        "/faults",
        Some(json!({"rules": [{"target": "*", "fault": "hang", "probability": 3}]})),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.error().contains("rule 1") && refused.error().contains("probability 3"),
        "{}",
        refused.text
    );
    let refused = call("PUT", "/faults", Some(json!({"plan": "* hang"}))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(!api.injector.is_active());

    let set = call("PUT", "/faults", Some(json!({"text": "GET /snacks/ latency=5ms p=0.5"}))).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.json["plan"]["text"], "GET /snacks/ latency=5ms p=0.5");
    assert_eq!(
        set.json["plan"]["rules"],
        json!([{"target": "GET /snacks/", "fault": "latency=5ms", "probability": 0.5}])
    );
    let rules = set.json["plan"]["rules"].clone();
    assert_eq!(
        call("PUT", "/faults", Some(json!({"rules": rules}))).await.json["plan"],
        set.json["plan"]
    );
    assert!(api.injector.is_active());

    let lazy = call("POST", "/lazy", Some(json!({"for": "2m"}))).await;
    assert_eq!(lazy.json["lazy"]["on"], true, "{}", lazy.text);
    let remaining = lazy.json["lazy"]["remaining_s"].as_f64().unwrap();
    assert!((119.0..=120.0).contains(&remaining), "{remaining}");
    let refused = call("POST", "/lazy", Some(json!({"for": "soon"}))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.error().contains("\"soon\" is not a duration"), "{}", refused.text);
    let off = call("DELETE", "/lazy", None).await;
    assert_eq!(off.json["lazy"]["on"], false);
    assert_eq!(call("POST", "/lazy", None).await.json["lazy"]["remaining_s"], Value::Null);

    let cleared = call("DELETE", "/faults", None).await;
    assert_eq!(cleared.json["plan"]["rules"], json!([]));
    assert_eq!(
        (cleared.json["lazy"]["on"].clone(), cleared.json["lazy"]["level"].clone()),
        (json!(false), json!(0.0))
    );
    assert!(!api.injector.is_active());
    let shown = call("GET", "/faults", None).await;
    assert_eq!(shown.json["active"], false);
}

/// Method, path, token, body, and the status and error text expected.
type AdminErrorCase<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, StatusCode, &'a str);

#[tokio::test]
async fn every_admin_api_error_has_the_json_error_shape() {
    let api = FaultyApi::with_plan("").await;
    let admin = admin::router(api.injector.clone(), admin::AdminToken::parse(TOKEN).unwrap());
    let wrong_token = TOKEN.replace('0', "1");
    let ten_megabytes = format!(r#"{{"text": "{}"}}"#, "x".repeat(10 << 20));
    let just_over_64_kib = format!(r#"{{"for": "{}"}}"#, "x".repeat(64 << 10));
    let cases: [AdminErrorCase; 8] = [
        (
            "PUT",
            "/faults",
            Some(TOKEN),
            &ten_megabytes,
            StatusCode::PAYLOAD_TOO_LARGE,
            "413 Payload Too Large: request body is larger than 65536 bytes",
        ),
        (
            "POST",
            "/lazy",
            Some(TOKEN),
            &just_over_64_kib,
            StatusCode::PAYLOAD_TOO_LARGE,
            "413 Payload Too Large: request body is larger than 65536 bytes",
        ),
        (
            "PUT",
            "/faults",
            Some(TOKEN),
            "{not json",
            StatusCode::BAD_REQUEST,
            "400 Bad Request: invalid JSON: ",
        ),
        (
            "POST",
            "/lazy",
            Some(TOKEN),
            "[\"2m\"]",
            StatusCode::BAD_REQUEST,
            "400 Bad Request: the body must be a JSON object",
        ),
        (
            "GET",
            "/nowhere",
            Some(TOKEN),
            "",
            StatusCode::NOT_FOUND,
            "404 Not Found: no route for GET /nowhere",
        ),
        (
            "PATCH",
            "/faults",
            Some(TOKEN),
            "",
            StatusCode::METHOD_NOT_ALLOWED,
            "405 Method Not Allowed: method PATCH is not allowed for /faults",
        ),
        (
            "PUT",
            "/faults",
            None,
            &ten_megabytes,
            StatusCode::UNAUTHORIZED,
            "401 Unauthorized: no authentication token",
        ),
        (
            "DELETE",
            "/faults",
            Some(&wrong_token),
            "",
            StatusCode::UNAUTHORIZED,
            "401 Unauthorized: invalid authentication token",
        ),
    ];
    for (method, path, token, body, status, error) in cases {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let reply = admin_send(&admin, request.body(Body::from(body.to_owned())).unwrap()).await;
        let shown: String = reply.text.chars().take(300).collect();
        assert_eq!(reply.status, status, "{method} {path}: {shown}");
        assert!(reply.error().starts_with(error), "{method} {path}: {shown}");
    }
    assert!(!api.injector.is_active(), "a refused request changed nothing");

    // No 415: the type is not insisted on (`curl -d` sends a form's), the bytes decide.
    let form = Request::builder()
        .method("PUT")
        .uri("/faults")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(r#"{"text": "GET /snacks/ latency=1ms"}"#))
        .unwrap();
    let reply = admin_send(&admin, form).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

/// The admin API over an injector that runs `schedule`, lazy at once (no ramp).
fn scheduled(schedule: &str) -> (Arc<FaultInjector>, Router) {
    let step = LazySettings { ramp: Duration::ZERO, ..LazySettings::default() };
    let schedule = LazySchedule::parse(schedule).unwrap();
    let injector = Arc::new(FaultInjector::new(ROUTES, step, Some(schedule), Some(7)));
    tokio::spawn(injector.clone().run_schedule());
    let admin = admin::router(injector.clone(), admin::AdminToken::parse(TOKEN).unwrap());
    (injector, admin)
}

/// The digits after the point of a JSON number, as the wire shows it.
fn decimals(number: &Value) -> usize {
    assert!(number.is_f64(), "{number} is a float");
    number.to_string().split_once('.').map_or(0, |(_, fraction)| fraction.len())
}

#[tokio::test]
async fn the_lazy_schedule_shows_in_get_faults_and_stops_on_a_route_of_its_own() {
    let (injector, admin) = scheduled("every 1s for 500ms");
    let call = |method, path| admin_call(&admin, method, path, Some(TOKEN), None);
    let shown = call("GET", "/faults").await;
    let schedule = &shown.json["lazy"]["schedule"];
    assert_eq!(schedule["text"], "every 1s for 500ms", "{}", shown.text);
    assert_eq!((&schedule["every_s"], &schedule["for_s"]), (&json!(1.0), &json!(0.5)));
    assert_eq!(schedule["next"], "on", "the first episode is ahead");
    let next_in = schedule["next_in_s"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&next_in), "{next_in}");
    assert!(decimals(&schedule["next_in_s"]) <= 3, "to the millisecond: {}", shown.text);

    let deadline = Instant::now() + Duration::from_secs(10);
    let during = loop {
        let shown = call("GET", "/faults").await;
        if shown.json["lazy"]["on"] == true {
            break shown;
        }
        assert!(Instant::now() < deadline, "no episode within 10 s: {}", shown.text);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(during.json["lazy"]["schedule"]["next"], "off", "the episode's end is next");
    let ends_in = during.json["lazy"]["schedule"]["next_in_s"].as_f64().unwrap();
    assert!((0.0..=0.5).contains(&ends_in), "{}", during.text);
    assert_eq!(during.json["lazy"]["remaining_s"].as_f64(), Some(ends_in));

    let stopped = call("DELETE", "/lazy/schedule").await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text);
    assert_eq!(stopped.json["lazy"]["schedule"], Value::Null);
    assert_eq!(stopped.json["lazy"]["on"], false, "the schedule's episode ends with it");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = call("GET", "/faults").await;
    assert_eq!((&after.json["lazy"]["on"], &after.json["active"]), (&json!(false), &json!(false)));
    assert!(!injector.is_active(), "no episode since: {}", after.text);
}

#[tokio::test]
async fn stopping_the_schedule_leaves_lazy_mode_an_admin_turned_on() {
    let (_, admin) = scheduled("every 10m for 1m");
    let call = |method, path| admin_call(&admin, method, path, Some(TOKEN), None);
    assert_eq!(call("POST", "/lazy").await.json["lazy"]["on"], true);
    let stopped = call("DELETE", "/lazy/schedule").await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text);
    assert_eq!(stopped.json["lazy"]["schedule"], Value::Null);
    assert_eq!(stopped.json["lazy"]["on"], true, "{}", stopped.text);
}

#[tokio::test]
async fn clearing_all_faults_stops_the_lazy_schedule_too() {
    let (injector, admin) = scheduled("every 1s for 500ms");
    let call = |method, path| admin_call(&admin, method, path, Some(TOKEN), None);
    assert_eq!(call("GET", "/faults").await.json["lazy"]["schedule"]["next"], "on");
    let cleared = call("DELETE", "/faults").await;
    assert_eq!(cleared.json["lazy"]["schedule"], Value::Null, "{}", cleared.text);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(call("GET", "/faults").await.json["lazy"]["on"], false);
    assert!(!injector.is_active(), "no episode after the clear");
}

#[tokio::test]
async fn times_and_levels_in_the_admin_api_s_answers_have_no_float_noise() {
    let api = FaultyApi::with_plan("").await;
    let admin = admin::router(api.injector.clone(), admin::AdminToken::parse(TOKEN).unwrap());
    tokio::time::sleep(Duration::from_millis(3)).await;
    let lazy = admin_call(&admin, "POST", "/lazy", Some(TOKEN), Some(json!({"for": "10m"}))).await;
    tokio::time::sleep(Duration::from_millis(3)).await;
    for answer in [lazy, admin_call(&admin, "GET", "/faults", Some(TOKEN), None).await] {
        let remaining = &answer.json["lazy"]["remaining_s"];
        assert!(decimals(remaining) <= 3, "{}", answer.text);
        let level = &answer.json["lazy"]["level"];
        assert!(decimals(level) <= 3 && !level.to_string().contains('e'), "{}", answer.text);
        assert!((599.0..=600.0).contains(&remaining.as_f64().unwrap()), "{}", answer.text);
    }
}

// Saturation and partial faults, and the mystery mode.

/// Registers `name` and logs in: their id, token and an empty drawer of theirs.
async fn another_user(api: &FaultyApi, name: &str) -> (i64, String, i64) {
    let credentials = json!({"username": name, "password": "secret"});
    let registered = api.client.post("/auth/users").json(credentials.clone()).send().await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.text);
    let login = api.client.post("/auth/login").json(credentials).send().await;
    let token = login.json["token"].as_str().unwrap().to_owned();
    let drawer = api.client.post("/drawers/").token(&token).json(json!({"name": "desk"}));
    let drawer = drawer.send().await.json["drawer"]["id"].as_i64().unwrap();
    (registered.json["id"].as_i64().unwrap(), token, drawer)
}

#[tokio::test]
async fn a_slow_commit_lands_the_write_holds_its_answer_and_spares_the_reads() {
    let api = FaultyApi::with_plan("").await;
    let (token, drawer) = api.user_with_drawer().await;
    api.set_plan("DrawerRepository::* slow-commit=300ms");

    let started = Instant::now();
    let add =
        api.client.post(&format!("/drawers/{drawer}")).token(&token).json(json!({"snack": 3}));
    let reply = add.send().await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
    assert_eq!(reply.headers["x-fault-injected"], "true");

    let started = Instant::now();
    let contents = api.contents(&token, drawer).await;
    assert!(started.elapsed() < Duration::from_millis(300), "reads are not delayed");
    assert_eq!(contents.as_array().unwrap().len(), 1, "the write landed: {contents}");
    assert_eq!(api.injected("DrawerRepository::add_snack", "slow-commit"), 1);
    assert_eq!(api.injected("DrawerRepository::find_with_contents", "slow-commit"), 0);
}

#[tokio::test]
async fn a_user_rule_fails_that_user_s_calls_and_nobody_else_s() {
    let api = FaultyApi::with_plan("").await;
    let (unlucky, unlucky_token, unlucky_drawer) = another_user(&api, "una").await;
    let (_, lucky_token, lucky_drawer) = another_user(&api, "luc").await;
    api.set_plan(&format!("DrawerRepository::* error=internal user={unlucky}"));

    let get = |token: &str, drawer: i64| {
        api.client.get(&format!("/drawers/{drawer}")).token(token).send()
    };
    let failed = get(&unlucky_token, unlucky_drawer).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", failed.text);
    assert_eq!(failed.headers["x-fault-injected"], "true");
    let served = get(&lucky_token, lucky_drawer).await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text);
    assert!(!served.headers.contains_key("x-fault-injected"));
    let snacks = api.client.get("/snacks/").token(&unlucky_token).send().await;
    assert_eq!(snacks.status, StatusCode::OK, "the user's other ports answer");
}

#[tokio::test]
async fn a_process_fault_is_counted_once_as_it_starts_and_stops_with_the_plan() {
    let api = FaultyApi::with_plan("process log-flood(rate=50/s)").await;
    assert_eq!(api.injected("process", "log-flood"), 1);
    assert_eq!(api.client.get("/snacks/").send().await.status, StatusCode::OK);
    api.set_plan("process cpu(threads=1,share=10%)");
    assert_eq!(api.injected("process", "cpu"), 1);
    assert_eq!(api.injected("process", "log-flood"), 1, "not started again");
    api.injector.clear(ChangedBy::Admin);
    assert!(!api.injector.is_active());
}

#[tokio::test]
async fn process_metrics_are_exported() {
    let api = FaultyApi::with_plan("").await;
    let metrics = api.metrics().await;
    assert!(metrics.contains("\n# TYPE process_cpu_seconds_total counter\n"), "{metrics}");
    assert!(metrics.contains("\nprocess_cpu_seconds_total "), "{metrics}");
    assert!(metrics.contains("\nprocess_resident_memory_bytes "), "{metrics}");
}

/// Starts mysteries with seeds from 0 until one is `incident`; returns its seed.
fn mystery_of(injector: &FaultInjector, incident: &str) -> u64 {
    (0..1000)
        .find(|&seed| {
            injector.start_mystery(Some(seed), ChangedBy::Admin);
            injector.status().mystery.is_some_and(|answer| answer.name == incident)
        })
        .expect("a seed picks every incident")
}

#[tokio::test]
async fn a_mystery_tells_nothing_until_guessed_right_then_everything() {
    let api = FaultyApi::with_plan("").await;
    let admin = admin::router(api.injector.clone(), admin::AdminToken::parse(TOKEN).unwrap());
    let call = |method, path, body| admin_call(&admin, method, path, Some(TOKEN), body);

    let nothing = call("POST", "/faults/guess", Some(json!({"name": "cpu-hog"}))).await;
    assert_eq!(nothing.status, StatusCode::BAD_REQUEST);
    assert!(nothing.error().contains("no mystery is running"), "{}", nothing.text);
    assert_eq!(call("POST", "/faults/reveal", None).await.status, StatusCode::BAD_REQUEST);

    let started = call("POST", "/faults/mystery", Some(json!({"seed": 3}))).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let keys: Vec<_> = started.json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["mystery", "started_at"], "{}", started.text);
    assert_eq!(started.json["mystery"], "running");
    let name = api.injector.status().mystery.unwrap().name;
    let again = call("POST", "/faults/mystery", Some(json!({"seed": 3}))).await;
    assert_eq!(api.injector.status().mystery.unwrap().name, name, "a seed picks the same");

    let shown = call("GET", "/faults", None).await;
    assert_eq!(
        shown.json,
        json!({"active": true, "mystery": "running",
                                  "started_at": again.json["started_at"]})
    );
    for name in incidents::names() {
        assert!(!shown.text.contains(name), "{}", shown.text);
    }

    let unknown = call("POST", "/faults/guess", Some(json!({"name": "gremlins"}))).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.error().contains("incidents are cpu-hog,"), "{}", unknown.text);
    let wrong_name = incidents::names().into_iter().find(|other| *other != name).unwrap();
    let wrong = call("POST", "/faults/guess", Some(json!({"name": wrong_name}))).await;
    assert_eq!(wrong.json, json!({"right": false, "guesses": 1}), "{}", wrong.text);
    assert_eq!(call("GET", "/faults", None).await.json["mystery"], "running");

    let right = call("POST", "/faults/guess", Some(json!({"name": name}))).await;
    assert_eq!(
        (right.json["right"].clone(), right.json["name"].clone()),
        (json!(true), json!(name))
    );
    let incident = incidents::find(name).unwrap();
    assert_eq!(right.json["plan"], incident.plan);
    assert_eq!(right.json["solved"], true);
    assert!(right.json["took_s"].as_f64().unwrap() >= 0.0);
    let open = call("GET", "/faults", None).await;
    assert_eq!(open.json["mystery"]["name"], name, "{}", open.text);
    assert_eq!(open.json["plan"]["text"], incident.plan(ROUTES).unwrap().to_string());
    let revealed = call("POST", "/faults/reveal", None).await;
    assert_eq!(
        (revealed.json["solved"].clone(), revealed.json["took_s"].clone()),
        (json!(true), right.json["took_s"].clone())
    );

    let cleared = call("DELETE", "/faults", None).await;
    assert_eq!(cleared.json["mystery"], Value::Null);
    assert!(!api.injector.is_active());
}

#[tokio::test]
async fn a_secret_mystery_marks_nothing_it_injects_and_spares_probes_and_metrics() {
    let api = FaultyApi::with_plan("").await;
    let (token, drawer) = api.user_with_drawer().await;
    mystery_of(&api.injector, "broken-drawer-page");
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(api.client.get(path).send().await.status, StatusCode::OK, "{path}");
    }
    let metrics_before = injected_total(&api.metrics().await, "GET /drawers/{id}", "internal");
    let mut failed = 0;
    for _ in 0..40 {
        let reply = api.client.get(&format!("/drawers/{drawer}")).token(&token).send().await;
        assert!(!reply.headers.contains_key("x-fault-injected"), "a secret mystery marks nothing");
        failed += usize::from(reply.status == StatusCode::INTERNAL_SERVER_ERROR);
    }
    assert!(failed > 0, "the incident runs");
    assert_eq!(
        api.injected("GET /drawers/{id}", "internal"),
        failed as u64,
        "counted for the reveal"
    );
    let metrics = api.metrics().await;
    assert_eq!(injected_total(&metrics, "GET /drawers/{id}", "internal"), metrics_before);

    api.injector.reveal().unwrap();
    let mut seen = false;
    for _ in 0..40 {
        let reply = api.client.get(&format!("/drawers/{drawer}")).token(&token).send().await;
        seen |= reply.headers.contains_key("x-fault-injected");
    }
    assert!(seen, "once told, its injections show as any others");
}

#[tokio::test]
async fn replacing_the_plan_ends_a_mystery_untold() {
    let api = FaultyApi::with_plan("").await;
    api.injector.start_mystery(Some(1), ChangedBy::Admin);
    assert!(matches!(api.injector.view(), snackdrawer::chaos::View::Secret { .. }));
    api.set_plan("GET /snacks/ latency=1ms");
    assert!(api.injector.status().mystery.is_none());
    assert!(api.injector.reveal().is_err());
}

#[tokio::test]
async fn the_incident_schedule_starts_and_ends_incidents_shows_them_and_stops() {
    let schedule = IncidentSchedule::parse("every 1s for 400ms").unwrap();
    let injector = FaultInjector::new(ROUTES, LazySettings::default(), None, Some(7))
        .with_incident_schedule(schedule, Some(11));
    let injector = Arc::new(injector);
    tokio::spawn(injector.clone().run_incident_schedule());
    let admin = admin::router(injector.clone(), admin::AdminToken::parse(TOKEN).unwrap());
    let call = |method, path| admin_call(&admin, method, path, Some(TOKEN), None);

    let waiting = call("GET", "/faults").await.json["incident_schedule"].clone();
    assert_eq!(waiting["text"], "every 1s for 400ms");
    assert_eq!((waiting["next"].clone(), waiting["incident"].clone()), (json!("on"), Value::Null));
    tokio::time::sleep(Duration::from_millis(1150)).await;
    let during = call("GET", "/faults").await.json;
    let name = during["incident_schedule"]["incident"].as_str().expect("an incident is on");
    assert_eq!(during["incident_schedule"]["next"], "off");
    let plan = incidents::find(name).unwrap().plan(ROUTES).unwrap().to_string();
    assert_eq!(during["plan"]["text"], plan, "its plan shows: it is no mystery");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let after = call("GET", "/faults").await.json;
    assert_eq!(after["plan"]["text"], "", "the incident ended with its time");
    assert_eq!(after["incident_schedule"]["incident"], Value::Null);

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(call("GET", "/faults").await.json["incident_schedule"]["incident"].is_string());
    let stopped = call("DELETE", "/incidents/schedule").await.json;
    assert_eq!(stopped["incident_schedule"], Value::Null);
    assert_eq!(stopped["plan"]["text"], "", "the incident under way ended");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call("GET", "/faults").await.json["plan"]["text"], "", "no more incidents");
}

#[tokio::test]
async fn clearing_all_faults_stops_the_incident_schedule_too() {
    let schedule = IncidentSchedule::parse("every 10m for 2..5m").unwrap();
    let injector = FaultInjector::new(ROUTES, LazySettings::default(), None, None)
        .with_incident_schedule(schedule, None);
    let injector = Arc::new(injector);
    assert!(injector.status().incident_schedule.is_some());
    injector.clear(ChangedBy::Admin);
    assert!(injector.status().incident_schedule.is_none());
}
