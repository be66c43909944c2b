//! What the instrumentation costs: the same request mix through the router in-process, with
//! telemetry off (bare ports, no request middleware, no tracing subscriber) and on (observed
//! ports, request middleware, tracing with an OpenTelemetry layer and an SDK tracer that has no
//! exporter, as the binary runs without an OTLP endpoint). Rounds alternate so drift on a busy
//! machine hits both; the median ratio is printed.
//!
//! It runs on the memory store, where a request costs a few microseconds and the
//! instrumentation is most visible, and then on SQLite (a temporary file), where requests do
//! real storage work as they do in production.
//!
//!     cargo bench --bench instrumentation            # ROUNDS=7 REQUESTS=20000 by default

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
async fn drive(router: &Router, token: &str, drawer: i64, requests: usize) -> Duration {
    let mix = [
        ("/snacks/".to_owned(), true, StatusCode::OK),
        ("/snacks/3".to_owned(), false, StatusCode::OK),
        (format!("/drawers/{drawer}"), true, StatusCode::OK),
        ("/drawers/".to_owned(), true, StatusCode::OK),
        ("/snacks/999".to_owned(), false, StatusCode::NOT_FOUND),
        ("/drawers/".to_owned(), false, StatusCode::UNAUTHORIZED),
    ];
    let started = Instant::now();
    for (path, authenticated, expected) in mix.iter().cycle().take(requests) {
        let mut request = Request::get(path.as_str());
        if *authenticated {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), *expected, "{path}");
        response.into_body().collect().await.unwrap();
    }
    started.elapsed()
}

fn main() {
    let rounds = setting("ROUNDS", 7);
    let requests = setting("REQUESTS", 20_000);
    for store in [Store::Memory, Store::Sqlite] {
        compare(store, rounds, requests);
    }
}

fn compare(store: Store, rounds: usize, requests: usize) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (bare, bare_token, bare_drawer) = runtime.block_on(prepared(store, false, &dir));
    let provider = snackdrawer::telemetry::local_tracer_provider();
    let subscriber = tracing_subscriber::registry()
        .with(snackdrawer::telemetry::trace_layer(&provider, "info".parse().unwrap()));
    let dispatch = tracing::Dispatch::new(subscriber);
    let (observed, token, drawer) = tracing::dispatcher::with_default(&dispatch, || {
        runtime.block_on(prepared(store, true, &dir))
    });
    // Warm-up, then alternate: off, metrics only (no tracing subscriber), metrics and traces.
    let traced = |requests| {
        tracing::dispatcher::with_default(&dispatch, || {
            runtime.block_on(drive(&observed, &token, drawer, requests))
        })
    };
    runtime.block_on(drive(&bare, &bare_token, bare_drawer, requests / 10));
    traced(requests / 10);
    let mut ratios = Vec::new();
    let mut metered_ratios = Vec::new();
    println!("{store:?} store");
    println!("round  off req/s  metrics req/s  metrics+traces req/s  ratio");
    for round in 1..=rounds {
        let rate = |elapsed: Duration| requests as f64 / elapsed.as_secs_f64();
        let off = rate(runtime.block_on(drive(&bare, &bare_token, bare_drawer, requests)));
        let metered = rate(runtime.block_on(drive(&observed, &token, drawer, requests)));
        let on = rate(traced(requests));
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
