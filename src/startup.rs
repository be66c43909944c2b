//! Wiring: turns a `Config` into a store, adapters, the application and a bound listener. The
//! one place that knows every room: it builds the outbound adapters, wraps each in its
//! telemetry decorator, builds the core on them, wraps the core's use cases too, and puts the
//! HTTP adapter, inside the request layer, in front.
//!
//! `Application::build` binds before it returns, so a test (or an operator) can ask for port 0
//! and read the real address from `local_addr`. A SQL database that cannot be reached at start
//! does not stop the service: it serves 503s, keeps trying to migrate in the background, and
//! becomes ready when the database answers.

use crate::app::{Ports, Snackdrawer};
use crate::config::{Config, StoreUrl};
use crate::inbound::http;
use crate::outbound::clock::SystemClock;
use crate::outbound::jwt::JwtTokens;
use crate::outbound::memory::MemoryStore;
use crate::outbound::scrypt::{HashingLimits, InvalidCost, ScryptCost, ScryptHasher};
use crate::outbound::sql::{OpenError, PoolSettings, SqlStore};
use crate::ports::{AppError, StoreError, UseCases};
use crate::telemetry::http::{ObserveLayer, metrics_endpoint};
use crate::telemetry::request_trace::TraceSampler;
use crate::telemetry::{self, Observed, Telemetry, TelemetryError, TraceSettings, error_chain};
use axum::Router;
use axum::routing::get;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("could not migrate the database")]
    Migrate(#[source] StoreError),
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
    shutdown_grace: Duration,
}

impl Application {
    /// The service as `config` describes it, tracing the requests `sampler` picks.
    pub async fn build(config: &Config, sampler: TraceSampler) -> Result<Self, StartupError> {
        telemetry::metrics::init(telemetry::metrics::Identity {
            service_name: config.service_name().to_owned(),
            repository_url: config.autometrics_repository_url.clone().unwrap_or_default(),
            repository_provider: config.autometrics_repository_provider.clone().unwrap_or_default(),
        });
        let hasher = Arc::new(Observed::auth(ScryptHasher::new(
            ScryptCost { log_n: config.scrypt_log_n, r: config.scrypt_r, p: config.scrypt_p },
            HashingLimits { workers: config.hash_workers(), queue: config.hash_queue.into() },
        )?));
        let tokens = Arc::new(Observed::auth(JwtTokens::new(
            &token_secret(config),
            Duration::from_secs(config.token_ttl),
            Arc::new(SystemClock),
        )));
        let use_cases = match &config.database_url {
            StoreUrl::Memory => {
                let store = Observed::store(MemoryStore::new(), "memory");
                let core = Snackdrawer::new(Ports::with_store(Arc::new(store), hasher, tokens));
                let use_cases = observed_use_cases(core);
                prepare(&*use_cases, None, config.seed).await?;
                use_cases
            }
            StoreUrl::Sql(url) => {
                let store = SqlStore::open(url, pool_settings(config)).await?;
                let observed = Observed::store(store.clone(), store.system_name());
                let core = Snackdrawer::new(Ports::with_store(Arc::new(observed), hasher, tokens));
                let use_cases = observed_use_cases(core);
                match prepare(&*use_cases, Some(&store), config.seed).await {
                    Err(StartupError::Migrate(StoreError::Unavailable(cause))) => {
                        tracing::warn!(
                            error = %error_chain(&*cause),
                            "the database is unreachable: serving 503 until it answers"
                        );
                        let retrying = use_cases.clone();
                        tokio::spawn(prepare_when_reachable(retrying, store, config.seed));
                    }
                    other => other?,
                }
                use_cases
            }
        };
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|source| StartupError::Listen { address: config.listen.clone(), source })?;
        let router = http_api(use_cases, config.request_timeout, sampler);
        Ok(Self { listener, router, shutdown_grace: config.shutdown_grace })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish, for at most the shutdown grace, before returning.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let stopping = Arc::new(tokio::sync::Notify::new());
        let signalled = stopping.clone();
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let serving = axum::serve(self.listener, service).with_graceful_shutdown(async move {
            shutdown.await;
            signalled.notify_one();
        });
        let grace = self.shutdown_grace;
        tokio::select! {
            served = serving => served,
            () = async { stopping.notified().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(?grace, "in-flight requests outlived the shutdown grace; exiting anyway");
                Ok(())
            }
        }
    }
}

/// Logs and traces as `config` asks. Call once, inside the tokio runtime, before anything logs.
pub fn init_telemetry(config: &Config) -> Result<Telemetry, TelemetryError> {
    telemetry::init(&TraceSettings {
        service_name: config.service_name().to_owned(),
        json_logs: config.json_logs(),
        otlp_endpoint: config.otel_exporter_otlp_endpoint.clone(),
        otlp_grpc: config.otel_exporter_otlp_protocol == "grpc",
        otlp_headers: config.otel_exporter_otlp_headers.clone(),
    })
}

/// The use cases as the service runs them: the core's, each in its span.
pub type ObservedUseCases = Arc<Observed<Snackdrawer>>;

/// The use cases of `core`, each in its span.
pub fn observed_use_cases(core: Snackdrawer) -> ObservedUseCases {
    Arc::new(Observed::use_cases(core))
}

/// The HTTP API over `use_cases`, observed by the request layer (`sampler` picks the requests
/// that are traced), with `/metrics`.
pub fn http_api<U: UseCases + 'static>(
    use_cases: Arc<U>,
    request_timeout: Duration,
    sampler: TraceSampler,
) -> Router {
    http::router(use_cases, request_timeout, get(metrics_endpoint))
        .layer(ObserveLayer::new(sampler, http::MODULE))
}

/// `snackdrawer migrate`: apply pending migrations and stop.
pub async fn migrate_only(config: &Config) -> Result<(), StartupError> {
    match &config.database_url {
        StoreUrl::Memory => tracing::info!("the memory store has no schema to migrate"),
        StoreUrl::Sql(url) => {
            SqlStore::open(url, pool_settings(config))
                .await?
                .migrate()
                .await
                .map_err(StartupError::Migrate)?;
            tracing::info!("the database schema is up to date");
        }
    }
    Ok(())
}

/// Migrates (SQL stores) and seeds a fresh catalogue.
async fn prepare(
    app: &impl UseCases,
    sql: Option<&SqlStore>,
    seed: bool,
) -> Result<(), StartupError> {
    if let Some(store) = sql {
        store.migrate().await.map_err(StartupError::Migrate)?;
    }
    if seed {
        let added = app.seed_catalogue().await.map_err(StartupError::Seeding)?;
        if added > 0 {
            tracing::info!(added, "seeded the snack catalogue");
        }
    }
    Ok(())
}

/// Retries `prepare` with backoff (1 s doubling to 30 s) until the database lets it finish.
async fn prepare_when_reachable(app: ObservedUseCases, store: SqlStore, seed: bool) {
    let mut wait = Duration::from_secs(1);
    loop {
        tokio::time::sleep(wait).await;
        match prepare(&*app, Some(&store), seed).await {
            Ok(()) => {
                tracing::info!("the database answers: schema migrated, serving normally");
                return;
            }
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), retry_in = ?wait, "database still not ready");
            }
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

fn pool_settings(config: &Config) -> PoolSettings {
    PoolSettings {
        max_connections: config.db_max_connections,
        acquire_timeout: config.db_acquire_timeout,
    }
}

fn token_secret(config: &Config) -> Vec<u8> {
    match &config.jwt_secret {
        Some(secret) => secret.as_bytes().to_vec(),
        None => {
            tracing::warn!(
                "SNACKDRAWER_JWT_SECRET is not set: using a random secret, so tokens will not \
                 survive a restart or work across replicas"
            );
            rand::random::<[u8; 32]>().to_vec()
        }
    }
}
