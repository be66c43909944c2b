//! The use cases: everything Snackdrawer does, written against the ports alone.
//!
//! `Snackdrawer` is the one entry point the HTTP adapter (or a test) calls. Its errors are one
//! enum, `AppError`, whose messages are the contract's descriptions word for word; the HTTP
//! adapter only chooses the status code for each.

mod auth;
mod catalogue;
mod drawers;
mod snacks;

pub use catalogue::DEFAULT_CATALOGUE;

use crate::domain::{DrawerId, DrawerName, SnackId, SnackName, ValidationError};
use crate::ports::{
    AuthError, BoxError, DrawerRepository, PasswordHasher, SnackRepository, StoreError,
    StoreHealth, TokenService, UserRepository,
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
}

impl Ports {
    /// Ports whose storage roles are all played by one store.
    pub fn with_store<S>(
        store: Arc<S>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenService>,
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

    /// Whether this replica can serve requests now: its store answers.
    #[tracing::instrument(skip(self))]
    pub async fn readiness(&self) -> Result<(), AppError> {
        self.ports.store_health.ping().await.map_err(AppError::from_store)
    }
}

/// Why a use case did not succeed. Messages are the HTTP contract's descriptions, including
/// the old service's two wordings for a missing drawer, which clients may match on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("invalid authentication token")]
    InvalidToken,
    #[error("username or password incorrect")]
    BadCredentials,
    #[error("username taken")]
    UsernameTaken,
    #[error("snack with ID == {0} not found")]
    SnackNotFound(SnackId),
    #[error("snack with name \"{0}\" already exists")]
    SnackNameTaken(SnackName),
    #[error("drawer with ID == {0} not found")]
    DrawerNotFound(DrawerId),
    #[error("drawer with name {0} already exists for this user")]
    DrawerNameTaken(DrawerName),
    /// The drawer named in a change to its contents is missing or someone else's.
    #[error("drawer with ID {0} does not exist")]
    DrawerDoesNotExist(DrawerId),
    #[error("snack with ID {0} does not exist")]
    SnackDoesNotExist(SnackId),
    #[error("snack with ID {snack} already exists in drawer with ID {drawer}")]
    SnackAlreadyInDrawer { snack: SnackId, drawer: DrawerId },
    #[error("snack with ID {snack} is not in drawer with ID {drawer}")]
    SnackNotInDrawer { snack: SnackId, drawer: DrawerId },
    /// A dependency is down or saturated; the request may succeed if retried later.
    #[error("service temporarily unavailable, retry later")]
    Unavailable(#[source] BoxError),
    /// A bug or broken invariant; the cause is for the logs, not for the client.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl AppError {
    /// For store errors a use case does not expect: the outage/bug classes pass through, and an
    /// expected-looking error in an unexpected place is a broken invariant.
    fn from_store(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => Self::Unavailable(cause),
            StoreError::Internal(cause) => Self::Internal(cause),
            unexpected => Self::Internal(unexpected.into()),
        }
    }
}

impl From<AuthError> for AppError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::InvalidToken => Self::InvalidToken,
            AuthError::Overloaded => Self::Unavailable(error.into()),
            AuthError::Internal(cause) => Self::Internal(cause),
        }
    }
}
