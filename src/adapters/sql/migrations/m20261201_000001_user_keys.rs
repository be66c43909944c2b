//! Every user gets a key (`UserKey`), which tokens carry, so a token is bound to its account and
//! not only to an id that a reset store gives someone else. Users already in the database get
//! a random key each from the database itself; their old tokens, which carry no key, stop
//! working, and they log in again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000001_user_keys"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    UserKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds a NOT NULL column only with a default; the rows get real keys next.
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::UserKey).string().not_null().default(""))
                    .to_owned(),
            )
            .await?;
        // 128 random bits as 32 hex digits, like `UserKey::from_random_bits`.
        let random_key = match manager.get_database_backend() {
            DbBackend::Postgres => "md5(random()::text || clock_timestamp()::text || id::text)",
            _ => "lower(hex(randomblob(16)))",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!("UPDATE users SET user_key = {random_key}"))
            .await
            .map(drop)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Users::Table).drop_column(Users::UserKey).to_owned())
            .await
            .map(drop)
    }
}
