//! Everything the lab has observed so far, as the collector leaves it each second: the recent
//! readings of `/metrics` and the SLO history, the timeline the charts draw with its fault
//! annotations, the fault status, Prometheus's readings and the processes' usage. The screen
//! is built from it (`screen.rs`); nothing here draws.

use crate::admin::FaultStatus;
use crate::golden::{self, RouteSignals};
use crate::procstat::Usage;
use crate::prometheus::RuleReadings;
use crate::scrape::Scrape;
use crate::slo::History;
use std::collections::VecDeque;

/// Seconds of timeline kept for the charts: wider than any terminal.
const TIMELINE_SECONDS: f64 = 600.0;

/// Seconds Prometheus may go without answering before its last readings are dropped and the
/// burn panel computes its own: three of the collector's reads, so that one slow answer does not
/// flip the panel, while no figure older than that is shown as Prometheus's current one.
pub const PROMETHEUS_PATIENCE_S: f64 = 3.0;

/// One second of the charts: all routes' p95 and 5xx share, and the lazy level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub at: f64,
    pub rate: f64,
    pub error_share: Option<f64>,
    pub p95: Option<f64>,
    pub lazy_level: f64,
}

/// A process's CPU share since the previous reading, and its memory.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessLoad {
    pub cpu_percent: Option<f64>,
    pub resident_bytes: Option<f64>,
    pub peak_resident_bytes: Option<f64>,
}

impl ProcessLoad {
    /// From two readings of CPU seconds `seconds` apart, and the latest memory.
    pub fn between(
        before: Option<f64>,
        after: Option<f64>,
        seconds: f64,
        memory: Option<Usage>,
    ) -> Self {
        let cpu_percent = match (before, after) {
            (Some(a), Some(b)) if seconds > 0.0 && b >= a => Some((b - a) / seconds * 100.0),
            _ => None,
        };
        Self {
            cpu_percent,
            resident_bytes: memory.map(|m| m.resident_bytes),
            peak_resident_bytes: memory.map(|m| m.peak_resident_bytes),
        }
    }
}

#[derive(Debug, Default)]
pub struct Observed {
    /// Readings of `/metrics` younger than the golden-signals window (and one older).
    pub readings: VecDeque<(f64, Scrape)>,
    pub history: History,
    pub timeline: VecDeque<Point>,
    /// Seconds at which the fault status changed, and what changed.
    pub marks: VecDeque<(f64, String)>,
    pub faults: Option<FaultStatus>,
    /// Prometheus's latest rule readings, while it answers (see `set_rules`).
    pub rules: Option<RuleReadings>,
    /// When Prometheus last answered: a silence after answers is told apart from a start.
    pub prometheus_answered_at: Option<f64>,
    pub service: ProcessLoad,
    pub lab: ProcessLoad,
    /// The last failure of each source, cleared by its next success.
    pub scrape_error: Option<String>,
    pub admin_error: Option<String>,
    pub prometheus_error: Option<String>,
    /// The last reading's time, seconds since the lab started.
    pub now: f64,
}

impl Observed {
    /// Adds a reading of `/metrics` taken at `at`, keeping `window` seconds of readings.
    pub fn add_reading(&mut self, at: f64, scrape: Scrape, window: f64) {
        self.now = at;
        self.history.push(at, scrape.slo);
        self.readings.push_back((at, scrape));
        while self.readings.len() > 2 && self.readings[1].0 <= at - window {
            self.readings.pop_front();
        }
        let lazy_level = self.readings.back().map_or(0.0, |(_, s)| s.gauges.lazy_level);
        if let Some(all) = self.signals().into_iter().next() {
            self.timeline.push_back(Point {
                at,
                rate: all.rate,
                error_share: all.error_share,
                p95: all.p95,
                lazy_level,
            });
        }
        while self.timeline.front().is_some_and(|p| p.at < at - TIMELINE_SECONDS) {
            self.timeline.pop_front();
        }
        while self.marks.front().is_some_and(|(t, _)| *t < at - TIMELINE_SECONDS) {
            self.marks.pop_front();
        }
    }

    /// A new fault status; a change of plan or of lazy mode leaves a mark on the charts.
    pub fn set_faults(&mut self, at: f64, status: FaultStatus) {
        if let Some(change) = self.faults.as_ref().and_then(|before| status.change_from(before)) {
            self.marks.push_back((at, change));
        }
        self.faults = Some(status);
    }

    /// Prometheus's answer at `at`, or why there was none. Its readings are kept through
    /// `PROMETHEUS_PATIENCE_S` of silence, then dropped until it answers again.
    pub fn set_rules(&mut self, at: f64, answer: Result<RuleReadings, String>) {
        match answer {
            Ok(readings) => {
                self.rules = Some(readings);
                self.prometheus_answered_at = Some(at);
                self.prometheus_error = None;
            }
            Err(error) => {
                if self.prometheus_answered_at.is_none_or(|t| at - t >= PROMETHEUS_PATIENCE_S) {
                    self.rules = None;
                }
                self.prometheus_error = Some(error);
            }
        }
    }

    /// Golden signals over the window: between the oldest and the newest reading kept.
    pub fn signals(&self) -> Vec<RouteSignals> {
        match (self.readings.front(), self.readings.back()) {
            (Some((t0, first)), Some((t1, last))) if t1 > t0 => {
                golden::signals(first, last, t1 - t0)
            }
            _ => Vec::new(),
        }
    }

    /// The newest reading.
    pub fn latest(&self) -> Option<&Scrape> {
        self.readings.back().map(|(_, s)| s)
    }
}
