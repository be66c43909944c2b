//! The global snack catalogue, and the snacks a fresh store starts with, so a newcomer's first
//! `GET /snacks/` shows something.

use super::{Snackdrawer, unexpected};
use crate::domain::{Snack, SnackId, SnackName};
use crate::ports::{AppError, Catalogue, StoreError};

/// Real snacks, in the order they get their ids.
pub const DEFAULT_CATALOGUE: [&str; 12] = [
    "chips",
    "pretzels",
    "popcorn",
    "peanuts",
    "cashews",
    "trail mix",
    "dark chocolate",
    "gummy bears",
    "rice crackers",
    "beef jerky",
    "dried mango",
    "granola bar",
];

impl Catalogue for Snackdrawer {
    async fn list_snacks(&self) -> Result<Vec<Snack>, AppError> {
        self.ports.snacks.list().await.map_err(unexpected)
    }

    async fn get_snack(&self, id: SnackId) -> Result<Snack, AppError> {
        self.ports.snacks.get(id).await.map_err(unexpected)?.ok_or(AppError::SnackNotFound(id))
    }

    async fn create_snack(&self, name: SnackName) -> Result<Snack, AppError> {
        match self.ports.snacks.create(&name).await {
            Err(StoreError::Duplicate) => Err(AppError::SnackNameTaken(name)),
            other => other.map_err(unexpected),
        }
    }

    /// Runs once per fresh store however often the service starts; a concurrent seeder may
    /// have added some of the snacks, which is fine.
    async fn seed_catalogue(&self) -> Result<usize, AppError> {
        if !self.ports.snacks.list().await.map_err(unexpected)?.is_empty() {
            return Ok(0);
        }
        let mut added = 0;
        for raw in DEFAULT_CATALOGUE {
            let name = SnackName::parse(raw).expect("the default catalogue holds valid names");
            match self.ports.snacks.create(&name).await {
                Ok(_) => added += 1,
                Err(StoreError::Duplicate) => {}
                Err(other) => return Err(unexpected(other)),
            }
        }
        Ok(added)
    }
}
