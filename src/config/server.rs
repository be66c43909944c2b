//! The server section: where the API listens, how long a request and a connection may take,
//! how many connections are served at once, and the grace in-flight requests get at shutdown.

use super::values::{number, positive_duration};
use crate::adapters::http::server::ConnectionLimits;
use clap::Args;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Server")]
pub struct ServerSettings {
    /// Address and port to serve HTTP on. Port 0 picks a free port (logged at start).
    #[arg(long, env = "SNACKDRAWER_LISTEN", default_value = "0.0.0.0:8000")]
    pub listen: String,

    /// How long a request may take, body upload included, before it is answered: 408 when
    /// the client is still sending its body, 503 otherwise.
    #[arg(long, env = "SNACKDRAWER_REQUEST_TIMEOUT", default_value = "30s",
          value_parser = positive_duration(HOUR))]
    pub request_timeout: Duration,

    /// How long a request's head (request line and headers) may take to arrive once its first
    /// byte has; slower connections are closed.
    #[arg(long, env = "SNACKDRAWER_HEADER_TIMEOUT", default_value = "10s",
          value_parser = positive_duration(HOUR))]
    pub header_timeout: Duration,

    /// How long a connection may stay silent with no request in flight before it is closed
    /// (longer than the 60 s of common load balancers, so they close first).
    #[arg(long, env = "SNACKDRAWER_IDLE_TIMEOUT", default_value = "75s",
          value_parser = positive_duration(HOUR))]
    pub idle_timeout: Duration,

    /// Connections served at once; more wait until one closes, and idle ones are closed to
    /// make room. Default: what the open-file limit (raised to its hard limit at start) leaves
    /// after 100 files and three per database connection.
    #[arg(long, env = "SNACKDRAWER_MAX_CONNECTIONS", value_parser = number(1_u32..))]
    pub max_connections: Option<u32>,

    /// How long in-flight requests may go on after SIGTERM/SIGINT before the process exits
    /// anyway.
    #[arg(long, env = "SNACKDRAWER_SHUTDOWN_GRACE", default_value = "10s",
          value_parser = positive_duration(HOUR))]
    pub shutdown_grace: Duration,
}

/// File descriptors kept for everything but the API's connections (logs, the admin API, the
/// exporter, the runtime), beside three per database connection (SQLite's file, journal and
/// shared memory).
const RESERVED_FILES: u64 = 100;

impl ServerSettings {
    /// The connection limits asked for, in a process that may hold `open_files` and opens at
    /// most `db_connections` database connections: unless a cap is named, connections are
    /// capped below what those files leave.
    pub fn connection_limits(&self, open_files: u64, db_connections: u32) -> ConnectionLimits {
        let reserved = RESERVED_FILES + 3 * u64::from(db_connections);
        let fits = u32::try_from(open_files.saturating_sub(reserved)).unwrap_or(u32::MAX).max(1);
        let max_connections = match self.max_connections {
            Some(wanted) if wanted > fits => {
                tracing::warn!(
                    max_connections = wanted,
                    open_files,
                    "SNACKDRAWER_MAX_CONNECTIONS is more than the open-file limit leaves room \
                     for: accepts will fail (and be retried) when files run out"
                );
                wanted
            }
            Some(wanted) => wanted,
            None => fits,
        };
        tracing::info!(open_files, max_connections, "connection limits");
        ConnectionLimits {
            max_connections,
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
        }
    }
}
