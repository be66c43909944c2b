//! Password hashing with scrypt, stored in the PHC string format (`$scrypt$ln=…,r=…,p=…$salt$hash`).
//!
//! scrypt is deliberately slow and memory-hungry, so it must not run on the async workers: each
//! hash runs on tokio's blocking pool, at most `workers` at a time, with at most `queue` more
//! waiting. Past that the hasher answers `Overloaded` at once instead of letting a login burst
//! pile up threads and memory. Verifying for an unknown user checks the password against a dummy
//! hash made with the same parameters, so it costs the same as a real check.

use crate::domain::{Password, PasswordHash};
use crate::ports::{AuthError, PasswordHasher};
use async_trait::async_trait;
use scrypt::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use scrypt::phc::PasswordHash as Phc;
use scrypt::{Params, Scrypt};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tracing::Span;

/// The cost of one hash: `log_n` doubles time and memory per step (memory ≈ 128·r·2^log_n bytes).
#[derive(Debug, Clone, Copy)]
pub struct ScryptCost {
    pub log_n: u8,
    pub r: u32,
    pub p: u32,
}

impl ScryptCost {
    /// Tens of milliseconds and 16 MiB per hash on a current core.
    pub const DEFAULT: Self = Self { log_n: 14, r: 8, p: 1 };
}

/// How much hashing may happen at once.
#[derive(Debug, Clone, Copy)]
pub struct HashingLimits {
    /// Hashes computed in parallel on the blocking pool.
    pub workers: usize,
    /// Hashes allowed to wait for a worker before new ones are refused.
    pub queue: usize,
}

pub struct ScryptHasher {
    scrypt: Scrypt,
    /// A hash of a random password, checked against when the user does not exist.
    dummy: Phc,
    /// Permits for running or waiting: `capacity` (workers + queue) in all.
    admitted: Arc<Semaphore>,
    capacity: usize,
    /// Permits for running.
    running: Arc<Semaphore>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid scrypt parameters: {0}")]
pub struct InvalidCost(String);

impl ScryptHasher {
    pub fn new(cost: ScryptCost, limits: HashingLimits) -> Result<Self, InvalidCost> {
        let params = Params::new(cost.log_n, cost.r, cost.p)
            .map_err(|error| InvalidCost(error.to_string()))?;
        let scrypt = Scrypt::new_with_params(params);
        let dummy_password: [u8; 16] = rand::random();
        let dummy = scrypt
            .hash_password(&dummy_password)
            .map_err(|error| InvalidCost(error.to_string()))?;
        let workers = limits.workers.max(1);
        let capacity = workers + limits.queue;
        Ok(Self {
            scrypt,
            dummy,
            admitted: Arc::new(Semaphore::new(capacity)),
            capacity,
            running: Arc::new(Semaphore::new(workers)),
        })
    }

    /// Hashes running or waiting right now: the saturation of the hasher.
    pub fn in_flight(&self) -> usize {
        self.capacity - self.admitted.available_permits()
    }

    /// Runs `work` on the blocking pool within the limits, in the caller's span. The permits travel with the work, not with the caller: a client that hangs up
    /// does not free a worker slot while its hash is still being computed.
    async fn off_the_workers<T: Send + 'static>(
        &self,
        work: impl FnOnce(Scrypt) -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let admitted =
            Arc::clone(&self.admitted).try_acquire_owned().map_err(|_| AuthError::Overloaded)?;
        let running =
            Arc::clone(&self.running).acquire_owned().await.expect("the semaphore is never closed");
        let scrypt = self.scrypt;
        let span = Span::current();
        tokio::task::spawn_blocking(move || {
            let _permits = (admitted, running);
            span.in_scope(|| work(scrypt))
        })
        .await
        .map_err(|error| AuthError::Internal(error.into()))
    }
}

#[async_trait]
impl PasswordHasher for ScryptHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        let password = password.clone();
        self.off_the_workers(move |scrypt| scrypt.hash_password(password.expose().as_bytes()))
            .await?
            .map(|phc| PasswordHash::new(phc.to_string()))
            .map_err(|error| AuthError::Internal(error.to_string().into()))
    }

    async fn verify(
        &self,
        password: &Password,
        hash: Option<&PasswordHash>,
    ) -> Result<bool, AuthError> {
        let (phc, known_user) = match hash {
            Some(stored) => (
                Phc::new(stored.expose())
                    .map_err(|error| AuthError::Internal(error.to_string().into()))?,
                true,
            ),
            None => (self.dummy.clone(), false),
        };
        let password = password.clone();
        let matches = self
            .off_the_workers(move |scrypt| {
                scrypt.verify_password(password.expose().as_bytes(), &phc).is_ok()
            })
            .await?;
        Ok(known_user && matches)
    }
}
