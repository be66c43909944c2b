//! The auth section: the secret that signs tokens and how long they last, and what password
//! hashing costs and how much of it runs at once.

use super::values::{Setting, duration, number};
use crate::adapters::scrypt::{HashingLimits, ScryptCost};
use clap::Args;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Auth")]
pub struct AuthSettings {
    /// Secret that signs access tokens (HS256), at least 32 bytes (`openssl rand -base64 32`).
    /// When unset a random one is generated at start, so tokens do not survive a restart and
    /// are not accepted by other replicas.
    #[arg(long, env = "SNACKDRAWER_JWT_SECRET", hide_env_values = true,
          value_parser = Setting::secret(JwtSecret::parse))]
    pub jwt_secret: Option<JwtSecret>,

    /// How long an access token stays valid.
    #[arg(long, env = "SNACKDRAWER_TOKEN_TTL", default_value = "15m",
          value_parser = duration(Duration::from_secs(1), Duration::from_secs(365 * 86_400)))]
    pub token_ttl: Duration,

    /// scrypt cost: log2 of N. Each step doubles the time and memory of a password hash
    /// (14 ≈ 16 MiB and tens of milliseconds per hash).
    #[arg(long, env = "SNACKDRAWER_SCRYPT_LOG_N", default_value_t = 14,
          value_parser = number(1_u8..=20))]
    pub scrypt_log_n: u8,

    /// scrypt block size r.
    #[arg(long, env = "SNACKDRAWER_SCRYPT_R", default_value_t = 8,
          value_parser = number(1_u32..=32))]
    pub scrypt_r: u32,

    /// scrypt parallelism p.
    #[arg(long, env = "SNACKDRAWER_SCRYPT_P", default_value_t = 1,
          value_parser = number(1_u32..=16))]
    pub scrypt_p: u32,

    /// Password hashes computed at once, off the request workers. Each holds its scrypt memory
    /// (16 MiB at cost 14) while it runs. Default: one less than the number of CPUs, at least 1
    /// and at most 2, so a login burst leaves a core for everything else and hashing never
    /// holds more than twice a hash's memory unless asked to.
    #[arg(long, env = "SNACKDRAWER_HASH_WORKERS", value_parser = number(1_u16..))]
    pub hash_workers: Option<u16>,

    /// Password hashes allowed to wait for a worker; beyond that, register and login answer
    /// 503 with Retry-After instead of queueing without bound.
    #[arg(long, env = "SNACKDRAWER_HASH_QUEUE", default_value_t = 64,
          value_parser = number(0_u16..=10_000))]
    pub hash_queue: u16,
}

impl AuthSettings {
    pub fn scrypt_cost(&self) -> ScryptCost {
        ScryptCost { log_n: self.scrypt_log_n, r: self.scrypt_r, p: self.scrypt_p }
    }

    pub fn hashing_limits(&self) -> HashingLimits {
        /// Hashing memory, not cores, is what a default must bound (see --hash-workers).
        const MOST_DEFAULT_HASH_WORKERS: usize = 2;
        let workers = self.hash_workers.map(usize::from).unwrap_or_else(|| {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            cpus.saturating_sub(1).clamp(1, MOST_DEFAULT_HASH_WORKERS)
        });
        HashingLimits { workers, queue: self.hash_queue.into() }
    }

    /// The key tokens are signed with: the secret set, else a random one (with a warning,
    /// since its tokens die with the process).
    pub fn token_key(&self) -> Vec<u8> {
        match &self.jwt_secret {
            Some(secret) => secret.0.as_bytes().to_vec(),
            None => {
                tracing::warn!(
                    "SNACKDRAWER_JWT_SECRET is not set: using a random secret, so tokens will \
                     not survive a restart or work across replicas"
                );
                rand::random::<[u8; 32]>().to_vec()
            }
        }
    }
}

/// The token signing secret; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret(String);

impl JwtSecret {
    /// HS256 wants a key at least as long as its 256-bit hash; an empty or short one would let
    /// tokens be guessed or forged.
    pub const MIN_BYTES: usize = 32;

    fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() < Self::MIN_BYTES {
            return Err(format!(
                "must be at least {} bytes (try `openssl rand -base64 32`)",
                Self::MIN_BYTES
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(..)")
    }
}
