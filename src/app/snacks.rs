//! The global snack catalogue: anyone may read it, any logged-in user may add to it.

use super::{AppError, Snackdrawer};
use crate::domain::{Snack, SnackId, SnackName};
use crate::ports::StoreError;

impl Snackdrawer {
    #[tracing::instrument(skip(self))]
    pub async fn list_snacks(&self) -> Result<Vec<Snack>, AppError> {
        self.ports.snacks.list().await.map_err(AppError::from_store)
    }

    #[tracing::instrument(skip(self))]
    pub async fn get_snack(&self, id: SnackId) -> Result<Snack, AppError> {
        self.ports
            .snacks
            .get(id)
            .await
            .map_err(AppError::from_store)?
            .ok_or(AppError::SnackNotFound(id))
    }

    #[tracing::instrument(skip(self))]
    pub async fn create_snack(&self, name: SnackName) -> Result<Snack, AppError> {
        match self.ports.snacks.create(&name).await {
            Err(StoreError::Duplicate) => Err(AppError::SnackNameTaken(name)),
            other => other.map_err(AppError::from_store),
        }
    }
}
