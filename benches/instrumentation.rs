//! What the instrumentation costs: the same request mix through the router in-process, with
//! telemetry off and on, in seven set-ups:
//!
//! - `off`: bare ports, no request layer, no tracing subscriber;
//! - `metrics`: observed ports and the request layer, no tracing subscriber;
//! - `unsampled`: that plus the binary's trace layer, with requests not sampled: the binary
//!   without an OTLP endpoint, and most requests of one that samples a fraction;
//! - `logged`: that plus the binary's JSON log lines (`RUST_LOG` or `info`), written to a
//!   sink: the binary as it runs by default, without the cost of writing to a terminal or pipe;
//! - `faults`: `logged` with fault injection armed but idle (the fault decorators in place, no
//!   rule, lazy mode off), as the binary runs with its admin API on;
//! - `tenth`: one request in ten traced (`parentbased_traceidratio` at 0.1), the rest as in
//!   `unsampled`;
//! - `sampled`: every request traced into an SDK tracer (no exporter, so export itself is
//!   not counted), as with `OTEL_TRACES_SAMPLER=always_on`;
//! - `exported`: `logged` with log records exported over OTLP as well, the binary's layers and
//!   batch processor with an exporter that drops each batch (building, queueing and batching
//!   the records is counted; encoding and sending them is not). Requests are not sampled, as
//!   in `logged`, so it is the cost of the logs alone. Not among the default set-ups.
//!
//! Requests come from concurrent clients on a multi-threaded runtime, as a server sees them,
//! so the figure is throughput at saturation rather than the latency of one request at a
//! time. Within a round the set-ups take turns in short slices (`SLICES` of them), so drift on
//! a busy machine hits every set-up alike; the median ratios to `off` over the rounds are
//! printed.
//!
//! It runs on the memory store, where a request costs a few microseconds and the
//! instrumentation is most visible, and then on SQLite (a temporary file), where requests do
//! real storage work as they do in production.
//!
//!     cargo bench --bench instrumentation            # ROUNDS=7 REQUESTS=40000 SLICES=20 CLIENTS=16
//!     STORES=memory cargo bench --bench instrumentation  # one store only (memory or sqlite)
//!     ONLY=sampled cargo bench --bench instrumentation   # one set-up, one run (for callgrind)
//!
//! Throughput on a shared 2-core machine drifts by tens of percent between runs, so
//! `benches/instructions.sh` also counts instructions per request under callgrind, which on the
//! memory store gives the same figure every time.
//!
//! Before the set-ups, the benchmark prints what timing one interval costs on this machine:
//! the floor under every latency the metrics record.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use http_body_util::BodyExt;
use opentelemetry_sdk::trace::Sampler;
use snackdrawer::adapters::clock::SystemClock;
use snackdrawer::adapters::http::{AddressLimits, ROUTES, router};
use snackdrawer::adapters::jwt::JwtTokens;
use snackdrawer::adapters::memory::MemoryStore;
use snackdrawer::adapters::scrypt::{HashingLimits, ScryptCost, ScryptHasher};
use snackdrawer::adapters::sql::{PoolSettings, SqlStore};
use snackdrawer::adapters::throttle::{BackoffSettings, BackoffThrottle};
use snackdrawer::app::{Ports, Snackdrawer};
use snackdrawer::chaos::FaultInjector;
use snackdrawer::chaos::lazy::LazySettings;
use snackdrawer::domain::{ClientAddress, DrawerName, Password, SnackId, Username};
use snackdrawer::ports::{
    Accounts, Catalogue, DrawerRepository, Drawers, SnackRepository, StoreHealth, UserRepository,
};
use snackdrawer::startup::{decorated_ports, http_api, observed_use_cases};
use snackdrawer::telemetry;
use snackdrawer::telemetry::http::metrics_endpoint;
use snackdrawer::telemetry::request_trace::TraceSampler;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;
use tower::layer::util::Identity;
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

fn login_throttle() -> Arc<BackoffThrottle> {
    let settings = BackoffSettings { free_failures: 5, longest_wait: Duration::from_secs(300) };
    Arc::new(BackoffThrottle::new(settings, Arc::new(SystemClock)))
}

/// Where the bench keeps its data.
#[derive(Clone, Copy, Debug)]
enum Store {
    Memory,
    Sqlite,
}

/// Ports over `store` as the binary wires them (observed, with the fault decorator inside when
/// `faults` is given), or bare for `off`, with the bench's cheap hasher.
fn wire<S>(
    store: S,
    system: &'static str,
    setup: &str,
    faults: Option<&Arc<FaultInjector>>,
) -> Ports
where
    S: UserRepository + SnackRepository + DrawerRepository + StoreHealth + 'static,
{
    if setup == "off" {
        Ports::with_store(Arc::new(store), Arc::new(hasher()), Arc::new(tokens()), login_throttle())
    } else {
        decorated_ports(store, system, hasher(), tokens(), login_throttle(), faults)
    }
}

async fn ports(
    store: Store,
    setup: &str,
    faults: Option<&Arc<FaultInjector>>,
    dir: &tempfile::TempDir,
) -> Ports {
    match store {
        Store::Memory => wire(MemoryStore::new(), "memory", setup, faults),
        Store::Sqlite => {
            let file = dir.path().join(format!("{setup}.db"));
            let url = format!("sqlite://{}?mode=rwc", file.display());
            let pool = PoolSettings {
                max_connections: 4,
                acquire_timeout: Duration::from_secs(10),
                statement_timeout: Duration::from_secs(10),
                probe_interval: Duration::from_millis(250),
            };
            // No kept reads: the SQLite figures compare the instrumentation with a request that
            // reaches the database.
            let sql = SqlStore::open(&url, pool, Duration::ZERO).await.unwrap();
            sql.migrate().await.unwrap();
            wire(sql, "sqlite", setup, faults)
        }
    }
}

/// An app with the catalogue, one user and a drawer holding three snacks, observed unless
/// `sampler` is `None`; returns the router and that user's token and drawer id.
async fn prepared(
    store: Store,
    setup: &str,
    sampler: Option<TraceSampler>,
    dir: &tempfile::TempDir,
) -> (Router, String, i64) {
    // Armed but idle: what every call pays for fault injection being built in.
    let faults = (setup == "faults")
        .then(|| Arc::new(FaultInjector::new(ROUTES, LazySettings::default(), None, None)));
    let ports = ports(store, setup, faults.as_ref(), dir).await;
    let app = Snackdrawer::new(ports);
    app.seed_catalogue().await.unwrap();
    let user = app
        .register(Username::parse("bench").unwrap(), Password::parse("pw").unwrap())
        .await
        .unwrap();
    let token = app
        .log_in(user.username.into(), Password::parse("pw").unwrap(), ClientAddress::InProcess)
        .await
        .unwrap();
    let drawer = app.create_drawer(user.id, DrawerName::parse("desk").unwrap()).await.unwrap().id;
    for snack in [1, 4, 7] {
        app.put_snack_in_drawer(user.id, drawer, SnackId::new(snack).unwrap()).await.unwrap();
    }
    let timeout = Duration::from_secs(30);
    let router = match sampler {
        Some(sampler) => {
            http_api(observed_use_cases(app), timeout, AddressLimits::OFF, sampler, faults)
        }
        None => router(Arc::new(app), timeout, get(metrics_endpoint), Identity::new()),
    };
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
struct Target {
    router: Router,
    token: String,
    drawer: i64,
    dispatch: tracing::Dispatch,
}

/// `requests` requests of the mix, from `clients` concurrent clients as a server would see
/// them; returns how many were sent and how long they took.
async fn drive(target: &Target, requests: usize, clients: usize) -> (usize, Duration) {
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
    (requests / clients * clients, started.elapsed())
}

fn main() {
    let rounds = setting("ROUNDS", 7);
    let requests = setting("REQUESTS", 40_000);
    let clients = setting("CLIENTS", 16);
    let stores = std::env::var("STORES").unwrap_or_default().to_lowercase();
    let only = std::env::var("ONLY").ok();
    if only.is_none() {
        println!("timing one interval (Instant::now, then elapsed): {:.1} ns\n", interval_cost());
    }
    for store in [Store::Memory, Store::Sqlite] {
        if !(stores.is_empty() || stores.contains(&format!("{store:?}").to_lowercase())) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let setups = setups(store, &runtime, &dir, only.as_deref());
        match only.as_deref() {
            Some(name) => {
                let Some((_, target)) = setups.iter().find(|(setup, _)| *setup == name) else {
                    panic!("ONLY must be one of {SETUPS:?} or {EXTRA_SETUPS:?}");
                };
                let (sent, took) = runtime.block_on(drive(target, requests, clients));
                println!("{store:?} store, {name}: {sent} requests, {:.0} req/s", rate(sent, took));
            }
            None => {
                let slices = setting("SLICES", 20);
                compare(store, &runtime, &setups, rounds, requests, slices, clients)
            }
        }
    }
}

/// What timing one interval costs on this machine, in nanoseconds: a clock read at each end,
/// as every measured request and port call makes.
fn interval_cost() -> f64 {
    const INTERVALS: u32 = 1_000_000;
    let started = Instant::now();
    let mut total = Duration::ZERO;
    for _ in 0..INTERVALS {
        total += std::hint::black_box(Instant::now()).elapsed();
    }
    std::hint::black_box(total);
    started.elapsed().as_nanos() as f64 / f64::from(INTERVALS)
}

/// The set-ups, in the order they run and print; the first is the baseline.
const SETUPS: [&str; 7] = ["off", "metrics", "unsampled", "logged", "faults", "tenth", "sampled"];

/// Set-ups run only when named in `ONLY`.
const EXTRA_SETUPS: [&str; 1] = ["exported"];

/// A log exporter that drops what it is given, so a set-up counts the records' making, not
/// their sending.
#[derive(Debug)]
struct DroppedLogs;

impl opentelemetry_sdk::logs::LogExporter for DroppedLogs {
    async fn export(
        &self,
        _: opentelemetry_sdk::logs::LogBatch<'_>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

/// How a set-up's requests are sampled; `None` for the bare router.
fn sampler(setup: &str) -> Option<TraceSampler> {
    match setup {
        "off" => None,
        "metrics" | "unsampled" | "logged" | "faults" | "exported" => Some(TraceSampler::never()),
        "tenth" => {
            Some(TraceSampler::new(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.1)))))
        }
        "sampled" => Some(TraceSampler::always()),
        other => unreachable!("{other} is not a set-up"),
    }
}

/// Each set-up's app under load, with the tracing dispatcher its requests run under; an extra
/// set-up only when it is the `only` one.
fn setups(
    store: Store,
    runtime: &tokio::runtime::Runtime,
    dir: &tempfile::TempDir,
    only: Option<&str>,
) -> Vec<(&'static str, Target)> {
    let extra = EXTRA_SETUPS.into_iter().filter(|setup| only == Some(*setup));
    SETUPS
        .into_iter()
        .chain(extra)
        .map(|setup| {
            let sampler = sampler(setup);
            let dispatch = match (setup, &sampler) {
                ("off" | "metrics", _) => tracing::Dispatch::none(),
                ("logged" | "faults", Some(sampler)) => {
                    let provider = telemetry::local_tracer_provider(sampler.clone());
                    tracing::Dispatch::new(
                        telemetry::registry(telemetry::log_levels())
                            .with(telemetry::trace_layer(&provider, telemetry::log_levels()))
                            .with(telemetry::json_logs(std::io::sink)),
                    )
                }
                ("exported", Some(sampler)) => {
                    let provider = telemetry::local_tracer_provider(sampler.clone());
                    let resource = opentelemetry_sdk::Resource::builder().build();
                    let logs = telemetry::logger_provider(DroppedLogs, resource);
                    tracing::Dispatch::new(
                        telemetry::registry(telemetry::log_levels())
                            .with(telemetry::trace_layer(&provider, telemetry::log_levels()))
                            .with(telemetry::json_and_otlp_logs(std::io::sink, &logs)),
                    )
                }
                (_, Some(sampler)) => {
                    // No log layer: nothing but the trace layer's warnings is wanted.
                    let provider = telemetry::local_tracer_provider(sampler.clone());
                    tracing::Dispatch::new(
                        telemetry::registry(Targets::new())
                            .with(telemetry::trace_layer(&provider, Targets::new())),
                    )
                }
                (_, None) => unreachable!("only off is unobserved"),
            };
            let prepare = prepared(store, setup, sampler, dir).with_subscriber(dispatch.clone());
            let (router, token, drawer) = runtime.block_on(prepare);
            (setup, Target { router, token, drawer, dispatch })
        })
        .collect()
}

fn rate(sent: usize, took: Duration) -> f64 {
    sent as f64 / took.as_secs_f64()
}

fn compare(
    store: Store,
    runtime: &tokio::runtime::Runtime,
    setups: &[(&'static str, Target)],
    rounds: usize,
    requests: usize,
    slices: usize,
    clients: usize,
) {
    for (_, warm_up) in setups {
        runtime.block_on(drive(warm_up, requests / 10, clients));
    }
    let mut ratios = vec![Vec::new(); setups.len()];
    println!("{store:?} store, {clients} concurrent clients, req/s (ratio to off)");
    println!("round {}", setups.iter().map(|(name, _)| format!("{name:>18}")).collect::<String>());
    for round in 1..=rounds {
        let mut totals = vec![(0, Duration::ZERO); setups.len()];
        for _ in 0..slices {
            for ((_, target), (sent, took)) in setups.iter().zip(&mut totals) {
                let (slice_sent, slice_took) =
                    runtime.block_on(drive(target, requests / slices, clients));
                *sent += slice_sent;
                *took += slice_took;
            }
        }
        let rates: Vec<f64> = totals.iter().map(|(sent, took)| rate(*sent, *took)).collect();
        let row: String = rates
            .iter()
            .zip(&mut ratios)
            .map(|(rate, ratios)| {
                ratios.push(rate / rates[0]);
                format!("{rate:>10.0} ({:.3})", rate / rates[0])
            })
            .collect();
        println!("{round:>5} {row}");
    }
    for ((name, _), mut ratios) in setups.iter().zip(ratios).skip(1) {
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        println!(
            "median throughput, {name:>9}: {:5.1} % of off (cost {:4.1} %)",
            median * 100.0,
            (1.0 - median) * 100.0
        );
    }
    println!("({rounds} rounds of {requests} requests per set-up, in {slices} slices)\n");
}
