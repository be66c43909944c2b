//! Fault injection on the real binary: a bad plan or an unguarded admin API stops the start
//! with a message that says why, the admin API listens only when asked (and never on the
//! public port), `snackdrawer faults` drives it from the command line, and the process faults
//! show where an operator would look, and say in a warning that they started. The helpers are
//! shared with `incident_binary`.

use crate::support::server::RunningServer;
use std::collections::HashSet;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "binary-admin-token-binary-admin-token-42";

/// The variables that open the admin API on a free loopback port, guarded by `TOKEN`.
pub const ADMIN_ON: [(&str, &str); 2] =
    [("SNACKDRAWER_ADMIN_LISTEN", "127.0.0.1:0"), ("SNACKDRAWER_ADMIN_TOKEN", TOKEN)];

/// Runs the binary with `env` and `args`, as `RunningServer` would, expecting it to stop.
fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snackdrawer"))
        .env_clear()
        .env("SNACKDRAWER_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", "memory")
        .env("SNACKDRAWER_LOG_FORMAT", "text")
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn all_output(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn a_bad_plan_stops_the_start_naming_the_rule_and_the_column() {
    let output = run(&[("SNACKDRAWER_FAULTS", "GET /snacks/ latency=1s; * latency=often")], &[]);
    assert!(!output.status.success());
    let said = all_output(&output);
    let expected =
        r#"fault plan, rule 2 ("* latency=often"), column 36: "often" is not a duration"#;
    assert!(said.contains(expected), "{said}");

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "[[rules]]\ntarget = \"Nowhere::*\"\nfault = \"hang\"\n").unwrap();
    let output = run(&[("SNACKDRAWER_FAULTS_FILE", file.path().to_str().unwrap())], &[]);
    assert!(!output.status.success());
    let said = all_output(&output);
    assert!(
        said.contains("rule 1") && said.contains("line 1") && said.contains("no port"),
        "{said}"
    );
}

#[test]
fn an_admin_api_without_a_good_token_is_refused_at_start() {
    let output = run(&[("SNACKDRAWER_ADMIN_LISTEN", "127.0.0.1:0")], &[]);
    assert!(!output.status.success());
    assert!(
        all_output(&output).contains("SNACKDRAWER_ADMIN_TOKEN is not"),
        "{}",
        all_output(&output)
    );

    let short = [("SNACKDRAWER_ADMIN_LISTEN", "127.0.0.1:0"), ("SNACKDRAWER_ADMIN_TOKEN", "short")];
    let output = run(&short, &[]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(all_output(&output).contains("at least 32 bytes"), "{}", all_output(&output));
}

#[test]
fn an_admin_api_on_the_api_s_port_is_refused_naming_both_settings() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = free.local_addr().unwrap().to_string();
    drop(free);
    let output = run(
        &[
            ("SNACKDRAWER_LISTEN", &address),
            ("SNACKDRAWER_ADMIN_LISTEN", &address),
            ("SNACKDRAWER_ADMIN_TOKEN", TOKEN),
        ],
        &[],
    );
    assert!(!output.status.success());
    let said = all_output(&output);
    assert!(
        said.contains("SNACKDRAWER_ADMIN_LISTEN (--admin-listen)")
            && said.contains("SNACKDRAWER_LISTEN (--listen)")
            && said.contains(&address),
        "{said}"
    );
}

/// The TCP ports process `pid` listens on, from /proc (Linux).
fn listening_sockets(pid: u32) -> usize {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(target.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|table| table.lines().skip(1).map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| {
            let fields: Vec<_> = line.split_whitespace().collect();
            fields.get(3) == Some(&"0A")
                && fields.get(9).is_some_and(|inode| inodes.contains(*inode))
        })
        .count()
}

/// The admin address from the start-up line.
fn admin_address(server: &RunningServer) -> Option<String> {
    server.logs().iter().find_map(|line| {
        let entry: serde_json::Value = serde_json::from_str(line).ok()?;
        (entry["message"] == "snackdrawer is serving")
            .then(|| entry["admin_address"].as_str())??
            .to_owned()
            .into()
    })
}

#[tokio::test]
async fn without_the_admin_variable_nothing_else_listens_and_the_public_port_has_no_admin_routes() {
    let server = RunningServer::start(&[]);
    assert_eq!(listening_sockets(server.pid()), 1, "only the public port");
    assert_eq!(admin_address(&server), None);
    let with_admin = RunningServer::start(&[
        ("SNACKDRAWER_ADMIN_LISTEN", "127.0.0.1:0"),
        ("SNACKDRAWER_ADMIN_TOKEN", TOKEN),
    ]);
    assert_eq!(listening_sockets(with_admin.pid()), 2, "the public port and the admin API");
    assert!(admin_address(&with_admin).is_some());
    for path in ["/faults", "/lazy"] {
        let public = reqwest::Client::new().get(with_admin.url(path)).bearer_auth(TOKEN);
        assert_eq!(public.send().await.unwrap().status(), 404, "{path} on the public port");
    }
}

/// The admin API's base URL, `http://127.0.0.1:…`, from the start-up line.
pub fn admin_url(server: &RunningServer) -> String {
    format!("http://{}", admin_address(server).expect("the admin API listens"))
}

/// The value of `series` (its name and labels, as `/metrics` writes them) on the server's
/// `/metrics`, as text; `None` when the series is not there.
pub async fn metric(server: &RunningServer, series: &str) -> Option<String> {
    let metrics = reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap();
    let prefix = format!("{series} ");
    metrics.lines().find_map(|line| Some(line.strip_prefix(&prefix)?.trim().to_owned()))
}

/// `snackdrawer faults <args>` against the admin API at `url`.
pub fn faults_command(url: &str, args: &[&str], token: &str) -> Output {
    let env = [("SNACKDRAWER_ADMIN_URL", url), ("SNACKDRAWER_ADMIN_TOKEN", token)];
    let mut all = vec!["faults"];
    all.extend_from_slice(args);
    run(&env, &all)
}

#[tokio::test]
async fn the_faults_command_drives_the_admin_api() {
    let server = RunningServer::start(&[
        ("SNACKDRAWER_ADMIN_LISTEN", "127.0.0.1:0"),
        ("SNACKDRAWER_ADMIN_TOKEN", TOKEN),
        ("SNACKDRAWER_FAULTS", "DrawerRepository::add_snack error=unavailable p=0.5"),
        ("SNACKDRAWER_LAZY_RAMP", "0s"),
    ]);
    let gauges = || async {
        let rules = metric(&server, "snackdrawer_fault_rules_active").await;
        (rules, metric(&server, "snackdrawer_lazy_mode").await)
    };
    assert_eq!(gauges().await, (Some("1".into()), Some("0.0".into())));
    let url = admin_url(&server);
    let faults = |args: &[&str], token: &str| faults_command(&url, args, token);
    let shown = faults(&["show"], TOKEN);
    assert!(shown.status.success(), "{}", all_output(&shown));
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        text.contains("plan:      DrawerRepository::add_snack error=unavailable p=0.5"),
        "{text}"
    );
    assert!(text.contains("lazy mode: off"), "{text}");

    let set = faults(&["set", "GET /snacks/{id} error=internal"], TOKEN);
    assert!(set.status.success(), "{}", all_output(&set));
    let reply = reqwest::get(server.url("/snacks/1")).await.unwrap();
    assert_eq!(reply.status(), 500);
    let shown = faults(&["show", "--json"], TOKEN);
    let status: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(status["injected"][0]["target"], "GET /snacks/{id}");
    assert_eq!(status["injected"][0]["count"], 1);

    let lazy = faults(&["lazy", "--for", "2m"], TOKEN);
    assert!(
        String::from_utf8_lossy(&lazy.stdout).contains("lazy mode: on for 120 s more"),
        "{}",
        all_output(&lazy)
    );
    assert_eq!(gauges().await, (Some("1".into()), Some("1.0".into())), "lazy at once (no ramp)");
    let off = faults(&["lazy", "--off"], TOKEN);
    assert!(
        String::from_utf8_lossy(&off.stdout).contains("lazy mode: off, level 0.00"),
        "{}",
        all_output(&off)
    );
    assert_eq!(gauges().await, (Some("1".into()), Some("0.0".into())), "off at once (no ramp)");
    let cleared = faults(&["clear"], TOKEN);
    assert!(
        String::from_utf8_lossy(&cleared.stdout).contains("plan:      no rules"),
        "{}",
        all_output(&cleared)
    );
    assert_eq!(reqwest::get(server.url("/snacks/1")).await.unwrap().status(), 200);

    let bad = faults(&["set", "* latency=often"], TOKEN);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        all_output(&bad)
            .contains("the admin API answered 400: 400 Bad Request: fault plan, rule 1"),
        "{}",
        all_output(&bad)
    );
    let wrong = faults(&["show"], &TOKEN.replace('4', "5"));
    assert_eq!(wrong.status.code(), Some(1));
    assert!(all_output(&wrong).contains("answered 401"), "{}", all_output(&wrong));

    let logs = server.logs().join("\n");
    for said in [
        r#""changed_by":"start""#,
        r#""message":"fault plan changed""#,
        r#""message":"lazy mode on""#,
        r#""changed_by":"admin""#,
    ] {
        assert!(logs.contains(said), "no {said} in the logs:\n{logs}");
    }
}

#[tokio::test]
async fn a_lazy_schedule_shows_and_stops_at_runtime() {
    let scheduled = [
        ("SNACKDRAWER_ADMIN_LISTEN", "127.0.0.1:0"),
        ("SNACKDRAWER_ADMIN_TOKEN", TOKEN),
        ("SNACKDRAWER_LAZY_SCHEDULE", "every 1s for 500ms"),
        ("SNACKDRAWER_LAZY_RAMP", "0s"),
    ];
    let server = RunningServer::start(&scheduled);
    let url = admin_url(&server);
    let faults = |args: &[&str]| faults_command(&url, args, TOKEN);
    let shown = faults(&["show"]);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("schedule:  every 1s for 500ms, next"),
        "{}",
        all_output(&shown)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.logs().iter().any(|line| line.contains(r#""changed_by":"schedule""#)) {
        assert!(Instant::now() < deadline, "no episode in 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let stopped = faults(&["stop-schedule"]);
    assert!(stopped.status.success(), "{}", all_output(&stopped));
    let text = String::from_utf8_lossy(&stopped.stdout).into_owned();
    assert!(text.contains("schedule:  none"), "{text}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let shown = faults(&["show", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(status["lazy"]["schedule"], serde_json::Value::Null, "{status}");
    assert_eq!(status["lazy"]["on"], false, "no episode since the stop: {status}");
    let stop_logged = server.logs().iter().any(|line| {
        line.contains(r#""message":"lazy mode off""#) && line.contains(r#""changed_by":"admin""#)
    });
    assert!(stop_logged, "the stop is logged with who made it:\n{}", server.logs().join("\n"));

    // "Clear all faults" over HTTP clears the schedule as well.
    let other = RunningServer::start(&scheduled);
    let cleared = reqwest::Client::new()
        .delete(format!("{}/faults", admin_url(&other)))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status: serde_json::Value = cleared.json().await.unwrap();
    assert_eq!(status["lazy"]["schedule"], serde_json::Value::Null, "{status}");
}

/// `snackdrawer_store_connections{state="used"}` on the server's `/metrics`, and the pool's max.
async fn connections_used(server: &RunningServer) -> (Option<u32>, Option<u32>) {
    let value = |series| async move { metric(server, series).await?.parse().ok() };
    (
        value(r#"snackdrawer_store_connections{state="used"}"#).await,
        value("snackdrawer_store_connections_max").await,
    )
}

/// Polls until `connections_used` says `used`, for up to five seconds.
async fn wait_for_used(server: &RunningServer, used: u32) {
    let start = Instant::now();
    while connections_used(server).await.0 != Some(used) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{used} used never showed: {:?}",
            connections_used(server).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn holding_connections_shows_on_the_pool_gauges_starves_the_calls_and_ends_with_the_plan() {
    let folder = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", folder.path().join("held.db").display());
    let server = RunningServer::start(&[
        ("DATABASE_URL", &database),
        ("SNACKDRAWER_CACHE_TTL", "0s"),
        ("SNACKDRAWER_DB_MAX_CONNECTIONS", "3"),
        ("SNACKDRAWER_DB_ACQUIRE_TIMEOUT", "300ms"),
        ("SNACKDRAWER_ADMIN_LISTEN", "127.0.0.1:0"),
        ("SNACKDRAWER_ADMIN_TOKEN", TOKEN),
    ]);
    let read = || async { reqwest::get(server.url("/snacks/1")).await.unwrap().status() };
    assert_eq!(read().await, 200);
    wait_for_used(&server, 0).await;
    assert_eq!(connections_used(&server).await.1, Some(3), "the pool's size");

    let url = admin_url(&server);
    let hold = |count: &str| {
        let set = faults_command(
            &url,
            &["set", &format!("process hold-connections(count={count})")],
            TOKEN,
        );
        assert!(set.status.success(), "{}", all_output(&set));
    };
    hold("3");
    wait_for_used(&server, 3).await;
    assert_eq!(read().await, 503, "every connection held: the call's wait runs out");
    hold("2");
    wait_for_used(&server, 2).await;
    assert_eq!(read().await, 200, "one connection left for the calls");

    let cleared = faults_command(&url, &["clear"], TOKEN);
    assert!(cleared.status.success(), "{}", all_output(&cleared));
    wait_for_used(&server, 0).await;
    assert_eq!(read().await, 200);
}

#[tokio::test]
async fn the_memory_store_has_no_pool_series() {
    let server = RunningServer::start(&[]);
    assert_eq!(connections_used(&server).await, (None, None));
}

/// `process_resident_memory_bytes` on the server's `/metrics`, in MiB.
async fn resident_mib(server: &RunningServer) -> f64 {
    let bytes = metric(server, "process_resident_memory_bytes").await.expect("the RSS series");
    bytes.parse::<f64>().unwrap() / f64::from(1 << 20)
}

/// Polls `resident_mib` until `reached` holds of it, for up to 30 s (jemalloc gives freed pages
/// back over its decay time).
async fn wait_for_resident(server: &RunningServer, what: &str, reached: impl Fn(f64) -> bool) {
    let start = Instant::now();
    loop {
        let mib = resident_mib(server).await;
        if reached(mib) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{what}: {mib:.1} MiB");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_leak_holds_about_its_cap_in_resident_memory_and_gives_it_back_with_the_plan() {
    const CAP_MIB: f64 = 128.0;
    let server = RunningServer::start(&ADMIN_ON);
    let url = admin_url(&server);
    let before = resident_mib(&server).await;
    // The fastest rate the plan takes: the cap is held in two seconds.
    let leak = faults_command(&url, &["set", "process leak(rate=64MiB/s,cap=128MiB)"], TOKEN);
    assert!(leak.status.success(), "{}", all_output(&leak));
    wait_for_resident(&server, "the leak never held 90 % of its cap", |mib| {
        mib >= before + 0.9 * CAP_MIB
    })
    .await;
    // A tick's growth past the cap at most: it stops there.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rise = resident_mib(&server).await - before;
    assert!(rise <= 1.1 * CAP_MIB, "{rise:.1} MiB held for a cap of {CAP_MIB} MiB");

    let cleared = reqwest::Client::new()
        .delete(format!("{url}/faults"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    wait_for_resident(&server, "the leak's memory was kept", |mib| mib <= before + rise / 4.0)
        .await;
}

/// The WARN lines the faults of the whole process left as they started, as their kinds, in
/// order, once the last is `last` (the lines arrive a moment after the command that caused them).
async fn process_fault_warnings(server: &RunningServer, last: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let kinds: Vec<String> = server
            .logs()
            .iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|record| record["level"] == "WARN" && record["fault.target"] == "process")
            .map(|record| record["fault.kind"].as_str().unwrap_or_default().to_owned())
            .collect();
        if kinds.last().is_some_and(|kind| kind == last) || Instant::now() > deadline {
            return kinds;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn each_process_fault_says_so_in_a_warning_as_it_starts_but_a_mystery_s_does_not() {
    let server = RunningServer::start(&ADMIN_ON);
    let url = admin_url(&server);
    let set = |plan: &str| {
        let set = faults_command(&url, &["set", plan], TOKEN);
        assert!(set.status.success(), "{}", all_output(&set));
    };
    set("process cpu(threads=1,share=0.05)");
    set("process leak(rate=1MiB/s,cap=2MiB)");
    // Both at once: no budget holds the second back, as it would an injected error's.
    assert_eq!(process_fault_warnings(&server, "leak").await, ["cpu", "leak"]);

    // Seed 2 picks cpu-hog on the memory store, as the reveal checks.
    faults_command(&url, &["mystery", "--seed", "2"], TOKEN);
    let revealed = all_output(&faults_command(&url, &["reveal"], TOKEN));
    assert!(revealed.contains("process cpu("), "{revealed}");
    // Another kind after the mystery: a warning of the mystery's would come before it.
    set("process log-flood(rate=1/s)");
    assert_eq!(
        process_fault_warnings(&server, "log-flood").await,
        ["cpu", "leak", "log-flood"],
        "a mystery's process fault is not told"
    );
}
