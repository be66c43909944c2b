//! The use cases: everything Snackdrawer does, written against the ports alone.
//!
//! `Snackdrawer` implements the inbound port (`ports::UseCases`) over the outbound ports, one
//! module per part of it. Its errors are one enum, `ports::AppError`, whose messages are the
//! contract's descriptions word for word; the HTTP adapter only chooses the status code for
//! each. Nothing here is instrumented: decorators around `Snackdrawer` and around its ports are.

mod accounts;
mod catalogue;
mod drawers;

pub use catalogue::DEFAULT_CATALOGUE;

use crate::domain::{ListLimits, UserId};
use crate::ports::{
    AppError, DrawerRepository, LoginThrottle, PasswordHasher, Readiness, SnackRepository,
    StoreError, StoreHealth, TokenService, UserRepository, WriteRate,
};
use std::sync::Arc;

/// The adapters a `Snackdrawer` runs on. Wiring decides what each one is (and what wraps it).
#[derive(Clone)]
pub struct Ports {
    pub users: Arc<dyn UserRepository>,
    pub snacks: Arc<dyn SnackRepository>,
    pub drawers: Arc<dyn DrawerRepository>,
    pub store_health: Arc<dyn StoreHealth>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub tokens: Arc<dyn TokenService>,
    pub login_throttle: Arc<dyn LoginThrottle>,
}

impl Ports {
    /// Ports whose storage roles are all played by one store.
    pub fn with_store<S>(
        store: Arc<S>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenService>,
        login_throttle: Arc<dyn LoginThrottle>,
    ) -> Self
    where
        S: UserRepository + SnackRepository + DrawerRepository + StoreHealth + 'static,
    {
        Self {
            users: store.clone(),
            snacks: store.clone(),
            drawers: store.clone(),
            store_health: store,
            hasher,
            tokens,
            login_throttle,
        }
    }
}

/// The application: the use cases over a set of ports.
#[derive(Clone)]
pub struct Snackdrawer {
    ports: Ports,
    bounds: Bounds,
}

/// What keeps one user's writes from growing without bound: how long each list may grow, and
/// how fast a user may write (`None`: as fast as they like).
#[derive(Clone)]
pub struct Bounds {
    pub lists: ListLimits,
    pub write_rate: Option<Arc<dyn WriteRate>>,
}

impl Bounds {
    /// No limits and no rate.
    pub fn none() -> Self {
        Self { lists: ListLimits::UNBOUNDED, write_rate: None }
    }
}

impl Snackdrawer {
    /// The use cases without list limits or write rate.
    pub fn new(ports: Ports) -> Self {
        Self::bounded(ports, Bounds::none())
    }

    pub fn bounded(ports: Ports, bounds: Bounds) -> Self {
        Self { ports, bounds }
    }

    /// Every write to the lists asks this before it writes.
    fn admit_write(&self, caller: UserId) -> Result<(), AppError> {
        match &self.bounds.write_rate {
            Some(rate) => {
                rate.admit(caller).map_err(|held| AppError::WriteThrottled(held.retry_after))
            }
            None => Ok(()),
        }
    }
}

impl Readiness for Snackdrawer {
    async fn readiness(&self) -> Result<(), AppError> {
        self.ports.store_health.ping().await.map_err(unexpected)
    }
}

/// For store errors a use case does not expect: the outage/bug classes pass through, and an
/// expected-looking error in an unexpected place is a broken invariant.
fn unexpected(error: StoreError) -> AppError {
    match error {
        StoreError::Unavailable(cause) => AppError::Unavailable(cause),
        StoreError::Internal(cause) => AppError::Internal(cause),
        unexpected => AppError::Internal(unexpected.into()),
    }
}
