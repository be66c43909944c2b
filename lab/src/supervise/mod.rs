//! What `snackdrawer-lab` starts when it watches nothing already running: the release service on
//! embedded SQLite in a scratch folder (admin API on loopback with a token made here, traces
//! and logs exported to the lab's receiver), `snackdrawer-load` with the default persona mix,
//! and, when `prometheus` is on the PATH, a Prometheus with `ops/prometheus/rules.yml`
//! scraping the service through `ops/prometheus/local.yml` (one that does not start is done
//! without, as one not on the PATH). Each is a `Supervised` child, so all of them stop with the
//! lab.

pub mod child;

use child::Supervised;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use thiserror::Error;

/// The Prometheus configuration a person can also run by hand; the lab points its one target
/// at the service's port.
pub const LOCAL_CONFIG: &str = include_str!("../../../ops/prometheus/local.yml");
pub const RULES: &str = include_str!("../../../ops/prometheus/rules.yml");
/// The target `local.yml` scrapes, which the lab replaces.
pub const LOCAL_TARGET: &str = "\"127.0.0.1:8000\"";

/// Lazy mode tuned for a short episode, the settings `ops/verify-faults` and docs/faults.md
/// use: 10 % refused and half the requests napping, so both fast-burn pages fire within a
/// minute of `l` instead of after most of an hour of laziness, over a 5 s ramp. A variable set
/// in the lab's environment wins.
const SHORT_EPISODE: [(&str, &str); 3] = [
    ("SNACKDRAWER_LAZY_RAMP", "5s"),
    ("SNACKDRAWER_LAZY_NAP_PROBABILITY", "0.5"),
    ("SNACKDRAWER_LAZY_REFUSAL_PROBABILITY", "0.1"),
];

/// Settings that would send the service's telemetry somewhere other than the lab.
const REDIRECTS: [&str; 6] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "HONEYCOMB_API_KEY",
];

#[derive(Debug, Error)]
pub enum StartError {
    #[error(
        "{0} is missing: build the service and the load generator first with \
         `cargo build{1} --workspace`, or name one with --service-bin / --load-bin"
    )]
    MissingBinary(PathBuf, &'static str),
    #[error("`{0}` failed ({1}); its errors are above")]
    BuildFailed(String, std::process::ExitStatus),
    #[error("cannot make the scratch folder or start {what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{what} did not start within {seconds} s; its log, {log}:\n{tail}")]
    NotStarted { what: &'static str, seconds: u64, log: PathBuf, tail: String },
    #[error("{what} exited as it started; its log, {log}:\n{tail}")]
    Exited { what: &'static str, log: PathBuf, tail: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StartError {
    let what = what.into();
    move |source| StartError::Io { what, source }
}

/// Where the binaries are: given, or beside the lab's own executable (target/release).
#[derive(Debug, Clone)]
pub struct Binaries {
    pub service: PathBuf,
    pub load: PathBuf,
}

impl Binaries {
    pub fn find(service: Option<PathBuf>, load: Option<PathBuf>) -> Result<Self, StartError> {
        let here = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_owned));
        let here = here.unwrap_or_default();
        let profile = if here.ends_with("release") { " --release" } else { "" };
        if service.is_none() && load.is_none() {
            build_when_run_by_cargo(profile)?;
        }
        let pick = |given: Option<PathBuf>, name: &str| {
            let path = given.unwrap_or_else(|| here.join(name));
            if path.is_file() { Ok(path) } else { Err(StartError::MissingBinary(path, profile)) }
        };
        Ok(Self { service: pick(service, "snackdrawer")?, load: pick(load, "snackdrawer-load")? })
    }
}

/// Started by `cargo run -p snackdrawer-lab`, the lab brings the two binaries it starts up to
/// date with the same cargo and profile, so that the README's one command works on a fresh
/// clone and never runs a service older than its source. Run any other way (the binary itself,
/// a test), it builds nothing.
fn build_when_run_by_cargo(profile: &str) -> Result<(), StartError> {
    let (Some(cargo), Ok("snackdrawer-lab")) =
        (std::env::var_os("CARGO"), std::env::var("CARGO_PKG_NAME").as_deref())
    else {
        return Ok(());
    };
    let command = format!("cargo build{profile} -p snackdrawer -p snackdrawer-load");
    eprintln!("snackdrawer-lab: {command} (the service and the load generator it starts)");
    let mut build = std::process::Command::new(cargo);
    build.args(["build", "-p", "snackdrawer", "-p", "snackdrawer-load"]);
    if !profile.is_empty() {
        build.arg("--release");
    }
    match build.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(StartError::BuildFailed(command, status)),
        Err(source) => Err(StartError::Io { what: command, source }),
    }
}

/// How the load is driven.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    pub users: u32,
    pub think_time: String,
}

/// The started programs and where they are. Dropping it stops the load, then Prometheus,
/// then the service, and removes the scratch folder.
#[derive(Debug)]
pub struct Started {
    pub load: Option<Supervised>,
    pub prometheus: Option<Supervised>,
    pub service: Supervised,
    pub service_url: String,
    pub admin_url: String,
    pub admin_token: String,
    pub prometheus_url: Option<String>,
    /// Why no Prometheus runs, when none does.
    pub prometheus_absent: Option<String>,
    scratch: Scratch,
}

/// The scratch folder: removed with the lab unless asked to keep it.
#[derive(Debug)]
enum Scratch {
    Removed(TempDir),
    Kept(PathBuf),
}

impl Scratch {
    fn path(&self) -> &Path {
        match self {
            Scratch::Removed(dir) => dir.path(),
            Scratch::Kept(path) => path,
        }
    }
}

impl Started {
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }
}

/// A free address on 127.0.0.1, for programs that cannot report the port they picked.
fn free_address() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

pub struct Plan<'a> {
    pub binaries: &'a Binaries,
    pub otlp: SocketAddr,
    pub load: Option<LoadSettings>,
    pub prometheus: bool,
    pub keep_scratch: bool,
}

pub fn start(plan: &Plan<'_>) -> Result<Started, StartError> {
    let dir = tempfile::Builder::new()
        .prefix("snackdrawer-lab-")
        .tempdir()
        .map_err(io("the scratch folder"))?;
    let scratch = if plan.keep_scratch { Scratch::Kept(dir.keep()) } else { Scratch::Removed(dir) };
    let folder = scratch.path().to_owned();
    let admin_token = hex::encode(rand::random::<[u8; 32]>());

    let mut command = Command::new(&plan.binaries.service);
    for name in REDIRECTS {
        command.env_remove(name);
    }
    for (name, value) in SHORT_EPISODE {
        command.env(name, setting(name, value));
    }
    command
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", folder.join("snackdrawer.db").display()),
        )
        .env("SNACKDRAWER_LISTEN", "127.0.0.1:0")
        .env("SNACKDRAWER_ADMIN_LISTEN", "127.0.0.1:0")
        .env("SNACKDRAWER_ADMIN_TOKEN", &admin_token)
        .env("SNACKDRAWER_JWT_SECRET", hex::encode(rand::random::<[u8; 32]>()))
        // The load signs users up and guesses passwords from this one address.
        .env("SNACKDRAWER_LOGIN_LIMITS", "false")
        .env("SNACKDRAWER_LOG_FORMAT", "json")
        .env("SNACKDRAWER_SHUTDOWN_GRACE", "1s")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{}", plan.otlp))
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env("OTEL_LOGS_EXPORTER", "otlp");
    let log = folder.join("service.log");
    let service = Supervised::spawn("snackdrawer", command, &log).map_err(io("the service"))?;
    let (address, admin_address) = serving(&log)?;
    let service_url = format!("http://{address}");

    let (prometheus, prometheus_url, prometheus_absent) = if !plan.prometheus {
        (None, None, Some("--no-prometheus".to_owned()))
    } else if let Some(binary) = on_path("prometheus") {
        match start_prometheus(&binary, &folder, &address) {
            Ok((child, url)) => (Some(child), Some(url), None),
            Err(why) => (None, None, Some(why)),
        }
    } else {
        (None, None, Some("no `prometheus` on the PATH".to_owned()))
    };

    let load = match &plan.load {
        Some(settings) => {
            let mut command = Command::new(&plan.binaries.load);
            let users = settings.users.to_string();
            command.args([
                "--host",
                service_url.as_str(),
                "-u",
                users.as_str(),
                "-r",
                users.as_str(),
            ]);
            command.args(["--think-time", settings.think_time.as_str(), "--no-telnet"]);
            // One progress line an hour in its log: the lab shows the traffic itself.
            command.args(["--running-metrics", "3600"]);
            let log = folder.join("load.log");
            Some(Supervised::spawn("snackdrawer-load", command, &log).map_err(io("the load"))?)
        }
        None => None,
    };
    Ok(Started {
        load,
        prometheus,
        service,
        service_url,
        admin_url: format!("http://{admin_address}"),
        admin_token,
        prometheus_url,
        prometheus_absent,
        scratch,
    })
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<_> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The addresses in the service's start-up line, `snackdrawer is serving`.
fn serving(log: &Path) -> Result<(String, String), StartError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text.lines() {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if entry["message"] == "snackdrawer is serving" {
                let field = |name: &str| entry[name].as_str().map(str::to_owned);
                if let (Some(address), Some(admin)) = (field("address"), field("admin_address")) {
                    return Ok((address, admin));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(StartError::NotStarted {
        what: "snackdrawer",
        seconds: 30,
        log: log.to_owned(),
        tail: tail(log),
    })
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// `local.yml` with its target set to `address` (`127.0.0.1:8000` as written).
pub fn local_config_for(address: &str) -> String {
    LOCAL_CONFIG.replace(LOCAL_TARGET, &format!("\"{address}\""))
}

/// Prometheus and its URL, or, when it does not start, why in a line for the burn panel: the
/// lab then carries on and computes the burn rates itself, as without `prometheus` on the PATH.
/// The whole error, with the end of Prometheus's log, goes to the start-up output, since the
/// scratch folder that holds the log goes with the lab.
fn start_prometheus(
    binary: &Path,
    folder: &Path,
    address: &str,
) -> Result<(Supervised, String), String> {
    launch_prometheus(binary, folder, address).map_err(|error| {
        eprintln!(
            "snackdrawer-lab: {error}\nsnackdrawer-lab: the burn rates are computed in the lab"
        );
        match error {
            StartError::Exited { .. } => "`prometheus` exited as it started".to_owned(),
            StartError::NotStarted { seconds, .. } => {
                format!("`prometheus` did not listen within {seconds} s")
            }
            other => other.to_string(),
        }
    })
}

fn launch_prometheus(
    binary: &Path,
    folder: &Path,
    address: &str,
) -> Result<(Supervised, String), StartError> {
    std::fs::write(folder.join("prometheus.yml"), local_config_for(address))
        .and_then(|()| std::fs::write(folder.join("rules.yml"), RULES))
        .map_err(io("Prometheus's configuration"))?;
    let listen = free_address().map_err(io("Prometheus"))?;
    let mut command = Command::new(binary);
    command.args([
        format!("--config.file={}", folder.join("prometheus.yml").display()),
        format!("--storage.tsdb.path={}", folder.join("prometheus-data").display()),
        format!("--web.listen-address={listen}"),
        "--log.level=warn".to_owned(),
    ]);
    let log = folder.join("prometheus.log");
    let mut child = Supervised::spawn("prometheus", command, &log).map_err(io("Prometheus"))?;
    let url = format!("http://{listen}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect_timeout(&listen, Duration::from_millis(200)).is_ok() {
            return Ok((child, url));
        }
        // A bad flag or configuration ends it at once: no use waiting out the deadline.
        if !child.running() {
            return Err(StartError::Exited {
                what: "prometheus",
                log: log.clone(),
                tail: tail(&log),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(StartError::NotStarted {
        what: "prometheus",
        seconds: 30,
        log: log.clone(),
        tail: tail(&log),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_yml_names_its_target_once_and_the_lab_can_move_it() {
        assert_eq!(
            LOCAL_CONFIG.matches(LOCAL_TARGET).count(),
            1,
            "local.yml must scrape {LOCAL_TARGET}"
        );
        let moved = local_config_for("127.0.0.1:41234");
        assert!(moved.contains("\"127.0.0.1:41234\"") && !moved.contains(LOCAL_TARGET));
        assert!(LOCAL_CONFIG.contains("rules.yml"), "local.yml must load the rules");
    }

    #[test]
    fn a_prometheus_that_fails_to_start_is_a_reason_to_compute_not_an_error() {
        let folder = tempfile::tempdir().unwrap();
        let failing = on_path("false").expect("`false` on the PATH");
        // Not "did not listen within 30 s": the exit is seen at once.
        let why = start_prometheus(&failing, folder.path(), "127.0.0.1:8000").unwrap_err();
        assert_eq!(why, "`prometheus` exited as it started");
        let why =
            start_prometheus(Path::new("/nonexistent/prometheus"), folder.path(), "").unwrap_err();
        assert!(why.contains("Prometheus") && why.contains("No such file"), "{why}");
    }

    #[test]
    fn a_missing_binary_says_which_build_to_run() {
        let missing = Binaries::find(Some("/nonexistent/snackdrawer".into()), None).unwrap_err();
        assert!(missing.to_string().contains("cargo build"), "{missing}");
        assert!(missing.to_string().contains("/nonexistent/snackdrawer"), "{missing}");
    }
}
