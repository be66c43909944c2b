//! The lab against the real binaries: the OTLP receiver fed by the real service, the supervisor
//! starting the service and driving its admin API with every fault preset, and the lab itself
//! printing a snapshot and stopping every child on Ctrl-C. The binaries are the debug builds
//! beside this test (`cargo test --workspace` builds them); missing, they are built here.

use snackdrawer_lab::admin::{Admin, AdminRequest, Mystery, PRESETS};
use snackdrawer_lab::supervise::{self, Binaries, LoadSettings, Plan};
use snackdrawer_lab::traces::receiver;
use snackdrawer_lab::traces::store::TraceStore;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `target/<profile>/<name>`, built with cargo when missing.
fn binary(package: &str, name: &str) -> PathBuf {
    let test = std::env::current_exe().unwrap();
    let profile = test.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile.join(name);
    if !path.exists() {
        eprintln!("{} is missing: building it", path.display());
        let built = Command::new(env!("CARGO"))
            .args(["build", "-p", package, "--bin", name])
            .status()
            .expect("cargo runs");
        assert!(built.success(), "cargo build -p {package} failed");
    }
    path
}

struct Service {
    child: Child,
    url: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_service(otlp: SocketAddr) -> Service {
    start_service_with(otlp, &[])
}

fn start_service_with(otlp: SocketAddr, settings: &[(&str, &str)]) -> Service {
    let mut child = Command::new(binary("snackdrawer", "snackdrawer"))
        .env_clear()
        .envs(settings.iter().copied())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", "memory")
        .env("SNACKDRAWER_LISTEN", "127.0.0.1:0")
        .env("SNACKDRAWER_LOG_FORMAT", "json")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}"))
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the service starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
            if entry["message"] == "snackdrawer is serving" {
                let _ = tx.send(entry["address"].as_str().unwrap_or_default().to_owned());
            }
        }
    });
    let address =
        rx.recv_timeout(Duration::from_secs(60)).expect("the service says where it serves");
    Service { child, url: format!("http://{address}") }
}

fn wait_for(what: &str, seconds: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} within {seconds} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_keeps_the_services_traces_and_their_log_lines() {
    let store = Arc::new(Mutex::new(TraceStore::new(1000)));
    let otlp = receiver::start("127.0.0.1:0".parse().unwrap(), store.clone()).await.unwrap();
    let service = start_service(otlp);
    let client = reqwest::Client::new();
    let mut asked = Vec::new();
    for path in ["/snacks/1", "/snacks/", "/drawers/1"] {
        let response = client.get(format!("{}{path}", service.url)).send().await.unwrap();
        let trace_id = response.headers()["x-trace-id"].to_str().unwrap().to_owned();
        asked.push((path, trace_id, response.status().as_u16()));
    }
    let routes =
        [("/snacks/1", "/snacks/{id}"), ("/snacks/", "/snacks/"), ("/drawers/1", "/drawers/{id}")];
    tokio::task::block_in_place(|| {
        wait_for("every request's trace and access line arrive", 30, || {
            let store = store.lock().unwrap();
            asked.iter().all(|(_, id, _)| {
                let id: [u8; 16] = hex::decode(id).unwrap().try_into().unwrap();
                store.get(&id).is_some_and(|t| t.root().is_some() && !t.logs.is_empty())
            })
        });
    });
    let store = store.lock().unwrap();
    for ((path, id, status), (_, route)) in asked.iter().zip(routes) {
        let id: [u8; 16] = hex::decode(id).unwrap().try_into().unwrap();
        let trace = store.get(&id).unwrap();
        let summary = trace.summary(id).unwrap();
        assert_eq!(summary.route, route, "{path}");
        assert_eq!(summary.status, status.to_string(), "{path}");
        let access =
            trace.logs.iter().find(|l| l.body == "request served").expect("the access line");
        assert_eq!(
            access.span_id,
            Some(trace.root().unwrap().span_id),
            "{path}: the request span's id"
        );
        assert!(access.attributes.iter().any(|(k, v)| k == "route" && v == route), "{path}");
    }
    // The 401 of an anonymous drawer read is a client's mistake: not a failed trace.
    assert!(store.summaries("").iter().all(|s| !s.failed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_refuses_what_it_cannot_read() {
    let store = Arc::new(Mutex::new(TraceStore::new(10)));
    let otlp = receiver::start("127.0.0.1:0".parse().unwrap(), store.clone()).await.unwrap();
    let client = reqwest::Client::new();
    let post = |path: &str, content_type: &str, body: &'static [u8]| {
        client
            .post(format!("http://{otlp}{path}"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_eq!(post("/v1/traces", "application/json", b"{}").await.unwrap().status(), 415);
    assert_eq!(
        post("/v1/traces", "application/x-protobuf", b"\xff\xff\xff").await.unwrap().status(),
        400
    );
    assert_eq!(post("/v1/logs", "application/x-protobuf", b"").await.unwrap().status(), 200);
    assert!(store.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervised_service_takes_every_preset_and_stops_with_the_lab() {
    let binaries = Binaries {
        service: binary("snackdrawer", "snackdrawer"),
        load: binary("snackdrawer-load", "snackdrawer-load"),
    };
    let plan = Plan {
        binaries: &binaries,
        otlp: "127.0.0.1:9".parse().unwrap(), // nobody: exports fail quietly
        load: Some(LoadSettings { users: 2, think_time: "100ms..200ms".into() }),
        prometheus: false,
        keep_scratch: false,
    };
    let started = tokio::task::block_in_place(|| supervise::start(&plan)).unwrap();
    assert!(started.admin_url.starts_with("http://127.0.0.1:"));
    assert!(started.admin_token.len() >= 32);
    let admin = Admin::new(&started.admin_url, started.admin_token.clone());
    for (name, plan) in PRESETS {
        let request = plan.map_or(AdminRequest::ClearAll, |p| AdminRequest::SetPlan(p.to_owned()));
        let status = admin.send(&request).await.unwrap_or_else(|e| panic!("preset {name:?}: {e}"));
        assert_eq!(status.plan.text, plan.unwrap_or(""), "{name}");
    }
    assert!(admin.send(&AdminRequest::LazyOn).await.unwrap().lazy.on);
    assert!(!admin.send(&AdminRequest::LazyOff).await.unwrap().lazy.on);
    assert!(admin.send(&AdminRequest::StartMystery).await.unwrap().secret());
    let secret = admin.send(&AdminRequest::Status).await.unwrap();
    assert!(secret.secret(), "{secret:?}");
    assert!(secret.plan.text.is_empty() && secret.injected.is_empty(), "a mystery tells no plan");
    let revealed = reqwest::Client::new()
        .post(format!("{}/faults/reveal", started.admin_url))
        .bearer_auth(&started.admin_token)
        .send()
        .await
        .unwrap();
    assert!(revealed.status().is_success());
    // Told, the status names the incident and shows its plan again.
    let told = admin.send(&AdminRequest::Status).await.unwrap();
    assert!(matches!(told.mystery, Some(Mystery::Told { .. })) && !told.plan.text.is_empty());
    assert_eq!(admin.send(&AdminRequest::ClearAll).await.unwrap().mystery, None);
    let wrong = Admin::new(&started.admin_url, "x".repeat(40));
    assert!(wrong.send(&AdminRequest::Status).await.unwrap_err().to_string().contains("401"));
    let metrics = reqwest::get(format!("{}/metrics", started.service_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(snackdrawer_lab::exposition::parse(&metrics).is_ok());
    let pids = [started.service.pid(), started.load.as_ref().unwrap().pid()];
    let scratch = started.scratch().to_owned();
    tokio::task::block_in_place(|| drop(started));
    for pid in pids {
        assert!(
            !PathBuf::from(format!("/proc/{pid}")).exists() || zombie(pid),
            "{pid} outlived the lab"
        );
    }
    assert!(!scratch.exists(), "the scratch folder is removed");
}

fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// The lab's children: processes whose parent it is.
fn children_of(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok());
        if parent == Some(pid) {
            found.push(child);
        }
    }
    found
}

fn lab(arguments: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snackdrawer-lab"));
    command
        .args(["--service-bin", binary("snackdrawer", "snackdrawer").to_str().unwrap()])
        .args(["--load-bin", binary("snackdrawer-load", "snackdrawer-load").to_str().unwrap()])
        .args(["--no-prometheus", "--users", "4"])
        .args(arguments);
    command
}

#[test]
fn once_prints_every_panel_as_plain_text() {
    let output = lab(&["--once", "--settle", "6s"]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}\n{}", String::from_utf8_lossy(&output.stderr));
    for panel in
        ["GOLDEN SIGNALS", "all routes", "SLO BURN", "SATURATION", "FAULTS", "CHARTS", "TRACES"]
    {
        assert!(text.contains(panel), "{panel} missing from:\n{text}");
    }
    let title = text.lines().next().unwrap_or_default();
    assert!(title.starts_with("snackdrawer-lab 127.0.0.1:") && title.contains("load on"), "{text}");
    assert!(!text.contains('\u{1b}'), "plain text has no escape sequences");
}

/// Starts the lab, waits for its first snapshot, sends it `signal`: it must exit 0 and leave
/// none of its children running.
fn a_signal_stops_every_child(signal: nix::sys::signal::Signal) {
    let mut lab =
        lab(&["--print-every", "1s"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let pid = lab.id();
    let mut lines = BufReader::new(lab.stdout.take().unwrap()).lines();
    // The first snapshot: everything is up.
    while let Some(Ok(line)) = lines.next() {
        if line.contains("GOLDEN SIGNALS") {
            break;
        }
    }
    let children = children_of(pid);
    assert_eq!(children.len(), 2, "the service and the load: {children:?}");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).unwrap();
    let status = lab.wait().unwrap();
    assert!(status.success(), "{signal}: {status}");
    for child in children {
        let gone = !PathBuf::from(format!("/proc/{child}")).exists() || zombie(child);
        assert!(gone, "{child} outlived the lab's {signal}");
    }
}

#[test]
fn ctrl_c_stops_every_child() {
    a_signal_stops_every_child(nix::sys::signal::Signal::SIGINT);
}

#[test]
fn a_closed_terminal_or_sigterm_stops_every_child() {
    a_signal_stops_every_child(nix::sys::signal::Signal::SIGHUP);
    a_signal_stops_every_child(nix::sys::signal::Signal::SIGTERM);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_it_watches_a_running_service_and_its_faults() {
    let token = "an-admin-token-of-at-least-32-bytes-long";
    let admin_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let admin_address = admin_port.to_string();
    let service = start_service_with(
        "127.0.0.1:9".parse().unwrap(),
        &[("SNACKDRAWER_ADMIN_LISTEN", &admin_address), ("SNACKDRAWER_ADMIN_TOKEN", token)],
    );
    let admin_url = format!("http://{admin_address}");
    let plan = PRESETS[1].1.unwrap();
    Admin::new(&admin_url, token.to_owned())
        .send(&AdminRequest::SetPlan(plan.to_owned()))
        .await
        .unwrap();
    let traffic = {
        let url = format!("{}/snacks/", service.url);
        tokio::spawn(async move {
            loop {
                let _ = reqwest::get(&url).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let output = tokio::task::block_in_place(|| {
        Command::new(env!("CARGO_BIN_EXE_snackdrawer-lab"))
            .args(["--attach", &service.url, "--admin-url", &admin_url, "--admin-token", token])
            .args(["--otlp-listen", "127.0.0.1:0", "--once", "--settle", "4s"])
            .output()
            .unwrap()
    });
    traffic.abort();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.starts_with(&format!("snackdrawer-lab attached {}", service.url)), "{text}");
    assert!(
        text.contains(&format!("plan: {plan}")),
        "the faults panel reads the admin API: {text}"
    );
    let snacks = text.lines().find(|l| l.starts_with("GET /snacks/")).expect("a GET /snacks/ row");
    assert!(snacks.contains("ms"), "with latencies: {snacks}");
    assert!(text.contains("no load") && text.contains("no --prometheus-url"), "{text}");
}
