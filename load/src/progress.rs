//! A line of progress every 15 seconds while the users run: how long, how many requests, which
//! violations so far. Goose's own running statistics (`--running-metrics N`, off unless asked
//! for) print every table each time, and goose 0.19 counts that period in milliseconds while it
//! is still launching users, so with a gradual ramp-up the tables came at every launch. Someone
//! watching a long run needs a line; the tables come once at the end.

use crate::ledger::Ledger;
use crate::violation::{Tally, ViolationKind};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, interval_at};

const PERIOD: Duration = Duration::from_secs(15);

/// Prints a progress line every 15 seconds until the task is aborted.
pub async fn report(ledger: Arc<Ledger>) {
    let started = Instant::now();
    let mut ticks = interval_at(started + PERIOD, PERIOD);
    loop {
        ticks.tick().await;
        println!("{}", line(started.elapsed(), ledger.requests_sent(), &ledger.violations()));
    }
}

fn line(elapsed: Duration, requests: u64, violations: &BTreeMap<ViolationKind, Tally>) -> String {
    let seen = if violations.is_empty() {
        "none".to_owned()
    } else {
        let kinds = violations.iter().map(|(kind, tally)| format!("{kind} {}", tally.count));
        kinds.collect::<Vec<_>>().join(", ")
    };
    format!("progress: {} s, {requests} requests, violations: {seen}", elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::violation::Example;

    #[test]
    fn the_line_names_time_requests_and_violations() {
        let clean = line(Duration::from_millis(30_400), 1234, &BTreeMap::new());
        assert_eq!(clean, "progress: 30 s, 1234 requests, violations: none");
        let example = Example { request: "GET /drawers/7".into(), response: "200 OK".into() };
        let violations = BTreeMap::from([
            (ViolationKind::Leak, Tally { count: 2, example: example.clone() }),
            (ViolationKind::Contract, Tally { count: 1, example }),
        ]);
        let leaky = line(Duration::from_secs(45), 9, &violations);
        assert_eq!(leaky, "progress: 45 s, 9 requests, violations: leak 2, contract 1");
    }
}
