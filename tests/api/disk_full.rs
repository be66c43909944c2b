//! The real binary on a SQLite file whose disk fills up: every write is either stored or
//! refused with 503 and `Retry-After`, never acknowledged and lost; readiness fails while
//! writes cannot land, an error line names the file and the cause, and the service heals by
//! itself once there is room again.
//!
//! A full disk needs a file system of its own: a small tmpfs mounted for the test, which only
//! root may do. Elsewhere the test says it was skipped and passes; the commit that fails for
//! another reason (`store_contract`'s failed commits) runs everywhere.

use crate::support::server::RunningServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Room for the database and its write-ahead log, and little more.
const DISK_SIZE: &str = "2m";

/// A tmpfs of `DISK_SIZE` mounted on a temporary directory for one test, unmounted after it.
struct TinyDisk {
    dir: tempfile::TempDir,
}

impl TinyDisk {
    /// `None`, said on the terminal, where this process may not mount.
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={DISK_SIZE}"), "tmpfs"])
            .arg(dir.path())
            .output();
        if !mounted.is_ok_and(|output| output.status.success()) {
            // Straight to stderr: libtest captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: the disk-full test needs to mount a tmpfs (run it as root) ***\n"
            );
            return None;
        }
        Some(Self { dir })
    }

    fn database(&self) -> PathBuf {
        self.dir.path().join("snackdrawer.db")
    }

    fn filler(&self) -> PathBuf {
        self.dir.path().join("filler")
    }

    /// Writes a file until the disk refuses more.
    fn fill(&self) {
        let mut filler = std::fs::File::create(self.filler()).unwrap();
        let block = [0u8; 4096];
        while filler.write_all(&block).and_then(|()| filler.sync_data()).is_ok() {}
    }

    fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// A request's status, `Retry-After` and body.
async fn send(
    server: &RunningServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let answer = server.send(&reqwest::Client::new(), method, path, token, body).await;
    let retry_after =
        answer.headers.get("retry-after").map(|value| value.to_str().unwrap().to_owned());
    (answer.status, retry_after, answer.body)
}

/// Logs in, asserting it works.
async fn log_in(server: &RunningServer, username: &str) -> String {
    let body = json!({"username": username, "password": "pw"});
    let (status, _, body) = send(server, "POST", "/auth/login", None, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// Polls `path` until it answers `wanted`, at most 10 s.
async fn wait_for(server: &RunningServer, path: &str, wanted: StatusCode) {
    let started = Instant::now();
    loop {
        let (status, _, body) = send(server, "GET", path, None, None).await;
        if status == wanted {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{path} still {status}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the test needs in place before the disk fills: a user, a snack, and two drawers, one
/// holding the snack.
struct Before {
    token: String,
    snack: i64,
    empty_drawer: i64,
    full_drawer: i64,
}

async fn prepare(server: &RunningServer) -> Before {
    let register = json!({"username": "ann", "password": "pw"});
    assert_eq!(send(server, "POST", "/auth/users", None, Some(register)).await.0, 201);
    let token = log_in(server, "ann").await;
    let id_of = |body: &Value, key: &str| body[key]["id"].as_i64().unwrap();
    let created = send(server, "POST", "/snacks/", Some(&token), Some(json!({"name": "apple"})));
    let snack = id_of(&created.await.2, "snack");
    let mut drawers = Vec::new();
    for name in ["empty", "full"] {
        let created = send(server, "POST", "/drawers/", Some(&token), Some(json!({"name": name})));
        drawers.push(id_of(&created.await.2, "drawer"));
    }
    let path = format!("/drawers/{}", drawers[1]);
    let added = send(server, "POST", &path, Some(&token), Some(json!({"snack": snack})));
    assert_eq!(added.await.0, StatusCode::CREATED);
    Before { token, snack, empty_drawer: drawers[0], full_drawer: drawers[1] }
}

/// Every write route once, each a change the test can look for afterwards.
fn every_write(before: &Before) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("POST", "/auth/users".into(), Some(json!({"username": "bob", "password": "pw"}))),
        ("POST", "/snacks/".into(), Some(json!({"name": "pear"}))),
        ("POST", "/drawers/".into(), Some(json!({"name": "attic"}))),
        ("POST", format!("/drawers/{}", before.empty_drawer), Some(json!({"snack": before.snack}))),
        ("DELETE", format!("/drawers/{}/snacks/{}", before.full_drawer, before.snack), None),
        ("DELETE", format!("/drawers/{}", before.full_drawer), None),
    ]
}

/// What the service holds, as the test's user and an anonymous reader see it.
async fn holdings(server: &RunningServer, token: &str) -> Value {
    let (_, _, snacks) = send(server, "GET", "/snacks/", None, None).await;
    let (_, _, drawers) = send(server, "GET", "/drawers/", Some(token), None).await;
    let mut contents = Vec::new();
    for drawer in drawers["drawers"].as_array().unwrap() {
        let path = format!("/drawers/{}", drawer["id"]);
        contents.push(send(server, "GET", &path, Some(token), None).await.2);
    }
    json!({"snacks": snacks, "drawers": drawers, "contents": contents})
}

/// The service on `url`, probing every 0.1 s, keeping no reads, with no login limits.
fn start(url: &str) -> RunningServer {
    RunningServer::start(&[
        ("DATABASE_URL", url),
        ("SNACKDRAWER_DB_PROBE_INTERVAL", "0.1"),
        ("SNACKDRAWER_CACHE_TTL", "0"),
        ("SNACKDRAWER_LOGIN_LIMITS", "false"),
    ])
}

/// A full disk is a real one, so a write may still find room (in space a failed write left
/// allocated to the log): each write must be refused with 503 and `Retry-After`, or stored.
/// The same writes on a roomy disk say what must be there in the end, once the refused ones
/// were sent again.
#[tokio::test]
async fn a_full_disk_refuses_writes_fails_readiness_and_heals_when_room_returns() {
    let Some(disk) = TinyDisk::mount() else { return };
    let mut server = start(&format!("sqlite://{}?mode=rwc", disk.database().display()));
    let before = prepare(&server).await;
    let held = holdings(&server, &before.token).await;

    disk.fill();
    let mut refused = Vec::new();
    for (method, path, body) in every_write(&before) {
        let (status, retry_after, answer) =
            send(&server, method, &path, Some(&before.token), body.clone()).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(retry_after.as_deref(), Some("1"), "{method} {path}");
            refused.push((method, path, body));
        } else {
            assert!(status.is_success(), "{method} {path}: {status} {answer}");
        }
        if refused.len() == 1 {
            wait_for(&server, "/readyz", StatusCode::SERVICE_UNAVAILABLE).await;
        }
    }
    assert_eq!(refused.first().map(|write| write.1.as_str()), Some("/auth/users"));
    println!("on the full disk, {} of 6 writes refused", refused.len());
    let logs = server.logs();
    let file = disk.database().display().to_string();
    let said = |line: &&String| {
        line.contains(r#""level":"ERROR""#) && line.contains(&file) && line.contains("disk full")
    };
    assert!(logs.iter().any(|line| said(&line)), "no error line names the file: {logs:#?}");
    if refused.len() == 6 {
        assert_eq!(holdings(&server, &before.token).await, held, "reads work, nothing changed");
    }

    disk.free();
    wait_for(&server, "/readyz", StatusCode::OK).await;
    for (method, path, body) in refused {
        let (status, _, answer) = send(&server, method, &path, Some(&before.token), body).await;
        assert!(status.is_success(), "{method} {path} once there is room: {status} {answer}");
    }
    log_in(&server, "bob").await;
    let logs = server.logs().join("\n");
    assert!(logs.contains("takes writes again"), "{logs}");

    let roomy = tempfile::tempdir().unwrap();
    let reference = start(&crate::support::stores::sqlite_url(&roomy));
    let reference_before = prepare(&reference).await;
    for (method, path, body) in every_write(&reference_before) {
        let (status, _, answer) =
            send(&reference, method, &path, Some(&reference_before.token), body).await;
        assert!(status.is_success(), "{method} {path} on a roomy disk: {status} {answer}");
    }
    let expected = holdings(&reference, &reference_before.token).await;
    assert_eq!(
        holdings(&server, &before.token).await,
        expected,
        "every write acknowledged was stored, and every write refused was not"
    );

    // Stored means committed: a write acknowledged inside a transaction left open on a pooled
    // connection reads back the same until the process ends.
    let url = format!("sqlite://{}", disk.database().display());
    tokio::task::spawn_blocking(move || assert!(server.terminate().success())).await.unwrap();
    let restarted = start(&url);
    let token = log_in(&restarted, "ann").await;
    assert_eq!(holdings(&restarted, &token).await, expected, "the same after a restart");
}
