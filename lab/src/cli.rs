//! The command line: start everything (the default) or `--attach` to a running service, what
//! load to drive, and how to show it (the terminal UI, plain text, or `--once`).

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Watch Snackdrawer live in one terminal.
///
/// Alone, it starts the release service (SQLite in a scratch folder, the admin API on loopback
/// with a token made here, traces and logs exported to the lab), snackdrawer-load with the
/// default persona mix, and Prometheus with ops/prometheus/rules.yml when `prometheus` is on the
/// PATH; everything stops when the lab does (q, Ctrl-C, a signal, or a panic). Run by
/// `cargo run --release -p snackdrawer-lab`, it builds the service and the load generator
/// first; run any other way, it takes the ones beside it (target/release) or --service-bin and
/// --load-bin.
///
/// Keys: l lazy mode on/off, f fault presets, p pause the load, / filter by route, Tab ↑↓
/// Enter open a trace, ? help, q quit. When stdout is not a terminal it prints plain text
/// snapshots instead. docs/lab.md describes every panel.
#[derive(Debug, Clone, Parser)]
#[command(name = "snackdrawer-lab", version)]
pub struct Cli {
    /// Watch the service already running at this base URL (e.g. http://127.0.0.1:8000) instead
    /// of starting one; nothing is started, so `p` has no load to pause.
    #[arg(long, value_name = "URL")]
    pub attach: Option<String>,

    /// With --attach: the admin API's base URL (faults and lazy mode), as `snackdrawer faults`
    /// takes it. Without it the faults panel stays empty and `l`/`f` say so. Ignored when the
    /// lab starts the service, which gets an admin API of its own.
    #[arg(long, env = "SNACKDRAWER_ADMIN_URL", value_name = "URL")]
    pub admin_url: Option<String>,

    /// With --attach: the admin API's bearer token (ignored otherwise, as --admin-url).
    #[arg(long, env = "SNACKDRAWER_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// With --attach: a Prometheus that evaluates ops/prometheus/rules.yml against the service,
    /// read for burn rates and alerts. Without it the lab computes them by the same formulas.
    #[arg(long, value_name = "URL", requires = "attach")]
    pub prometheus_url: Option<String>,

    /// Where the built-in OTLP/HTTP receiver listens. Default: a free loopback port when the
    /// lab starts the service (it is told), 127.0.0.1:4318 with --attach (point the service's
    /// OTEL_EXPORTER_OTLP_ENDPOINT at http://127.0.0.1:4318), or a free port when that one is
    /// taken; the traces panel names it.
    #[arg(long, value_name = "HOST:PORT")]
    pub otlp_listen: Option<SocketAddr>,

    /// The service binary. Default: `snackdrawer` beside this executable (target/release).
    #[arg(long, value_name = "PATH", conflicts_with = "attach")]
    pub service_bin: Option<PathBuf>,

    /// The load generator. Default: `snackdrawer-load` beside this executable.
    #[arg(long, value_name = "PATH", conflicts_with = "attach")]
    pub load_bin: Option<PathBuf>,

    /// Users the load generator drives (every persona, the default mix).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub users: u32,

    /// Each user's pause between steps, as snackdrawer-load's --think-time takes it.
    #[arg(long, default_value = "100ms..500ms", value_name = "RANGE")]
    pub think_time: String,

    /// Start no load generator.
    #[arg(long, conflicts_with = "attach")]
    pub no_load: bool,

    /// Start no Prometheus even if one is on the PATH: burn rates are computed in the lab.
    #[arg(long, conflicts_with = "attach")]
    pub no_prometheus: bool,

    /// Keep the scratch folder (the database and every child's log) and print where it is.
    #[arg(long, conflicts_with = "attach")]
    pub keep_scratch: bool,

    /// The golden signals' window: rates and percentiles over the last this long.
    #[arg(long, default_value = "10s", value_parser = seconds, value_name = "DURATION")]
    pub window: Duration,

    /// Traces kept for the lists and the waterfall; the oldest go first.
    #[arg(long, default_value_t = 4000, value_parser = clap::value_parser!(u64).range(10..=100_000))]
    pub keep_traces: u64,

    /// Print one plain-text snapshot after watching for --settle, then stop everything and exit.
    #[arg(long)]
    pub once: bool,

    /// With --once: how long to watch before the snapshot.
    #[arg(long, default_value = "15s", value_parser = seconds, value_name = "DURATION")]
    pub settle: Duration,

    /// When stdout is not a terminal: print a snapshot this often.
    #[arg(long, default_value = "10s", value_parser = seconds, value_name = "DURATION")]
    pub print_every: Duration,
}

/// `500ms`, `10s`, `2m`: a positive duration of at most a day.
fn seconds(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 =
        digits.parse().map_err(|_| format!("{text:?} is not a duration (try 500ms, 10s or 2m)"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number * 60),
        _ => return Err(format!("{text:?} is not a duration (try 500ms, 10s or 2m)")),
    };
    if duration.is_zero() || duration > Duration::from_secs(86_400) {
        return Err(format!("{text}: must be more than 0 and at most a day"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent_and_durations_parse() {
        Cli::command().debug_assert();
        assert_eq!(seconds("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(seconds("2m"), Ok(Duration::from_secs(120)));
        assert!(seconds("0s").is_err());
        assert!(seconds("often").is_err());
        assert!(seconds("10").is_err());
    }

    #[test]
    fn attach_options_need_attach() {
        assert!(Cli::try_parse_from(["lab", "--prometheus-url", "http://127.0.0.1:9090"]).is_err());
        let attached =
            Cli::try_parse_from(["lab", "--attach", "http://127.0.0.1:8000", "--once"]).unwrap();
        assert!(attached.once && attached.attach.is_some());
        assert!(Cli::try_parse_from(["lab", "--attach", "http://x", "--no-load"]).is_err());
    }
}
