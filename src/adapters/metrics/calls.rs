//! Function-call metrics in the autometrics format: `function_calls_total`,
//! `function_calls_duration_seconds`, `function_calls_concurrent` and `build_info`, with the
//! label names autometrics' dashboards and SLO rules select on (`function`, `module`,
//! `service_name`, `result`, `objective_name`, `objective_percentile`,
//! `objective_latency_threshold`).
//!
//! Why not the autometrics crate itself: its recorder rebuilds and hashes a dozen-string label
//! set four times per call and builds an exemplar map each time, which measured as most of the
//! metrics' cost when it was compared with an earlier version of this module. Here each
//! measured function is a `Function` (a `static` at its call site, or one per API route) that
//! resolves its series on the first call and keeps them, so a call costs a few atomic
//! updates, the histogram's two short locks and two clock reads, with no look-up at all.
//! Exemplars go on the latency histogram only, where they lead from a slow bucket to a trace;
//! a counter with an exemplar would take a lock on every call for a link nobody follows.
//! (Also, the crate's macro cannot name calls `DrawerRepository::add_snack` on an async-trait
//! decorator, and it leaves the in-flight gauge raised when a call is cancelled; the guard
//! below finishes every call.)

use super::{LATENCY_BUCKETS, TraceExemplar, current_trace_exemplar};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const SERVICE_NAME: &str = "snackdrawer";
const MODULE: &str = "snackdrawer";
/// The version of the autometrics specification these series follow.
const AUTOMETRICS_SPEC_VERSION: &str = "1.0.0";

/// A service-level objective, as autometrics encodes one in labels.
#[derive(Clone, Copy)]
struct Objective {
    name: &'static str,
    success_percentile: &'static str,
    latency_percentile: &'static str,
    latency_threshold: &'static str,
}

/// The API's objective: 99.9 % of requests succeed (no 5xx) and 99 % are answered within
/// 250 ms. Alert and recording rules select `objective_name="api"`.
const API_OBJECTIVE: Objective = Objective {
    name: "api",
    success_percentile: "99.9",
    latency_percentile: "99",
    latency_threshold: "0.25",
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CounterLabels {
    function: &'static str,
    module: &'static str,
    service_name: &'static str,
    result: &'static str,
    objective_name: &'static str,
    objective_percentile: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HistogramLabels {
    function: &'static str,
    module: &'static str,
    service_name: &'static str,
    objective_name: &'static str,
    objective_percentile: &'static str,
    objective_latency_threshold: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GaugeLabels {
    function: &'static str,
    module: &'static str,
    service_name: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildInfoLabels {
    version: &'static str,
    commit: &'static str,
    branch: &'static str,
    service_name: &'static str,
    autometrics_version: &'static str,
}

type Histogram = HistogramWithExemplars<TraceExemplar>;

struct Families {
    calls: Family<CounterLabels, Counter>,
    durations: Family<HistogramLabels, Histogram>,
    concurrent: Family<GaugeLabels, Gauge>,
}

/// One function's series.
struct Series {
    ok: Counter,
    error: Counter,
    cancelled: Counter,
    duration: Histogram,
    concurrent: Gauge,
}

static FAMILIES: OnceLock<Families> = OnceLock::new();

/// Registers the call families and `build_info` (the crate version and the commit `build.rs`
/// found) in `registry`.
pub(super) fn register(registry: &mut Registry) {
    let families = FAMILIES.get_or_init(|| Families {
        calls: Family::default(),
        durations: Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS.into_iter())),
        concurrent: Family::default(),
    });
    registry.register(
        "function_calls",
        "Autometrics counter for tracking function calls",
        families.calls.clone(),
    );
    registry.register_with_unit(
        "function_calls_duration",
        "Autometrics histogram for tracking function call duration",
        Unit::Seconds,
        families.durations.clone(),
    );
    registry.register(
        "function_calls_concurrent",
        "Autometrics gauge for tracking function calls in flight",
        families.concurrent.clone(),
    );
    let build_info = Family::<BuildInfoLabels, Gauge>::default();
    build_info
        .get_or_create(&BuildInfoLabels {
            version: env!("CARGO_PKG_VERSION"),
            commit: env!("SNACKDRAWER_COMMIT"),
            branch: env!("SNACKDRAWER_BRANCH"),
            service_name: SERVICE_NAME,
            autometrics_version: AUTOMETRICS_SPEC_VERSION,
        })
        .set(1);
    registry.register("build_info", "The running build: version, commit and branch", build_info);
}

/// A measured function: its `function` label, its objective if it has one, and its series
/// once the first call has resolved them.
pub struct Function {
    name: &'static str,
    objective: Option<Objective>,
    series: OnceLock<Series>,
}

impl Function {
    /// A port method, e.g. `Function::new("DrawerRepository::add_snack")`; meant for a
    /// `static` at the call site.
    pub const fn new(name: &'static str) -> Self {
        Self { name, objective: None, series: OnceLock::new() }
    }

    /// An API route, e.g. `"GET /drawers/{id}"`, measured against the API objective.
    pub(super) const fn api(name: &'static str) -> Self {
        Self { name, objective: Some(API_OBJECTIVE), series: OnceLock::new() }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    fn series(&self) -> &Series {
        self.series.get_or_init(|| resolve(self.name, self.objective))
    }
}

fn resolve(function: &'static str, objective: Option<Objective>) -> Series {
    super::init();
    let families = FAMILIES.get().expect("init registers the families");
    let (objective_name, success, latency, threshold) = objective.map_or(("", "", "", ""), |o| {
        (o.name, o.success_percentile, o.latency_percentile, o.latency_threshold)
    });
    let counter = |result| {
        families
            .calls
            .get_or_create(&CounterLabels {
                function,
                module: MODULE,
                service_name: SERVICE_NAME,
                result,
                objective_name,
                objective_percentile: success,
            })
            .clone()
    };
    Series {
        ok: counter("ok"),
        error: counter("error"),
        cancelled: counter(""),
        duration: families
            .durations
            .get_or_create(&HistogramLabels {
                function,
                module: MODULE,
                service_name: SERVICE_NAME,
                objective_name,
                objective_percentile: latency,
                objective_latency_threshold: threshold,
            })
            .clone(),
        concurrent: families
            .concurrent
            .get_or_create(&GaugeLabels { function, module: MODULE, service_name: SERVICE_NAME })
            .clone(),
    }
}

/// How a finished call counts: `Ok` is also an expected refusal (a duplicate name, a missing
/// snack, an invalid token); `Error` is a failure of the dependency itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Ok,
    Error,
}

/// One call being measured. A call dropped before `finish` was cancelled (its client hung
/// up) and counts with an empty `result`, so the in-flight gauge always comes down. The
/// exemplar is the trace the call runs in.
pub(super) struct Measured<'f> {
    series: &'f Series,
    started: Instant,
    exemplar: Option<TraceExemplar>,
    finished: bool,
}

impl<'f> Measured<'f> {
    /// Starts measuring a call that began at `started`.
    pub(super) fn start(
        function: &'f Function,
        started: Instant,
        exemplar: Option<TraceExemplar>,
    ) -> Self {
        let series = function.series();
        series.concurrent.inc();
        Self { series, started, exemplar, finished: false }
    }

    /// Records the call with its outcome; returns how long it took.
    pub(super) fn finish(&mut self, outcome: CallOutcome) -> Duration {
        let elapsed = self.started.elapsed();
        self.record(Some(outcome), elapsed);
        elapsed
    }

    fn record(&mut self, outcome: Option<CallOutcome>, elapsed: Duration) {
        let counter = match outcome {
            Some(CallOutcome::Ok) => &self.series.ok,
            Some(CallOutcome::Error) => &self.series.error,
            None => &self.series.cancelled,
        };
        counter.inc();
        self.series.duration.observe(elapsed.as_secs_f64(), self.exemplar);
        self.series.concurrent.dec();
        self.finished = true;
    }
}

impl Drop for Measured<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.record(None, self.started.elapsed());
        }
    }
}

/// Measures an async port call.
pub async fn record_call<T, E>(
    function: &'static Function,
    classify: fn(&Result<T, E>) -> CallOutcome,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let mut measured = Measured::start(function, Instant::now(), current_trace_exemplar());
    let result = call.await;
    measured.finish(classify(&result));
    result
}

/// Measures a synchronous port call.
pub fn record_call_sync<T, E>(
    function: &'static Function,
    classify: fn(&Result<T, E>) -> CallOutcome,
    call: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let mut measured = Measured::start(function, Instant::now(), current_trace_exemplar());
    let result = call();
    measured.finish(classify(&result));
    result
}
