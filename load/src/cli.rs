//! The command line. Goose's own flags (`--host`, `--users`, `--increase-rate`, `--run-time`,
//! `--report-file`…) are flattened into ours so there is one `--help` and nothing of goose's is
//! re-implemented; we add only what goose cannot know: which personas to run (`--mix`), how long
//! they think between steps (`--think-time`), how long past its plan a run may go on (`--grace`)
//! and where the JSON summary goes. The mix and the durations are parsed here, with messages
//! that say what was expected, so bad usage stops with exit 2 before a single request is sent.
//!
//! Goose's live web dashboard (its "Dashboard" options) is left out: hidden from `--help`, and
//! `--dashboard` refused with a message saying what to use instead. Goose builds it only with
//! its `dashboard` feature, and the generator does not enable it: after a run with a page still
//! open, goose waits for Ctrl-C instead of returning, so the audit and the verdict would never
//! come (the watchdog would stop the run, exit 4), and `--dashboard-control` starts more runs in
//! one process, which the ledger and the audit are not made for. The live line and the stack's
//! Grafana show a run as it goes; `--report-file report.html` keeps goose's charts.

use crate::personas::{Persona, ThinkTime};
use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser};
use goose::config::GooseConfiguration;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The heading goose files its dashboard's options under.
const DASHBOARD: &str = "Dashboard";

/// Every goose option, plus the generator's own.
#[derive(Parser)]
#[command(
    name = "snackdrawer-load",
    about = "Load generator for Snackdrawer: users that behave like people, some of them badly. \
             Exits 0 when the run saw no violation, 1 when it saw any, 2 on usage or connection \
             errors, 3 when most users never got going (sign-ups or logins failed), 4 when the \
             run was still going --grace after goose's plan ended and the generator stopped it."
)]
pub struct Cli {
    #[command(flatten)]
    pub goose: GooseConfiguration,

    /// Share of users per persona, `persona=weight,…` (snacker, nosy, kiddie, impatient); a
    /// persona left out runs no user.
    #[arg(
        long,
        value_name = "MIX",
        default_value = "snacker=70,nosy=15,kiddie=10,impatient=5",
        value_parser = Mix::parse
    )]
    pub mix: Mix,

    /// Pause after each step of a user, `MIN..MAX` or one duration (`500ms`, `2s`); `0` for a
    /// stress run.
    #[arg(long, value_name = "RANGE", default_value = "1s..3s", value_parser = parse_think_time)]
    pub think_time: ThinkTime,

    /// Run only the step of this name in each persona (`GET /snacks/`), for a stress run on one
    /// route. A persona keeps its sign-up only if the step needs an account.
    #[arg(long, value_name = "STEP")]
    pub only: Option<String>,

    /// How long past the end of goose's plan (ramp-up, run time, ramp-down) the run may take to
    /// stop its users and audit the drawers: past it the generator stops the run itself, reports
    /// what it saw and exits 4.
    #[arg(long, value_name = "TIME", default_value = "2m", value_parser = parse_duration)]
    pub grace: Duration,

    /// Write requests, failures and latency percentiles per persona and transaction, and the
    /// violations with one example each, to this file as JSON.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

/// The command line, or the usage error (exit 2) it is.
pub fn parse() -> Cli {
    try_parse_from(std::env::args_os()).unwrap_or_else(|error| error.exit())
}

/// `arguments` as the command line, with goose's dashboard hidden and `--dashboard` refused.
pub fn try_parse_from(
    arguments: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<Cli, clap::Error> {
    let mut command = command();
    let cli = Cli::from_arg_matches(&command.try_get_matches_from_mut(arguments)?)?;
    if cli.goose.dashboard {
        let refusal = "--dashboard: goose's web dashboard is not built into snackdrawer-load \
                       (see docs/load.md); the progress lines show the run as it goes, and \
                       --report-file report.html keeps goose's charts";
        return Err(command.error(ErrorKind::UnknownArgument, refusal));
    }
    Ok(cli)
}

/// The command with goose's dashboard options out of `--help`.
fn command() -> clap::Command {
    Cli::command().mut_args(|arg| {
        if arg.get_help_heading() == Some(DASHBOARD) { arg.hide(true) } else { arg }
    })
}

/// Persona weights in the order given; every weight is at least 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix(Vec<(Persona, usize)>);

impl Mix {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries: Vec<(Persona, usize)> = Vec::new();
        for entry in text.split(',').map(str::trim) {
            let (name, weight) = entry
                .split_once('=')
                .ok_or_else(|| format!("`{entry}` is not `persona=weight`"))?;
            let persona = Persona::from_name(name.trim()).ok_or_else(|| {
                format!("unknown persona `{name}`; expected snacker, nosy, kiddie or impatient")
            })?;
            let weight: usize = weight.trim().parse().map_err(|_| {
                format!("the weight of {name} must be a whole number, not `{weight}`")
            })?;
            if entries.iter().any(|(seen, _)| *seen == persona) {
                return Err(format!("{name} is given twice"));
            }
            if weight > 0 {
                entries.push((persona, weight));
            }
        }
        if entries.is_empty() {
            return Err("the mix runs no persona: give at least one weight above 0".into());
        }
        Ok(Self(entries))
    }

    pub fn weights(&self) -> &[(Persona, usize)] {
        &self.0
    }
}

/// `MIN..MAX`, or one duration for a fixed pause.
fn parse_think_time(text: &str) -> Result<ThinkTime, String> {
    let (min, max) = match text.split_once("..") {
        Some((min, max)) => (parse_duration(min)?, parse_duration(max)?),
        None => {
            let fixed = parse_duration(text)?;
            (fixed, fixed)
        }
    };
    if min > max {
        return Err(format!("`{text}`: the minimum is above the maximum"));
    }
    Ok(ThinkTime { min, max })
}

/// `0`, `250ms`, `2s` or `1m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 500ms, 2s or 1m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        "" if number == 0 => Ok(Duration::ZERO),
        _ => Err(format!("`{text}` needs a unit: ms, s or m")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mix_runs_every_persona_in_order() {
        let mix = Mix::parse("snacker=70,nosy=15,kiddie=10,impatient=5").unwrap();
        assert_eq!(
            mix.weights(),
            [
                (Persona::Snacker, 70),
                (Persona::Nosy, 15),
                (Persona::Kiddie, 10),
                (Persona::Impatient, 5)
            ]
        );
    }

    #[test]
    fn a_zero_weight_leaves_the_persona_out() {
        let mix = Mix::parse("snacker=1, nosy=0").unwrap();
        assert_eq!(mix.weights(), [(Persona::Snacker, 1)]);
    }

    /// Each text is refused with an error that contains its message.
    fn assert_refused<T: std::fmt::Debug>(
        parse: fn(&str) -> Result<T, String>,
        cases: &[(&str, &str)],
    ) {
        for (text, message) in cases {
            let error = parse(text).unwrap_err();
            assert!(error.contains(message), "{text}: {error}");
        }
    }

    #[test]
    fn bad_mixes_say_what_is_wrong() {
        let cases = [
            ("snacker", "is not `persona=weight`"),
            ("hacker=3", "unknown persona `hacker`"),
            ("nosy=many", "must be a whole number"),
            ("nosy=1,nosy=2", "given twice"),
            ("nosy=0", "runs no persona"),
        ];
        assert_refused(Mix::parse, &cases);
    }

    #[test]
    fn think_time_is_a_range_a_fixed_pause_or_zero() {
        let range = parse_think_time("1s..3s").unwrap();
        assert_eq!((range.min, range.max), (Duration::from_secs(1), Duration::from_secs(3)));
        let fixed = parse_think_time("250ms").unwrap();
        assert_eq!(
            (fixed.min, fixed.max),
            (Duration::from_millis(250), Duration::from_millis(250))
        );
        assert_eq!(parse_think_time("0").unwrap().max, Duration::ZERO);
    }

    #[test]
    fn bad_think_times_say_what_is_wrong() {
        let cases = [
            ("3s..1s", "minimum is above the maximum"),
            ("5", "needs a unit"),
            ("fast", "is not a duration"),
            ("1h", "needs a unit"),
        ];
        assert_refused(parse_think_time, &cases);
    }

    #[test]
    fn goose_flags_and_ours_parse_together() {
        let cli = Cli::try_parse_from([
            "snackdrawer-load",
            "--host",
            "http://127.0.0.1:8000",
            "--users",
            "4",
            "--run-time",
            "10s",
            "--mix",
            "kiddie=1",
            "--think-time",
            "0",
            "--grace",
            "30s",
        ])
        .unwrap();
        assert_eq!(cli.goose.users, Some(4));
        assert_eq!(cli.mix.weights(), [(Persona::Kiddie, 1)]);
        assert_eq!(cli.think_time.max, Duration::ZERO);
        assert_eq!(cli.grace, Duration::from_secs(30));
        let defaults = Cli::try_parse_from(["snackdrawer-load"]).unwrap();
        assert_eq!(defaults.grace, Duration::from_secs(120));
    }

    #[test]
    fn usage_errors_are_reported_as_such() {
        let error = try_parse_from(["snackdrawer-load", "--mix", "x=1"]).err().unwrap();
        assert_eq!(error.exit_code(), 2);
    }

    #[test]
    fn goose_s_dashboard_is_neither_offered_nor_accepted() {
        let help = command().render_long_help().to_string();
        let offered = help.lines().map(str::trim_start);
        let dashboard: Vec<&str> = offered.filter(|line| line.starts_with("--dashboard")).collect();
        assert_eq!(dashboard, Vec::<&str>::new(), "{help}");
        assert!(!help.contains(&format!("{DASHBOARD}:")), "{help}");
        assert!(help.contains("--report-file"), "{help}");
        let error = try_parse_from(["snackdrawer-load", "--dashboard"]).err().unwrap();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("--report-file report.html"), "{error}");
    }
}
