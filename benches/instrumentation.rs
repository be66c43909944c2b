//! What the instrumentation costs: the same request mix through the router in-process, with
//! telemetry off (bare ports, no request middleware, no tracing subscriber) and on (observed
//! ports, request middleware, tracing with an OpenTelemetry layer and an SDK tracer that has no
//! exporter, as the binary runs without an OTLP endpoint). Requests come from concurrent
//! clients on a multi-threaded runtime, as a server sees them, so the figure is throughput at
//! saturation rather than the latency of one request at a time. Rounds alternate so drift on a
//! busy machine hits all three; the median ratios are printed.
//!
//! It runs on the memory store, where a request costs a few microseconds and the
//! instrumentation is most visible, and then on SQLite (a temporary file), where requests do
//! real storage work as they do in production.
//!
//!     cargo bench --bench instrumentation            # ROUNDS=7 REQUESTS=40000 CLIENTS=16
//!     STORES=memory cargo bench --bench instrumentation  # one store only (memory or sqlite)
//!     ONLY=traces cargo bench --bench instrumentation    # one set-up, one run (for callgrind)
//!
//! Throughput on a shared 2-core machine drifts by tens of percent between runs, so
//! `bench/instructions.sh` also counts instructions per request under callgrind, which gives
//! the same figure every time.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use snackdrawer::adapters::clock::SystemClock;
use snackdrawer::adapters::http::{router, unobserved_router};
use snackdrawer::adapters::jwt::JwtTokens;
use snackdrawer::adapters::memory::MemoryStore;
use snackdrawer::adapters::observed::Observed;
use snackdrawer::adapters::scrypt::{HashingLimits, ScryptCost, ScryptHasher};
use snackdrawer::adapters::sql::{PoolSettings, SqlStore};
use snackdrawer::app::{Ports, Snackdrawer};
use snackdrawer::domain::{DrawerName, Password, SnackId, Username};
use snackdrawer::ports::{DrawerRepository, SnackRepository, StoreHealth, UserRepository};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

const SECRET: &[u8] = b"benchmark secret, thirty-two bytes at least";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn hasher() -> ScryptHasher {
    ScryptHasher::new(ScryptCost { log_n: 4, r: 8, p: 1 }, HashingLimits { workers: 1, queue: 8 })
        .unwrap()
}

fn tokens() -> JwtTokens {
    JwtTokens::new(SECRET, Duration::from_secs(3600), Arc::new(SystemClock))
}

/// Where the bench keeps its data.
#[derive(Clone, Copy, Debug)]
enum Store {
    Memory,
    Sqlite,
}

/// Ports over `store`, observed or bare, with the bench's cheap hasher.
fn wire<S>(store: S, system: &'static str, observed: bool) -> Ports
where
    S: UserRepository + SnackRepository + DrawerRepository + StoreHealth + 'static,
{
    if observed {
        let hasher = Arc::new(Observed::auth(hasher()));
        Ports::with_store(
            Arc::new(Observed::store(store, system)),
            hasher,
            Arc::new(Observed::auth(tokens())),
        )
    } else {
        Ports::with_store(Arc::new(store), Arc::new(hasher()), Arc::new(tokens()))
    }
}

async fn ports(store: Store, observed: bool, dir: &tempfile::TempDir) -> Ports {
    match store {
        Store::Memory => wire(MemoryStore::new(), "memory", observed),
        Store::Sqlite => {
            let file = dir.path().join(if observed { "observed.db" } else { "bare.db" });
            let url = format!("sqlite://{}?mode=rwc", file.display());
            let pool =
                PoolSettings { max_connections: 4, acquire_timeout: Duration::from_secs(10) };
            let sql = SqlStore::open(&url, pool).await.unwrap();
            sql.migrate().await.unwrap();
            wire(sql, "sqlite", observed)
        }
    }
}

/// An app with the catalogue, one user and a drawer holding three snacks; returns the router
/// and that user's token and drawer id.
async fn prepared(store: Store, observed: bool, dir: &tempfile::TempDir) -> (Router, String, i64) {
    let ports = ports(store, observed, dir).await;
    let app = Snackdrawer::new(ports);
    app.seed_catalogue().await.unwrap();
    let user = app
        .register(Username::parse("bench").unwrap(), Password::parse("pw").unwrap())
        .await
        .unwrap();
    let token = app.log_in(user.username, Password::parse("pw").unwrap()).await.unwrap();
    let drawer = app.create_drawer(user.id, DrawerName::parse("desk").unwrap()).await.unwrap().id;
    for snack in [1, 4, 7] {
        app.put_snack_in_drawer(user.id, drawer, SnackId::new(snack).unwrap()).await.unwrap();
    }
    let timeout = Duration::from_secs(30);
    let router = if observed { router(app, timeout) } else { unobserved_router(app, timeout) };
    (router, token.expose().to_owned(), drawer.get())
}

/// The mix: the catalogue, one snack, a drawer read, a drawer listing, a 404 and a 401.
const MIX: [(&str, bool, StatusCode); 6] = [
    ("/snacks/", true, StatusCode::OK),
    ("/snacks/3", false, StatusCode::OK),
    ("/drawers/{drawer}", true, StatusCode::OK),
    ("/drawers/", true, StatusCode::OK),
    ("/snacks/999", false, StatusCode::NOT_FOUND),
    ("/drawers/", false, StatusCode::UNAUTHORIZED),
];

/// One app under load, with the tracing dispatcher its requests run under.
#[derive(Clone)]
struct Target {
    router: Router,
    token: String,
    drawer: i64,
    dispatch: tracing::Dispatch,
}

/// `requests` requests of the mix, from `clients` concurrent clients as a server would see
/// them; returns the throughput.
async fn drive(target: &Target, requests: usize, clients: usize) -> f64 {
    let paths: Vec<_> = MIX
        .iter()
        .map(|(path, authenticated, expected)| {
            (path.replace("{drawer}", &target.drawer.to_string()), *authenticated, *expected)
        })
        .collect();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let (router, token, paths) = (target.router.clone(), target.token.clone(), paths.clone());
        let share = requests / clients;
        tasks.spawn(
            async move {
                for (path, authenticated, expected) in paths.iter().cycle().skip(client).take(share)
                {
                    let mut request = Request::get(path.as_str());
                    if *authenticated {
                        request = request.header("authorization", format!("Bearer {token}"));
                    }
                    let request = request.body(Body::empty()).unwrap();
                    let response = router.clone().oneshot(request).await.unwrap();
                    assert_eq!(response.status(), *expected, "{path}");
                    response.into_body().collect().await.unwrap();
                }
            }
            .with_subscriber(target.dispatch.clone()),
        );
    }
    tasks.join_all().await;
    (requests / clients * clients) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let rounds = setting("ROUNDS", 7);
    let requests = setting("REQUESTS", 40_000);
    let clients = setting("CLIENTS", 16);
    let stores = std::env::var("STORES").unwrap_or_default().to_lowercase();
    let only = std::env::var("ONLY").ok();
    for store in [Store::Memory, Store::Sqlite] {
        if !(stores.is_empty() || stores.contains(&format!("{store:?}").to_lowercase())) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let provider = snackdrawer::telemetry::local_tracer_provider();
        let setups = Setups::new(store, &runtime, &provider, &dir);
        match only.as_deref() {
            Some(name) => {
                let target = setups.named(name);
                let rate = runtime.block_on(drive(target, requests, clients));
                println!("{store:?} store, {name}: {requests} requests, {rate:.0} req/s");
            }
            None => compare(store, &runtime, &setups, rounds, requests, clients),
        }
    }
}

/// The three set-ups compared: `off` (bare ports, no request middleware, no tracing
/// subscriber), `metrics` (observed ports and the middleware, no subscriber, so spans are
/// disabled) and `traces` (the same with the binary's tracing layer).
struct Setups {
    off: Target,
    metrics: Target,
    traces: Target,
}

impl Setups {
    fn new(
        store: Store,
        runtime: &tokio::runtime::Runtime,
        provider: &opentelemetry_sdk::trace::SdkTracerProvider,
        dir: &tempfile::TempDir,
    ) -> Self {
        let traced = tracing::Dispatch::new(
            tracing_subscriber::registry()
                .with(snackdrawer::telemetry::trace_layer(provider, Targets::new())),
        );
        let target = |observed: bool, dispatch: &tracing::Dispatch| {
            let (router, token, drawer) =
                runtime.block_on(prepared(store, observed, dir).with_subscriber(dispatch.clone()));
            Target { router, token, drawer, dispatch: dispatch.clone() }
        };
        let traces = target(true, &traced);
        Self {
            off: target(false, &tracing::Dispatch::none()),
            metrics: Target { dispatch: tracing::Dispatch::none(), ..traces.clone() },
            traces,
        }
    }

    fn named(&self, name: &str) -> &Target {
        match name {
            "off" => &self.off,
            "metrics" => &self.metrics,
            "traces" => &self.traces,
            other => panic!("ONLY must be off, metrics or traces, not {other:?}"),
        }
    }
}

fn compare(
    store: Store,
    runtime: &tokio::runtime::Runtime,
    setups: &Setups,
    rounds: usize,
    requests: usize,
    clients: usize,
) {
    for warm_up in [&setups.off, &setups.metrics, &setups.traces] {
        runtime.block_on(drive(warm_up, requests / 10, clients));
    }
    let mut metered_ratios = Vec::new();
    let mut ratios = Vec::new();
    println!("{store:?} store, {clients} concurrent clients");
    println!("round  off req/s  metrics req/s  metrics+traces req/s  ratio");
    for round in 1..=rounds {
        let off = runtime.block_on(drive(&setups.off, requests, clients));
        let metered = runtime.block_on(drive(&setups.metrics, requests, clients));
        let on = runtime.block_on(drive(&setups.traces, requests, clients));
        ratios.push(on / off);
        metered_ratios.push(metered / off);
        println!("{round:>5}  {off:>10.0}  {metered:>13.0}  {on:>20.0}  {:>5.3}", on / off);
    }
    metered_ratios.sort_by(f64::total_cmp);
    println!(
        "median throughput with metrics only: {:.1} % of without",
        metered_ratios[metered_ratios.len() / 2] * 100.0
    );
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!(
        "median throughput with instrumentation: {:.1} % of without (cost {:.1} %), {rounds} rounds of {requests} requests\n",
        median * 100.0,
        (1.0 - median) * 100.0
    );
}
