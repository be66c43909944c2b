//! Where the database is, for messages, and why the store could not connect to it when it
//! first tried (at start, or in `snackdrawer migrate`). The pool alone says too little there:
//! it retries a refused PostgreSQL connection until its acquire timeout and then says only
//! that it timed out, and SQLite's "unable to open database file" names no file. Neither ever
//! shows a password: the place is a file's path or PostgreSQL's host and port.

use super::errors::{Outage, is_pool_timeout, is_unreachable, store_error};
use crate::ports::{BoxError, StoreError};
use sea_orm::DbErr;
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::{self, ConnectOptions};
use std::path::Path;
use std::time::Duration;

pub(super) struct Reach {
    /// `the database file ./snackdrawer.db`, `the PostgreSQL database at db:5432`.
    place: String,
    /// How to try one PostgreSQL connection directly, outside the pool; `None` on SQLite.
    postgres: Option<PgConnectOptions>,
    /// How long that attempt may take.
    timeout: Duration,
}

impl Reach {
    /// The database at `url`, in `file` on SQLite; a direct attempt may take `timeout`.
    pub(super) fn new(url: &str, file: Option<&Path>, timeout: Duration) -> Self {
        let postgres = match file {
            Some(_) => None,
            None => url.parse::<PgConnectOptions>().ok(),
        };
        let place = match (file, &postgres) {
            (Some(path), _) => format!("the database file {}", path.display()),
            (None, Some(options)) => match options.get_socket() {
                Some(socket) => format!("the PostgreSQL database at {}", socket.display()),
                None => format!(
                    "the PostgreSQL database at {}:{}",
                    options.get_host(),
                    options.get_port()
                ),
            },
            (None, None) => "the PostgreSQL database".to_owned(),
        };
        Self { place, postgres, timeout }
    }

    pub(super) fn place(&self) -> &str {
        &self.place
    }

    /// `error`, met asking the pool for a first connection, as the store's error: when the
    /// database could not be reached, an outage that says where it is and, on PostgreSQL, why
    /// (a refused connection, a failed login), as one direct attempt finds out.
    pub(super) async fn unconnected(&self, error: DbErr) -> StoreError {
        if !is_unreachable(&error) {
            return store_error(error);
        }
        let cause: BoxError = match &self.postgres {
            Some(options) if is_pool_timeout(&error) => {
                match tokio::time::timeout(self.timeout, options.connect()).await {
                    // sqlx's own words for it repeat the I/O error's.
                    Ok(Err(sqlx::Error::Io(io))) => io.into(),
                    Ok(Err(direct)) => direct.into(),
                    _ => error.into(),
                }
            }
            _ => error.into(),
        };
        Outage::CannotConnect { place: self.place.clone(), source: cause }.into()
    }
}
