//! Configuration: every setting is a command-line flag and an environment variable, read once
//! at start by clap. `snackdrawer --help` is the reference; the README repeats it.

use clap::{ArgAction, Parser, ValueEnum};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "snackdrawer",
    version,
    about = "A REST API for snacks and drawers, built to be watched: metrics, traces and logs \
             for every request.",
    long_about = None,
    after_help = "Every option can also be set through the environment variable shown with it; \
                  a flag wins over the variable."
)]
pub struct Config {
    /// Address and port to serve HTTP on. Port 0 picks a free port (logged at start).
    #[arg(long, env = "SNACKDRAWER_LISTEN", default_value = "0.0.0.0:8000")]
    pub listen: String,

    /// Where data lives: `memory` keeps everything in this process and loses it on exit.
    #[arg(long, env = "DATABASE_URL", default_value = "memory")]
    pub database_url: String,

    /// Secret that signs access tokens (HS256). When unset a random one is generated at start,
    /// so tokens do not survive a restart and are not accepted by other replicas.
    #[arg(long, env = "SNACKDRAWER_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// How long an access token stays valid, in seconds.
    #[arg(long, env = "SNACKDRAWER_TOKEN_TTL", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl: u64,

    /// Do not fill an empty snack catalogue with the default snacks.
    /// The variable takes true/false (SNACKDRAWER_SEED=false is the same as --no-seed).
    #[arg(long = "no-seed", env = "SNACKDRAWER_SEED", action = ArgAction::SetFalse)]
    pub seed: bool,

    /// scrypt cost: log2 of N. Each step doubles the time and memory of a password hash
    /// (14 ≈ 16 MiB and tens of milliseconds per hash).
    #[arg(long, env = "SNACKDRAWER_SCRYPT_LOG_N", default_value_t = 14,
          value_parser = clap::value_parser!(u8).range(1..=20))]
    pub scrypt_log_n: u8,

    /// scrypt block size r.
    #[arg(long, env = "SNACKDRAWER_SCRYPT_R", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=32))]
    pub scrypt_r: u32,

    /// scrypt parallelism p.
    #[arg(long, env = "SNACKDRAWER_SCRYPT_P", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scrypt_p: u32,

    /// Password hashes computed at once, off the request workers. Default: one less than the
    /// number of CPUs (at least 1), so a login burst leaves a core for everything else.
    #[arg(long, env = "SNACKDRAWER_HASH_WORKERS",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub hash_workers: Option<u16>,

    /// Password hashes allowed to wait for a worker; beyond that, register and login answer
    /// 503 with Retry-After instead of queueing without bound.
    #[arg(long, env = "SNACKDRAWER_HASH_QUEUE", default_value_t = 64)]
    pub hash_queue: usize,

    /// Log format: `text` for people, `json` for machines, `auto` picks text on a terminal.
    #[arg(long, env = "SNACKDRAWER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
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
    fn no_seed_flag_turns_seeding_off() {
        let config = Config::try_parse_from(["snackdrawer", "--no-seed"]).unwrap();
        assert!(!config.seed);
    }

    #[test]
    fn zero_token_lifetime_is_refused() {
        assert!(Config::try_parse_from(["snackdrawer", "--token-ttl", "0"]).is_err());
    }
}
