//! Wiring: turns a `Config` into a store, adapters, the application and a bound listener. The
//! one place that knows every room: it builds the outbound adapters, wraps each in its
//! telemetry decorator (with the fault decorator inside, when fault injection is armed), builds
//! the core on them, wraps the core's use cases too, and puts the HTTP adapter, inside the
//! request layer, in front; and, when asked, the admin API on a listener of its own.
//!
//! `Application::build` binds before it returns, so a test (or an operator) can ask for port 0
//! and read the real address from `local_addr`. A SQL database that cannot be reached at start
//! does not stop the service: it serves 503s, keeps trying to migrate in the background, and
//! becomes ready when the database answers.

use crate::app::{Bounds, Ports, Snackdrawer};
use crate::chaos::plan::{Plan, PlanError};
use crate::chaos::{ChangedBy, FaultInjector, FaultLayer, Faulty, admin};
use crate::config::{Config, FaultSettings, StoreUrl};
use crate::domain::ListLimits;
pub use crate::inbound::http::server::Stopped;
use crate::inbound::http::server::{self, ConnectionLimits};
use crate::inbound::http::{self, AddressLimits};
use crate::outbound::clock::SystemClock;
use crate::outbound::jwt::JwtTokens;
use crate::outbound::memory::MemoryStore;
use crate::outbound::scrypt::{HashingLimits, InvalidCost, ScryptCost, ScryptHasher};
use crate::outbound::sql::{OpenError, PoolSettings, SqlStore};
use crate::outbound::throttle::{BackoffSettings, BackoffThrottle};
use crate::outbound::write_rate::{PerUserBuckets, WriteRateSettings};
use crate::ports::{
    AppError, Clock, DrawerRepository, LoginThrottle, PasswordHasher, SnackRepository, StoreError,
    StoreHealth, TokenService, UseCases, UserRepository,
};
use crate::telemetry::honeycomb::{self, Honeycomb};
use crate::telemetry::http::{ObserveLayer, metrics_endpoint};
use crate::telemetry::request_trace::TraceSampler;
use crate::telemetry::{
    self, Observed, OtlpSettings, Telemetry, TelemetryError, TraceSettings, error_chain,
};
use axum::Router;
use axum::routing::get;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::layer::util::Identity;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("could not migrate the database")]
    Migrate(#[source] StoreError),
    #[error(
        "SNACKDRAWER_DB_STATEMENT_TIMEOUT ({statement:?}) must be below \
         SNACKDRAWER_REQUEST_TIMEOUT ({request:?}), so a slow statement answers before the \
         request is cut off"
    )]
    StatementTimeout { statement: Duration, request: Duration },
    #[error(transparent)]
    Hashing(#[from] InvalidCost),
    #[error("could not seed the snack catalogue")]
    Seeding(#[source] AppError),
    #[error("could not listen on {address}")]
    Listen { address: String, source: io::Error },
    #[error(transparent)]
    FaultPlan(#[from] PlanError),
    #[error("could not read the fault plan file {path}")]
    FaultPlanFile { path: String, source: io::Error },
    #[error("{0}")]
    LazySettings(String),
    #[error(
        "SNACKDRAWER_ADMIN_LISTEN is set but SNACKDRAWER_ADMIN_TOKEN is not: the admin API \
         would be open to anyone who can reach it"
    )]
    AdminWithoutToken,
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    /// The admin API's listener and routes, when it is on.
    admin: Option<(TcpListener, Router)>,
    limits: ConnectionLimits,
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
        let faults = fault_injector(&config.faults)?;
        let hasher = ScryptHasher::new(
            ScryptCost { log_n: config.scrypt_log_n, r: config.scrypt_r, p: config.scrypt_p },
            HashingLimits { workers: config.hash_workers(), queue: config.hash_queue.into() },
        )?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let tokens = JwtTokens::new(
            &token_secret(config),
            Duration::from_secs(config.token_ttl),
            clock.clone(),
        );
        let login_throttle: Arc<dyn LoginThrottle> = Arc::new(BackoffThrottle::new(
            BackoffSettings {
                free_failures: config.login_free_failures,
                longest_wait: match config.login_limits {
                    true => Duration::from_secs(config.login_backoff_max),
                    false => Duration::ZERO,
                },
            },
            clock,
        ));
        let bounds = bounds(config);
        let use_cases = match &config.database_url {
            StoreUrl::Memory => {
                let ports = decorated_ports(
                    MemoryStore::new(),
                    "memory",
                    hasher,
                    tokens,
                    login_throttle,
                    faults.as_ref(),
                );
                let use_cases = observed_use_cases(Snackdrawer::bounded(ports, bounds));
                prepare(&*use_cases, None, config.seed).await?;
                use_cases
            }
            StoreUrl::Sql(url) => {
                let store = SqlStore::open(url, pool_settings(config)?, config.cache_ttl()).await?;
                store.observe_kept_reads(crate::telemetry::wide_event::kept_read);
                let system = store.system_name();
                let ports = decorated_ports(
                    store.clone(),
                    system,
                    hasher,
                    tokens,
                    login_throttle,
                    faults.as_ref(),
                );
                let use_cases = observed_use_cases(Snackdrawer::bounded(ports, bounds));
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
        let listener = bind(&config.listen).await?;
        let admin = match (&config.faults.admin_listen, &faults) {
            (Some(address), Some(injector)) => {
                let token =
                    config.faults.admin_token.clone().ok_or(StartupError::AdminWithoutToken)?;
                Some((bind(address).await?, admin::router(injector.clone(), token)))
            }
            _ => None,
        };
        let address_limits = match config.login_limits {
            true => AddressLimits {
                per_second: config.password_rate_per_address,
                burst: config.password_burst_per_address,
            },
            false => AddressLimits::OFF,
        };
        let router = http_api(use_cases, config.request_timeout, address_limits, sampler, faults);
        let limits = connection_limits(config);
        Ok(Self { listener, router, admin, limits, shutdown_grace: config.shutdown_grace })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where the admin API listens, when it is on.
    pub fn admin_addr(&self) -> Option<io::Result<SocketAddr>> {
        self.admin.as_ref().map(|(listener, _)| listener.local_addr())
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish, for at most the shutdown grace, before returning.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Stopped {
        let admin = self.admin.map(|(listener, router)| {
            let limits = ConnectionLimits { max_connections: ADMIN_CONNECTIONS, ..self.limits };
            let forever = std::future::pending();
            tokio::spawn(server::serve(listener, router, limits, self.shutdown_grace, forever))
        });
        let stopped =
            server::serve(self.listener, self.router, self.limits, self.shutdown_grace, shutdown)
                .await;
        if let Some(admin) = admin {
            admin.abort();
        }
        stopped
    }
}

/// How far and how fast one user's writes may go, as `config` says.
fn bounds(config: &Config) -> Bounds {
    let rate = WriteRateSettings {
        per_second: config.write_rate_per_user,
        burst: config.write_burst_per_user,
    };
    Bounds {
        lists: ListLimits {
            catalogue: config.max_catalogue_snacks,
            drawers_per_user: config.max_drawers_per_user,
            snacks_per_drawer: config.max_snacks_per_drawer,
        },
        write_rate: PerUserBuckets::new(rate).map(|buckets| Arc::new(buckets) as _),
    }
}

/// Connections the admin API serves at once: it has one operator, not the public.
const ADMIN_CONNECTIONS: u32 = 16;

/// File descriptors kept for everything but the API's connections (logs, the admin API, the
/// exporter, the runtime), beside three per database connection (SQLite's file, journal and
/// shared memory).
const RESERVED_FILES: u64 = 100;

/// The connection limits `config` asks for. Raises the soft open-file limit to the hard one,
/// and, unless `config` names a cap, caps connections below it.
fn connection_limits(config: &Config) -> ConnectionLimits {
    let open_files = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    };
    let reserved = RESERVED_FILES + 3 * u64::from(config.db_max_connections);
    let fits = u32::try_from(open_files.saturating_sub(reserved)).unwrap_or(u32::MAX).max(1);
    let max_connections = match config.max_connections {
        Some(wanted) if wanted > fits => {
            tracing::warn!(
                max_connections = wanted,
                open_files,
                "SNACKDRAWER_MAX_CONNECTIONS is more than the open-file limit leaves room for: \
                 accepts will fail (and be retried) when files run out"
            );
            wanted
        }
        Some(wanted) => wanted,
        None => fits,
    };
    tracing::info!(open_files, max_connections, "connection limits");
    ConnectionLimits {
        max_connections,
        header_timeout: config.header_timeout,
        idle_timeout: config.idle_timeout,
    }
}

/// Logs and traces as `config` asks. Call once, inside the tokio runtime, before anything logs.
pub fn init_telemetry(config: &Config) -> Result<Telemetry, TelemetryError> {
    let honeycomb = config.honeycomb_api_key.clone().map(|key| Honeycomb {
        key,
        endpoint: Some(config.honeycomb_api_endpoint.clone())
            .filter(|endpoint| !endpoint.is_empty())
            .unwrap_or_else(|| honeycomb::DEFAULT_ENDPOINT.to_owned()),
        dataset: config.honeycomb_dataset.clone(),
    });
    telemetry::init(&TraceSettings {
        service_name: config.service_name().to_owned(),
        json_logs: config.json_logs(),
        otlp: OtlpSettings {
            endpoint: config.otel_exporter_otlp_endpoint.clone(),
            grpc: config.otel_exporter_otlp_protocol == "grpc",
            headers: config.otel_exporter_otlp_headers.clone(),
            certificate: config.otel_exporter_otlp_certificate.clone(),
            honeycomb,
            service_name: config.service_name().to_owned(),
        },
        export_logs: config.otel_logs_exporter == "otlp",
    })
}

/// The API's OpenAPI document, as `GET /openapi.json` serves it (`snackdrawer openapi`).
pub fn openapi_json() -> String {
    http::openapi::to_json(&http::document::<Snackdrawer>())
}

/// The use cases as the service runs them: the core's, each in its span.
pub type ObservedUseCases = Arc<Observed<Snackdrawer>>;

/// The use cases of `core`, each in its span.
pub fn observed_use_cases(core: Snackdrawer) -> ObservedUseCases {
    Arc::new(Observed::use_cases(core))
}

/// The outbound ports over `store`, `hasher` and `tokens`, each in its telemetry decorator,
/// with the fault decorator inside it when `faults` is given, and `login_throttle` as it is.
pub fn decorated_ports<S, H, T>(
    store: S,
    db_system: &'static str,
    hasher: H,
    tokens: T,
    login_throttle: Arc<dyn LoginThrottle>,
    faults: Option<&Arc<FaultInjector>>,
) -> Ports
where
    S: UserRepository + SnackRepository + DrawerRepository + StoreHealth + 'static,
    H: PasswordHasher + 'static,
    T: TokenService + 'static,
{
    match faults {
        Some(injector) => Ports::with_store(
            Arc::new(Observed::store(Faulty::new(store, injector.clone()), db_system)),
            Arc::new(Observed::auth(Faulty::new(hasher, injector.clone()))),
            Arc::new(Observed::auth(Faulty::new(tokens, injector.clone()))),
            login_throttle,
        ),
        None => Ports::with_store(
            Arc::new(Observed::store(store, db_system)),
            Arc::new(Observed::auth(hasher)),
            Arc::new(Observed::auth(tokens)),
            login_throttle,
        ),
    }
}

/// The HTTP API over `use_cases`, observed by the request layer (`sampler` picks the requests
/// that are traced), with `/metrics`, the password routes limited per client address, and
/// route faults inside when `faults` is given.
pub fn http_api<U: UseCases + 'static>(
    use_cases: Arc<U>,
    request_timeout: Duration,
    address_limits: AddressLimits,
    sampler: TraceSampler,
    faults: Option<Arc<FaultInjector>>,
) -> Router {
    let metrics = get(metrics_endpoint);
    let router = match faults {
        Some(injector) => {
            http::router(use_cases, request_timeout, metrics, FaultLayer::new(injector))
        }
        None => http::router(use_cases, request_timeout, metrics, Identity::new()),
    };
    http::limit_password_routes(router, address_limits)
        .layer(ObserveLayer::new(sampler, http::MODULE))
}

/// The fault injector `settings` ask for, with its plan and lazy mode as they start, or
/// `None` when fault injection is not armed (then no fault decorator is put in place at all).
pub fn fault_injector(
    settings: &FaultSettings,
) -> Result<Option<Arc<FaultInjector>>, StartupError> {
    if !settings.armed() {
        return Ok(None);
    }
    let lazy = settings.lazy_settings().map_err(StartupError::LazySettings)?;
    let injector =
        FaultInjector::new(http::ROUTES, lazy, settings.lazy_schedule, settings.faults_seed);
    let plan = match (&settings.faults, &settings.faults_file) {
        (Some(text), _) => Some(Plan::parse(text, http::ROUTES)?),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|source| {
                StartupError::FaultPlanFile { path: path.display().to_string(), source }
            })?;
            Some(Plan::from_toml(&text, http::ROUTES)?)
        }
        (None, None) => None,
    };
    if let Some(plan) = plan {
        injector.replace_plan(plan, ChangedBy::Start);
    }
    if settings.lazy {
        injector.lazy_on(None, ChangedBy::Start);
    }
    let injector = Arc::new(injector);
    tokio::spawn(injector.clone().run_refresh());
    tokio::spawn(injector.clone().run_schedule());
    Ok(Some(injector))
}

async fn bind(address: &str) -> Result<TcpListener, StartupError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartupError::Listen { address: address.to_owned(), source })
}

/// `snackdrawer migrate`: apply pending migrations and stop.
pub async fn migrate_only(config: &Config) -> Result<(), StartupError> {
    match &config.database_url {
        StoreUrl::Memory => tracing::info!("the memory store has no schema to migrate"),
        StoreUrl::Sql(url) => {
            SqlStore::open(url, pool_settings(config)?, Duration::ZERO)
                .await?
                .migrate()
                .await
                .map_err(StartupError::Migrate)?;
            tracing::info!("the database schema is up to date");
        }
    }
    Ok(())
}

/// Migrates (SQL stores) and seeds a fresh catalogue; only then is the SQL store ready.
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
    if let Some(store) = sql {
        store.open_for_traffic();
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

fn pool_settings(config: &Config) -> Result<PoolSettings, StartupError> {
    if config.db_statement_timeout >= config.request_timeout {
        return Err(StartupError::StatementTimeout {
            statement: config.db_statement_timeout,
            request: config.request_timeout,
        });
    }
    Ok(PoolSettings {
        max_connections: config.db_max_connections,
        acquire_timeout: config.db_acquire_timeout,
        statement_timeout: config.db_statement_timeout,
        probe_interval: config.db_probe_interval,
    })
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
