//! The fault-injection series: `snackdrawer_faults_injected_total{target,kind}`, and the
//! `snackdrawer_fault_rules_active` and `snackdrawer_lazy_mode` gauges that dashboards draw as
//! "fault active" annotations. Registered at start, at zero, so a dashboard's query has a
//! series before the first fault.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InjectionLabels {
    /// The port method (`DrawerRepository::add_snack`) or route (`GET /drawers/{id}`) hit,
    /// a name the process made, never text a client sent: a `*` rule or lazy mode also hits
    /// requests no route serves, and these are named like the HTTP series name them
    /// (`_OTHER unmatched`), so the set stays bounded.
    target: &'static str,
    kind: &'static str,
}

struct FaultFamilies {
    injected: Family<InjectionLabels, Counter>,
    rules_active: Gauge,
    lazy_mode: Gauge<f64, AtomicU64>,
}

static FAULTS: OnceLock<FaultFamilies> = OnceLock::new();

fn families() -> &'static FaultFamilies {
    FAULTS.get_or_init(|| FaultFamilies {
        injected: Family::default(),
        rules_active: Gauge::default(),
        lazy_mode: Gauge::default(),
    })
}

pub(super) fn register(registry: &mut Registry) {
    let families = families();
    registry.register(
        "snackdrawer_faults_injected",
        "Faults injected on purpose, by the port method or route hit and the kind of fault",
        families.injected.clone(),
    );
    registry.register(
        "snackdrawer_fault_rules_active",
        "Rules in the fault plan now (0: no rule)",
        families.rules_active.clone(),
    );
    registry.register(
        "snackdrawer_lazy_mode",
        "How lazy the service is now, from 0 (not at all) to 1 (fully, after the ramp)",
        families.lazy_mode.clone(),
    );
}

/// Counts one injected fault.
pub fn injected(target: &'static str, kind: &'static str) {
    families().injected.get_or_create(&InjectionLabels { target, kind }).inc();
}

/// The plan's size and lazy mode's level now.
pub fn fault_state(rules: usize, lazy_level: f64) {
    let families = families();
    families.rules_active.set(i64::try_from(rules).unwrap_or(i64::MAX));
    families.lazy_mode.set(lazy_level);
}
