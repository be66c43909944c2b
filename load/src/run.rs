//! One run from start to verdict: check that the host answers, let goose drive the personas,
//! audit what the owners see, test the side channels, and sum it all up. Anything that stops the
//! run from telling the truth (no host, a host that is not plain HTTP or does not answer, a goose
//! usage error) is a `RunError`: exit 2. A run still going `--grace` after the end of goose's
//! plan is stopped by its watchdog (`deadline`), with what it saw so far: exit 4.
//!
//! Goose's console output gives way to the generator's own: its tables are off (as with
//! `--no-print-metrics`), and so is its reset of the statistics once every user is launched (as
//! with `--no-reset-metrics`), which wiped out the users' sign-ups, all made before it.
//! `--running-metrics N` sets the period of the live line (`progress`) instead of printing
//! goose's tables every N. Goose's info messages (a line per user launched, each phase) are off
//! as with `-q` unless `-v` asks for more.

use crate::audit::{AuditError, audit};
use crate::cli::Cli;
use crate::deadline::{self, Watchdog};
use crate::html_report::{self, ReportError};
use crate::ledger::Ledger;
use crate::personas;
use crate::progress::{self, DEFAULT_PERIOD};
use crate::summary::Summary;
use crate::transport::{Connection, Origin, OriginError};
use goose::prelude::*;
use hyper::Method;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("--host is required, e.g. --host http://127.0.0.1:8000")]
    NoHost,
    #[error(transparent)]
    Origin(#[from] OriginError),
    #[error("{host} does not answer GET /healthz with 200: {reason}")]
    Unreachable { host: String, reason: String },
    #[error(transparent)]
    Goose(#[from] GooseError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("cannot write the summary to {path}: {source}")]
    Summary { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Report(#[from] ReportError),
}

pub async fn run(mut cli: Cli) -> Result<Summary, RunError> {
    let informational = cli.goose.version || cli.goose.list || cli.goose.scenarios_list;
    let seconds = |seconds: usize| Duration::from_secs(u64::try_from(seconds.max(1)).unwrap_or(1));
    let progress_period = cli.goose.running_metrics.take().map_or(DEFAULT_PERIOD, seconds);
    let never_resets = cli.goose.iterations.unwrap_or(0) > 0 || deadline::has_test_plan(&cli.goose);
    let asks_for_detail = cli.goose.verbose > 0;
    let show_progress = !informational && !cli.goose.no_print_metrics;
    let origin = if informational {
        None
    } else {
        let host = cli.goose.host.as_deref().filter(|host| !host.is_empty());
        let host = host.ok_or(RunError::NoHost)?;
        let origin = Origin::parse(host)?;
        probe(host, &origin).await?;
        Some(origin)
    };
    let public_only = cli.only.as_deref().is_some_and(personas::is_public_step);
    let ledger = Arc::new(if public_only { Ledger::without_drawers() } else { Ledger::default() });
    let plan = origin.as_ref().and_then(|_| deadline::planned(&cli.goose));
    let html_reports = html_report::named_in(&cli.goose);
    // A report rendered from an earlier run's JSON is not this run's to judge.
    let judges_reports = cli.goose.render_report.is_none();
    let watchdog = plan.map(|plan| {
        let (ledger, summary_json) = (Arc::clone(&ledger), cli.summary_json.clone());
        Watchdog::arm(plan + cli.grace, move || {
            stop_overrun(plan, cli.grace, &ledger, summary_json.as_deref())
        })
    });
    let mut attack = GooseAttack::initialize_with_config(cli.goose)?;
    for (persona, weight) in cli.mix.weights() {
        let scenario = persona.scenario(*weight, cli.think_time, cli.only.as_deref(), &ledger)?;
        attack = attack.register_scenario(scenario);
    }
    attack = *attack
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoPrintMetrics, true)?;
    if !never_resets {
        // Goose refuses the option where it would change nothing.
        attack = *attack.set_default(GooseDefault::NoResetMetrics, true)?;
    }
    if !asks_for_detail {
        // Goose refuses -q with -v.
        attack = *attack.set_default(GooseDefault::Quiet, 1)?;
    }
    let progress =
        show_progress.then(|| tokio::spawn(progress::report(Arc::clone(&ledger), progress_period)));
    let metrics = attack.execute().await;
    if let Some(progress) = progress {
        progress.abort();
    }
    let metrics = metrics?;
    if let Some(origin) = &origin {
        audit(origin, &ledger).await?;
    }
    drop(watchdog);
    ledger.record_side_channel_leaks();
    let summary = Summary::new(&metrics, &ledger);
    if let Some(path) = cli.summary_json {
        write_summary(&summary, &path)?;
    }
    html_report::finish_files(&html_reports, judges_reports.then_some(&summary))?;
    Ok(summary)
}

fn write_summary(summary: &Summary, path: &Path) -> Result<(), RunError> {
    let json = serde_json::to_string_pretty(summary).unwrap_or_default();
    std::fs::write(path, json).map_err(|source| RunError::Summary { path: path.into(), source })
}

/// The watchdog's end of a run still going at its deadline: what the ledger holds, as the
/// verdict and the summary, then exit 4. Goose's figures come only at its own end, so the
/// summary has none.
fn stop_overrun(plan: Duration, grace: Duration, ledger: &Ledger, summary_json: Option<&Path>) {
    let reason = format!(
        "still running {} s after goose's plan of {} s ended (--grace): a step or the audit \
         never finished",
        grace.as_secs_f64(),
        plan.as_secs_f64()
    );
    eprintln!("snackdrawer-load: {reason}; stopping the run");
    ledger.record_side_channel_leaks();
    let summary = Summary::overran(ledger, reason);
    print!("{}", summary.verdict());
    let _ = std::io::stdout().flush();
    if let Some(Err(error)) = summary_json.map(|path| write_summary(&summary, path)) {
        eprintln!("snackdrawer-load: {error}");
    }
    std::process::exit(summary.exit_code().into());
}

/// Fails unless `host` answers `GET /healthz` with 200 within five seconds.
async fn probe(host: &str, origin: &Origin) -> Result<(), RunError> {
    let unreachable = |reason: String| RunError::Unreachable { host: host.to_owned(), reason };
    let mut connection = Connection::new(origin.clone(), "probe");
    let request = connection.request(Method::GET, "/healthz");
    let round_trip = connection.round_trip(request, None, Duration::from_secs(5)).await;
    match round_trip.answer {
        Ok(answer) if answer.status.is_success() => Ok(()),
        Ok(answer) => Err(unreachable(answer.status.to_string())),
        Err(error) => Err(unreachable(error.to_string())),
    }
}
