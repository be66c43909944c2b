//! Private drawers and what is in them.
//!
//! Every use case here takes the caller and checks `Drawer::is_visible_to` before anything else
//! happens to a drawer, so another user's drawer behaves exactly like a missing one: even the
//! write rate is asked only after that check, so a 429 never tells a foreign drawer from a
//! missing one.

use super::{Snackdrawer, unexpected};
use crate::domain::{Drawer, DrawerId, DrawerName, DrawerWithContents, FullList, SnackId, UserId};
use crate::ports::{AppError, Drawers, StoreError};

impl Drawers for Snackdrawer {
    async fn list_drawers(&self, caller: UserId) -> Result<Vec<Drawer>, AppError> {
        self.ports.drawers.list_by_owner(caller).await.map_err(unexpected)
    }

    async fn create_drawer(&self, caller: UserId, name: DrawerName) -> Result<Drawer, AppError> {
        self.admit_write(caller)?;
        let limit = self.bounds.lists.drawers_per_user;
        match self.ports.drawers.create(caller, &name, limit).await {
            Err(StoreError::Duplicate) => Err(AppError::DrawerNameTaken(name)),
            Err(StoreError::Full) => Err(AppError::ListFull(FullList::Drawers { limit })),
            other => other.map_err(unexpected),
        }
    }

    async fn get_drawer(
        &self,
        caller: UserId,
        id: DrawerId,
    ) -> Result<DrawerWithContents, AppError> {
        self.ports
            .drawers
            .find_with_contents(id)
            .await
            .map_err(unexpected)?
            .filter(|found| found.drawer.is_visible_to(caller))
            .ok_or(AppError::DrawerNotFound(id))
    }

    async fn put_snack_in_drawer(
        &self,
        caller: UserId,
        drawer: DrawerId,
        snack: SnackId,
    ) -> Result<(), AppError> {
        self.check_owner(caller, drawer).await?;
        self.admit_write(caller)?;
        let limit = self.bounds.lists.snacks_per_drawer;
        match self.ports.drawers.add_snack(drawer, snack, limit).await {
            Err(StoreError::MissingDrawer) => Err(AppError::DrawerDoesNotExist(drawer)),
            Err(StoreError::Full) => Err(AppError::ListFull(FullList::Drawer { drawer, limit })),
            Err(StoreError::MissingSnack) => Err(AppError::SnackDoesNotExist(snack)),
            Err(StoreError::Duplicate) => Err(AppError::SnackAlreadyInDrawer { snack, drawer }),
            other => other.map_err(unexpected),
        }
    }

    async fn take_snack_from_drawer(
        &self,
        caller: UserId,
        drawer: DrawerId,
        snack: SnackId,
    ) -> Result<(), AppError> {
        self.check_owner(caller, drawer).await?;
        self.admit_write(caller)?;
        match self.ports.drawers.remove_snack(drawer, snack).await {
            Err(StoreError::MissingSnack) => Err(AppError::SnackNotInDrawer { snack, drawer }),
            other => other.map_err(unexpected),
        }
    }

    async fn delete_drawer(&self, caller: UserId, drawer: DrawerId) -> Result<(), AppError> {
        self.check_owner(caller, drawer).await?;
        self.admit_write(caller)?;
        match self.ports.drawers.delete(drawer).await {
            Err(StoreError::MissingDrawer) => Err(AppError::DrawerDoesNotExist(drawer)),
            other => other.map_err(unexpected),
        }
    }
}

impl Snackdrawer {
    /// Succeeds only if the drawer exists and belongs to the caller.
    async fn check_owner(&self, caller: UserId, id: DrawerId) -> Result<(), AppError> {
        match self.ports.drawers.find(id).await.map_err(unexpected)? {
            Some(found) if found.is_visible_to(caller) => Ok(()),
            _ => Err(AppError::DrawerDoesNotExist(id)),
        }
    }
}
