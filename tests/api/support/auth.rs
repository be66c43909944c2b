//! The password hasher and token service of every test: the real adapters, made cheap.
//!
//! Shared with the metrics binary, which compiles this file on its own: keep it self-contained
//! and keep every item in use there too.

use snackdrawer::adapters::jwt::JwtTokens;
use snackdrawer::adapters::scrypt::{HashingLimits, ScryptCost, ScryptHasher};
use snackdrawer::adapters::throttle::{BackoffSettings, BackoffThrottle};
use snackdrawer::ports::Clock;
use std::sync::Arc;
use std::time::Duration;

/// The secret tests sign tokens with.
pub const SECRET: &[u8] = b"test secret, never used outside tests";
/// Token lifetime in the harness.
pub const TOKEN_TTL: Duration = Duration::from_secs(900);
/// The per-username login throttle's settings: the service's defaults.
pub const LOGIN_BACKOFF: BackoffSettings =
    BackoffSettings { free_failures: 5, longest_wait: Duration::from_secs(300) };
/// scrypt at its cheapest: tests exercise the real hasher without paying for it.
const CHEAP_SCRYPT: ScryptCost = ScryptCost { log_n: 4, r: 8, p: 1 };

/// The real scrypt hasher at its cheapest cost.
pub fn cheap_hasher() -> ScryptHasher {
    ScryptHasher::new(CHEAP_SCRYPT, HashingLimits { workers: 2, queue: 1024 })
        .expect("cheap scrypt parameters are valid")
}

/// The real token service, signing with `SECRET` for `TOKEN_TTL` by `clock`.
pub fn token_service(clock: Arc<dyn Clock>) -> JwtTokens {
    JwtTokens::new(SECRET, TOKEN_TTL, clock)
}

/// The real login throttle with the service's default settings, reading `clock`.
pub fn login_throttle(clock: Arc<dyn Clock>) -> Arc<BackoffThrottle> {
    Arc::new(BackoffThrottle::new(LOGIN_BACKOFF, clock))
}
