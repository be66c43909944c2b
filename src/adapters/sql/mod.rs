//! The SQL store: every repository port on sea-orm, for SQLite (the embedded default) and
//! PostgreSQL alike.
//!
//! Backend differences are kept to a few places: connection options (SQLite's pragmas,
//! PostgreSQL's statement timeout), the migration lock in `migrate`, and the SQLite file's
//! identity (`file`). Uniqueness is left to the database's constraints and read back from its
//! errors, never checked by a racy look-up first.
//!
//! The store can exist before its database is reachable: PostgreSQL pools connect lazily, so the
//! service starts, answers 503 while the database is down, and recovers by itself. Until
//! `migrate` has succeeded every call answers `Unavailable` rather than touching tables that may
//! not exist yet, and until startup says the data is prepared (`open_for_traffic`, after the
//! seeding that follows the migration) `ping`, the readiness check, answers `Unavailable` too.
//! Every call is bounded (acquiring a connection plus the statement timeout), and goes through
//! the `breaker`, which refuses calls at once while the database is known to be down.
//!
//! A write is acknowledged only once the database has stored it: an inserted row is believed
//! only after its statement, commit included, has run to its end (`insert_returning`). When
//! the database's storage is full, writes answer `Unavailable` and go through a second
//! breaker, the write gate, which refuses them at once, and fails readiness, until a small
//! test write gets through; reads go on meanwhile.
//!
//! The reads every request repeats are kept for a moment (`cache`); a kept read is answered
//! before any of that, so it is served for its keep time even while the database is down or
//! its SQLite file has gone.

mod breaker;
mod cache;
mod catalogue;
mod entities;
mod errors;
mod file;
mod flight;
mod migrations;
mod pool;
mod reach;

use crate::domain::{
    Credentials, Drawer, DrawerId, DrawerName, DrawerWithContents, PasswordHash, Snack, SnackId,
    SnackList, SnackName, User, UserId, UserKey, Username, ValidationError,
};
use crate::ports::{
    BoxError, DrawerRepository, Freshness, SnackRepository, StoreError, StoreHealth, UserRepository,
};
use async_trait::async_trait;
use breaker::{Breaker, BreakerTiming, Watch};
use cache::{Items, Kept};
use entities::{drawer_snacks, drawers, snacks, users};
use errors::{Failure, Outage, classify, store_error};
use file::DatabaseFile;
use flight::Turn;
use reach::Reach;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database,
    DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Connection pool limits, and how long the database may take.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request may wait for a connection (including making a new one) before the
    /// store answers `Unavailable`; also how long a probe of a down database may take.
    pub acquire_timeout: Duration,
    /// How long one statement may run: PostgreSQL cancels it after that. On every backend a
    /// call that has not finished after `acquire_timeout` plus this answers `Unavailable`.
    pub statement_timeout: Duration,
    /// How often a database known to be down is probed.
    pub probe_interval: Duration,
}

#[derive(Clone)]
pub struct SqlStore {
    db: DatabaseConnection,
    shared: Arc<Shared>,
}

/// What every clone of the store shares.
struct Shared {
    migrated: AtomicBool,
    /// Whether startup has prepared the data (migrated and seeded): until then the replica is
    /// not ready, though the calls that prepare it go through.
    open_for_traffic: AtomicBool,
    breaker: Arc<Breaker>,
    /// The write gate: refuses writes while the database's storage is full.
    writes: Arc<Breaker>,
    /// The longest a call may take before it answers `Unavailable`.
    call_limit: Duration,
    /// Where the database is, and why a first connection failed.
    reach: Reach,
    /// Told, for each read of what a request asked for, whether a kept copy answered it.
    kept_read_observer: OnceLock<fn(bool)>,
    /// How the probe connects: the pool's options, for one fresh connection.
    probe_options: ConnectOptions,
    /// The SQLite file, which must stay the one opened; `None` on PostgreSQL.
    file: Option<DatabaseFile>,
    catalogue: Kept<(), SnackList>,
    drawers: Kept<DrawerId, DrawerWithContents>,
    users: Kept<UserId, User>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot open the database")]
pub struct OpenError(#[source] BoxError);

/// An arbitrary constant naming the PostgreSQL advisory lock that serialises migrations when
/// several replicas start at once.
const MIGRATION_LOCK: i64 = 0x5_4ac4_d4a3;

/// A statement that succeeds only on a database this service migrated: readiness and the
/// breaker's probe ask it.
/// Rows the SQLite driver's thread may hand over before the reader takes them (sqlx's default
/// is 50): a drawer's contents run to thousands of rows, and with room for more of them the
/// driver's thread stops less often to wait for the reader (a 10,000-row read took 15.4 ms
/// with 50, 11.9 ms with this).
const ROWS_HANDED_OVER_AT_ONCE: usize = 1024;

const OURS: &str = "SELECT 1 FROM seaql_migrations LIMIT 1";

impl SqlStore {
    /// Opens a pool for a `sqlite://…` or `postgres://…` URL. PostgreSQL is not contacted yet;
    /// SQLite's file must exist, or is created now when the URL says `mode=rwc`: the pool
    /// itself never creates one. Reads are kept for `keep_reads_for` (zero keeps none).
    pub async fn open(
        url: &str,
        pool: PoolSettings,
        keep_reads_for: Duration,
    ) -> Result<Self, OpenError> {
        let file =
            if url.starts_with("sqlite:") { Some(DatabaseFile::open(url).await?) } else { None };
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(pool.max_connections)
            .min_connections(0)
            .acquire_timeout(pool.acquire_timeout)
            .statement_timeout(pool.statement_timeout)
            // A dead pooled connection costs one request a 503 instead of costing every
            // request an extra round trip to test its connection first.
            .test_before_acquire(false)
            .connect_lazy(true)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|sqlite| {
                sqlite
                    .create_if_missing(false)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
                    .row_buffer_size(ROWS_HANDED_OVER_AT_ONCE)
            });
        let db =
            Database::connect(options.clone()).await.map_err(|error| OpenError(error.into()))?;
        options.max_connections(1).connect_lazy(false);
        let timing = BreakerTiming {
            probe_interval: pool.probe_interval,
            probe_timeout: pool.acquire_timeout,
        };
        let reach = Reach::new(url, file.as_ref().map(DatabaseFile::path), pool.acquire_timeout);
        let place = reach.place().to_owned();
        let shared = Shared {
            migrated: AtomicBool::new(false),
            open_for_traffic: AtomicBool::new(false),
            breaker: Arc::new(Breaker::new(timing, Watch::Outages)),
            writes: Arc::new(Breaker::new(timing, Watch::FullStorage { place })),
            call_limit: pool.acquire_timeout + pool.statement_timeout,
            reach,
            kept_read_observer: OnceLock::new(),
            probe_options: options,
            file,
            catalogue: Kept::new(keep_reads_for),
            drawers: Kept::new(keep_reads_for),
            users: Kept::new(keep_reads_for),
        };
        Ok(Self { db, shared: Arc::new(shared) })
    }

    /// The database product, as OpenTelemetry's `db.system.name` spells it.
    pub fn system_name(&self) -> &'static str {
        match self.db.get_database_backend() {
            DbBackend::Postgres => "postgresql",
            DbBackend::Sqlite => "sqlite",
            _ => "other_sql",
        }
    }

    /// Calls `observer` after every SQL statement this store (and its later clones) runs, with
    /// how long it took and whether it failed: a hook for metrics, and for counting round trips.
    pub fn observe_statements(
        &mut self,
        observer: impl Fn(Duration, bool) + Send + Sync + 'static,
    ) {
        self.db.set_metric_callback(move |info| observer(info.elapsed, info.failed));
    }

    /// Calls `observer` after each read of the catalogue or of a drawer, with whether a kept
    /// copy answered it (true) or the database did: a hook for the request's wide event. The
    /// first observer set stays.
    pub fn observe_kept_reads(&self, observer: fn(bool)) {
        let _ = self.shared.kept_read_observer.set(observer);
    }

    /// Applies pending migrations; harmless when there are none. Replicas starting together
    /// take turns: one transaction holds a lock (an advisory lock on PostgreSQL, an immediate
    /// write transaction on SQLite) while it migrates. The statement timeout, which is meant for
    /// requests, does not apply.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let immediate = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let transaction = match self.db.begin_with_options(immediate).await {
            Ok(transaction) => transaction,
            Err(error) => return Err(self.shared.reach.unconnected(error).await),
        };
        if transaction.get_database_backend() == DbBackend::Postgres {
            transaction
                .execute_unprepared(&format!(
                    "SET LOCAL statement_timeout = 0; SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"
                ))
                .await
                .map_err(store_error)?;
        }
        migrations::Migrator::up(&transaction, None).await.map_err(store_error)?;
        transaction.commit().await.map_err(store_error)?;
        self.shared.migrated.store(true, Ordering::Release);
        Ok(())
    }

    /// Says startup has prepared the data: from now on `ping` asks the database.
    pub fn open_for_traffic(&self) {
        self.shared.open_for_traffic.store(true, Ordering::Release);
    }

    /// The connection, once the schema is known to be in place, and while the SQLite file is
    /// still the one opened.
    fn db(&self) -> Result<&DatabaseConnection, StoreError> {
        if !self.shared.migrated.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("the database schema is not migrated yet".into()));
        }
        if let Some(file) = &self.shared.file {
            file.check()?;
        }
        Ok(&self.db)
    }

    /// Runs one call: refused at once while the database is known to be down, bounded in
    /// time, and, when it fails for an outage, a reason to probe.
    async fn guarded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let shared = &self.shared;
        shared.breaker.admit()?;
        let outcome = tokio::time::timeout(shared.call_limit, call)
            .await
            .unwrap_or_else(|_| Err(Outage::NoAnswer(shared.call_limit).into()));
        if shared.breaker.suspects(&outcome) {
            let shared = shared.clone();
            tokio::spawn(shared.breaker.clone().probe_until_up(move || {
                let shared = shared.clone();
                async move { shared.probe().await }
            }));
        }
        outcome
    }

    /// Runs one write: as `guarded`, and also refused at once while the database's storage is
    /// known to be full; a write that finds it full is a reason to try a small write.
    async fn guarded_write<T>(
        &self,
        write: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let gate = &self.shared.writes;
        gate.admit()?;
        let outcome = self.guarded(write).await;
        if gate.suspects(&outcome) {
            let shared = self.shared.clone();
            tokio::spawn(gate.clone().probe_until_up(move || {
                let shared = shared.clone();
                async move { shared.try_a_write().await }
            }));
        }
        outcome
    }

    /// A read answered from `kept` when a fresh copy is there and `freshness` allows it, and
    /// otherwise by `read`, whose finding is kept (a finding of nothing only so that no earlier
    /// copy is answered after it) and shared with the readers that missed while it was under
    /// way. Also says whether the answer came without a database read of its own.
    async fn read_through<K: Eq + Hash + Clone, V: Clone + Items>(
        &self,
        kept: &Kept<K, V>,
        key: K,
        freshness: Freshness,
        read: impl Future<Output = Result<Option<V>, StoreError>>,
    ) -> Result<(Option<V>, bool), StoreError> {
        if freshness == Freshness::MayBeKept
            && let Some(value) = kept.fresh(&key)
        {
            return Ok((Some(value), true));
        }
        let Some(ticket) = kept.ticket() else {
            return Ok((self.guarded(read).await?, false));
        };
        let leading = match freshness {
            Freshness::Current => None,
            Freshness::MayBeKept => match kept.turn(&key, &ticket) {
                Turn::Lead(leading) => Some(leading),
                Turn::Follow(following) => match following.answer().await {
                    Some(found) => return Ok((found, true)),
                    None => None, // the leader gave up: read alone
                },
            },
        };
        let found = self.guarded(read).await?;
        kept.keep(ticket, key, found.clone());
        if let Some(leading) = leading {
            leading.answer(found.clone());
        }
        Ok((found, false))
    }

    /// A read of what a request asked for (the catalogue, a drawer), not of the account behind
    /// its token: as `read_through`, and the kept-read observer hears who answered.
    async fn read_answer<K: Eq + Hash + Clone, V: Clone + Items>(
        &self,
        kept: &Kept<K, V>,
        key: K,
        read: impl Future<Output = Result<Option<V>, StoreError>>,
    ) -> Result<Option<V>, StoreError> {
        let (found, from_kept) = self.read_through(kept, key, Freshness::MayBeKept, read).await?;
        if let Some(observer) = self.shared.kept_read_observer.get() {
            observer(from_kept);
        }
        Ok(found)
    }

    /// A write that may change what `kept` holds for `key`: the copy is forgotten once the
    /// write is over or abandoned, whatever its outcome but a refusal that wrote nothing.
    async fn write_forgetting<K: Eq + Hash + Clone, V: Clone + Items, T>(
        &self,
        kept: &Kept<K, V>,
        key: &K,
        write: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let forgetting = kept.forgetting(key);
        forgetting.unless_refused(self.guarded_write(write).await)
    }

    /// A write that adds a row to what `kept` holds copies of: after a reset of the database
    /// the new row may take the id of a kept one, so every copy of the kind is stale once the
    /// write is over or abandoned, unless it was refused having written nothing.
    async fn creating<K: Eq + Hash + Clone, V: Clone + Items, T>(
        &self,
        kept: &Kept<K, V>,
        create: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let forgetting = kept.forgetting_all();
        forgetting.unless_refused(self.guarded_write(create).await)
    }
}

impl Shared {
    /// Whether a fresh connection reaches this service's database (and, on SQLite, the file
    /// is still the one opened): what the breaker waits for before it lets calls through.
    async fn probe(&self) -> Result<(), StoreError> {
        if let Some(file) = &self.file {
            file.check()?;
        }
        let db = Database::connect(self.probe_options.clone()).await.map_err(store_error)?;
        let ours = db.execute_unprepared(OURS).await.map(drop).map_err(store_error);
        db.close().await.ok();
        ours
    }

    /// Whether a write can be stored: a row put in and taken out again in one transaction,
    /// whose commit needs room like any write's and leaves nothing behind.
    ///
    /// On a connection of its own, closed after, never a pooled one: when a COMMIT fails for
    /// want of room, SQLite has already rolled the transaction back, so sqlx's ROLLBACK fails
    /// too and sqlx still counts one transaction open. That connection's next transaction
    /// would begin as a SAVEPOINT whose rollback never ends it, and every later write on it
    /// would be acknowledged inside a transaction that is never committed.
    async fn try_a_write(&self) -> Result<(), StoreError> {
        if let Some(file) = &self.file {
            file.check()?;
        }
        let db = Database::connect(self.probe_options.clone()).await.map_err(store_error)?;
        let written = async {
            let transaction = db.begin().await?;
            transaction.execute_unprepared(TEST_WRITE).await?;
            transaction.commit().await
        }
        .await
        .map_err(store_error);
        db.close().await.ok();
        written
    }
}

/// The write gate's test write, in the migrations' own table so that it touches no data.
const TEST_WRITE: &str = "INSERT INTO seaql_migrations (version, applied_at) \
     VALUES ('snackdrawer write test', 0); \
     DELETE FROM seaql_migrations WHERE version = 'snackdrawer write test'";

/// Inserts one row and returns it as stored. The row is believed only once its statement has
/// run to its end: outside a transaction SQLite commits an `INSERT … RETURNING` at its last
/// step, after handing out the row, and sea-orm's `insert` takes the first row and lets sqlx
/// reset the statement, which drops that step's error: a commit that failed (a full disk) was
/// acknowledged with a row never stored. Asking for every row runs the statement to its end.
async fn insert_returning<A>(
    row: A,
    db: &DatabaseConnection,
) -> Result<<A::Entity as EntityTrait>::Model, sea_orm::DbErr>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let stored = <A::Entity as EntityTrait>::insert_many([row]).exec_with_returning(db).await?;
    stored
        .into_iter()
        .next()
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("the insert returned no row".to_owned()))
}

/// Rows hold what the database accepted through the same domain types, so a value that no
/// longer parses means the data was changed behind the service's back.
fn corrupt(error: ValidationError) -> StoreError {
    StoreError::Internal(format!("stored data breaks a domain rule: {error}").into())
}

fn to_user(row: &users::Model) -> Result<User, StoreError> {
    Ok(User {
        id: UserId::new(row.id).map_err(corrupt)?,
        username: Username::parse(row.username.clone()).map_err(corrupt)?,
        key: UserKey::parse(row.user_key.clone()).map_err(corrupt)?,
    })
}

fn to_snack(row: snacks::Model) -> Result<Snack, StoreError> {
    Ok(Snack {
        id: SnackId::new(row.id).map_err(corrupt)?,
        name: SnackName::parse(row.name).map_err(corrupt)?,
    })
}

fn to_drawer(row: drawers::Model) -> Result<Drawer, StoreError> {
    Ok(Drawer {
        id: DrawerId::new(row.id).map_err(corrupt)?,
        owner: UserId::new(row.owner_id).map_err(corrupt)?,
        name: DrawerName::parse(row.name).map_err(corrupt)?,
    })
}

/// The drawer with this id, read on `db` with no guard of its own: the caller's call is the
/// guarded one, so the breaker admits, bounds and judges it once.
async fn drawer_row(db: &DatabaseConnection, id: DrawerId) -> Result<Option<Drawer>, StoreError> {
    let row = drawers::Entity::find_by_id(id.get()).one(db).await.map_err(store_error)?;
    row.map(to_drawer).transpose()
}

/// An insert guarded by a count of what its list holds (`… SELECT … WHERE (SELECT count(*) …)
/// < limit`), so the count and the insert are one statement: SQLite runs one writer at a time
/// and never passes the limit; PostgreSQL counts in the statement's snapshot, so writers racing
/// at the limit can pass it by fewer than the statements running at once (the pools' sizes).
/// Parameters are `$n`, which both backends read. Its rows are read with `all`, never `one`,
/// so the statement runs to its end (see `insert_returning`).
fn bounded<const N: usize>(
    db: &DatabaseConnection,
    sql: &str,
    values: [sea_orm::Value; N],
) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

/// A drawer and its snacks in snack-id order, one row per snack (one row with no snack for an
/// empty drawer). `$1` is the first parameter on SQLite as on PostgreSQL.
const DRAWER_WITH_CONTENTS: &str = "SELECT d.owner_id, d.name, s.id AS snack_id, \
    s.name AS snack_name FROM drawers d \
    LEFT JOIN drawer_snacks c ON c.drawer_id = d.id \
    LEFT JOIN snacks s ON s.id = c.snack_id \
    WHERE d.id = $1 ORDER BY s.id";

/// The rows of `DRAWER_WITH_CONTENTS` for drawer `id`; no rows, no such drawer.
fn drawer_with_contents(
    id: DrawerId,
    rows: &[QueryResult],
) -> Result<Option<DrawerWithContents>, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let drawer = to_drawer(drawers::Model {
        id: id.get(),
        owner_id: first.try_get("", "owner_id").map_err(store_error)?,
        name: first.try_get("", "name").map_err(store_error)?,
    })?;
    let mut contents = Vec::with_capacity(rows.len());
    for row in rows {
        let snack_id: Option<i64> = row.try_get("", "snack_id").map_err(store_error)?;
        let snack_name: Option<String> = row.try_get("", "snack_name").map_err(store_error)?;
        if let (Some(id), Some(name)) = (snack_id, snack_name) {
            contents.push(to_snack(snacks::Model { id, name })?);
        }
    }
    Ok(Some(DrawerWithContents { drawer, contents }))
}

/// The error for a write refused by a unique constraint; other failures pass through.
fn duplicate_or(error: sea_orm::DbErr) -> StoreError {
    match classify(error) {
        Failure::UniqueViolation => StoreError::Duplicate,
        Failure::ForeignKeyViolation => StoreError::Internal("unexpected foreign key".into()),
        Failure::Other(other) => other,
    }
}

#[async_trait]
impl StoreHealth for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        if !self.shared.open_for_traffic.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("the database is still being prepared".into()));
        }
        // Not ready while writes cannot be stored, though reads still work.
        self.shared.writes.admit()?;
        self.guarded(async {
            self.db()?.execute_unprepared(OURS).await.map(drop).map_err(store_error)
        })
        .await
    }
}

#[async_trait]
impl UserRepository for SqlStore {
    async fn create(&self, username: &Username, hash: &PasswordHash) -> Result<User, StoreError> {
        self.creating(&self.shared.users, async {
            let row = users::ActiveModel {
                username: Set(username.as_str().to_owned()),
                password_hash: Set(hash.expose().to_owned()),
                user_key: Set(UserKey::from_random_bits(rand::random()).as_str().to_owned()),
                ..Default::default()
            };
            let row = insert_returning(row, self.db()?).await.map_err(duplicate_or)?;
            to_user(&row)
        })
        .await
    }

    async fn find_by_id(
        &self,
        id: UserId,
        freshness: Freshness,
    ) -> Result<Option<User>, StoreError> {
        let (found, _) = self
            .read_through(&self.shared.users, id, freshness, async {
                let row = users::Entity::find_by_id(id.get())
                    .one(self.db()?)
                    .await
                    .map_err(store_error)?;
                row.as_ref().map(to_user).transpose()
            })
            .await?;
        Ok(found)
    }

    async fn find_by_username(
        &self,
        username: &Username,
    ) -> Result<Option<Credentials>, StoreError> {
        self.guarded(async {
            let row = users::Entity::find()
                .filter(users::Column::Username.eq(username.as_str()))
                .one(self.db()?)
                .await
                .map_err(store_error)?;
            row.map(|row| {
                Ok(Credentials {
                    user: to_user(&row)?,
                    password_hash: PasswordHash::new(row.password_hash),
                })
            })
            .transpose()
        })
        .await
    }
}

#[async_trait]
impl SnackRepository for SqlStore {
    async fn list(&self) -> Result<SnackList, StoreError> {
        let listed = self.read_answer(&self.shared.catalogue, (), async {
            catalogue::read(self.db()?).await.map(Some)
        });
        Ok(listed.await?.unwrap_or_default())
    }

    async fn get(&self, id: SnackId) -> Result<Option<Snack>, StoreError> {
        self.guarded(async {
            let row =
                snacks::Entity::find_by_id(id.get()).one(self.db()?).await.map_err(store_error)?;
            row.map(to_snack).transpose()
        })
        .await
    }

    async fn create(&self, name: &SnackName, at_most: u32) -> Result<Snack, StoreError> {
        self.write_forgetting(&self.shared.catalogue, &(), async {
            let db = self.db()?;
            let insert = bounded(
                db,
                "INSERT INTO snacks (name) SELECT $1 \
                 WHERE (SELECT count(*) FROM snacks) < $2 RETURNING id, name",
                [name.as_str().into(), i64::from(at_most).into()],
            );
            let row =
                snacks::Entity::find().from_raw_sql(insert).all(db).await.map_err(duplicate_or)?;
            to_snack(row.into_iter().next().ok_or(StoreError::Full)?)
        })
        .await
    }
}

#[async_trait]
impl DrawerRepository for SqlStore {
    async fn list_by_owner(&self, owner: UserId) -> Result<Vec<Drawer>, StoreError> {
        self.guarded(async {
            let rows = drawers::Entity::find()
                .filter(drawers::Column::OwnerId.eq(owner.get()))
                .order_by_asc(drawers::Column::Id)
                .all(self.db()?)
                .await
                .map_err(store_error)?;
            rows.into_iter().map(to_drawer).collect()
        })
        .await
    }

    async fn create(
        &self,
        owner: UserId,
        name: &DrawerName,
        at_most: u32,
    ) -> Result<Drawer, StoreError> {
        self.creating(&self.shared.drawers, async {
            let db = self.db()?;
            let insert = bounded(
                db,
                "INSERT INTO drawers (owner_id, name) SELECT $1, $2 \
                 WHERE (SELECT count(*) FROM drawers WHERE owner_id = $1) < $3 \
                 RETURNING id, owner_id, name",
                [owner.get().into(), name.as_str().into(), i64::from(at_most).into()],
            );
            let row =
                drawers::Entity::find().from_raw_sql(insert).all(db).await.map_err(duplicate_or)?;
            to_drawer(row.into_iter().next().ok_or(StoreError::Full)?)
        })
        .await
    }

    async fn find(&self, id: DrawerId) -> Result<Option<Drawer>, StoreError> {
        self.guarded(async { drawer_row(self.db()?, id).await }).await
    }

    /// One query, whatever the drawer holds: the drawer joined with its snacks. One statement
    /// reads one snapshot on both backends (PostgreSQL's default isolation gives each statement
    /// its own), so a drawer deleted meanwhile is read whole or not at all, never as existing
    /// but empty; and it is one round trip, not two.
    async fn find_with_contents(
        &self,
        id: DrawerId,
    ) -> Result<Option<DrawerWithContents>, StoreError> {
        self.read_answer(&self.shared.drawers, id, async {
            let db = self.db()?;
            let query = Statement::from_sql_and_values(
                db.get_database_backend(),
                DRAWER_WITH_CONTENTS,
                [id.get().into()],
            );
            let rows = db.query_all_raw(query).await.map_err(store_error)?;
            drawer_with_contents(id, &rows)
        })
        .await
    }

    async fn add_snack(
        &self,
        drawer: DrawerId,
        snack: SnackId,
        at_most: u32,
    ) -> Result<(), StoreError> {
        self.write_forgetting(&self.shared.drawers, &drawer, async {
            let db = self.db()?;
            let insert = bounded(
                db,
                "INSERT INTO drawer_snacks (drawer_id, snack_id) SELECT $1, $2 \
                 WHERE (SELECT count(*) FROM drawer_snacks WHERE drawer_id = $1) < $3",
                [drawer.get().into(), snack.get().into(), i64::from(at_most).into()],
            );
            match db.execute_raw(insert).await.map_err(classify) {
                Ok(done) if done.rows_affected() == 0 => Err(StoreError::Full),
                Ok(_) => Ok(()),
                Err(Failure::UniqueViolation) => Err(StoreError::Duplicate),
                // SQLite does not say which key failed; asking again is cheap and only on this
                // path, and it is part of this guarded call, not a second one.
                Err(Failure::ForeignKeyViolation) => match drawer_row(db, drawer).await? {
                    None => Err(StoreError::MissingDrawer),
                    Some(_) => Err(StoreError::MissingSnack),
                },
                Err(Failure::Other(other)) => Err(other),
            }
        })
        .await
    }

    async fn remove_snack(&self, drawer: DrawerId, snack: SnackId) -> Result<(), StoreError> {
        self.write_forgetting(&self.shared.drawers, &drawer, async {
            let deleted = drawer_snacks::Entity::delete_by_id((drawer.get(), snack.get()))
                .exec(self.db()?)
                .await
                .map_err(store_error)?;
            if deleted.rows_affected == 0 { Err(StoreError::MissingSnack) } else { Ok(()) }
        })
        .await
    }

    async fn delete(&self, drawer: DrawerId) -> Result<(), StoreError> {
        self.write_forgetting(&self.shared.drawers, &drawer, async {
            let deleted = drawers::Entity::delete_by_id(drawer.get())
                .exec(self.db()?)
                .await
                .map_err(store_error)?;
            if deleted.rows_affected == 0 { Err(StoreError::MissingDrawer) } else { Ok(()) }
        })
        .await
    }
}
