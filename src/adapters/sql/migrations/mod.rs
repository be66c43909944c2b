//! Versioned schema migrations, applied at start (or by `snackdrawer migrate`).
//!
//! Add a migration as a new file with the next timestamp and list it in `migrations()`; never
//! edit one that has shipped. Each migration names itself by hand: sea-orm's derive would name
//! it after the file, which is easy to get wrong.

mod m20261128_000001_create_tables;
mod m20261201_000001_user_keys;

use sea_orm_migration::{MigrationTrait, MigratorTrait};

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_tables::Migration),
            Box::new(m20261201_000001_user_keys::Migration),
        ]
    }
}
