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
//! below finishes every call.) `docs/decisions/` has the measured reasons.
//!
//! A call that is cancelled before it finishes (its client hung up) neither succeeded nor
//! failed, so it is not a call in `function_calls_total`, whose `result` is always `ok` or
//! `error` as the specification has it, nor a latency sample; it comes off the in-flight gauge
//! and counts in `snackdrawer_function_calls_cancelled_total`.

use super::{LATENCY_BUCKETS, TraceExemplar, current_trace_exemplar};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::borrow::Cow;
use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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
struct FunctionLabels {
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
    repository_url: &'static str,
    repository_provider: &'static str,
    autometrics_version: &'static str,
}

/// Who is measured: the `service_name` on every series, and where its code lives, for
/// `build_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub service_name: String,
    pub repository_url: String,
    /// `github`, `gitlab`…; when empty, derived from the URL's host.
    pub repository_provider: String,
}

impl Default for Identity {
    fn default() -> Self {
        Self {
            service_name: "snackdrawer".into(),
            repository_url: env!("CARGO_PKG_REPOSITORY").into(),
            repository_provider: String::new(),
        }
    }
}

/// The identity with its provider filled in, kept for the life of the process.
struct Resolved {
    service_name: &'static str,
    repository_url: &'static str,
    repository_provider: &'static str,
}

static IDENTITY: OnceLock<Resolved> = OnceLock::new();

/// Sets the identity every series carries. Only the first identity counts, whether set here
/// or taken by default when something was measured first; returns whether it was this one.
pub(super) fn identify(identity: Identity) -> bool {
    let mut fresh = false;
    IDENTITY.get_or_init(|| {
        fresh = true;
        resolve_identity(identity)
    });
    fresh
}

fn identity() -> &'static Resolved {
    IDENTITY.get_or_init(|| resolve_identity(Identity::default()))
}

fn resolve_identity(identity: Identity) -> Resolved {
    let provider = match identity.repository_provider.as_str() {
        "" => provider_of(&identity.repository_url).to_owned(),
        given => given.to_owned(),
    };
    Resolved {
        service_name: identity.service_name.leak(),
        repository_url: identity.repository_url.leak(),
        repository_provider: provider.leak(),
    }
}

/// The code host a repository URL points at, as autometrics names it: `github`, `gitlab` or
/// `bitbucket`, and empty for any other (or no) URL.
fn provider_of(url: &str) -> &'static str {
    let host = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = host.split(['/', ':']).next().unwrap_or("").rsplit('@').next().unwrap_or("");
    let host = host.to_ascii_lowercase();
    [("github.com", "github"), ("gitlab.com", "gitlab"), ("bitbucket.org", "bitbucket")]
        .into_iter()
        .find(|(domain, _)| host == *domain || host.ends_with(&format!(".{domain}")))
        .map_or("", |(_, provider)| provider)
}

type Histogram = HistogramWithExemplars<TraceExemplar>;

struct Families {
    calls: Family<CounterLabels, Counter>,
    durations: Family<HistogramLabels, Histogram>,
    concurrent: Family<FunctionLabels, Gauge>,
    cancelled: Family<FunctionLabels, Counter>,
}

/// One function's series, in one module.
#[derive(Clone)]
struct Series {
    ok: Counter,
    error: Counter,
    cancelled: Counter,
    duration: Histogram,
    concurrent: Gauge,
}

static FAMILIES: OnceLock<Families> = OnceLock::new();

/// Registers the call families and `build_info` (the crate version and the commit `build.rs`
/// found, the identity) in `registry`.
pub(super) fn register(registry: &mut Registry) {
    let families = FAMILIES.get_or_init(|| Families {
        calls: Family::default(),
        durations: Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS.into_iter())),
        concurrent: Family::default(),
        cancelled: Family::default(),
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
    registry.register(
        "snackdrawer_function_calls_cancelled",
        "Function calls abandoned before they finished (their client hung up), which \
         function_calls_total does not count",
        families.cancelled.clone(),
    );
    let identity = identity();
    let build_info = Family::<BuildInfoLabels, Gauge>::default();
    build_info
        .get_or_create(&BuildInfoLabels {
            version: env!("CARGO_PKG_VERSION"),
            commit: env!("SNACKDRAWER_COMMIT"),
            branch: env!("SNACKDRAWER_BRANCH"),
            service_name: identity.service_name,
            repository_url: identity.repository_url,
            repository_provider: identity.repository_provider,
            autometrics_version: AUTOMETRICS_SPEC_VERSION,
        })
        .set(1);
    registry.register("build_info", "The running build: version, commit and branch", build_info);
}

/// A measured function: its `function` label, its objective if it has one, and its series
/// once the first call has resolved them. The `module` label comes with each call, from the
/// decorator that measures it; the series of the first module are kept, and a call from
/// another module (a second store in the same process, as in a benchmark) resolves its own.
pub struct Function {
    name: &'static str,
    objective: Option<Objective>,
    series: OnceLock<(&'static str, Series)>,
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

    fn series(&self, module: &'static str) -> Cow<'_, Series> {
        let (first, series) =
            self.series.get_or_init(|| (module, resolve(self.name, module, self.objective)));
        // The same `&'static str` nearly always: compare the pointers before the text.
        if std::ptr::eq(*first, module) || *first == module {
            Cow::Borrowed(series)
        } else {
            Cow::Owned(resolve(self.name, module, self.objective))
        }
    }
}

fn resolve(function: &'static str, module: &'static str, objective: Option<Objective>) -> Series {
    super::registered();
    let families = FAMILIES.get().expect("registering makes the families");
    let service_name = identity().service_name;
    let (objective_name, success, latency, threshold) = objective.map_or(("", "", "", ""), |o| {
        (o.name, o.success_percentile, o.latency_percentile, o.latency_threshold)
    });
    let counter = |result| {
        families
            .calls
            .get_or_create(&CounterLabels {
                function,
                module,
                service_name,
                result,
                objective_name,
                objective_percentile: success,
            })
            .clone()
    };
    let per_function = FunctionLabels { function, module, service_name };
    Series {
        ok: counter("ok"),
        error: counter("error"),
        cancelled: families.cancelled.get_or_create(&per_function).clone(),
        duration: families
            .durations
            .get_or_create(&HistogramLabels {
                function,
                module,
                service_name,
                objective_name,
                objective_percentile: latency,
                objective_latency_threshold: threshold,
            })
            .clone(),
        concurrent: families.concurrent.get_or_create(&per_function).clone(),
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
/// up): it counts as cancelled, and the in-flight gauge comes down all the same. The exemplar
/// is the trace the call runs in.
pub(super) struct Measured<'f> {
    series: Cow<'f, Series>,
    started: Instant,
    exemplar: Option<TraceExemplar>,
    finished: bool,
}

impl<'f> Measured<'f> {
    /// Starts measuring a call that began at `started`.
    pub(super) fn start(
        function: &'f Function,
        module: &'static str,
        started: Instant,
        exemplar: Option<TraceExemplar>,
    ) -> Self {
        let series = function.series(module);
        series.concurrent.inc();
        Self { series, started, exemplar, finished: false }
    }

    /// Records the call with its outcome; returns how long it took.
    pub(super) fn finish(&mut self, outcome: CallOutcome) -> Duration {
        let elapsed = self.started.elapsed();
        let counter = match outcome {
            CallOutcome::Ok => &self.series.ok,
            CallOutcome::Error => &self.series.error,
        };
        counter.inc();
        self.series.duration.observe(elapsed.as_secs_f64(), self.exemplar);
        self.series.concurrent.dec();
        self.finished = true;
        elapsed
    }
}

impl Drop for Measured<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.series.cancelled.inc();
            self.series.concurrent.dec();
        }
    }
}

/// Measures an async port call of the code in `module`.
pub async fn record_call<T, E>(
    function: &'static Function,
    module: &'static str,
    classify: fn(&Result<T, E>) -> CallOutcome,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let mut measured = Measured::start(function, module, Instant::now(), current_trace_exemplar());
    let result = call.await;
    measured.finish(classify(&result));
    result
}

/// Measures a synchronous port call of the code in `module`.
pub fn record_call_sync<T, E>(
    function: &'static Function,
    module: &'static str,
    classify: fn(&Result<T, E>) -> CallOutcome,
    call: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let mut measured = Measured::start(function, module, Instant::now(), current_trace_exemplar());
    let result = call();
    measured.finish(classify(&result));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_is_the_code_host_named_in_the_url() {
        assert_eq!(provider_of("https://github.com/acme/snackdrawer"), "github");
        assert_eq!(provider_of("git@gitlab.com:acme/snackdrawer.git"), "gitlab");
        assert_eq!(provider_of("https://bitbucket.org/acme/snackdrawer"), "bitbucket");
        assert_eq!(provider_of("https://GitHub.com/acme/snackdrawer"), "github");
        assert_eq!(provider_of("https://github.example.com/acme/snackdrawer"), "");
        assert_eq!(provider_of("https://code.example.com/github.com/snackdrawer"), "");
        assert_eq!(provider_of(""), "");
    }
}
