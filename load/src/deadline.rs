//! The run's hard deadline: the end of goose's plan (ramp-up, `--run-time`, ramp-down, or a
//! `--test-plan`) plus `--grace`. Goose ends a run only once every user has finished its step,
//! the audit comes after that, and goose keeps time with tokio's timers, which stop firing when
//! something holds every worker thread (issue 21: a run of 5 s went on for 36 minutes). So the
//! deadline is kept by a watchdog on a thread of its own, outside tokio, which stops the process
//! itself when the run is still going: the run then reports what it has and exits 4. A run
//! with no planned end (no `--run-time`: until Ctrl-C, or `--iterations`) has no deadline.

use goose::config::GooseConfiguration;
use goose::util::{parse_rate, parse_timespan};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long goose's plan lasts, as goose builds it from its options; `None` when it has no end.
pub fn planned(goose: &GooseConfiguration) -> Option<Duration> {
    if let Some(steps) = test_plan_milliseconds(goose) {
        return Some(Duration::from_millis(steps));
    }
    let seconds = |span: &Option<String>| span.as_deref().and_then(parse_timespan).unwrap_or(0);
    let run_time = seconds(&goose.run_time);
    if run_time == 0 {
        return None;
    }
    let users = goose.users.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    // Users at a rate take users / rate seconds to start, and as many to stop.
    let at_rate = |rate: &Option<String>| users as f64 / f64::from(parse_rate(rate.clone()));
    let up = match seconds(&goose.increase_time) {
        0 => at_rate(&goose.increase_rate),
        time => time as f64,
    };
    let down = match seconds(&goose.decrease_time) {
        0 if goose.decrease_rate.is_some() => at_rate(&goose.decrease_rate),
        time => time as f64,
    };
    Some(Duration::from_secs_f64(up + run_time as f64 + down))
}

/// Whether goose follows a `--test-plan`, which sets its own users and never resets its
/// statistics.
pub fn has_test_plan(goose: &GooseConfiguration) -> bool {
    test_plan_milliseconds(goose).is_some()
}

/// The total of a `--test-plan`'s steps. Goose keeps the parsed plan to itself, but serialises
/// it with the rest of its configuration: `{"steps": [[users, milliseconds], …]}`.
fn test_plan_milliseconds(goose: &GooseConfiguration) -> Option<u64> {
    let configuration = serde_json::to_value(goose).ok()?;
    let steps = configuration.pointer("/test_plan/steps")?.as_array()?;
    Some(steps.iter().filter_map(|step| step.get(1)?.as_u64()).sum())
}

/// A thread that runs `overrun` once its time has passed, unless dropped first.
pub struct Watchdog {
    disarm: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Runs `overrun` in `after` from now; it is to end the process.
    pub fn arm(after: Duration, overrun: impl FnOnce() + Send + 'static) -> Self {
        let (disarm, disarmed) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if disarmed.recv_timeout(after) == Err(RecvTimeoutError::Timeout) {
                overrun();
            }
        });
        Self { disarm: Some(disarm), thread: Some(thread) }
    }
}

impl Drop for Watchdog {
    /// The run is over in time: the watchdog ends without acting. Had it begun to act, this
    /// waits for it, and it ends the process.
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn planned_for(options: &[&str]) -> Option<Duration> {
        let arguments = ["snackdrawer-load"].iter().chain(options);
        planned(&Cli::try_parse_from(arguments).unwrap().goose)
    }

    #[test]
    fn the_plan_is_ramp_up_run_time_and_ramp_down() {
        let seconds = |options: &[&str]| planned_for(options).map(|plan| plan.as_secs_f64());
        assert_eq!(seconds(&["-u", "4", "-r", "4", "-t", "5s"]), Some(6.0));
        assert_eq!(seconds(&["-u", "20", "-r", "5", "-t", "1m"]), Some(64.0));
        assert_eq!(seconds(&["-u", "3", "-t", "10s"]), Some(13.0));
        assert_eq!(
            seconds(&["-u", "10", "-s", "30s", "-t", "1m", "--decrease-time", "15s"]),
            Some(105.0)
        );
        assert_eq!(
            seconds(&["-u", "10", "-r", "10", "-t", "1m", "--decrease-rate", "2"]),
            Some(66.0)
        );
        assert_eq!(seconds(&["--test-plan", "10,1m;10,5m;0,30s"]), Some(390.0));
    }

    #[test]
    fn a_test_plan_is_recognised() {
        let goose = |options: &[&str]| {
            Cli::try_parse_from(["snackdrawer-load"].iter().chain(options)).unwrap().goose
        };
        assert!(has_test_plan(&goose(&["--test-plan", "10,1m;0,30s"])));
        assert!(!has_test_plan(&goose(&["-u", "4", "-t", "10s"])));
    }

    #[test]
    fn a_run_without_run_time_has_no_planned_end() {
        assert_eq!(planned_for(&["-u", "4"]), None);
        assert_eq!(planned_for(&["-u", "4", "--iterations", "10"]), None);
        assert_eq!(planned_for(&["-u", "4", "-t", "0"]), None);
    }

    #[test]
    fn the_watchdog_acts_after_its_time_unless_disarmed() {
        let (fired, fired_rx) = mpsc::channel();
        let armed = Watchdog::arm(Duration::from_millis(10), move || fired.send(()).unwrap());
        assert_eq!(fired_rx.recv_timeout(Duration::from_secs(60)), Ok(()));
        drop(armed);

        let acted = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&acted);
        let watchdog =
            Watchdog::arm(Duration::from_millis(100), move || flag.store(true, Ordering::SeqCst));
        drop(watchdog);
        // Dropping it joined its thread: it can no longer act.
        assert!(!acted.load(Ordering::SeqCst));
    }
}
