//! The first schema. The rules of the domain are stated by the database itself: unique
//! usernames, unique snack names, unique drawer names per owner, a snack at most once per
//! drawer, foreign keys that cascade, and an index for every lookup the use cases make.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, string, string_len, string_len_uniq};

/// The longest name the domain accepts, so the column says it too.
const NAME_MAX_CHARS: u32 = crate::domain::NAME_MAX_CHARS as u32;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000001_create_tables"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    PasswordHash,
}

#[derive(DeriveIden)]
enum Snacks {
    Table,
    Id,
    Name,
}

#[derive(DeriveIden)]
enum Drawers {
    Table,
    Id,
    OwnerId,
    Name,
}

#[derive(DeriveIden)]
enum DrawerSnacks {
    Table,
    DrawerId,
    SnackId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// SQLite runs migrations outside a transaction unless asked; a half-made schema is worse
    /// than none.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_len_uniq(Users::Username, NAME_MAX_CHARS))
                    .col(string(Users::PasswordHash))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Snacks::Table)
                    .col(big_pk_auto(Snacks::Id))
                    .col(string_len_uniq(Snacks::Name, NAME_MAX_CHARS))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Drawers::Table)
                    .col(big_pk_auto(Drawers::Id))
                    .col(big_integer(Drawers::OwnerId))
                    .col(string_len(Drawers::Name, NAME_MAX_CHARS))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_drawers_owner")
                            .from(Drawers::Table, Drawers::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Also the index for "drawers of this owner": owner_id leads.
        manager
            .create_index(
                Index::create()
                    .name("ux_drawers_owner_name")
                    .table(Drawers::Table)
                    .col(Drawers::OwnerId)
                    .col(Drawers::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The primary key (drawer_id, snack_id) is also the index for "contents of a drawer".
        manager
            .create_table(
                Table::create()
                    .table(DrawerSnacks::Table)
                    .col(big_integer(DrawerSnacks::DrawerId))
                    .col(big_integer(DrawerSnacks::SnackId))
                    .primary_key(
                        Index::create().col(DrawerSnacks::DrawerId).col(DrawerSnacks::SnackId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_drawer_snacks_drawer")
                            .from(DrawerSnacks::Table, DrawerSnacks::DrawerId)
                            .to(Drawers::Table, Drawers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_drawer_snacks_snack")
                            .from(DrawerSnacks::Table, DrawerSnacks::SnackId)
                            .to(Snacks::Table, Snacks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Cascading a snack's deletion must not scan every drawer's contents.
        manager
            .create_index(
                Index::create()
                    .name("ix_drawer_snacks_snack")
                    .table(DrawerSnacks::Table)
                    .col(DrawerSnacks::SnackId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DrawerSnacks::Table.into_iden(),
            Drawers::Table.into_iden(),
            Snacks::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
