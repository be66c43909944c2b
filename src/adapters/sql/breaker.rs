//! The breaker: once the database is known to be down, calls are refused at once instead of
//! each waiting out its timeouts, and a probe in the background finds out when it is back.
//!
//! A failed call only makes the database suspect: a probe (a fresh connection, not a pooled
//! one that may be stale) runs at once while calls go on as before, so one dead pooled
//! connection or a saturated pool does not turn every request away. Only when the probe fails
//! is the database known to be down: the breaker opens, and a new probe starts every
//! `probe_interval` until one gets through, which closes the breaker again.
//! (docs/decisions/0008-breaker-in-the-sql-adapter.md says why this lives in the adapter.)
//!
//! The same machinery, watching for a full disk instead, guards writes alone (the write gate):
//! a database whose storage is full still answers reads, so only writes are refused, and its
//! probe is a small write.

use super::errors::{Full, Outage};
use crate::ports::StoreError;
use std::error::Error;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

const CLOSED: u8 = 0;
const CHECKING: u8 = 1;
const OPEN: u8 = 2;

#[derive(Debug, Clone, Copy)]
pub(super) struct BreakerTiming {
    /// Time between probes while the database is down.
    pub probe_interval: Duration,
    /// How long one probe may take before it counts as failed.
    pub probe_timeout: Duration,
}

/// What a breaker watches for.
pub(super) enum Watch {
    /// The database cannot be reached, or is not ours: every call is refused while it lasts.
    Outages,
    /// The database's storage is full: writes are refused while it lasts. `place` names the
    /// database in the log (the SQLite file, or PostgreSQL's database).
    FullStorage { place: String },
}

pub(super) struct Breaker {
    state: AtomicU8,
    timing: BreakerTiming,
    watch: Watch,
}

impl Breaker {
    pub(super) fn new(timing: BreakerTiming, watch: Watch) -> Self {
        Self { state: AtomicU8::new(CLOSED), timing, watch }
    }

    /// Refuses a call while the database is known to be down (or full).
    pub(super) fn admit(&self) -> Result<(), StoreError> {
        if self.state.load(Ordering::Acquire) != OPEN {
            return Ok(());
        }
        Err(match &self.watch {
            Watch::Outages => Outage::KnownDown.into(),
            Watch::FullStorage { place } => Full::KnownFull(place.clone()).into(),
        })
    }

    /// Whether a call's outcome makes the database suspect: a failure of the kind watched
    /// for, with no probe running yet. The caller then runs `probe_until_up`.
    pub(super) fn suspects<T>(&self, outcome: &Result<T, StoreError>) -> bool {
        let Err(StoreError::Unavailable(cause)) = outcome else { return false };
        let watched = match self.watch {
            Watch::Outages => cause.is::<Outage>(),
            Watch::FullStorage { .. } => cause.is::<Full>(),
        };
        watched
            && self
                .state
                .compare_exchange(CLOSED, CHECKING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// Probes until `probe` succeeds: at once, then every `probe_interval`, each probe
    /// allowed `probe_timeout`. A new probe does not wait for a hanging one to time out, so the
    /// breaker closes within about a probe interval of the database's return even when probes
    /// take long to fail (a frozen server). The first failure opens the breaker.
    pub(super) async fn probe_until_up<P, F>(self: Arc<Self>, probe: P)
    where
        P: Fn() -> F,
        F: Future<Output = Result<(), StoreError>> + Send + 'static,
    {
        let timeout = self.timing.probe_timeout;
        let mut probes = JoinSet::new();
        let mut every = tokio::time::interval(self.timing.probe_interval);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {
                    probes.spawn(tokio::time::timeout(timeout, probe()));
                }
                Some(Ok(probed)) = probes.join_next() => {
                    let failure = match probed {
                        Ok(Ok(())) => break,
                        Ok(Err(error)) => error,
                        Err(_) => Outage::NoAnswer(timeout).into(),
                    };
                    if self.state.swap(OPEN, Ordering::AcqRel) != OPEN {
                        self.log_open(&failure);
                    }
                }
            }
        }
        if self.state.swap(CLOSED, Ordering::AcqRel) == OPEN {
            match &self.watch {
                Watch::Outages => tracing::info!("the database answers again: serving normally"),
                Watch::FullStorage { place } => {
                    tracing::info!("{place} takes writes again: serving normally")
                }
            }
        }
        // Dropping `probes` abandons those still waiting.
    }

    /// One line when the breaker opens: an error when it takes an operator to fix (a full
    /// disk, a moved file, a wrong database), a warning for an outage that may pass by itself.
    fn log_open(&self, failure: &StoreError) {
        let chain = std::iter::successors(failure.source(), |&cause| cause.source())
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ");
        let misconfigured = failure
            .source()
            .and_then(|cause| cause.downcast_ref::<Outage>())
            .is_some_and(Outage::is_misconfiguration);
        match &self.watch {
            Watch::FullStorage { place } => tracing::error!(
                error = %chain,
                "{place} is full (disk full): writes answer 503 and readiness fails until a \
                 test write gets through"
            ),
            Watch::Outages if misconfigured => tracing::error!(error = %chain, "{DOWN}"),
            Watch::Outages => tracing::warn!(error = %chain, "{DOWN}"),
        }
    }
}

const DOWN: &str = "the database is down: answering 503 at once until a probe gets through";
