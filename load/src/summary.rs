//! What a run comes to: per persona and transaction, and per request (route template), how many
//! there were, how many failed and their latency percentiles, taken from goose's histograms; the
//! violations by kind, one example each; how the users got going, the side-channel tests, how
//! many answers carried injected faults, and why the generator stopped the run, if it did.
//! Written as JSON for machines (`--summary-json`), shown to people verdict first (`report`), and
//! turned into the exit code.

use crate::ledger::Ledger;
use crate::side_channel;
use crate::start_up::StartUp;
use crate::violation::{Tally, ViolationKind};
use goose::metrics::{GooseMetrics, GooseRequestMetricAggregate, GooseRequestMetricTimingData};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
pub struct Summary {
    /// Seconds the figures cover: the whole run, ramp-up included (goose's reset of its
    /// statistics once every user is launched is off, so the users' sign-ups count).
    pub duration_s: usize,
    /// Transactions by persona and name; `count` is how often the transaction ran.
    pub personas: BTreeMap<String, BTreeMap<String, Figures>>,
    /// Requests by `METHOD route-template`; `count` is how many were sent.
    pub requests: BTreeMap<String, RequestFigures>,
    pub violations: BTreeMap<ViolationKind, Tally>,
    /// Why the run checked too little to pass, if most users never got going.
    pub stalled: Option<String>,
    /// Why the generator stopped the run itself, if it was still going at its deadline; goose's
    /// figures (`personas`, `requests`, `duration_s`) are then empty.
    pub overran: Option<String>,
    pub start_up: StartUp,
    pub side_channels: side_channel::Report,
    /// Answers the service marked `x-fault-injected: true`: counted, never judged.
    pub fault_injected: u64,
}

/// The run saw a violation.
const EXIT_VIOLATIONS: u8 = 1;
/// Most users never got going, so the run checked too little to pass.
const EXIT_STALLED: u8 = 3;
/// The run was still going at its deadline, and the generator stopped it.
const EXIT_OVERRAN: u8 = 4;

#[derive(Serialize)]
pub struct Figures {
    pub count: usize,
    pub failures: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// A request's figures, and how many answers had each status (`no answer` when none came).
#[derive(Serialize)]
pub struct RequestFigures {
    #[serde(flatten)]
    pub figures: Figures,
    pub statuses: BTreeMap<String, usize>,
}

impl RequestFigures {
    fn new(request: &GooseRequestMetricAggregate) -> Self {
        let figures = Figures::new(&request.raw_data, request.success_count, request.fail_count);
        let status = |code: u16| match code {
            0 => "no answer".to_owned(),
            code => code.to_string(),
        };
        let statuses =
            request.status_code_counts.iter().map(|(code, count)| (status(*code), *count));
        Self { figures, statuses: statuses.collect() }
    }
}

impl Figures {
    fn new(timing: &GooseRequestMetricTimingData, successes: usize, failures: usize) -> Self {
        let milliseconds = |percent: f32| timing.percentile_us(percent) as f64 / 1000.0;
        Self {
            count: successes + failures,
            failures,
            p50_ms: milliseconds(0.50),
            p95_ms: milliseconds(0.95),
            p99_ms: milliseconds(0.99),
        }
    }
}

impl Summary {
    pub fn new(metrics: &GooseMetrics, ledger: &Ledger) -> Self {
        let mut personas: BTreeMap<String, BTreeMap<String, Figures>> = BTreeMap::new();
        for transaction in metrics.transactions.iter().flatten() {
            let figures = Figures::new(
                &transaction.run_times,
                transaction.success_count,
                transaction.fail_count,
            );
            let persona = personas.entry(transaction.scenario_name.to_string()).or_default();
            persona.insert(transaction.transaction_name.name_for_transaction().to_owned(), figures);
        }
        let requests = metrics
            .requests
            .iter()
            .map(|(key, request)| (key.clone(), RequestFigures::new(request)))
            .collect();
        let start_up = ledger.start_up();
        Self {
            duration_s: metrics.duration,
            personas,
            requests,
            violations: ledger.violations(),
            stalled: start_up.stalled(),
            overran: None,
            start_up,
            side_channels: ledger.side_channels(),
            fault_injected: ledger.faults_injected(),
        }
    }

    /// What the ledger holds of a run stopped at its deadline, for `reason`: goose hands over
    /// its figures only at the end.
    pub fn overran(ledger: &Ledger, reason: String) -> Self {
        Self { overran: Some(reason), ..Self::new(&GooseMetrics::default(), ledger) }
    }

    pub fn has_violations(&self) -> bool {
        !self.violations.is_empty()
    }

    /// 0 for a clean run, 1 for violations, 3 for a run whose users mostly never got going, 4
    /// for a run stopped at its deadline, whatever it saw: it did not finish.
    pub fn exit_code(&self) -> u8 {
        match (self.overran.is_some(), self.has_violations(), &self.stalled) {
            (true, _, _) => EXIT_OVERRAN,
            (false, true, _) => EXIT_VIOLATIONS,
            (false, false, Some(_)) => EXIT_STALLED,
            (false, false, None) => 0,
        }
    }

    /// The closing block: the violations by kind with an example each, or "no violations"; then
    /// the answers that carried injected faults, why the run stalled, if it did, and why it was
    /// stopped, if it was.
    pub fn verdict(&self) -> String {
        let mut text = self.violations_block();
        if self.fault_injected > 0 {
            text.push_str(&format!(
                "=== answers carrying injected faults (x-fault-injected, not judged): {}\n",
                self.fault_injected
            ));
        }
        if let Some(reason) = &self.stalled {
            text.push_str(&format!("=== the run never got going: {reason}\n"));
        }
        if let Some(reason) = &self.overran {
            text.push_str(&format!("=== the run was stopped: {reason}\n"));
        }
        text
    }

    fn violations_block(&self) -> String {
        if !self.has_violations() {
            return "=== verdict: no violations\n".to_owned();
        }
        let mut text = String::from("=== verdict: violations by kind\n");
        for (kind, tally) in &self.violations {
            let indent = |block: &str| block.replace('\n', "\n      ");
            text.push_str(&format!(
                "  {kind}: {}\n    e.g. {}\n    got  {}\n",
                tally.count,
                indent(&tally.example.request),
                indent(&tally.example.response)
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::start_up::Outcome;
    use crate::violation::Example;

    #[test]
    fn percentiles_come_from_goose_histograms_in_milliseconds() {
        let timing = GooseRequestMetricTimingData {
            times_us: [(1_000, 98), (40_000, 2)].into_iter().collect(),
            minimum_time_us: 1_000,
            maximum_time_us: 40_000,
            counter: 100,
            ..Default::default()
        };
        let figures = Figures::new(&timing, 97, 3);
        assert_eq!((figures.count, figures.failures), (100, 3));
        // Goose's buckets are within 0.78 % of the time they stand for.
        assert!((figures.p50_ms - 1.0).abs() < 0.01, "{}", figures.p50_ms);
        assert!((figures.p99_ms - 40.0).abs() < 0.4, "{}", figures.p99_ms);
    }

    #[test]
    fn the_verdict_names_each_kind_with_its_example() {
        let ledger = Ledger::default();
        let clean = Summary::new(&GooseMetrics::default(), &ledger);
        assert_eq!(clean.exit_code(), 0);
        assert_eq!(clean.verdict(), "=== verdict: no violations\n");
        for _ in 0..3 {
            let example = Example { request: "GET /drawers/7".into(), response: "200 OK".into() };
            ledger.record(ViolationKind::Leak, example);
        }
        let leaky = Summary::new(&GooseMetrics::default(), &ledger);
        assert_eq!(leaky.exit_code(), 1);
        assert!(leaky.verdict().contains("leak: 3\n    e.g. GET /drawers/7\n    got  200 OK"));
    }

    #[test]
    fn a_stalled_run_exits_3_with_its_reason_and_faults_are_counted_apart() {
        let ledger = Ledger::default();
        for _ in 0..4 {
            ledger.begin_sign_up();
            ledger.end_sign_up(Outcome::Failed(Some(503)));
        }
        ledger.note_fault_injected();
        let stalled = Summary::new(&GooseMetrics::default(), &ledger);
        assert_eq!(stalled.exit_code(), 3);
        let verdict = stalled.verdict();
        assert!(verdict.starts_with("=== verdict: no violations\n"), "{verdict}");
        assert!(verdict.contains("not judged): 1\n"), "{verdict}");
        assert!(verdict.contains("never got going: 4 of 4 users never got going (4 × 503)"));
    }

    #[test]
    fn a_run_stopped_at_its_deadline_exits_4_whatever_it_saw() {
        let ledger = Ledger::default();
        let example = Example { request: "GET /drawers/7".into(), response: "200 OK".into() };
        ledger.record(ViolationKind::Leak, example);
        let stopped = Summary::overran(&ledger, "still going".into());
        assert_eq!(stopped.exit_code(), 4);
        let verdict = stopped.verdict();
        assert!(verdict.contains("leak: 1"), "{verdict}");
        assert!(verdict.ends_with("=== the run was stopped: still going\n"), "{verdict}");
    }
}
