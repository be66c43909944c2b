//! The generator end to end, as its own binary: a short run of every persona against the real
//! `snackdrawer` service (memory store and SQLite) must come out clean, and runs against a
//! deliberately broken target must fail with the right violation (or, when its users never get
//! going, with exit 3 and the reason), which proves the checks can fail; a target that marks
//! the faults it injects must come out clean. What a person watching sees is checked too: a
//! line per interval, then the report, verdict first. Everything listens on 127.0.0.1.

mod broken_target;
mod service;

use broken_target::Breakage;
use serde_json::Value;
use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Longest a run of a few seconds may take before the test stops it and fails: far more than
/// its deadline (run time and `--grace`), and still an end to a runaway.
const WALL_LIMIT: Duration = Duration::from_secs(300);

/// Runs the generator for a few seconds with one user per persona, and `extra` arguments;
/// returns its exit code and its JSON summary.
fn run_load(host: &str, directory: &Path, extra: &[&str]) -> (i32, Value) {
    let (code, summary, _) = run_load_showing(host, directory, extra);
    (code, summary)
}

/// `run_load`, and what it printed on its standard output.
fn run_load_showing(host: &str, directory: &Path, extra: &[&str]) -> (i32, Value, String) {
    let summary_path = directory.join("summary.json");
    let (stdout_path, stderr_path) = (directory.join("stdout"), directory.join("stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_snackdrawer-load"))
        .args(["--host", host, "--users", "4", "--increase-rate", "4", "--run-time", "5s"])
        .args(["--think-time", "0", "--quiet"])
        .args(extra)
        .arg("--summary-json")
        .arg(&summary_path)
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .expect("snackdrawer-load starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > WALL_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("snackdrawer-load was still running after {WALL_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let code = status.code().expect("snackdrawer-load exits by itself");
    let summary = std::fs::read_to_string(&summary_path).unwrap_or_else(|_| {
        panic!(
            "no summary (exit {code}); stdout:\n{}\nstderr:\n{}",
            std::fs::read_to_string(&stdout_path).unwrap_or_default(),
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        )
    });
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    (code, serde_json::from_str(&summary).unwrap(), stdout)
}

const TRANSACTIONS: [(&str, &[&str]); 4] = [
    (
        "snacker",
        &[
            "sign up",
            "GET /snacks/",
            "POST /snacks/",
            "GET /drawers/",
            "GET /drawers/{id}",
            "POST /drawers/",
            "POST /drawers/{id}",
        ],
    ),
    (
        "nosy",
        &[
            "sign up",
            "GET /drawers/{id}",
            "POST /drawers/{id}",
            "DELETE /drawers/{id}",
            "DELETE /drawers/{id}/snacks/{snack_id}",
        ],
    ),
    (
        "kiddie",
        &[
            "sign up",
            "forged token",
            "POST /drawers/ malformed body",
            "POST /snacks/ hostile name",
            "unknown route or method",
            "POST /auth/login credential stuffing",
        ],
    ),
    (
        "impatient",
        &[
            "sign up",
            "GET /snacks/ hang up",
            "POST /drawers/ hang up",
            "POST /drawers/{id} hang up",
            "POST /drawers/{id} half-sent body",
        ],
    ),
];

fn assert_clean_run_of_every_persona(database_url: &str) {
    let directory = tempfile::tempdir().unwrap();
    let service = service::Service::start(database_url);
    let (code, summary) = run_load(&service.base_url, directory.path(), &[]);
    assert_eq!(summary["violations"], serde_json::json!({}), "{summary:#}");
    assert_eq!(code, 0);
    for (persona, transactions) in TRANSACTIONS {
        for transaction in transactions {
            let count = &summary["personas"][persona][transaction]["count"];
            assert!(count.as_u64() > Some(0), "{persona} / {transaction}: {count}");
        }
    }
    let requests = summary["requests"].as_object().unwrap();
    for route in ["GET /snacks/", "POST /auth/login", "GET /drawers/{id}", "DELETE /drawers/{id}"] {
        assert!(requests[route]["count"].as_u64() > Some(0), "{route}");
    }
}

#[test]
fn every_persona_runs_clean_against_the_memory_store() {
    assert_clean_run_of_every_persona("memory");
}

/// While it runs, one line per interval (here every second); at the end, the verdict first,
/// then the figures with names whole, every persona's sign-up counted (goose no longer resets
/// its statistics once the users are launched, which had wiped the sign-ups out); and none of
/// goose's own tables, 130 lines each.
#[test]
fn the_terminal_shows_a_line_per_interval_then_the_verdict_first() {
    let directory = tempfile::tempdir().unwrap();
    let service = service::Service::start("memory");
    let every_second = ["--running-metrics", "1"];
    let (code, summary, stdout) =
        run_load_showing(&service.base_url, directory.path(), &every_second);
    assert_eq!(code, 0, "{summary:#}");
    assert!(!stdout.contains("=== PER "), "goose's tables are shown:\n{stdout}");
    let progress: Vec<&str> = stdout.lines().filter(|line| line.starts_with("progress ")).collect();
    assert!(progress.len() >= 3, "{stdout}");
    for line in &progress {
        assert!(line.contains(" users, ") && line.contains(" failed, p99 "), "{line}");
        assert!(line.ends_with("; violations: none"), "{line}");
    }
    let report: Vec<&str> = stdout.lines().skip_while(|line| !line.starts_with("=== ")).collect();
    assert_eq!(report.first(), Some(&"=== verdict: no violations"), "{stdout}");
    assert!(report.iter().any(|line| line.starts_with("=== requests in ")), "{stdout}");
    let whole = "nosy: DELETE /drawers/{id}/snacks/{snack_id} ";
    assert!(report.iter().any(|line| line.starts_with(whole)), "{stdout}");
    for persona in ["snacker", "nosy", "kiddie", "impatient"] {
        let count = &summary["personas"][persona]["sign up"]["count"];
        assert_eq!(count.as_u64(), Some(1), "{persona}: {summary:#}");
    }
    let listed = &summary["requests"]["GET /snacks/"]["statuses"]["200"];
    assert!(listed.as_u64() > Some(0), "{summary:#}");
}

#[test]
fn every_persona_runs_clean_against_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("load.db");
    assert_clean_run_of_every_persona(&format!("sqlite://{}?mode=rwc", database.display()));
}

/// A run of every persona against the target broken by `breakage`.
fn run_against(breakage: Breakage) -> (i32, Value) {
    run_against_with(breakage, &[])
}

fn run_against_with(breakage: Breakage, extra: &[&str]) -> (i32, Value) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let host = runtime.block_on(broken_target::serve(breakage));
    let directory = tempfile::tempdir().unwrap();
    run_load(&host, directory.path(), extra)
}

fn assert_caught(breakage: Breakage, kind: &str) -> Value {
    assert_caught_with(breakage, kind, &[])
}

fn assert_caught_with(breakage: Breakage, kind: &str, extra: &[&str]) -> Value {
    let (code, summary) = run_against_with(breakage, extra);
    // The target is broken in this one way only, so nothing else may be reported.
    let kinds: Vec<&String> = summary["violations"].as_object().unwrap().keys().collect();
    assert_eq!(kinds, [kind], "{:#}", summary["violations"]);
    assert!(summary["violations"][kind]["example"]["request"].is_string());
    assert!(summary["violations"][kind]["count"].as_u64() > Some(0));
    assert_eq!(code, 1);
    summary
}

#[test]
fn a_foreign_drawer_shown_is_a_leak() {
    assert_caught(Breakage::ShowsForeignDrawers, "leak");
}

/// Goose's HTML report of a run that saw a leak, as the generator leaves it: nothing loaded
/// from elsewhere (goose's template fetches ECharts from a CDN, and its charts were blank
/// offline), the vendored ECharts inline where goose's charts can call it, and the verdict,
/// with the leak's example request, as the first thing in the page.
#[test]
fn the_html_report_works_offline_and_opens_with_the_verdict() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let host = runtime.block_on(broken_target::serve(Breakage::ShowsForeignDrawers));
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("report.html");
    let report_file = ["--report-file", path.to_str().unwrap()];
    let (code, summary) = run_load(&host, directory.path(), &report_file);
    assert_eq!(code, 1, "{summary:#}");
    let html = std::fs::read_to_string(&path).unwrap();

    for tag in
        html.split('<').skip(1).filter(|tag| tag.starts_with("script") || tag.starts_with("link"))
    {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        assert!(
            !tag.contains("http:") && !tag.contains("https:") && !tag.contains("//"),
            "<{tag}>"
        );
    }
    let echarts = include_str!("../../vendor/echarts/echarts.min.js");
    let inline = html.find(&format!("<script>\n{echarts}\n</script>")).expect("ECharts inline");
    let body = html.find("<body>").unwrap();
    let first_chart = html.find("echarts.init(").expect("goose's charts");
    assert!(inline < body && body < first_chart);

    let page = &html[body + "<body>".len()..];
    let first_block = page.find("<div").unwrap();
    assert!(
        page[first_block..].starts_with(r#"<div class="container verdict fail" id="verdict">"#)
    );
    assert!(page.trim_start().starts_with("<style>"), "{}", &page[..first_block]);
    let verdict = &page[first_block..page.find("Goose Attack Report").unwrap()];
    assert!(verdict.contains("Verdict: the run failed (snackdrawer-load exit 1)"), "{verdict}");
    let example = summary["violations"]["leak"]["example"]["request"].as_str().unwrap();
    let shown = example.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let shown = shown.replace('\n', "\n      ");
    assert!(verdict.contains("  leak: ") && verdict.contains(&shown), "{verdict}");
}

#[test]
fn an_unsigned_token_accepted_is_forged_accepted() {
    assert_caught(Breakage::AcceptsUnsignedTokens, "forged-accepted");
}

#[test]
fn an_unsigned_token_accepted_on_drawer_ids_only_is_forged_accepted() {
    let summary = assert_caught(Breakage::AcceptsUnsignedTokensOnDrawerIds, "forged-accepted");
    let example = summary["violations"]["forged-accepted"]["example"]["request"].as_str().unwrap();
    let path = example.split_whitespace().nth(1).unwrap();
    let id = path.strip_prefix("/drawers/").unwrap();
    assert!(id.chars().all(|c| c.is_ascii_digit()), "{example}");
}

#[test]
fn an_unsigned_token_accepted_on_post_only_is_forged_accepted() {
    let summary = assert_caught(Breakage::AcceptsUnsignedTokensOnPost, "forged-accepted");
    let example = summary["violations"]["forged-accepted"]["example"]["request"].as_str().unwrap();
    assert!(example.starts_with("POST "), "{example}");
}

#[test]
fn a_500_for_malformed_json_is_a_server_error() {
    assert_caught(Breakage::FailsOnMalformedJson, "server-error");
}

#[test]
fn a_foreign_drawer_held_back_where_a_missing_one_is_not_is_a_leak() {
    let summary = assert_caught(Breakage::ShedsForeignDrawers, "leak");
    assert_eq!(summary["side_channels"]["held_back"]["leaks"], true, "{summary:#}");
}

#[test]
fn a_header_naming_a_foreign_drawer_s_owner_is_a_leak() {
    let summary = assert_caught(Breakage::NamesForeignDrawersOwner, "leak");
    let example = summary["violations"]["leak"]["example"]["response"].as_str().unwrap();
    assert!(example.contains("x-drawer-owner"), "{example}");
}

#[test]
fn a_foreign_drawer_50_ms_slower_than_a_missing_one_is_a_leak() {
    // Three nosy neighbours, so that a loaded machine still makes the 30 pairs the test needs.
    let nosy = ["--mix", "snacker=1,nosy=3"];
    let summary = assert_caught_with(Breakage::SlowOnForeignDrawers, "leak", &nosy);
    let timing = &summary["side_channels"]["timing"];
    assert_eq!(timing["leaks"], true, "{summary:#}");
    let example = summary["violations"]["leak"]["example"]["response"].as_str().unwrap();
    assert!(example.contains("Mann–Whitney"), "{example}");
}

/// Issue 21's runaway: nosy neighbours and no drawer to pry into, so that every step finds
/// nothing to do. They must wait between steps rather than spin; four spinning users held both
/// cores of a test machine, and the run never ended.
#[test]
fn nosy_neighbours_with_nothing_to_pry_neither_spin_nor_overrun() {
    let directory = tempfile::tempdir().unwrap();
    let service = service::Service::start("memory");
    let (code, summary) = run_load(&service.base_url, directory.path(), &["--mix", "nosy=1"]);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["overran"], Value::Null, "{summary:#}");
    let steps = summary["personas"]["nosy"].as_object().unwrap();
    let ran: u64 = steps.values().filter_map(|step| step["count"].as_u64()).sum();
    // Four users for about six seconds, each step pausing 100 ms: a few hundred steps. Spinning,
    // they ran millions where they ran at all.
    assert!((1..5_000).contains(&ran), "{ran} steps: {summary:#}");
}

/// A run that cannot end in time (its nosy neighbours wait 30 s for foreign drawers that never
/// answer) is stopped by the generator at its deadline, and says so.
#[test]
fn a_run_still_going_after_its_grace_is_stopped_with_exit_4() {
    let extra = ["--mix", "snacker=1,nosy=3", "--grace", "3s"];
    let (code, summary) = run_against_with(Breakage::HangsOnForeignDrawers, &extra);
    let overran = summary["overran"].as_str().unwrap_or_default();
    assert!(overran.contains("still running 3 s after goose's plan of 6 s"), "{summary:#}");
    assert_eq!(code, 4);
}

/// The run stalls (exit 3) with a reason containing `reason`, and reports no violation.
fn assert_stalled(breakage: Breakage, reason: &str) {
    let (code, summary) = run_against(breakage);
    assert_eq!(summary["violations"], serde_json::json!({}), "{summary:#}");
    let stalled = summary["stalled"].as_str().unwrap_or_default();
    assert!(stalled.contains(reason), "{summary:#}");
    assert_eq!(code, 3);
}

#[test]
fn a_service_that_sheds_everything_fails_the_run() {
    assert_stalled(Breakage::ShedsEverything, "4 of 4 users never got going (4 × 503)");
}

#[test]
fn login_limits_fail_the_run_and_say_how_to_lift_them() {
    assert_stalled(
        Breakage::LimitsLogins,
        "(4 × 429); login limits are on: set SNACKDRAWER_LOGIN_LIMITS=false",
    );
}

#[test]
fn faults_the_service_marks_as_injected_are_counted_apart_and_never_judged() {
    let (code, summary) = run_against(Breakage::InjectsMarkedFaults);
    assert_eq!(summary["violations"], serde_json::json!({}), "{summary:#}");
    assert_eq!(summary["stalled"], Value::Null, "{summary:#}");
    assert_eq!(code, 0);
    assert!(summary["fault_injected"].as_u64() > Some(10), "{summary:#}");
    assert_eq!(summary["start_up"]["got_going"], 4, "{summary:#}");
}

#[test]
fn only_one_public_step_drives_that_route_alone_without_signing_up() {
    let directory = tempfile::tempdir().unwrap();
    let service = service::Service::start("memory");
    let only = ["--mix", "snacker=1", "--only", "GET /snacks/"];
    let (code, summary) = run_load(&service.base_url, directory.path(), &only);
    assert_eq!(code, 0, "{summary:#}");
    let routes: Vec<&String> = summary["requests"].as_object().unwrap().keys().collect();
    assert_eq!(routes, ["GET /snacks/"]);
    assert!(summary["requests"]["GET /snacks/"]["count"].as_u64() > Some(0));
    assert!(summary["duration_s"].as_u64() > Some(0), "{summary:#}");
}

#[test]
fn only_a_step_no_persona_has_is_a_usage_error() {
    let service = service::Service::start("memory");
    let status = Command::new(env!("CARGO_BIN_EXE_snackdrawer-load"))
        .args(["--host", &service.base_url, "--mix", "snacker=1", "--only", "GET /nowhere"])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

#[test]
fn an_unreachable_host_is_a_connection_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let status = Command::new(env!("CARGO_BIN_EXE_snackdrawer-load"))
        .args(["--host", &host])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

#[test]
fn an_https_host_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_snackdrawer-load"))
        .args(["--host", "https://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("plain HTTP only"));
}

#[test]
fn a_bad_mix_is_a_usage_error() {
    let status = Command::new(env!("CARGO_BIN_EXE_snackdrawer-load"))
        .args(["--host", "http://127.0.0.1:9", "--mix", "snacker=lots"])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}
