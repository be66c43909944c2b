//! The store section: which database (`DATABASE_URL`) and how the process reaches it, which
//! `serve` and `migrate` share; and what serving adds, reads kept and the catalogue seeded.

use super::values::{Setting, duration, number, positive_duration};
use crate::adapters::sql::PoolSettings;
use clap::{ArgAction, Args};
use std::fmt;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Store")]
pub struct StoreSettings {
    /// Where data lives: `sqlite://FILE?mode=rwc` (created on first start), `postgres://…`, or
    /// `memory` (kept in this process, lost on exit).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://snackdrawer.db?mode=rwc",
          hide_env_values = true, value_parser = Setting::secret(StoreUrl::parse))]
    pub database_url: StoreUrl,

    /// Most database connections this process opens.
    #[arg(long, env = "SNACKDRAWER_DB_MAX_CONNECTIONS", default_value_t = 8,
          value_parser = number(1_u32..=1000))]
    pub db_max_connections: u32,

    /// How long a request waits for a database connection before it answers 503.
    #[arg(long, env = "SNACKDRAWER_DB_ACQUIRE_TIMEOUT", default_value = "2s",
          value_parser = positive_duration(HOUR))]
    pub db_acquire_timeout: Duration,

    /// How long one database statement may run: PostgreSQL cancels it after that, and any
    /// store call not done after the acquire timeout plus this answers 503. Must be below
    /// the request timeout.
    #[arg(long, env = "SNACKDRAWER_DB_STATEMENT_TIMEOUT", default_value = "5s",
          value_parser = positive_duration(HOUR))]
    pub db_statement_timeout: Duration,

    /// How long between probes of a database found down; meanwhile requests that need it
    /// answer 503 at once.
    #[arg(long, env = "SNACKDRAWER_DB_PROBE_INTERVAL", default_value = "250ms",
          value_parser = positive_duration(HOUR))]
    pub db_probe_interval: Duration,
}

impl StoreSettings {
    /// The SQL store's pool, as these settings size and time it.
    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections,
            acquire_timeout: self.db_acquire_timeout,
            statement_timeout: self.db_statement_timeout,
            probe_interval: self.db_probe_interval,
        }
    }
}

/// What serving adds to the store.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Store")]
pub struct StoreServing {
    /// How long a read (the snack list, a drawer with its snacks, an account) is kept and
    /// answered without asking the database. A write through this process forgets what it
    /// changes at once; a write through another process shows after at most this long, and so
    /// may an outage. Default: 1s on SQLite, 0 (nothing kept) on PostgreSQL, whose replicas
    /// share the database behind one address. 0 keeps nothing.
    #[arg(long, env = "SNACKDRAWER_CACHE_TTL", value_parser = duration(Duration::ZERO, HOUR))]
    pub cache_ttl: Option<Duration>,

    /// Do not fill an empty snack catalogue with the default snacks.
    /// The variable takes true/false (SNACKDRAWER_SEED=false is the same as --no-seed).
    #[arg(long = "no-seed", env = "SNACKDRAWER_SEED", action = ArgAction::SetFalse)]
    pub seed: bool,
}

impl StoreServing {
    /// How long the SQL store at `url` keeps reads: the setting, or the store's default.
    pub fn keep_reads_for(&self, url: &StoreUrl) -> Duration {
        let default = match url {
            StoreUrl::Sql(url) if url.starts_with("sqlite:") => Duration::from_secs(1),
            _ => Duration::ZERO,
        };
        self.cache_ttl.unwrap_or(default)
    }
}

/// Which store `DATABASE_URL` selects.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Memory,
    /// A `sqlite:` or `postgres:` URL, passed to the SQL store as it is.
    Sql(String),
}

impl StoreUrl {
    fn parse(raw: &str) -> Result<Self, String> {
        if raw == "memory" {
            Ok(Self::Memory)
        } else if raw.starts_with("sqlite:") {
            Ok(Self::Sql(raw.to_owned()))
        } else if ["postgres://", "postgresql://"].iter().any(|p| raw.starts_with(p)) {
            // Refused here, with the password hidden, rather than by the driver, whose error
            // quotes the URL whole.
            url::Url::parse(raw).map_err(|error| {
                format!("`{}` is not a valid URL: {error}", redact_password(raw))
            })?;
            Ok(Self::Sql(raw.to_owned()))
        } else {
            Err(format!(
                "`{}` is not a store: expected `memory`, `sqlite://FILE?mode=rwc` or \
                 `postgres://…`",
                redact_password(raw)
            ))
        }
    }
}

/// Shows the URL without its password, so configuration can be logged.
impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory"),
            Self::Sql(url) => f.write_str(&redact_password(url)),
        }
    }
}

/// `scheme://user:secret@host/db` becomes `scheme://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, _)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***{}", &rest[userinfo.len()..])
        }
        _ => url.to_owned(),
    }
}
