//! The live view: one line per interval while the users run, what someone watching a long run
//! needs: how long, how many users have started, how many requests (and how many a second since
//! the last line), how many failed, the p99 time to the answers' headers since the last line, and
//! which violations so far. Every 15 seconds unless goose's `--running-metrics N` asks for every
//! N: the generator takes that option over, as goose's own running metrics print every table
//! each time (about 130 lines), and goose 0.19 counts N in milliseconds while it is still
//! launching users. The tables come once, at the end, after the verdict (`report`).

use crate::ledger::Ledger;
use crate::traffic::Reading;
use crate::violation::{Tally, ViolationKind};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, interval_at};

/// The interval without `--running-metrics`.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(15);

/// Prints a line every `period` until the task is aborted.
pub async fn report(ledger: Arc<Ledger>, period: Duration) {
    let started = Instant::now();
    let mut ticks = interval_at(started + period, period);
    let (mut last_tick, mut last_requests) = (started, 0);
    loop {
        let tick = ticks.tick().await;
        let reading = ledger.traffic().read();
        let since_last =
            Interval { requests: reading.requests - last_requests, took: tick - last_tick };
        println!("{}", line(started.elapsed(), &reading, since_last, &ledger.violations()));
        (last_tick, last_requests) = (tick, reading.requests);
    }
}

/// The requests since the last line, and how long that was.
#[derive(Clone, Copy)]
struct Interval {
    requests: u64,
    took: Duration,
}

fn line(
    elapsed: Duration,
    reading: &Reading,
    since_last: Interval,
    violations: &BTreeMap<ViolationKind, Tally>,
) -> String {
    let rate = since_last.requests as f64 / since_last.took.as_secs_f64().max(f64::EPSILON);
    let p99 = reading
        .recent_p99
        .map_or_else(|| "-".to_owned(), |p99| format!("{:.1} ms", p99.as_secs_f64() * 1000.0));
    let seen = if violations.is_empty() {
        "none".to_owned()
    } else {
        let kinds = violations.iter().map(|(kind, tally)| format!("{kind} {}", tally.count));
        kinds.collect::<Vec<_>>().join(", ")
    };
    format!(
        "progress {} s: {} users, {} requests ({rate:.0}/s), {} failed, p99 {p99}; violations: \
         {seen}",
        elapsed.as_secs(),
        reading.users,
        reading.requests,
        reading.failures,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::violation::Example;

    #[test]
    fn one_line_names_time_users_requests_rate_failures_p99_and_violations() {
        let reading = Reading {
            users: 20,
            requests: 4517,
            failures: 12,
            recent_p99: Some(Duration::from_micros(8_437)),
        };
        let interval = Interval { requests: 4515, took: Duration::from_secs(15) };
        let clean = line(Duration::from_millis(15_400), &reading, interval, &BTreeMap::new());
        assert_eq!(
            clean,
            "progress 15 s: 20 users, 4517 requests (301/s), 12 failed, p99 8.4 ms; violations: \
             none"
        );
        let example = Example { request: "GET /drawers/7".into(), response: "200 OK".into() };
        let violations = BTreeMap::from([
            (ViolationKind::Leak, Tally { count: 2, example: example.clone() }),
            (ViolationKind::Contract, Tally { count: 1, example }),
        ]);
        let quiet = Reading { recent_p99: None, ..reading };
        let idle = Interval { requests: 0, took: Duration::from_secs(15) };
        let leaky = line(Duration::from_secs(45), &quiet, idle, &violations);
        assert!(
            leaky.ends_with("(0/s), 12 failed, p99 -; violations: leak 2, contract 1"),
            "{leaky}"
        );
        assert!(!leaky.contains('\n'), "{leaky}");
    }
}
