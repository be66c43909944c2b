//! Turning sea-orm's errors into the store port's.
//!
//! Uniqueness and foreign keys are decided by the database, so their violations are the normal
//! way `Duplicate` and `Missing*` are found out. Anything that says "the database cannot be
//! reached or is refusing work right now" becomes `Unavailable` (503, retry later); the rest is
//! `Internal`.

use crate::ports::StoreError;
use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};

/// What a failed statement means to the store.
pub(super) enum Failure {
    UniqueViolation,
    ForeignKeyViolation,
    Other(StoreError),
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
    if is_unavailable(&error) {
        StoreError::Unavailable(error.into())
    } else {
        StoreError::Internal(error.into())
    }
}

fn is_unavailable(error: &DbErr) -> bool {
    match error {
        // Failing to get a connection from the pool: refused, timed out, pool closed.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause)) => {
            match &**cause {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(database) => {
                    database.code().is_some_and(|code| is_transient_code(&code))
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// PostgreSQL: connection exceptions (08…), operator intervention such as
/// `pg_terminate_backend` or shutdown (57P…), too many connections (53300).
/// SQLite: busy and locked, with their extended codes.
fn is_transient_code(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("57P")
        || code == "53300"
        || matches!(code, "5" | "6" | "261" | "262" | "517")
}
