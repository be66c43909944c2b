//! How injected faults show, beyond what they do to the ports and routes they hit (which the
//! usual telemetry measures like any real failure): a counter and two gauges (`metrics`), a
//! `fault.injected` event on the span the fault hit, `fault.injected=true` on the request's
//! span (through the `FaultInjected` response marker), an INFO line for every change of plan
//! or lazy mode saying who made it, a WARN, at most every 10 s, for injected errors, and one for
//! each fault of the whole process as it starts.

use super::log_budget::LogBudget;
use super::metrics;
use super::request_trace;
use super::wide_event;
use opentelemetry::KeyValue;
use std::fmt::Display;
use std::time::Duration;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// In a response's extensions: a fault was injected into this request or a call it made.
#[derive(Clone, Copy, Debug)]
pub struct FaultInjected;

/// How often, at most, injected errors are logged.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// One fault injected into `target` (a port method or a route, as the metrics name it), of
/// `kind`, with `delay` if it is one.
pub fn injected(target: &'static str, kind: &'static str, delay: Option<Duration>) {
    metrics::faults::injected(target, kind);
    if request_trace::recording() {
        let mut attributes =
            vec![KeyValue::new("fault.target", target), KeyValue::new("fault.kind", kind)];
        if let Some(delay) = delay {
            attributes.push(KeyValue::new("fault.delay_ms", delay.as_secs_f64() * 1000.0));
        }
        Span::current().add_event("fault.injected", attributes);
    }
    if delay.is_none() {
        log_error_injection(target, kind);
    }
}

/// A fault of the whole process (a CPU burn, a leak, held connections, a log flood) has
/// started: counted as an injection at target `process`, and a WARN each time, since it comes
/// once a plan rather than once a call. No span: it is no request's.
pub fn process_fault_started(kind: &'static str) {
    metrics::faults::injected("process", kind);
    tracing::warn!(fault.target = "process", fault.kind = kind, "injected a fault on purpose");
}

/// A WARN for the first injected error, then at most one per interval with the number held back.
fn log_error_injection(target: &str, kind: &'static str) {
    static BUDGET: LogBudget = LogBudget::new(ERROR_LOG_INTERVAL);
    if let Some(held_back) = BUDGET.admit() {
        tracing::warn!(
            fault.target = target,
            fault.kind = kind,
            not_logged_since_last = held_back,
            "injected a fault on purpose"
        );
    }
}

pub fn plan_changed(plan: &str, rules: usize, by: impl Display) {
    tracing::info!(changed_by = %by, rules, plan, "fault plan changed");
}

pub fn lazy_changed(on: bool, lasting: Option<Duration>, settings: impl Display, by: impl Display) {
    let lasting = lasting.map(|lasting| format!("{lasting:?}"));
    if on {
        tracing::info!(changed_by = %by, lasting = lasting.as_deref().unwrap_or("until turned off"), %settings, "lazy mode on");
    } else {
        tracing::info!(changed_by = %by, "lazy mode off");
    }
}

/// A timed lazy episode that `by` started is over.
pub fn lazy_ended(by: impl Display) {
    tracing::info!(changed_by = %by, "lazy mode off: its time is up");
}

/// Lazy mode's level when a request arrived, on the request's span (`wide_event`).
pub fn lazy_request(level: f64) {
    wide_event::record(KeyValue::new(wide_event::LAZY_LEVEL, level));
}

/// The plan's size and lazy mode's level now, for the gauges.
pub fn fault_state(rules: usize, lazy_level: f64) {
    metrics::faults::fault_state(rules, lazy_level);
}

/// A mystery started: which incident is not said, not even here.
pub fn mystery_started(by: impl Display) {
    tracing::info!(changed_by = %by, "a mystery incident started");
}

/// A mystery was told, by a right guess (`solved`) or a reveal, `took_s` after its start.
pub fn mystery_told(incident: &str, solved: bool, took_s: f64) {
    tracing::info!(incident, solved, took_s, "the mystery incident is told");
}

/// A mystery ended untold: `by` replaced or cleared its plan.
pub fn mystery_abandoned(by: impl Display) {
    tracing::info!(changed_by = %by, "the mystery incident ended untold");
}
