//! The screen drawn on ratatui's TestBackend from fixed readings of `/metrics`, a fixed fault
//! status, fixed traces and a fake Prometheus's fixed answer: every panel must show what those
//! readings mean, in 80×24 and larger, and the keys must open the menu, the help and a trace's
//! waterfall.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use snackdrawer_lab::admin::{AdminRequest, FaultStatus, Injected, Lazy, Mystery, Plan};
use snackdrawer_lab::app::{App, Command, View};
use snackdrawer_lab::collector::{self, Shared, Sources};
use snackdrawer_lab::exposition::parse;
use snackdrawer_lab::prometheus::Prometheus;
use snackdrawer_lab::run::render_text;
use snackdrawer_lab::scrape::Scrape;
use snackdrawer_lab::screen::{self, Context, LoadState, Screen};
use snackdrawer_lab::state::{Observed, ProcessLoad};
use snackdrawer_lab::traces::store::{Event, LogLine, SpanRecord, TraceStore};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// `/metrics` with `ok` fast answers and `refused` slow 503s on GET /snacks/, and `posts` on
/// POST /drawers/.
fn metrics(ok: u32, refused: u32, posts: u32, lazy: f64) -> String {
    let route = |route: &str, method: &str, status: u32, fast: u32, all: u32| {
        let labels = format!(
            "http_route=\"{route}\",http_request_method=\"{method}\",http_response_status_code=\"{status}\""
        );
        format!(
            "http_server_request_duration_seconds_bucket{{le=\"0.005\",{labels}}} {fast}\n\
             http_server_request_duration_seconds_bucket{{le=\"0.25\",{labels}}} {fast}\n\
             http_server_request_duration_seconds_bucket{{le=\"2.5\",{labels}}} {all}\n\
             http_server_request_duration_seconds_bucket{{le=\"+Inf\",{labels}}} {all}\n\
             http_server_request_duration_seconds_count{{{labels}}} {all}\n"
        )
    };
    format!(
        "# TYPE http_server_request_duration_seconds histogram\n{}{}{}\
         http_server_active_requests{{http_request_method=\"GET\"}} 7\n\
         function_calls_concurrent{{function=\"PasswordHasher::hash\",module=\"m\",service_name=\"s\"}} 3\n\
         function_calls_concurrent{{function=\"SnackRepository::list\",module=\"m\",service_name=\"s\"}} 2\n\
         snackdrawer_store_connections{{state=\"used\"}} 3\n\
         snackdrawer_store_connections_max 8\n\
         snackdrawer_lazy_mode {lazy}\n",
        route("/snacks/", "GET", 200, ok, ok),
        route("/snacks/", "GET", 503, 0, refused),
        route("/drawers/", "POST", 201, posts, posts),
    )
}

fn reading(ok: u32, refused: u32, posts: u32, lazy: f64) -> Scrape {
    Scrape::from_samples(&parse(&metrics(ok, refused, posts, lazy)).unwrap())
}

fn lazy_status(on: bool) -> FaultStatus {
    FaultStatus {
        plan: Plan { text: String::new() },
        lazy: Lazy {
            on,
            level: if on { 1.0 } else { 0.0 },
            remaining_s: None,
            settings: "naps p=0.5, refuses p=0.1, ramp 5s".into(),
        },
        injected: vec![Injected {
            target: "GET /snacks/".into(),
            kind: "unavailable".into(),
            count: 40,
        }],
        mystery: None,
    }
}

/// Ten healthy seconds, lazy mode on, then ten seconds in which 40 of 400 GET /snacks/ answer
/// a slow 503.
fn observed() -> Observed {
    let mut observed = Observed::default();
    observed.set_faults(0.0, lazy_status(false));
    for second in 0..=10 {
        observed.add_reading(f64::from(second), reading(second * 40, 0, second * 2, 0.0), 10.0);
    }
    observed.set_faults(10.5, lazy_status(true));
    for second in 11..=20 {
        let lazy = second - 10;
        let level = (f64::from(lazy) / 4.0).min(1.0); // a 4 s ramp
        let now = reading(400 + lazy * 36, lazy * 4, 20 + lazy * 2, level);
        observed.add_reading(f64::from(second), now, 10.0);
    }
    // The service's load as the lab reads it from /proc, three figures wide each.
    observed.service = ProcessLoad {
        cpu_percent: Some(123.0),
        resident_bytes: Some(512.0 * 1024.0 * 1024.0),
        peak_resident_bytes: Some(600.0 * 1024.0 * 1024.0),
    };
    observed
}

fn span(id: u8, parent: Option<u8>, name: &str, start_ms: u64, end_ms: u64) -> SpanRecord {
    SpanRecord {
        span_id: [id; 8],
        parent: parent.map(|p| [p; 8]),
        name: name.into(),
        start_ns: start_ms * 1_000_000,
        end_ns: end_ms * 1_000_000,
        error: false,
        attributes: vec![],
        events: vec![],
    }
}

fn traces() -> TraceStore {
    let mut store = TraceStore::new(100);
    let mut nap = span(1, None, "GET /snacks/", 0, 2400);
    nap.attributes = vec![
        ("http.route".into(), "/snacks/".into()),
        ("http.response.status_code".into(), "200".into()),
        ("fault.injected".into(), "true".into()),
    ];
    nap.events.push(Event {
        name: "fault.injected".into(),
        time_ns: 0,
        attributes: vec![
            ("fault.kind".into(), "latency".into()),
            ("fault.delay_ms".into(), "2390".into()),
        ],
    });
    store.add_span([0xab; 16], span(2, Some(1), "list_snacks", 2390, 2399));
    store.add_span([0xab; 16], span(3, Some(2), "SELECT snacks", 2391, 2398));
    store.add_span([0xab; 16], nap);
    store.add_log(
        [0xab; 16],
        LogLine {
            time_ns: 2_400_000_000,
            severity: "INFO".into(),
            body: "request served".into(),
            span_id: Some([1; 8]),
            attributes: vec![("status".into(), "200".into())],
        },
    );
    let mut refused = span(1, None, "GET /snacks/", 100, 101);
    refused.error = true;
    refused.attributes = vec![
        ("http.route".into(), "/snacks/".into()),
        ("http.response.status_code".into(), "503".into()),
    ];
    store.add_span([0xcd; 16], refused);
    let mut post = span(1, None, "POST /drawers/", 0, 12);
    post.attributes = vec![
        ("http.route".into(), "/drawers/".into()),
        ("http.response.status_code".into(), "201".into()),
    ];
    store.add_span([0xef; 16], post);
    store
}

fn context(filter: &str) -> Context<'_> {
    Context {
        title: "snackdrawer-lab 127.0.0.1:8000 0m20s".into(),
        load: LoadState::Running,
        window_s: 10.0,
        filter,
        no_prometheus: Some("no `prometheus` on the PATH".into()),
        prometheus_url: None,
        receiver: "http://127.0.0.1:4318".into(),
        trace_rows: 20,
        message: None,
    }
}

fn built(filter: &str) -> Screen {
    screen::build(&observed(), &traces(), &context(filter))
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn the_overview_shows_every_panel_in_80_by_24() {
    let text = render_text(&built(""), &App::default(), None, 80, 24);
    println!("{text}");
    assert_eq!(text.lines().count(), 24, "fills the 24 lines:\n{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80));
    // Golden signals over the last 10 s: GET /snacks/ had 400 requests, 40 of them 503.
    assert!(text.contains("GOLDEN SIGNALS last 10s"));
    let snacks = text.lines().find(|l| l.starts_with("GET /snacks/")).expect("a GET /snacks/ row");
    assert!(snacks.contains("40.0") && snacks.contains("10.00%"), "{snacks}");
    let all = text.lines().find(|l| l.starts_with("all routes")).expect("an all-routes row");
    assert!(all.contains("42.0"), "{all}");
    // The SLO panel says where its figures come from, and the page fires on this history.
    assert!(
        text.contains("computed in the lab by rules.yml's formulas: no `prometheus` on the PATH")
    );
    assert!(text.contains("PAGE ErrorBudgetBurnFast"), "{text}");
    assert!(text.contains("FIRING"));
    // Saturation and faults.
    assert!(
        text.contains("in flight 7 · hashing 3 · store 2 · pool 3/8 · cpu 123% · mem 512 MiB"),
        "the whole saturation line in 80 columns:\n{text}"
    );
    assert!(text.contains("lazy ON, level 1.00"));
    assert!(text.contains("injected 40"));
    // The annotation where lazy mode went on, and the traces.
    let lazy = text.lines().find(|l| l.starts_with("lazy ")).expect("the lazy row");
    // Ten seconds at 0, the mark where it went on, the ramp, then 1.
    assert!(lazy.contains("          ▲▄▆███████ lazy on 10s ago"), "{lazy}");
    assert!(text.contains("2.40s 200! GET /snacks/"), "the slowest, a nap: {text}");
    assert!(text.contains("1.0ms 503  GET /snacks/"), "the failed one: {text}");
}

#[test]
fn a_taller_wider_terminal_shows_more_rows() {
    let small = render_text(&built(""), &App::default(), None, 80, 24);
    let large = render_text(&built(""), &App::default(), None, 160, 48);
    assert!(large.contains("POST /drawers/"), "every route fits:\n{large}");
    assert!(large.lines().count() == 48 && small.lines().count() == 24);
}

#[test]
fn the_filter_keeps_matching_routes_and_traces() {
    let text = render_text(&built("drawers"), &App::default(), None, 100, 30);
    assert!(text.contains("POST /drawers/") && !text.contains("GET /snacks/"), "{text}");
    assert!(text.contains("12ms 201  POST /drawers/"), "{text}");
}

#[test]
fn keys_open_the_menu_the_help_and_the_waterfall() {
    let screen = built("");
    let mut app = App::default();
    assert_eq!(
        app.key(key(KeyCode::Char('l')), &screen),
        Some(Command::Admin(AdminRequest::LazyOff))
    );
    assert_eq!(app.key(key(KeyCode::Char('f')), &screen), None);
    let menu = render_text(&screen, &app, None, 80, 24);
    assert!(menu.contains("fault presets") && menu.contains("slow snack list"), "{menu}");
    assert_eq!(
        app.key(key(KeyCode::Char('1')), &screen),
        Some(Command::Admin(AdminRequest::SetPlan("GET /snacks/ latency=200ms±50ms".into())))
    );
    app.key(key(KeyCode::Char('?')), &screen);
    let help = render_text(&screen, &app, None, 80, 24);
    assert!(
        help.contains("lazy mode on / off") && help.contains("pause / resume the load"),
        "{help}"
    );
    app.key(key(KeyCode::Char('x')), &screen);
    assert!(!app.help);
    assert_eq!(app.key(key(KeyCode::Char('p')), &screen), Some(Command::TogglePause));
    assert_eq!(
        app.key(key(KeyCode::Char('m')), &screen),
        Some(Command::Admin(AdminRequest::StartMystery))
    );
    // Enter opens the slowest trace, selected from the start.
    app.key(key(KeyCode::Enter), &screen);
    assert_eq!(app.view, View::Trace { id: [0xab; 16], span: 0 });
    let waterfall = screen::waterfall(&traces(), [0xab; 16]).unwrap();
    let text = render_text(&screen, &app, Some(&waterfall), 80, 24);
    println!("{text}");
    assert!(text.contains(&format!("TRACE {}", "ab".repeat(16))), "{text}");
    assert!(
        text.contains("200 · 2.40s · 3 spans · 1 with fault.injected · GET /snacks/"),
        "{text}"
    );
    assert!(
        text.contains("  list_snacks") && text.contains("    SELECT snacks"),
        "children indented: {text}"
    );
    assert!(
        text.contains("event fault.injected at +0.0ms: fault.kind=latency fault.delay_ms=2390")
    );
    assert!(text.contains("INFO request served status=200"));
    assert!(text.contains("PAGE ErrorBudgetBurnFast"), "the page stays in sight: {text}");
    app.key(key(KeyCode::Esc), &screen);
    assert_eq!(app.view, View::Overview);
    assert_eq!(
        app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), &screen),
        Some(Command::Quit)
    );
}

#[test]
fn a_healthy_service_pages_nobody() {
    let mut observed = Observed::default();
    for second in 0..=20 {
        observed.add_reading(f64::from(second), reading(second * 40, 0, second, 0.0), 10.0);
    }
    let screen = screen::build(&observed, &TraceStore::new(10), &context(""));
    let text = render_text(&screen, &App::default(), None, 80, 24);
    assert!(text.contains("no page") && !text.contains("FIRING"), "{text}");
    assert!(text.contains("no trace yet"));
}

#[test]
fn a_mystery_shows_as_one_without_its_plan() {
    let mut observed = observed();
    let secret =
        FaultStatus { mystery: Some(Mystery::Secret("running".into())), ..FaultStatus::default() };
    observed.set_faults(20.5, secret);
    let screen = screen::build(&observed, &traces(), &context(""));
    let text = render_text(&screen, &App::default(), None, 80, 24);
    assert!(text.contains("plan: a mystery is running"), "{text}");
    let annotated = text.lines().find(|l| l.starts_with("lazy ")).expect("the lazy row");
    assert!(annotated.contains("a mystery"), "{annotated}");
}

#[test]
fn a_long_route_leaves_the_waterfall_heading_whole_in_80_columns() {
    let route = "DELETE /drawers/{id}/snacks/{snack_id}";
    let mut store = TraceStore::new(10);
    let mut root = span(1, None, route, 0, 2040);
    root.attributes = vec![("http.response.status_code".into(), "404".into())];
    root.events.push(Event { name: "fault.injected".into(), time_ns: 0, attributes: vec![] });
    store.add_span([0x12; 16], root);
    let waterfall = screen::waterfall(&store, [0x12; 16]).unwrap();
    let app = App { view: View::Trace { id: [0x12; 16], span: 0 }, ..App::default() };
    let text = render_text(&built(""), &app, Some(&waterfall), 80, 24);
    let heading = text.lines().nth(2).unwrap();
    assert!(heading.starts_with("404 · 2.04s · 1 span · 1 with fault.injected · DELETE"), "{text}");
}

/// Prometheus's answer to the lab's query of the recorded ratios: 0.2 % of requests failed over
/// 5 m (a burn of 2.0) and 5 % were slow over 1 h (5.0), which the lab's own history of
/// `observed()` would not give.
const RATIOS: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
    {"metric":{"__name__":"snackdrawer:http_request_errors:ratio_rate5m"},"value":[1700000000,"0.002"]},
    {"metric":{"__name__":"snackdrawer:http_request_slow:ratio_rate1h"},"value":[1700000000,"0.05"]}]}}"#;
/// Its alerts: the latency ticket pending, no page.
const ALERTS: &str = r#"{"status":"success","data":{"alerts":[
    {"labels":{"alertname":"SnackdrawerLatencyBudgetBurnSlow","severity":"ticket"},"state":"pending"}]}}"#;

/// A Prometheus on a loopback port that answers `RATIOS` and `ALERTS` while `answering` holds,
/// and 503 otherwise; its URL.
async fn fake_prometheus(answering: Arc<AtomicBool>) -> String {
    use axum::http::{StatusCode, Uri};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = move |uri: Uri| async move {
        match uri.path() {
            _ if !answering.load(Ordering::SeqCst) => (StatusCode::SERVICE_UNAVAILABLE, ""),
            "/api/v1/query" => (StatusCode::OK, RATIOS),
            "/api/v1/alerts" => (StatusCode::OK, ALERTS),
            _ => (StatusCode::NOT_FOUND, ""),
        }
    };
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(answer)).await });
    url
}

fn watching(prometheus: &str) -> Context<'static> {
    Context { prometheus_url: Some(prometheus.to_owned()), no_prometheus: None, ..context("") }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_burn_panel_shows_what_prometheus_answered() {
    let url = fake_prometheus(Arc::new(AtomicBool::new(true))).await;
    let mut observed = observed();
    observed.set_rules(20.0, Prometheus::new(&url).read().await.map_err(|e| e.to_string()));
    let screen = screen::build(&observed, &traces(), &watching(&url));
    let text = render_text(&screen, &App::default(), None, 100, 24);
    println!("{text}");
    assert!(text.contains(&format!("read from Prometheus at {url}")), "{text}");
    let errors = text.lines().find(|l| l.starts_with("availability")).expect("an availability row");
    assert!(
        errors.contains("   2.0     -     -     -  fast page: ok  slow ticket: ok"),
        "{errors}"
    );
    let slow = text.lines().find(|l| l.starts_with("latency")).expect("a latency row");
    assert!(
        slow.contains("     -     -   5.0     -  fast page: ok  slow ticket: pending"),
        "{slow}"
    );
    // The lab's own history would page: what shows is Prometheus's.
    assert!(!text.contains("FIRING"), "{text}");
}

/// The screen the lab would draw now from what the collector has read.
fn drawn(observed: &Shared, url: &str) -> String {
    let screen = screen::build(&collector::lock(observed), &traces(), &watching(url));
    render_text(&screen, &App::default(), None, 100, 24)
}

/// Waits up to 15 s for the collector to make the screen contain `wanted`; the screen.
async fn until_drawn(observed: &Shared, url: &str, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = drawn(observed, url);
        if text.contains(wanted) {
            return text;
        }
        assert!(Instant::now() < deadline, "no {wanted:?} within 15 s:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_prometheus_gives_way_to_the_labs_own_figures_until_it_answers_again() {
    let answering = Arc::new(AtomicBool::new(true));
    let url = fake_prometheus(answering.clone()).await;
    let observed = Shared::default();
    let sources = Sources {
        // The fake has no /metrics: the lab's own figures stay empty, so none can pass for
        // Prometheus's.
        metrics_url: format!("{url}/metrics"),
        admin: None,
        prometheus: Some(Prometheus::new(&url)),
        service_pid: None,
        window_s: 10.0,
    };
    let collecting = tokio::spawn(collector::run(sources, observed.clone(), Instant::now()));
    let text = until_drawn(&observed, &url, "read from Prometheus").await;
    assert!(text.contains("slow ticket: pending"), "{text}");

    answering.store(false, Ordering::SeqCst);
    let text = until_drawn(&observed, &url, "computed in the lab").await;
    println!("{text}");
    assert!(
        text.contains("computed in the lab by rules.yml's formulas: Prometheus is not answering"),
        "{text}"
    );
    let burn: Vec<_> = text.lines().filter(|l| l.contains("fast page")).collect();
    assert_eq!(burn.len(), 2, "both objectives' rows: {text}");
    assert!(
        burn.iter().all(|l| l.contains("-     -     -     -  fast page: ok  slow ticket: ok")),
        "no figure or alert of Prometheus's left: {burn:#?}"
    );
    assert!(text.contains("Prometheus: HTTP status server error (503"), "the note: {text}");

    answering.store(true, Ordering::SeqCst);
    until_drawn(&observed, &url, "read from Prometheus").await;
    collecting.abort();
}
