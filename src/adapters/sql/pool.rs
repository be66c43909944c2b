//! The store's pool as the `ConnectionPool` port shows it: sqlx's own counts, and a connection
//! borrowed exactly as a call borrows one (same pool, same wait), so a fault that holds some
//! starves the calls as a real leak of connections would.

use super::SqlStore;
use crate::ports::{ConnectionPool, Connections, Loan};
use async_trait::async_trait;
use sea_orm::DbBackend;
use sea_orm::sqlx::{Database, Pool};

#[async_trait]
impl ConnectionPool for SqlStore {
    fn connections(&self) -> Connections {
        match self.db.get_database_backend() {
            DbBackend::Postgres => counts(self.db.get_postgres_connection_pool()),
            _ => counts(self.db.get_sqlite_connection_pool()),
        }
    }

    async fn borrow(&self) -> Option<Loan> {
        match self.db.get_database_backend() {
            DbBackend::Postgres => lend(self.db.get_postgres_connection_pool()).await,
            _ => lend(self.db.get_sqlite_connection_pool()).await,
        }
    }
}

fn counts<DB: Database>(pool: &Pool<DB>) -> Connections {
    Connections {
        open: pool.size(),
        idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
        max: pool.options().get_max_connections(),
    }
}

async fn lend<DB: Database>(pool: &Pool<DB>) -> Option<Loan> {
    let connection = pool.acquire().await.ok()?;
    Some(Loan(Box::new(connection)))
}
