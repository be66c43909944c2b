//! The store's connection pool, read at each scrape: `snackdrawer_store_connections` by state
//! (`used`: lent to a call, or to a fault that holds it; `idle`: open and waiting) and
//! `snackdrawer_store_connections_max`, the most the pool opens. A pool whose connections are
//! all used while the store's calls wait for one is the saturation a latency chart alone
//! cannot tell from a slow database. The memory store has no pool, and no series.

use crate::ports::ConnectionPool;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;
use std::sync::{Arc, PoisonError, RwLock};

/// The pool the last service built in this process opened (tests build several).
static WATCHED: RwLock<Option<Arc<dyn ConnectionPool>>> = RwLock::new(None);

/// Reads `pool` at each scrape from now on, or no pool at all.
pub fn watch_pool(pool: Option<Arc<dyn ConnectionPool>>) {
    *WATCHED.write().unwrap_or_else(PoisonError::into_inner) = pool;
}

#[derive(Debug)]
struct PoolCollector;

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(pool) = WATCHED.read().unwrap_or_else(PoisonError::into_inner).clone() else {
            return Ok(());
        };
        let connections = pool.connections();
        let by_state = Family::<[(&str, &str); 1], Gauge>::default();
        by_state.get_or_create(&[("state", "used")]).set(connections.in_use().into());
        by_state.get_or_create(&[("state", "idle")]).set(connections.idle.into());
        let metric = encoder.encode_descriptor(
            "snackdrawer_store_connections",
            "The store's pooled connections, used (lent out) or idle",
            None,
            by_state.metric_type(),
        )?;
        by_state.encode(metric)?;
        let max = ConstGauge::new(i64::from(connections.max));
        let metric = encoder.encode_descriptor(
            "snackdrawer_store_connections_max",
            "The most connections the store's pool opens",
            None,
            max.metric_type(),
        )?;
        max.encode(metric)
    }
}

pub(super) fn register(registry: &mut Registry) {
    registry.register_collector(Box::new(PoolCollector));
}
