//! Turning sea-orm's errors into the store port's.
//!
//! Uniqueness and foreign keys are decided by the database, so their violations are the normal
//! way `Duplicate` and `Missing*` are found out. Anything that says "the database cannot be
//! reached, or is not ours" is an `Outage`: `Unavailable` (503, retry later), and a reason for
//! the breaker to probe. A busy or saturated database that still answers is `Unavailable`
//! without being an outage. Storage that is `Full` (a full disk) is `Unavailable` too, for
//! writes only: reads still work, so it is no outage, and the write gate probes instead. The
//! rest is `Internal`.

use crate::ports::{BoxError, StoreError};
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, SqlErr, sqlx};
use std::path::PathBuf;
use std::time::Duration;

/// What a failed statement means to the store.
pub(super) enum Failure {
    UniqueViolation,
    ForeignKeyViolation,
    Other(StoreError),
}

/// Why the database cannot serve anyone now: the cause inside `StoreError::Unavailable` that
/// makes the breaker probe, and, while the probe fails, refuse calls at once.
#[derive(Debug, thiserror::Error)]
pub(super) enum Outage {
    #[error("the database cannot be reached")]
    Unreachable(#[source] DbErr),
    /// A first connection failed: where the database is, and why (`reach`).
    #[error("cannot connect to {place}")]
    CannotConnect { place: String, source: BoxError },
    #[error("the database did not answer within {0:?}")]
    NoAnswer(Duration),
    #[error("the database answering is not Snackdrawer's: its tables are missing")]
    NotOurs(#[source] DbErr),
    #[error(
        "the database file {} is no longer the one this service opened (moved, deleted or \
         replaced); put it back, or restart to start afresh",
        .0.display()
    )]
    FileGone(PathBuf),
    #[error("the database was found down; calls are refused until a probe gets through")]
    KnownDown,
}

/// The database's storage is full: it still answers reads but cannot store a write. The cause
/// inside `StoreError::Unavailable` that makes the write gate probe with a small write, and,
/// while that fails, refuse writes at once.
#[derive(Debug, thiserror::Error)]
pub(super) enum Full {
    #[error("the database's storage is full (disk full): the write was not stored")]
    Storage(#[source] DbErr),
    #[error("{0} is full (disk full): writes are refused until a test write gets through")]
    KnownFull(String),
}

impl From<Full> for StoreError {
    fn from(full: Full) -> Self {
        Self::Unavailable(full.into())
    }
}

impl Outage {
    /// Whether it takes an operator to fix (a file moved, a wrong database), rather than
    /// the database coming back by itself: such outages are logged as errors.
    pub(super) fn is_misconfiguration(&self) -> bool {
        matches!(self, Self::NotOurs(_) | Self::FileGone(_))
    }
}

impl From<Outage> for StoreError {
    fn from(outage: Outage) -> Self {
        Self::Unavailable(outage.into())
    }
}

pub(super) fn classify(error: DbErr) -> Failure {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Failure::UniqueViolation,
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => Failure::ForeignKeyViolation,
        _ => Failure::Other(store_error(error)),
    }
}

/// For errors where a constraint violation would be a bug, not an answer.
pub(super) fn store_error(error: DbErr) -> StoreError {
    if is_unreachable(&error) {
        Outage::Unreachable(error).into()
    } else if is_missing_table(&error) {
        Outage::NotOurs(error).into()
    } else if is_storage_full(&error) {
        Full::Storage(error).into()
    } else if is_transient(&error) {
        StoreError::Unavailable(error.into())
    } else {
        StoreError::Internal(error.into())
    }
}

fn sqlx_cause(error: &DbErr) -> Option<&sqlx::Error> {
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(cause))
        | DbErr::Query(RuntimeErr::SqlxError(cause))
        | DbErr::Conn(RuntimeErr::SqlxError(cause)) => Some(cause),
        _ => None,
    }
}

fn database_code(error: &DbErr) -> Option<String> {
    match sqlx_cause(error)? {
        sqlx::Error::Database(database) => database.code().map(|code| code.into_owned()),
        _ => None,
    }
}

/// Failing to get a connection (refused, timed out, pool closed, a file that cannot be
/// opened), or a connection that broke.
pub(super) fn is_unreachable(error: &DbErr) -> bool {
    if matches!(error, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return true;
    }
    let transport = sqlx_cause(error).is_some_and(|cause| {
        matches!(
            cause,
            sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
        )
    });
    transport || database_code(error).is_some_and(|code| is_unreachable_code(&code))
}

/// The pool gave up waiting for a connection, saying nothing of why.
pub(super) fn is_pool_timeout(error: &DbErr) -> bool {
    matches!(error, DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))
        || matches!(sqlx_cause(error), Some(sqlx::Error::PoolTimedOut))
}

/// PostgreSQL: connection exceptions (08…), operator intervention such as
/// `pg_terminate_backend` or shutdown (57P…). SQLite: a database file that cannot be opened
/// (14, with its extended codes).
fn is_unreachable_code(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("57P")
        || matches!(code, "14" | "270" | "526" | "782" | "1038" | "1294" | "1550")
}

/// PostgreSQL: too many connections (53300), a statement cancelled by `statement_timeout`
/// (57014). SQLite: busy and locked, with their extended codes.
fn is_transient(error: &DbErr) -> bool {
    database_code(error).is_some_and(|code| {
        matches!(code.as_str(), "53300" | "57014" | "5" | "6" | "261" | "262" | "517")
    })
}

/// SQLite: `SQLITE_FULL` (13), a full disk or the file's page cap. PostgreSQL: `disk_full`
/// (53100).
fn is_storage_full(error: &DbErr) -> bool {
    database_code(error).is_some_and(|code| matches!(code.as_str(), "13" | "53100"))
}

/// A table of the schema is missing: the database answering is not the one migrated.
/// PostgreSQL says `undefined_table` (42P01); SQLite only says it in words.
fn is_missing_table(error: &DbErr) -> bool {
    match sqlx_cause(error) {
        Some(sqlx::Error::Database(database)) => {
            database.code().as_deref() == Some("42P01")
                || database.message().starts_with("no such table")
        }
        _ => false,
    }
}
