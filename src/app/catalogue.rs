//! The global snack catalogue, and the snacks a fresh store starts with, so a newcomer's first
//! `GET /snacks/` shows something.

use super::{Snackdrawer, unexpected};
use crate::domain::{FullList, Snack, SnackId, SnackList, SnackName, UserId};
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
    async fn list_snacks(&self) -> Result<SnackList, AppError> {
        self.ports.snacks.list().await.map_err(unexpected)
    }

    async fn get_snack(&self, id: SnackId) -> Result<Snack, AppError> {
        self.ports.snacks.get(id).await.map_err(unexpected)?.ok_or(AppError::SnackNotFound(id))
    }

    async fn create_snack(&self, caller: UserId, name: SnackName) -> Result<Snack, AppError> {
        self.admit_write(caller)?;
        self.add_to_catalogue(name).await
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
            match self.add_to_catalogue(name).await {
                Ok(_) => added += 1,
                Err(AppError::SnackNameTaken(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(added)
    }
}

impl Snackdrawer {
    async fn add_to_catalogue(&self, name: SnackName) -> Result<Snack, AppError> {
        let limit = self.bounds.lists.catalogue;
        match self.ports.snacks.create(&name, limit).await {
            Err(StoreError::Duplicate) => Err(AppError::SnackNameTaken(name)),
            Err(StoreError::Full) => Err(AppError::ListFull(FullList::Catalogue { limit })),
            other => other.map_err(unexpected),
        }
    }
}
