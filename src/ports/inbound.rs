//! The inbound port: everything Snackdrawer does, as the traits the HTTP adapter (or a test, or
//! a benchmark) calls, one per area as with the outbound repositories, and `UseCases`, which is
//! all of them. `app::Snackdrawer` implements them over the outbound ports; decorators such as
//! `telemetry::Observed` implement them by wrapping another implementation, which is how a use
//! case gets its span while the core names no instrumentation library.
//!
//! Unlike the outbound ports, these return `impl Future + Send` instead of going through
//! async-trait: the HTTP adapter is generic over the port rather than holding a trait object,
//! so a use case, and the decorator around it, costs no allocation per call.

use super::{AuthError, BoxError};
use crate::domain::{
    AccessToken, ClientAddress, Drawer, DrawerId, DrawerName, DrawerWithContents, FullList,
    LoginName, Password, Snack, SnackId, SnackList, SnackName, User, UserId, Username,
    ValidationError,
};
use std::future::Future;

/// Every use case: what the HTTP adapter holds.
pub trait UseCases: Accounts + Catalogue + Drawers + Readiness {}

impl<T: Accounts + Catalogue + Drawers + Readiness> UseCases for T {}

pub trait Accounts: Send + Sync {
    /// Creates an account. MUST return `UsernameTaken` if the name is in use. Registering does
    /// not log in: clients call `log_in` next.
    fn register(
        &self,
        username: Username,
        password: Password,
    ) -> impl Future<Output = Result<User, AppError>> + Send;

    /// Exchanges a username (`LoginName` says which account it names) and password, sent from
    /// `from`, for an access token. MUST return
    /// `BadCredentials` for an unknown user and a wrong password alike, after the same amount
    /// of work, and `LoginThrottled` for both alike while failed attempts for the username hold
    /// it back (`LoginThrottle::attempt` says when they do).
    fn log_in(
        &self,
        name: LoginName,
        password: Password,
        from: ClientAddress,
    ) -> impl Future<Output = Result<AccessToken, AppError>> + Send;

    /// The user a token belongs to. MUST return `InvalidToken` for anything but a current
    /// token this service issued to an account that still exists; for `Access::Write`, one
    /// that exists now, by the store's current state rather than a copy it kept.
    fn authenticate(
        &self,
        token: &str,
        access: Access,
    ) -> impl Future<Output = Result<UserId, AppError>> + Send;
}

/// What a request does on its caller's behalf, which decides how current the check of the
/// account behind its token must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads: the account may be checked against a copy the store kept, for at most its
    /// keep time.
    Read,
    /// Changes something: the account is checked against the store as it is now, so a token
    /// whose account is gone, or whose id a reset of the database gave to someone else,
    /// changes nothing.
    Write,
}

/// The global snack catalogue: anyone may read it, any logged-in user may add to it.
pub trait Catalogue: Send + Sync {
    /// The whole catalogue, in id order.
    fn list_snacks(&self) -> impl Future<Output = Result<SnackList, AppError>> + Send;

    /// MUST return `SnackNotFound` if there is no such snack.
    fn get_snack(&self, id: SnackId) -> impl Future<Output = Result<Snack, AppError>> + Send;

    /// MUST return `WriteThrottled` while the caller writes too fast, `SnackNameTaken` if a
    /// snack has exactly this name, and `ListFull` when the catalogue is at its limit.
    fn create_snack(
        &self,
        caller: UserId,
        name: SnackName,
    ) -> impl Future<Output = Result<Snack, AppError>> + Send;

    /// Fills an empty catalogue with the default snacks and returns how many it added; a
    /// catalogue with any snack in it is left alone.
    fn seed_catalogue(&self) -> impl Future<Output = Result<usize, AppError>> + Send;
}

/// Private drawers. Another user's drawer MUST behave exactly like a missing one.
pub trait Drawers: Send + Sync {
    /// The caller's drawers, in id order, without contents.
    fn list_drawers(
        &self,
        caller: UserId,
    ) -> impl Future<Output = Result<Vec<Drawer>, AppError>> + Send;

    /// MUST return `WriteThrottled` while the caller writes too fast, `DrawerNameTaken` if the
    /// caller already has a drawer with this name, and `ListFull` when the caller has as many
    /// drawers as a user may.
    fn create_drawer(
        &self,
        caller: UserId,
        name: DrawerName,
    ) -> impl Future<Output = Result<Drawer, AppError>> + Send;

    /// MUST return `DrawerNotFound` for a drawer that is missing or someone else's.
    fn get_drawer(
        &self,
        caller: UserId,
        id: DrawerId,
    ) -> impl Future<Output = Result<DrawerWithContents, AppError>> + Send;

    /// MUST return `WriteThrottled` while the caller writes too fast, `DrawerDoesNotExist` for a
    /// drawer that is missing or someone else's, `ListFull` when the drawer is at its limit,
    /// `SnackDoesNotExist` for an unknown snack, `SnackAlreadyInDrawer` if it is there already.
    fn put_snack_in_drawer(
        &self,
        caller: UserId,
        drawer: DrawerId,
        snack: SnackId,
    ) -> impl Future<Output = Result<(), AppError>> + Send;

    /// MUST return `WriteThrottled` while the caller writes too fast, `DrawerDoesNotExist` for a
    /// drawer that is missing or someone else's, and `SnackNotInDrawer` if the snack is not in it.
    fn take_snack_from_drawer(
        &self,
        caller: UserId,
        drawer: DrawerId,
        snack: SnackId,
    ) -> impl Future<Output = Result<(), AppError>> + Send;

    /// MUST return `WriteThrottled` while the caller writes too fast, and `DrawerDoesNotExist`
    /// for a drawer that is missing or someone else's.
    fn delete_drawer(
        &self,
        caller: UserId,
        drawer: DrawerId,
    ) -> impl Future<Output = Result<(), AppError>> + Send;
}

pub trait Readiness: Send + Sync {
    /// Whether this replica can serve requests now: MUST return `Unavailable` while its store
    /// cannot answer.
    fn readiness(&self) -> impl Future<Output = Result<(), AppError>> + Send;
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
    /// Too many failed logins for this username just now; the wait is in whole seconds.
    #[error("too many failed logins for this username, retry in {} s", retry_after_seconds(*.0))]
    LoginThrottled(std::time::Duration),
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
    /// A write would lengthen a list past its limit (`ListLimits`).
    #[error("{0}")]
    ListFull(FullList),
    /// The caller wrote too much just now; the wait is in whole seconds.
    #[error("too many writes from this user, retry in {} s", retry_after_seconds(*.0))]
    WriteThrottled(std::time::Duration),
    /// A dependency is down or saturated; the request may succeed if retried later.
    #[error("service temporarily unavailable, retry later")]
    Unavailable(#[source] BoxError),
    /// A bug or broken invariant; the cause is for the logs, not for the client.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// A wait as the whole seconds a client is told to wait: rounded up, and at least one.
pub fn retry_after_seconds(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
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
