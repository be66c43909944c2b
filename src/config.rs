//! Configuration: every setting is a command-line flag and an environment variable, read once
//! at start by clap. `snackdrawer --help` is the reference; the README repeats it.

use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use std::time::Duration;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "snackdrawer",
    version,
    about = "A REST API for snacks and drawers, built to be watched: metrics, traces and logs \
             for every request.",
    long_about = None,
    after_help = "Every option can also be set through the environment variable shown with it; \
                  a flag wins over the variable. Without a command, snackdrawer serves."
)]
pub struct Config {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address and port to serve HTTP on. Port 0 picks a free port (logged at start).
    #[arg(long, env = "SNACKDRAWER_LISTEN", default_value = "0.0.0.0:8000", global = true)]
    pub listen: String,

    /// Where data lives: `sqlite://FILE?mode=rwc` (created on first start), `postgres://…`, or
    /// `memory` (kept in this process, lost on exit).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://snackdrawer.db?mode=rwc",
          value_parser = StoreUrl::parse, global = true)]
    pub database_url: StoreUrl,

    /// Most database connections this process opens.
    #[arg(long, env = "SNACKDRAWER_DB_MAX_CONNECTIONS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub db_max_connections: u32,

    /// Seconds a request waits for a database connection before it answers 503
    /// (decimals allowed, e.g. 0.5).
    #[arg(long, env = "SNACKDRAWER_DB_ACQUIRE_TIMEOUT", default_value = "2",
          value_parser = parse_seconds, global = true)]
    pub db_acquire_timeout: Duration,

    /// Secret that signs access tokens (HS256). When unset a random one is generated at start,
    /// so tokens do not survive a restart and are not accepted by other replicas.
    #[arg(long, env = "SNACKDRAWER_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// How long an access token stays valid, in seconds.
    #[arg(long, env = "SNACKDRAWER_TOKEN_TTL", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub token_ttl: u64,

    /// Do not fill an empty snack catalogue with the default snacks.
    /// The variable takes true/false (SNACKDRAWER_SEED=false is the same as --no-seed).
    #[arg(long = "no-seed", env = "SNACKDRAWER_SEED", action = ArgAction::SetFalse, global = true)]
    pub seed: bool,

    /// scrypt cost: log2 of N. Each step doubles the time and memory of a password hash
    /// (14 ≈ 16 MiB and tens of milliseconds per hash).
    #[arg(long, env = "SNACKDRAWER_SCRYPT_LOG_N", default_value_t = 14,
          value_parser = clap::value_parser!(u8).range(1..=20), global = true)]
    pub scrypt_log_n: u8,

    /// scrypt block size r.
    #[arg(long, env = "SNACKDRAWER_SCRYPT_R", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=32), global = true)]
    pub scrypt_r: u32,

    /// scrypt parallelism p.
    #[arg(long, env = "SNACKDRAWER_SCRYPT_P", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=16), global = true)]
    pub scrypt_p: u32,

    /// Password hashes computed at once, off the request workers. Default: one less than the
    /// number of CPUs (at least 1), so a login burst leaves a core for everything else.
    #[arg(long, env = "SNACKDRAWER_HASH_WORKERS",
          value_parser = clap::value_parser!(u16).range(1..), global = true)]
    pub hash_workers: Option<u16>,

    /// Password hashes allowed to wait for a worker; beyond that, register and login answer
    /// 503 with Retry-After instead of queueing without bound.
    #[arg(long, env = "SNACKDRAWER_HASH_QUEUE", default_value_t = 64, global = true)]
    pub hash_queue: usize,

    /// Log format: `text` for people, `json` for machines, `auto` picks text on a terminal.
    #[arg(long, env = "SNACKDRAWER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve the API (what snackdrawer does without a command).
    Serve,
    /// Apply pending database migrations and exit; serving applies them too.
    Migrate,
}

/// Which store `DATABASE_URL` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Memory,
    /// A `sqlite:` or `postgres:` URL, passed to the SQL store as it is.
    Sql(String),
}

impl StoreUrl {
    fn parse(raw: &str) -> Result<Self, String> {
        if raw == "memory" {
            Ok(Self::Memory)
        } else if ["sqlite:", "postgres://", "postgresql://"].iter().any(|p| raw.starts_with(p)) {
            Ok(Self::Sql(raw.to_owned()))
        } else {
            Err("expected `memory`, `sqlite://FILE?mode=rwc` or `postgres://…`".to_owned())
        }
    }
}

fn parse_seconds(raw: &str) -> Result<Duration, String> {
    let seconds: f64 = raw.parse().map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err("must be more than 0 and at most 3600 seconds".to_owned())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Auto,
    Text,
    Json,
}

impl Config {
    pub fn hash_workers(&self) -> usize {
        self.hash_workers.map(usize::from).unwrap_or_else(|| {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            cpus.saturating_sub(1).max(1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_on_port_8000_with_seeding() {
        let config = Config::try_parse_from(["snackdrawer"]).unwrap();
        assert_eq!(config.listen, "0.0.0.0:8000");
        assert_eq!(config.token_ttl, 900);
        assert!(config.seed);
    }

    #[test]
    fn the_default_store_is_an_sqlite_file_in_the_working_directory() {
        let config = Config::try_parse_from(["snackdrawer"]).unwrap();
        assert_eq!(config.database_url, StoreUrl::Sql("sqlite://snackdrawer.db?mode=rwc".into()));
        assert_eq!(config.command, None);
    }

    #[test]
    fn unknown_database_urls_are_refused_at_parse_time() {
        for url in ["mysql://localhost/x", "snackdrawer.db", ""] {
            assert!(
                Config::try_parse_from(["snackdrawer", "--database-url", url]).is_err(),
                "{url}"
            );
        }
        let memory = Config::try_parse_from(["snackdrawer", "--database-url", "memory"]).unwrap();
        assert_eq!(memory.database_url, StoreUrl::Memory);
    }

    #[test]
    fn settings_may_follow_the_migrate_command() {
        let config =
            Config::try_parse_from(["snackdrawer", "migrate", "--database-url", "memory"]).unwrap();
        assert_eq!(config.command, Some(Command::Migrate));
        assert_eq!(config.database_url, StoreUrl::Memory);
    }

    #[test]
    fn acquire_timeout_takes_decimal_seconds() {
        let config =
            Config::try_parse_from(["snackdrawer", "--db-acquire-timeout", "0.25"]).unwrap();
        assert_eq!(config.db_acquire_timeout, Duration::from_millis(250));
        assert!(Config::try_parse_from(["snackdrawer", "--db-acquire-timeout", "0"]).is_err());
    }

    #[test]
    fn no_seed_flag_turns_seeding_off() {
        let config = Config::try_parse_from(["snackdrawer", "--no-seed"]).unwrap();
        assert!(!config.seed);
    }

    #[test]
    fn zero_token_lifetime_is_refused() {
        assert!(Config::try_parse_from(["snackdrawer", "--token-ttl", "0"]).is_err());
    }
}
