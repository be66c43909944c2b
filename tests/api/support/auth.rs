//! The password hasher and token service of every test: the real adapters, made cheap.
//!
//! Shared with the metrics binary, which compiles this file on its own: keep it self-contained
//! and keep every item in use there too.

use snackdrawer::outbound::jwt::JwtTokens;
use snackdrawer::outbound::scrypt::{HashingLimits, ScryptCost, ScryptHasher};
use snackdrawer::ports::Clock;
use std::sync::Arc;
use std::time::Duration;

/// The secret tests sign tokens with.
pub const SECRET: &[u8] = b"test secret, never used outside tests";
/// Token lifetime in the harness.
pub const TOKEN_TTL: Duration = Duration::from_secs(900);
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
