//! Wiring: turns the settings into a store, adapters, the application and a bound listener. The
//! one place that knows every room: it builds the outbound adapters, wraps each in its
//! telemetry decorator (with the fault decorator inside, when fault injection is armed), builds
//! the core on them, wraps the core's use cases too, and puts the HTTP adapter, inside the
//! request layer, in front; and, when asked, the admin API on a listener of its own.
//!
//! `Application::build` binds before it returns, so a test (or an operator) can ask for port 0
//! and read the real address from `local_addr`. A SQL database that cannot be reached at start
//! does not stop the service: it serves 503s, keeps trying to migrate in the background, and
//! becomes ready when the database answers.

use crate::adapters::clock::SystemClock;
pub use crate::adapters::http::server::Stopped;
use crate::adapters::http::server::{self, ConnectionLimits};
use crate::adapters::http::{self, AddressLimits};
use crate::adapters::jwt::JwtTokens;
use crate::adapters::memory::MemoryStore;
use crate::adapters::scrypt::{InvalidCost, ScryptHasher};
use crate::adapters::sql::{OpenError, SqlStore};
use crate::adapters::throttle::BackoffThrottle;
use crate::adapters::write_rate::PerUserBuckets;
use crate::app::{Bounds, Ports, Snackdrawer};
use crate::chaos::plan::{Plan, PlanError};
use crate::chaos::{ChangedBy, FaultInjector, FaultLayer, Faulty, admin};
use crate::config::{FaultSettings, MigrateSettings, ServeSettings, StoreUrl, TelemetrySettings};
use crate::ports::{
    AppError, Clock, ConnectionPool, DrawerRepository, LoginThrottle, PasswordHasher,
    SnackRepository, StoreError, StoreHealth, TokenService, UseCases, UserRepository,
};
use crate::telemetry::http::{ObserveLayer, metrics_endpoint};
use crate::telemetry::request_trace::TraceSampler;
use crate::telemetry::{self, Observed, Telemetry, TelemetryError, error_chain};
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
    #[error(transparent)]
    Hashing(#[from] InvalidCost),
    #[error("could not seed the snack catalogue")]
    Seeding(#[source] AppError),
    #[error("could not listen on {address}")]
    Listen { address: String, source: io::Error },
    #[error(
        "the admin API cannot listen on {admin}: SNACKDRAWER_ADMIN_LISTEN (--admin-listen) \
         names port {port}, where SNACKDRAWER_LISTEN (--listen) already has the API listening \
         ({api}); give the admin API a port of its own"
    )]
    AdminOnApiPort { admin: String, api: String, port: u16 },
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
    /// The service as `settings` describe it, tracing the requests `sampler` picks.
    pub async fn build(
        settings: &ServeSettings,
        sampler: TraceSampler,
    ) -> Result<Self, StartupError> {
        telemetry::metrics::init(settings.telemetry.metrics_identity());
        // Opened first, so that its pool is watched from the start, and a plan that holds
        // connections from the start finds it.
        let store = match &settings.store.database_url {
            StoreUrl::Memory => None,
            StoreUrl::Sql(url) => {
                let keep_reads_for =
                    settings.store_serving.keep_reads_for(&settings.store.database_url);
                Some(SqlStore::open(url, settings.store.pool_settings(), keep_reads_for).await?)
            }
        };
        let pool = store.clone().map(|store| Arc::new(store) as Arc<dyn ConnectionPool>);
        telemetry::metrics::watch_pool(pool.clone());
        let faults = fault_injector(&settings.faults, settings.admin.admin_listen.is_some(), pool)?;
        let auth = &settings.auth;
        let hasher = ScryptHasher::new(auth.scrypt_cost(), auth.hashing_limits())?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let tokens = JwtTokens::new(&auth.token_key(), auth.token_ttl, clock.clone());
        let login_throttle: Arc<dyn LoginThrottle> =
            Arc::new(BackoffThrottle::new(settings.limits.login_backoff(), clock));
        let bounds = bounds(settings);
        let seed = settings.store_serving.seed;
        let use_cases = match store {
            None => {
                let ports = decorated_ports(
                    MemoryStore::new(),
                    "memory",
                    hasher,
                    tokens,
                    login_throttle,
                    faults.as_ref(),
                );
                let use_cases = observed_use_cases(Snackdrawer::bounded(ports, bounds));
                prepare(&*use_cases, None, seed).await?;
                use_cases
            }
            Some(store) => {
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
                match prepare(&*use_cases, Some(&store), seed).await {
                    Err(StartupError::Migrate(StoreError::Unavailable(cause))) => {
                        tracing::warn!(
                            error = %error_chain(&*cause),
                            "the database is unreachable: serving 503 until it answers"
                        );
                        let retrying = use_cases.clone();
                        tokio::spawn(prepare_when_reachable(retrying, store, seed));
                    }
                    other => other?,
                }
                use_cases
            }
        };
        let server = &settings.server;
        let listener = bind(&server.listen).await?;
        let admin = match (&settings.admin.admin_listen, &faults) {
            (Some(address), Some(injector)) => {
                let token =
                    settings.admin.admin_token.clone().ok_or(StartupError::AdminWithoutToken)?;
                let listener = bind_admin(address, &listener, &server.listen).await?;
                Some((listener, admin::router(injector.clone(), token)))
            }
            _ => None,
        };
        let address_limits = settings.limits.address_limits();
        let router = http_api(use_cases, server.request_timeout, address_limits, sampler, faults);
        let limits = server.connection_limits(open_files(), settings.store.db_max_connections);
        Ok(Self { listener, router, admin, limits, shutdown_grace: server.shutdown_grace })
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

/// How far and how fast one user's writes may go, as `settings` say.
fn bounds(settings: &ServeSettings) -> Bounds {
    Bounds {
        lists: settings.limits.list_limits(),
        write_rate: PerUserBuckets::new(settings.limits.write_rate())
            .map(|buckets| Arc::new(buckets) as _),
    }
}

/// Connections the admin API serves at once: it has one operator, not the public.
const ADMIN_CONNECTIONS: u32 = 16;

/// The files this process may hold open: the soft limit, raised to the hard one first.
fn open_files() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// Logs and traces as `settings` ask. Call once, inside the tokio runtime, before anything
/// logs.
pub fn init_telemetry(settings: &TelemetrySettings) -> Result<Telemetry, TelemetryError> {
    telemetry::init(&settings.trace_settings())
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
/// `None` when fault injection is not armed, by them or by the admin API being on (`admin_on`):
/// then no fault decorator is put in place at all.
pub fn fault_injector(
    settings: &FaultSettings,
    admin_on: bool,
    pool: Option<Arc<dyn ConnectionPool>>,
) -> Result<Option<Arc<FaultInjector>>, StartupError> {
    if !settings.armed(admin_on) {
        return Ok(None);
    }
    let lazy = settings.lazy_settings().map_err(StartupError::LazySettings)?;
    let mut injector =
        FaultInjector::new(http::ROUTES, lazy, settings.lazy_schedule, settings.faults_seed);
    if let Some(schedule) = settings.incident_schedule {
        let seed = settings.incident_seed.or(settings.faults_seed);
        injector = injector.with_incident_schedule(schedule, seed);
    }
    if let Some(pool) = pool {
        injector = injector.with_pool(pool);
    }
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
    tokio::spawn(injector.clone().run_incident_schedule());
    Ok(Some(injector))
}

async fn bind(address: &str) -> Result<TcpListener, StartupError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartupError::Listen { address: address.to_owned(), source })
}

/// Binds the admin API at `address`; when that fails because the API (`api`, bound as
/// `api_listen` says) holds the port, says which two settings collide.
async fn bind_admin(
    address: &str,
    api: &TcpListener,
    api_listen: &str,
) -> Result<TcpListener, StartupError> {
    let error = match bind(address).await {
        Ok(listener) => return Ok(listener),
        Err(error) => error,
    };
    let api_port = api.local_addr().map(|bound| bound.port()).ok();
    let admin_port = address.rsplit_once(':').and_then(|(_, port)| port.parse::<u16>().ok());
    match (&error, admin_port) {
        (StartupError::Listen { source, .. }, Some(port))
            if source.kind() == io::ErrorKind::AddrInUse && api_port == Some(port) =>
        {
            Err(StartupError::AdminOnApiPort {
                admin: address.to_owned(),
                api: api_listen.to_owned(),
                port,
            })
        }
        _ => Err(error),
    }
}

/// `snackdrawer migrate`: apply pending migrations and stop.
pub async fn migrate_only(settings: &MigrateSettings) -> Result<(), StartupError> {
    match &settings.store.database_url {
        StoreUrl::Memory => tracing::info!("the memory store has no schema to migrate"),
        StoreUrl::Sql(url) => {
            SqlStore::open(url, settings.store.pool_settings(), Duration::ZERO)
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
