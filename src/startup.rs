//! Wiring: turns a `Config` into running adapters, the application and a bound listener.
//!
//! `Application::build` binds before it returns, so a test (or an operator) can ask for port 0
//! and read the real address from `local_addr`.

use crate::adapters::clock::SystemClock;
use crate::adapters::http;
use crate::adapters::jwt::JwtTokens;
use crate::adapters::memory::MemoryStore;
use crate::adapters::scrypt::{HashingLimits, InvalidCost, ScryptCost, ScryptHasher};
use crate::app::{AppError, Ports, Snackdrawer};
use crate::config::Config;
use axum::Router;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("unsupported DATABASE_URL {0:?}: this build serves only `memory`")]
    UnsupportedStore(String),
    #[error(transparent)]
    Hashing(#[from] InvalidCost),
    #[error("could not seed the snack catalogue")]
    Seeding(#[source] AppError),
    #[error("could not listen on {address}")]
    Listen { address: String, source: io::Error },
}

pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        let app = Snackdrawer::new(ports(config)?);
        if config.seed {
            let added = app.seed_catalogue().await.map_err(StartupError::Seeding)?;
            if added > 0 {
                tracing::info!(added, "seeded the snack catalogue");
            }
        }
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|source| StartupError::Listen { address: config.listen.clone(), source })?;
        Ok(Self { listener, router: http::router(app) })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish before returning.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await
    }
}

fn ports(config: &Config) -> Result<Ports, StartupError> {
    if config.database_url != "memory" {
        return Err(StartupError::UnsupportedStore(config.database_url.clone()));
    }
    let store = Arc::new(MemoryStore::new());
    let cost = ScryptCost { log_n: config.scrypt_log_n, r: config.scrypt_r, p: config.scrypt_p };
    let limits = HashingLimits { workers: config.hash_workers(), queue: config.hash_queue };
    Ok(Ports {
        users: store.clone(),
        snacks: store.clone(),
        drawers: store,
        hasher: Arc::new(ScryptHasher::new(cost, limits)?),
        tokens: Arc::new(JwtTokens::new(
            &token_secret(config),
            Duration::from_secs(config.token_ttl),
            Arc::new(SystemClock),
        )),
    })
}

fn token_secret(config: &Config) -> Vec<u8> {
    match &config.jwt_secret {
        Some(secret) => secret.clone().into_bytes(),
        None => {
            tracing::warn!(
                "SNACKDRAWER_JWT_SECRET is not set: using a random secret, so tokens will not \
                 survive a restart or work across replicas"
            );
            rand::random::<[u8; 32]>().to_vec()
        }
    }
}
