//! The snacks a fresh store starts with, so a newcomer's first `GET /snacks/` shows something.

use super::{AppError, Snackdrawer};
use crate::domain::SnackName;
use crate::ports::StoreError;

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

impl Snackdrawer {
    /// Fills an empty catalogue with `DEFAULT_CATALOGUE`; a catalogue with any snack in it is
    /// left alone, so this runs once per fresh store however often the service starts. Returns
    /// how many snacks it added (a concurrent seeder may have added some of them).
    #[tracing::instrument(skip(self))]
    pub async fn seed_catalogue(&self) -> Result<usize, AppError> {
        if !self.ports.snacks.list().await.map_err(AppError::from_store)?.is_empty() {
            return Ok(0);
        }
        let mut added = 0;
        for raw in DEFAULT_CATALOGUE {
            let name = SnackName::parse(raw).expect("the default catalogue holds valid names");
            match self.ports.snacks.create(&name).await {
                Ok(_) => added += 1,
                Err(StoreError::Duplicate) => {}
                Err(other) => return Err(AppError::from_store(other)),
            }
        }
        Ok(added)
    }
}
