//! The three stores, each fresh for one test: memory, SQLite in a temporary file, and
//! PostgreSQL in a database created for the test and dropped after it.
//!
//! PostgreSQL tests run when `SNACKDRAWER_TEST_POSTGRES_URL` points at a server where the user
//! may create databases (e.g. `postgres://postgres@127.0.0.1:5432/postgres`); without it they
//! announce, on the terminal and once per test binary, that they were skipped.

use sea_orm::{ConnectionTrait, Database};
use snackdrawer::adapters::memory::MemoryStore;
use snackdrawer::adapters::sql::{PoolSettings, SqlStore};
use snackdrawer::app::Ports;
use snackdrawer::ports::{LoginThrottle, PasswordHasher, TokenService};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub const POSTGRES_URL_VARIABLE: &str = "SNACKDRAWER_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Memory,
    Sqlite,
    Postgres,
}

/// Keeps a test's database alive; dropping it deletes the database.
pub enum StoreGuard {
    Nothing,
    SqliteFile { dir: tempfile::TempDir },
    Postgres { database: FreshDatabase },
}

impl StoreGuard {
    /// The SQL database's URL, for a test that must reach under the store.
    pub fn url(&self) -> Option<String> {
        match self {
            Self::Nothing => None,
            Self::SqliteFile { dir } => Some(sqlite_url(dir)),
            Self::Postgres { database } => Some(database.url.clone()),
        }
    }
}

pub const TEST_POOL: PoolSettings = PoolSettings {
    max_connections: 4,
    acquire_timeout: Duration::from_secs(10),
    statement_timeout: Duration::from_secs(10),
    probe_interval: Duration::from_millis(250),
};

/// Ports over a fresh, migrated store of `kind`.
pub async fn fresh_ports(
    kind: StoreKind,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenService>,
    login_throttle: Arc<dyn LoginThrottle>,
) -> (Ports, StoreGuard) {
    match kind {
        StoreKind::Memory => {
            let store = Arc::new(MemoryStore::new());
            (Ports::with_store(store, hasher, tokens, login_throttle), StoreGuard::Nothing)
        }
        StoreKind::Sqlite | StoreKind::Postgres => {
            let (store, guard) = fresh_sql_store(kind).await;
            (Ports::with_store(Arc::new(store), hasher, tokens, login_throttle), guard)
        }
    }
}

/// A fresh, migrated SQL store: SQLite in a temporary file, or a new PostgreSQL database.
pub async fn fresh_sql_store(kind: StoreKind) -> (SqlStore, StoreGuard) {
    match kind {
        StoreKind::Sqlite => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            (migrated_sql_store(&sqlite_url(&dir)).await, StoreGuard::SqliteFile { dir })
        }
        StoreKind::Postgres => {
            let database = FreshDatabase::create().await;
            (migrated_sql_store(&database.url).await, StoreGuard::Postgres { database })
        }
        StoreKind::Memory => panic!("the memory store is not a SQL store"),
    }
}

pub fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", dir.path().join("snackdrawer.db").display())
}

/// Reads are kept far longer than any test runs, so a write that forgot to forget what it
/// changed shows as a stale read in the store contract.
pub const TEST_KEEP_READS: Duration = Duration::from_secs(3600);

pub async fn migrated_sql_store(url: &str) -> SqlStore {
    let store =
        SqlStore::open(url, TEST_POOL, TEST_KEEP_READS).await.expect("the test database opens");
    store.migrate().await.expect("the test database migrates");
    store.open_for_traffic();
    store
}

pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VARIABLE).ok().filter(|url| !url.is_empty())
}

/// True if PostgreSQL tests can run; otherwise says so, loudly and once per test binary.
pub fn postgres_enabled() -> bool {
    static ANNOUNCED: std::sync::Once = std::sync::Once::new();
    let enabled = postgres_admin_url().is_some();
    if !enabled {
        ANNOUNCED.call_once(|| {
            // Straight to stderr: libtest captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: PostgreSQL tests in this binary did not run. \
                 Set {POSTGRES_URL_VARIABLE}=postgres://postgres@127.0.0.1:5432/postgres ***\n"
            );
        });
    }
    enabled
}

/// A database made for one test on the server of `SNACKDRAWER_TEST_POSTGRES_URL`.
pub struct FreshDatabase {
    pub url: String,
    name: String,
    admin_url: String,
}

impl FreshDatabase {
    pub async fn create() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let admin_url = postgres_admin_url().expect("PostgreSQL tests are switched on");
        let name = format!(
            "snackdrawer_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let admin = Database::connect(&admin_url).await.expect("the PostgreSQL server answers");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("the test user may create databases");
        admin.close().await.ok();
        let (server, _) = admin_url.rsplit_once('/').expect("a URL ending in /database");
        Self { url: format!("{server}/{name}"), name, admin_url }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on; use a thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
                admin.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ =
                writeln!(std::io::stderr(), "warning: could not drop test database {}", self.name);
        }
    }
}

/// Writes one `#[tokio::test]` per store for each listed test function, which takes the
/// `StoreKind` to run on: `mod memory { fn name() }`, `mod sqlite { … }`, `mod postgres { … }`.
macro_rules! for_each_store {
    ($($test:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::support::stores::StoreKind::Memory).await
                }
            )+
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::support::stores::StoreKind::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if $crate::support::stores::postgres_enabled() {
                        super::$test($crate::support::stores::StoreKind::Postgres).await
                    }
                }
            )+
        }
    };
}
pub(crate) use for_each_store;
