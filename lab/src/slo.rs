//! The two service-level objectives and their burn-rate alerts, as `ops/prometheus/rules.yml`
//! defines them, for when no Prometheus runs: the same ratios over the same windows, taken
//! from the lab's own history of readings, and the same alert conditions. Each alert can write
//! itself as the PromQL of rules.yml, and a test holds the two to each other, so they cannot
//! drift apart unnoticed.

use crate::golden::increase;
use crate::scrape::SloTotals;
use std::collections::VecDeque;

/// The windows rules.yml records a ratio for, shortest first, with their seconds.
pub const WINDOWS: [(&str, f64); 7] = [
    ("5m", 300.0),
    ("30m", 1800.0),
    ("1h", 3600.0),
    ("2h", 7200.0),
    ("6h", 21600.0),
    ("1d", 86400.0),
    ("3d", 259_200.0),
];

/// The windows the screen shows a burn rate for: the fast pages' four.
pub const SHOWN_WINDOWS: [&str; 4] = ["5m", "30m", "1h", "6h"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// 99.9 % of requests answer without a 5xx.
    Availability,
    /// 99 % of requests are answered within 250 ms.
    Latency,
}

impl Objective {
    pub const BOTH: [Objective; 2] = [Objective::Availability, Objective::Latency];

    pub fn name(self) -> &'static str {
        match self {
            Objective::Availability => "availability",
            Objective::Latency => "latency",
        }
    }

    /// The share of requests the objective allows to miss it.
    pub fn budget(self) -> f64 {
        match self {
            Objective::Availability => 0.001,
            Objective::Latency => 0.01,
        }
    }

    /// The recording rules' name before `:ratio_rate<window>`.
    pub fn record(self) -> &'static str {
        match self {
            Objective::Availability => "snackdrawer:http_request_errors",
            Objective::Latency => "snackdrawer:http_request_slow",
        }
    }

    /// The share of `requests` that missed the objective.
    fn missed(self, delta: SloTotals) -> Option<f64> {
        (delta.requests > 0.0).then(|| match self {
            Objective::Availability => delta.server_errors / delta.requests,
            Objective::Latency => 1.0 - delta.fast / delta.requests,
        })
    }
}

/// One half of a burn alert: the budget burns `factor` times over both windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub long: &'static str,
    pub short: &'static str,
    pub factor: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnAlert {
    pub name: &'static str,
    pub objective: Objective,
    /// `page` or `ticket`.
    pub severity: &'static str,
    pub conditions: [Condition; 2],
}

const FAST: [Condition; 2] = [
    Condition { long: "1h", short: "5m", factor: 14.4 },
    Condition { long: "6h", short: "30m", factor: 6.0 },
];
const SLOW: [Condition; 2] = [
    Condition { long: "1d", short: "2h", factor: 3.0 },
    Condition { long: "3d", short: "6h", factor: 1.0 },
];

pub const ALERTS: [BurnAlert; 4] = [
    BurnAlert {
        name: "SnackdrawerErrorBudgetBurnFast",
        objective: Objective::Availability,
        severity: "page",
        conditions: FAST,
    },
    BurnAlert {
        name: "SnackdrawerErrorBudgetBurnSlow",
        objective: Objective::Availability,
        severity: "ticket",
        conditions: SLOW,
    },
    BurnAlert {
        name: "SnackdrawerLatencyBudgetBurnFast",
        objective: Objective::Latency,
        severity: "page",
        conditions: FAST,
    },
    BurnAlert {
        name: "SnackdrawerLatencyBudgetBurnSlow",
        objective: Objective::Latency,
        severity: "ticket",
        conditions: SLOW,
    },
];

impl BurnAlert {
    /// Whether it fires, given each window's missed share (`None`: no requests, as PromQL's
    /// empty result, which compares false).
    pub fn fires(&self, ratio: impl Fn(&str) -> Option<f64>) -> bool {
        let threshold = |factor: f64| factor * self.objective.budget();
        self.conditions.iter().any(|c| {
            let over = |window| ratio(window).is_some_and(|r| r > threshold(c.factor));
            over(c.long) && over(c.short)
        })
    }

    /// The alert's expression as rules.yml writes it.
    pub fn promql(&self) -> String {
        let budget = self.objective.budget();
        let part = |c: &Condition| {
            let limit = if c.factor == 1.0 {
                format!("{budget}")
            } else {
                format!("{} * {budget}", c.factor)
            };
            let record = self.objective.record();
            format!(
                "({record}:ratio_rate{} > {limit} and {record}:ratio_rate{} > {limit})",
                c.long, c.short
            )
        };
        format!("{}\nor\n{}", part(&self.conditions[0]), part(&self.conditions[1]))
    }
}

/// Readings of the SLO totals over time, a counter reset counted from zero: every reading of
/// the last two hours, and one a minute for the three days the longest window needs.
#[derive(Debug, Default)]
pub struct History {
    recent: VecDeque<(f64, SloTotals)>,
    coarse: VecDeque<(f64, SloTotals)>,
    last_raw: Option<SloTotals>,
}

const RECENT_SECONDS: f64 = 7200.0;
const COARSE_STEP: f64 = 60.0;
const COARSE_SECONDS: f64 = 259_200.0 + 3600.0;

impl History {
    /// Adds the reading `raw` taken at `at` seconds.
    pub fn push(&mut self, at: f64, raw: SloTotals) {
        let accumulated = match (self.last_raw, self.recent.back()) {
            (Some(last), Some(&(_, sum))) => SloTotals {
                requests: sum.requests + increase(last.requests, raw.requests),
                server_errors: sum.server_errors + increase(last.server_errors, raw.server_errors),
                fast: sum.fast + increase(last.fast, raw.fast),
            },
            _ => SloTotals::default(),
        };
        self.last_raw = Some(raw);
        self.recent.push_back((at, accumulated));
        if self.coarse.back().is_none_or(|&(t, _)| at - t >= COARSE_STEP) {
            self.coarse.push_back((at, accumulated));
        }
        while self.recent.front().is_some_and(|&(t, _)| at - t > RECENT_SECONDS) {
            self.recent.pop_front();
        }
        while self.coarse.front().is_some_and(|&(t, _)| at - t > COARSE_SECONDS) {
            self.coarse.pop_front();
        }
    }

    /// The share of requests that missed `objective` over the last `window` seconds (or over
    /// all the history there is, when shorter, as Prometheus's `rate` does); `None` without
    /// two readings or without requests.
    pub fn ratio(&self, objective: Objective, window: f64) -> Option<f64> {
        let readings = if window <= RECENT_SECONDS { &self.recent } else { &self.coarse };
        let &(now, last) = self.recent.back()?;
        let &(_, first) = readings.iter().find(|(t, _)| now - t <= window)?;
        let delta = SloTotals {
            requests: last.requests - first.requests,
            server_errors: last.server_errors - first.server_errors,
            fast: last.fast - first.fast,
        };
        if self.recent.len() < 2 {
            return None;
        }
        objective.missed(delta)
    }

    /// `ratio` for a window named as in rules.yml (`5m`).
    pub fn ratio_named(&self, objective: Objective, window: &str) -> Option<f64> {
        let seconds = WINDOWS.iter().find(|(name, _)| *name == window)?.1;
        self.ratio(objective, seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = include_str!("../../ops/prometheus/rules.yml");

    fn normalised(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Whether rules.yml holds `expr`, whitespace aside.
    fn rules_hold(expr: &str) -> bool {
        normalised(RULES).contains(&normalised(expr))
    }

    #[test]
    fn every_alert_is_the_one_rules_yml_defines() {
        for alert in ALERTS {
            assert!(
                rules_hold(&format!("alert: {}", alert.name)),
                "{} not in rules.yml",
                alert.name
            );
            assert!(
                rules_hold(&alert.promql()),
                "{} differs from rules.yml:\n{}",
                alert.name,
                alert.promql()
            );
            assert!(rules_hold(&format!("severity: {}", alert.severity)));
        }
        for objective in Objective::BOTH {
            for (window, _) in WINDOWS {
                let record = format!("record: {}:ratio_rate{window}", objective.record());
                assert!(rules_hold(&record), "{record} not in rules.yml");
            }
        }
    }

    #[test]
    fn a_planted_wrong_rule_is_not_found_in_rules_yml() {
        let mut planted = ALERTS[0];
        planted.conditions[0].factor = 14.0;
        assert!(!rules_hold(&planted.promql()));
        planted = ALERTS[0];
        planted.conditions[1].short = "1h";
        assert!(!rules_hold(&planted.promql()));
    }

    fn totals(requests: f64, server_errors: f64, fast: f64) -> SloTotals {
        SloTotals { requests, server_errors, fast }
    }

    #[test]
    fn ratios_cover_the_window_or_all_the_history_there_is() {
        let mut history = History::default();
        // 100 requests a second, healthy for 600 s, then 10 % of 5xx and 30 % slow for 60 s.
        for second in 0..=600 {
            let n = f64::from(second) * 100.0;
            history.push(f64::from(second), totals(n, 0.0, n));
        }
        for second in 601..=660 {
            let lazy = f64::from(second - 600) * 100.0;
            let n = 60_000.0 + lazy;
            history.push(f64::from(second), totals(n, lazy * 0.1, 60_000.0 + lazy * 0.7));
        }
        let five_minutes = history.ratio_named(Objective::Availability, "5m").unwrap();
        assert!((five_minutes - 600.0 / 30_000.0).abs() < 1e-9, "{five_minutes}");
        // One hour: all 660 s there are.
        let hour = history.ratio_named(Objective::Availability, "1h").unwrap();
        assert!((hour - 600.0 / 66_000.0).abs() < 1e-9, "{hour}");
        let slow = history.ratio_named(Objective::Latency, "5m").unwrap();
        assert!((slow - 1800.0 / 30_000.0).abs() < 1e-9, "{slow}");
        let ratio = |w: &str| history.ratio_named(Objective::Availability, w);
        // 2 % over 5 m but 0.9 % over the hour: under 14.4 x 0.1 %, so that half does not page…
        let fast_half = |w: &str| if w == "6h" || w == "30m" { Some(0.0) } else { ratio(w) };
        assert!(!ALERTS[0].fires(fast_half));
        // …but "6 h" and "30 m" are the whole 660 s here, 0.9 % > 6 x 0.1 %: it pages, as
        // Prometheus's rules do on a history this short.
        assert!(ALERTS[0].fires(ratio));
        // The slow ticket: 1 x over 3 d and 6 h.
        assert!(ALERTS[1].fires(ratio));
    }

    #[test]
    fn no_requests_no_ratio_and_no_alert() {
        let mut history = History::default();
        history.push(0.0, totals(5.0, 5.0, 0.0));
        assert_eq!(history.ratio_named(Objective::Availability, "5m"), None);
        history.push(1.0, totals(5.0, 5.0, 0.0));
        assert_eq!(history.ratio_named(Objective::Availability, "5m"), None);
        assert!(!ALERTS[0].fires(|w| history.ratio_named(Objective::Availability, w)));
    }

    #[test]
    fn a_reset_counter_counts_from_zero() {
        let mut history = History::default();
        history.push(0.0, totals(1000.0, 0.0, 1000.0));
        history.push(1.0, totals(1100.0, 0.0, 1100.0));
        history.push(2.0, totals(100.0, 50.0, 100.0)); // restarted: 100 new, 50 failed
        let ratio = history.ratio_named(Objective::Availability, "5m").unwrap();
        assert!((ratio - 50.0 / 200.0).abs() < 1e-12, "{ratio}");
    }
}
