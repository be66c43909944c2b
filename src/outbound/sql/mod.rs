//! The SQL store: every repository port on sea-orm, for SQLite (the embedded default) and
//! PostgreSQL alike.
//!
//! Backend differences are kept to two places: connection options (SQLite's pragmas) and the
//! migration lock in `migrate`. Uniqueness is left to the database's constraints and read back
//! from its errors, never checked by a racy look-up first.
//!
//! The store can exist before its database is reachable: PostgreSQL pools connect lazily, so the
//! service starts, answers 503 while the database is down, and recovers by itself. Until
//! `migrate` has succeeded every call answers `Unavailable` rather than touching tables that may
//! not exist yet.

mod entities;
mod errors;
mod migrations;

use crate::domain::{
    Credentials, Drawer, DrawerId, DrawerName, DrawerWithContents, PasswordHash, Snack, SnackId,
    SnackName, User, UserId, UserKey, Username, ValidationError,
};
use crate::ports::{
    BoxError, DrawerRepository, SnackRepository, StoreError, StoreHealth, UserRepository,
};
use async_trait::async_trait;
use entities::{drawer_snacks, drawers, snacks, users};
use errors::{Failure, classify, store_error};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database,
    DatabaseConnection, DbBackend, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Connection pool limits.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request may wait for a connection (including making a new one) before the
    /// store answers `Unavailable`.
    pub acquire_timeout: Duration,
}

#[derive(Clone)]
pub struct SqlStore {
    db: DatabaseConnection,
    migrated: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot open the database")]
pub struct OpenError(#[source] BoxError);

/// An arbitrary constant naming the PostgreSQL advisory lock that serialises migrations when
/// several replicas start at once.
const MIGRATION_LOCK: i64 = 0x5_4ac4_d4a3;

impl SqlStore {
    /// Opens a pool for a `sqlite://…` or `postgres://…` URL. PostgreSQL is not contacted yet;
    /// SQLite opens (and with `mode=rwc` creates) its file now, so a bad path fails here.
    pub async fn open(url: &str, pool: PoolSettings) -> Result<Self, OpenError> {
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(pool.max_connections)
            .min_connections(0)
            .acquire_timeout(pool.acquire_timeout)
            // A dead pooled connection costs one request a 503 instead of costing every
            // request an extra round trip to test its connection first.
            .test_before_acquire(false)
            .connect_lazy(true)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|sqlite| {
                sqlite
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
            });
        let db = Database::connect(options).await.map_err(|error| OpenError(error.into()))?;
        Ok(Self { db, migrated: Arc::new(AtomicBool::new(false)) })
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

    /// Applies pending migrations; harmless when there are none. Replicas starting together
    /// take turns: one transaction holds a lock (an advisory lock on PostgreSQL, an immediate
    /// write transaction on SQLite) while it migrates.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let immediate = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let transaction = self.db.begin_with_options(immediate).await.map_err(store_error)?;
        if transaction.get_database_backend() == DbBackend::Postgres {
            transaction
                .execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                .await
                .map_err(store_error)?;
        }
        migrations::Migrator::up(&transaction, None).await.map_err(store_error)?;
        transaction.commit().await.map_err(store_error)?;
        self.migrated.store(true, Ordering::Release);
        Ok(())
    }

    /// The connection, once the schema is known to be in place.
    fn db(&self) -> Result<&DatabaseConnection, StoreError> {
        if self.migrated.load(Ordering::Acquire) {
            Ok(&self.db)
        } else {
            Err(StoreError::Unavailable("the database schema is not migrated yet".into()))
        }
    }
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
        self.db()?.ping().await.map_err(store_error)
    }
}

#[async_trait]
impl UserRepository for SqlStore {
    async fn create(&self, username: &Username, hash: &PasswordHash) -> Result<User, StoreError> {
        let row = users::ActiveModel {
            username: Set(username.as_str().to_owned()),
            password_hash: Set(hash.expose().to_owned()),
            user_key: Set(UserKey::from_random_bits(rand::random()).as_str().to_owned()),
            ..Default::default()
        }
        .insert(self.db()?)
        .await
        .map_err(duplicate_or)?;
        to_user(&row)
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = users::Entity::find_by_id(id.get()).one(self.db()?).await.map_err(store_error)?;
        row.as_ref().map(to_user).transpose()
    }

    async fn find_by_username(
        &self,
        username: &Username,
    ) -> Result<Option<Credentials>, StoreError> {
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
    }
}

#[async_trait]
impl SnackRepository for SqlStore {
    async fn list(&self) -> Result<Vec<Snack>, StoreError> {
        let rows = snacks::Entity::find()
            .order_by_asc(snacks::Column::Id)
            .all(self.db()?)
            .await
            .map_err(store_error)?;
        rows.into_iter().map(to_snack).collect()
    }

    async fn get(&self, id: SnackId) -> Result<Option<Snack>, StoreError> {
        let row =
            snacks::Entity::find_by_id(id.get()).one(self.db()?).await.map_err(store_error)?;
        row.map(to_snack).transpose()
    }

    async fn create(&self, name: &SnackName) -> Result<Snack, StoreError> {
        let row = snacks::ActiveModel { name: Set(name.as_str().to_owned()), ..Default::default() }
            .insert(self.db()?)
            .await
            .map_err(duplicate_or)?;
        to_snack(row)
    }
}

#[async_trait]
impl DrawerRepository for SqlStore {
    async fn list_by_owner(&self, owner: UserId) -> Result<Vec<Drawer>, StoreError> {
        let rows = drawers::Entity::find()
            .filter(drawers::Column::OwnerId.eq(owner.get()))
            .order_by_asc(drawers::Column::Id)
            .all(self.db()?)
            .await
            .map_err(store_error)?;
        rows.into_iter().map(to_drawer).collect()
    }

    async fn create(&self, owner: UserId, name: &DrawerName) -> Result<Drawer, StoreError> {
        let row = drawers::ActiveModel {
            owner_id: Set(owner.get()),
            name: Set(name.as_str().to_owned()),
            ..Default::default()
        }
        .insert(self.db()?)
        .await
        .map_err(duplicate_or)?;
        to_drawer(row)
    }

    async fn find(&self, id: DrawerId) -> Result<Option<Drawer>, StoreError> {
        let row =
            drawers::Entity::find_by_id(id.get()).one(self.db()?).await.map_err(store_error)?;
        row.map(to_drawer).transpose()
    }

    /// Two queries, whatever the drawer holds: the drawer, then its snacks through one join.
    async fn find_with_contents(
        &self,
        id: DrawerId,
    ) -> Result<Option<DrawerWithContents>, StoreError> {
        let Some(drawer) = self.find(id).await? else {
            return Ok(None);
        };
        let rows = snacks::Entity::find()
            .join(JoinType::InnerJoin, snacks::Relation::DrawerSnacks.def())
            .filter(drawer_snacks::Column::DrawerId.eq(id.get()))
            .order_by_asc(snacks::Column::Id)
            .all(self.db()?)
            .await
            .map_err(store_error)?;
        let contents = rows.into_iter().map(to_snack).collect::<Result<_, _>>()?;
        Ok(Some(DrawerWithContents { drawer, contents }))
    }

    async fn add_snack(&self, drawer: DrawerId, snack: SnackId) -> Result<(), StoreError> {
        let inserted = drawer_snacks::Entity::insert(drawer_snacks::ActiveModel {
            drawer_id: Set(drawer.get()),
            snack_id: Set(snack.get()),
        })
        .exec_without_returning(self.db()?)
        .await;
        match inserted.map_err(classify) {
            Ok(_) => Ok(()),
            Err(Failure::UniqueViolation) => Err(StoreError::Duplicate),
            // SQLite does not say which key failed; asking again is cheap and only on this path.
            Err(Failure::ForeignKeyViolation) => match self.find(drawer).await? {
                None => Err(StoreError::MissingDrawer),
                Some(_) => Err(StoreError::MissingSnack),
            },
            Err(Failure::Other(other)) => Err(other),
        }
    }

    async fn remove_snack(&self, drawer: DrawerId, snack: SnackId) -> Result<(), StoreError> {
        let deleted = drawer_snacks::Entity::delete_by_id((drawer.get(), snack.get()))
            .exec(self.db()?)
            .await
            .map_err(store_error)?;
        if deleted.rows_affected == 0 { Err(StoreError::MissingSnack) } else { Ok(()) }
    }

    async fn delete(&self, drawer: DrawerId) -> Result<(), StoreError> {
        let deleted = drawers::Entity::delete_by_id(drawer.get())
            .exec(self.db()?)
            .await
            .map_err(store_error)?;
        if deleted.rows_affected == 0 { Err(StoreError::MissingDrawer) } else { Ok(()) }
    }
}
