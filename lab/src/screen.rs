//! What one frame shows, as plain data: built each second from what was observed and the trace
//! store, then drawn by `ui`. Keeping the two apart lets the tests draw fixed snapshots.

use crate::golden::{ALL_ROUTES, RouteSignals};
use crate::slo::{ALERTS, Objective, SHOWN_WINDOWS};
use crate::state::{Observed, Point, ProcessLoad};
use crate::traces::store::{self, TraceId, TraceStore, TraceSummary};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    fn from_prometheus(state: Option<&String>) -> Self {
        match state.map(String::as_str) {
            Some("firing") => AlertState::Firing,
            Some("pending") => AlertState::Pending,
            _ => AlertState::Inactive,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub name: &'static str,
    pub severity: &'static str,
    pub state: AlertState,
}

/// Where the burn rates and alerts come from.
#[derive(Debug, Clone, PartialEq)]
pub enum BurnSource {
    Prometheus(String),
    /// The lab's own history, by rules.yml's formulas; the reason no Prometheus is read.
    Own(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloView {
    pub source: BurnSource,
    /// Per objective, the burn rate over each of `SHOWN_WINDOWS`.
    pub burn: Vec<(Objective, Vec<Option<f64>>)>,
    pub alerts: Vec<AlertRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SaturationView {
    pub in_flight: f64,
    pub hashing: f64,
    pub store_calls: f64,
    /// The store's connections in use, and the pool's size (none on the memory store).
    pub pool: Option<(f64, f64)>,
    pub service: ProcessLoad,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultsView {
    pub reachable: bool,
    pub plan: String,
    pub lazy_on: bool,
    pub level: f64,
    pub remaining_s: Option<f64>,
    pub settings: String,
    pub injected: u64,
    pub mystery: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadState {
    Running,
    Paused,
    Exited,
    /// Attached to a service, or started with --no-load.
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TracesView {
    pub receiver: String,
    pub kept: usize,
    pub slowest: Vec<TraceSummary>,
    pub failed: Vec<TraceSummary>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Screen {
    pub title: String,
    pub load: LoadState,
    pub window_s: f64,
    pub filter: String,
    pub routes: Vec<RouteSignals>,
    pub slo: SloView,
    pub saturation: SaturationView,
    pub faults: FaultsView,
    pub timeline: Vec<Point>,
    pub marks: Vec<(f64, String)>,
    pub now: f64,
    pub traces: TracesView,
    pub lab: ProcessLoad,
    /// Problems reaching a source, and the last key's outcome.
    pub notes: Vec<String>,
}

/// What the screen needs beyond the observations.
pub struct Context<'a> {
    pub title: String,
    pub load: LoadState,
    pub window_s: f64,
    pub filter: &'a str,
    /// Why the lab reads no Prometheus, when it reads none.
    pub no_prometheus: Option<String>,
    pub prometheus_url: Option<String>,
    pub receiver: String,
    pub trace_rows: usize,
    pub message: Option<String>,
}

pub fn build(observed: &Observed, traces: &TraceStore, context: &Context<'_>) -> Screen {
    let routes = observed
        .signals()
        .into_iter()
        .filter(|r| r.route == ALL_ROUTES || r.route.contains(context.filter))
        .collect();
    let gauges = observed.latest().map(|s| s.gauges).unwrap_or_default();
    let faults = observed.faults.as_ref().map_or_else(FaultsView::default, |f| FaultsView {
        reachable: true,
        plan: f.plan.text.clone(),
        lazy_on: f.lazy.on,
        level: f.lazy.level,
        remaining_s: f.lazy.remaining_s,
        settings: f.lazy.settings.clone(),
        injected: f.injected.iter().map(|i| i.count).sum(),
        mystery: f.secret(),
    });
    let summaries = traces.summaries(context.filter);
    let notes = [
        observed.scrape_error.as_ref(),
        observed.admin_error.as_ref(),
        observed.prometheus_error.as_ref(),
        context.message.as_ref(),
    ];
    Screen {
        title: context.title.clone(),
        load: context.load,
        window_s: context.window_s,
        filter: context.filter.to_owned(),
        routes,
        slo: slo_view(observed, context),
        saturation: SaturationView {
            in_flight: gauges.in_flight,
            hashing: gauges.hashing_in_flight,
            store_calls: gauges.store_calls_in_flight,
            pool: gauges.pool_used.zip(gauges.pool_max),
            service: observed.service,
        },
        faults,
        timeline: observed.timeline.iter().copied().collect(),
        marks: observed.marks.iter().cloned().collect(),
        now: observed.now,
        traces: TracesView {
            receiver: context.receiver.clone(),
            kept: traces.len(),
            slowest: store::slowest(summaries.clone(), context.trace_rows),
            failed: store::failed(summaries, context.trace_rows),
        },
        lab: observed.lab,
        notes: notes.into_iter().flatten().cloned().collect(),
    }
}

fn slo_view(observed: &Observed, context: &Context<'_>) -> SloView {
    match (&observed.rules, &context.prometheus_url) {
        (Some(rules), Some(url)) => {
            let burn = Objective::BOTH
                .iter()
                .map(|&o| {
                    let rates = SHOWN_WINDOWS
                        .iter()
                        .map(|w| {
                            let value =
                                rules.ratios.get(&format!("{}:ratio_rate{w}", o.record()))?;
                            value.is_finite().then(|| value / o.budget())
                        })
                        .collect();
                    (o, rates)
                })
                .collect();
            let alerts = ALERTS
                .iter()
                .map(|a| AlertRow {
                    name: a.name,
                    severity: a.severity,
                    state: AlertState::from_prometheus(rules.alerts.get(a.name)),
                })
                .collect();
            SloView { source: BurnSource::Prometheus(url.clone()), burn, alerts }
        }
        _ => {
            let history = &observed.history;
            let burn = Objective::BOTH
                .iter()
                .map(|&o| {
                    let rates = SHOWN_WINDOWS
                        .iter()
                        .map(|w| history.ratio_named(o, w).map(|r| r / o.budget()))
                        .collect();
                    (o, rates)
                })
                .collect();
            let alerts = ALERTS
                .iter()
                .map(|a| AlertRow {
                    name: a.name,
                    severity: a.severity,
                    state: if a.fires(|w| history.ratio_named(a.objective, w)) {
                        AlertState::Firing
                    } else {
                        AlertState::Inactive
                    },
                })
                .collect();
            let why = match (&context.prometheus_url, observed.prometheus_answered_at) {
                (Some(_), Some(_)) => "Prometheus is not answering".to_owned(),
                (Some(_), None) => "Prometheus has not answered yet".to_owned(),
                (None, _) => context.no_prometheus.clone().unwrap_or_default(),
            };
            SloView { source: BurnSource::Own(why), burn, alerts }
        }
    }
}

/// The trace `id` laid out for the waterfall: spans in tree order with their depth, offsets
/// from the request's start, and the logs in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Waterfall {
    pub id: TraceId,
    pub total_s: f64,
    /// (depth, offset s, duration s, span)
    pub spans: Vec<(usize, f64, f64, store::SpanRecord)>,
    pub logs: Vec<store::LogLine>,
}

pub fn waterfall(traces: &TraceStore, id: TraceId) -> Option<Waterfall> {
    let trace = traces.get(&id)?;
    let start = trace.spans.iter().map(|s| s.start_ns).min()?;
    let end = trace.spans.iter().map(|s| s.end_ns).max()?;
    let mut ordered = Vec::new();
    let mut roots: Vec<_> = trace
        .spans
        .iter()
        .filter(|s| s.parent.is_none_or(|p| !trace.spans.iter().any(|o| o.span_id == p)))
        .collect();
    roots.sort_by_key(|s| s.start_ns);
    let mut stack: Vec<_> = roots.into_iter().rev().map(|s| (0, s)).collect();
    while let Some((depth, span)) = stack.pop() {
        let offset = span.start_ns.saturating_sub(start) as f64 / 1e9;
        ordered.push((depth, offset, span.duration_s(), span.clone()));
        let mut children: Vec<_> =
            trace.spans.iter().filter(|s| s.parent == Some(span.span_id)).collect();
        children.sort_by_key(|s| std::cmp::Reverse(s.start_ns));
        stack.extend(children.into_iter().map(|c| (depth + 1, c)));
    }
    let mut logs = trace.logs.clone();
    logs.sort_by_key(|l| l.time_ns);
    Some(Waterfall { id, total_s: end.saturating_sub(start) as f64 / 1e9, spans: ordered, logs })
}
