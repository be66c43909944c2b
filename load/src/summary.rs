//! What a run comes to: per persona and transaction, and per request (route template), how many
//! there were, how many failed and their latency percentiles, taken from goose's histograms; and
//! the violations by kind, one example each. Written as JSON for machines (`--summary-json`),
//! closed by a verdict block for people, after goose's own tables.

use crate::ledger::{Tally, ViolationKind};
use goose::metrics::{GooseMetrics, GooseRequestMetricTimingData};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
pub struct Summary {
    /// Seconds the figures cover (goose's, after its ramp-up unless `--no-reset-metrics`).
    pub duration_s: usize,
    /// Transactions by persona and name; `count` is how often the transaction ran.
    pub personas: BTreeMap<String, BTreeMap<String, Figures>>,
    /// Requests by `METHOD route-template`; `count` is how many were sent.
    pub requests: BTreeMap<String, Figures>,
    pub violations: BTreeMap<ViolationKind, Tally>,
}

#[derive(Serialize)]
pub struct Figures {
    pub count: usize,
    pub failures: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
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
    pub fn new(metrics: &GooseMetrics, violations: BTreeMap<ViolationKind, Tally>) -> Self {
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
            .map(|(key, request)| {
                (
                    key.clone(),
                    Figures::new(&request.raw_data, request.success_count, request.fail_count),
                )
            })
            .collect();
        Self { duration_s: metrics.duration, personas, requests, violations }
    }

    pub fn has_violations(&self) -> bool {
        !self.violations.is_empty()
    }

    /// The closing block: the violations by kind with an example each, or "no violations".
    pub fn verdict(&self) -> String {
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
    use crate::ledger::Example;

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
        let clean = Summary::new(&GooseMetrics::default(), BTreeMap::new());
        assert!(!clean.has_violations());
        assert_eq!(clean.verdict(), "=== verdict: no violations\n");
        let example = Example { request: "GET /drawers/7".into(), response: "200 OK".into() };
        let violations = BTreeMap::from([(ViolationKind::Leak, Tally { count: 3, example })]);
        let leaky = Summary::new(&GooseMetrics::default(), violations);
        assert!(leaky.has_violations());
        assert!(leaky.verdict().contains("leak: 3\n    e.g. GET /drawers/7\n    got  200 OK"));
    }
}
