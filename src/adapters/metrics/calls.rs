//! autometrics' function-call families (`function_calls_total`, `..._duration_seconds`,
//! `..._concurrent`, `build_info`), recorded through its tracker API.
//!
//! Why not the `#[autometrics]` macro: on an `#[async_trait]` decorator it cannot produce the
//! `function="DrawerRepository::add_snack"` labels dashboards select on, and a call whose
//! future is dropped (a client that hangs up) is never finished, leaving the in-flight gauge
//! raised for good. The tracker API is what the macro expands to; here a guard finishes every
//! call, cancelled ones included. That API is not covered by semver, hence the exact version
//! pin in Cargo.toml.

use autometrics::__private::{
    AutometricsTracker, BuildInfoLabels, CounterLabels, GaugeLabels, HistogramLabels, TrackMetrics,
};
use autometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use autometrics::settings::AutometricsSettings;
use prometheus_client::registry::Registry;
use std::future::Future;

const SERVICE_NAME: &str = "snackdrawer";
const MODULE: &str = "snackdrawer";

/// The API's service-level objective: 99.9 % of requests succeed (no 5xx) and 99 % are
/// answered within 250 ms. Alert and recording rules select its labels
/// (`objective_name="api"`).
const API_OBJECTIVE: Objective = Objective::new("api")
    .success_rate(ObjectivePercentile::P99_9)
    .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);

/// Hands `registry` to autometrics, which adds its families, and sets `build_info` to this
/// build (the crate version and the commit `build.rs` found). Must run before any call is
/// measured; `super::http()` sees to that.
pub(super) fn install(registry: Registry) -> &'static Registry {
    let settings = AutometricsSettings::builder()
        .service_name(SERVICE_NAME)
        .histogram_buckets(super::LATENCY_BUCKETS)
        .repo_url("")
        .repo_provider("")
        .prometheus_client_registry(registry)
        .init();
    AutometricsTracker::set_build_info(&BuildInfoLabels::new(
        env!("CARGO_PKG_VERSION"),
        env!("AUTOMETRICS_COMMIT"),
        env!("AUTOMETRICS_BRANCH"),
    ));
    settings.prometheus_client_registry()
}

/// How a finished call counts: `Ok` is also an expected refusal (a duplicate name, a missing
/// snack, an invalid token); `Error` is a failure of the dependency itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Ok,
    Error,
}

/// One call being measured. Dropping it finishes the measurement; a call dropped before it
/// has an outcome was cancelled and is counted with an empty `result`.
struct Measured {
    function: &'static str,
    objective: Option<fn() -> Objective>,
    tracker: Option<AutometricsTracker>,
    outcome: Option<CallOutcome>,
}

impl Measured {
    fn start(function: &'static str, objective: Option<fn() -> Objective>) -> Self {
        super::http();
        let tracker = AutometricsTracker::start(Some(&GaugeLabels::new(function, MODULE)));
        Self { function, objective, tracker: Some(tracker), outcome: None }
    }
}

impl Drop for Measured {
    fn drop(&mut self) {
        let Some(tracker) = self.tracker.take() else { return };
        let result = self.outcome.map(|outcome| match outcome {
            CallOutcome::Ok => ("ok", None),
            CallOutcome::Error => ("error", None),
        });
        let objective = || self.objective.map(|make| make());
        let counter = CounterLabels::new(self.function, MODULE, "", "", result, objective());
        let histogram = HistogramLabels::new(self.function, MODULE, objective());
        // Exemplars (trace and span id) are read from the current span here.
        tracker.finish(&counter, &histogram);
    }
}

/// Measures an async port call named `function` (e.g. `DrawerRepository::add_snack`).
pub async fn record_call<T, E>(
    function: &'static str,
    classify: fn(&Result<T, E>) -> CallOutcome,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let mut measured = Measured::start(function, None);
    let result = call.await;
    measured.outcome = Some(classify(&result));
    result
}

/// Measures a synchronous port call.
pub fn record_call_sync<T, E>(
    function: &'static str,
    classify: fn(&Result<T, E>) -> CallOutcome,
    call: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let mut measured = Measured::start(function, None);
    let result = call();
    measured.outcome = Some(classify(&result));
    result
}

/// Measures one HTTP request against the API objective, as `function="GET /drawers/{id}"`.
/// Returns a guard: set its outcome when the response is known, drop it when done.
pub fn record_api_request(function: &'static str) -> ApiRequest {
    ApiRequest(Measured::start(function, Some(|| API_OBJECTIVE)))
}

pub struct ApiRequest(Measured);

impl ApiRequest {
    pub fn finish(mut self, outcome: CallOutcome) {
        self.0.outcome = Some(outcome);
    }
}
