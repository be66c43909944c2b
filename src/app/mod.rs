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

use crate::ports::{
    AppError, DrawerRepository, LoginThrottle, PasswordHasher, Readiness, SnackRepository,
    StoreError, StoreHealth, TokenService, UserRepository,
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
}

impl Snackdrawer {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
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
