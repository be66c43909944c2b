//! Repositories: where users, snacks and drawers are kept.
//!
//! Uniqueness rules are the store's to enforce atomically (a unique index, a lock), never a
//! read-then-write in the caller, so that concurrent duplicates give exactly one success.

use super::BoxError;
use crate::domain::{
    Credentials, Drawer, DrawerId, DrawerName, DrawerWithContents, PasswordHash, Snack, SnackId,
    SnackList, SnackName, User, UserId, Username,
};
use async_trait::async_trait;

/// How a repository call can fail. Besides the cases each method names, ANY method may return
/// `Unavailable` (the store cannot answer now) or `Internal` (a bug or corrupt data), and
/// nothing else.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write; nothing was written.
    #[error("a record with the same unique key already exists")]
    Duplicate,
    /// The drawer a write refers to does not exist (any more).
    #[error("the drawer does not exist")]
    MissingDrawer,
    /// The snack a write refers to does not exist, or is not where the write expects it.
    #[error("the snack does not exist")]
    MissingSnack,
    /// The list the write would lengthen holds as many as the caller allowed; nothing was
    /// written.
    #[error("the list is at its limit")]
    Full,
    /// The store cannot be reached or did not answer in time; retrying later may work.
    #[error("the store is unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug, corrupt data, a broken invariant.
    #[error("the store failed")]
    Internal(#[source] BoxError),
}

impl StoreError {
    /// Whether the store refused the write having written nothing (`Duplicate`, `Full`), so
    /// that what it kept of earlier reads still holds.
    pub fn wrote_nothing(&self) -> bool {
        matches!(self, Self::Duplicate | Self::Full)
    }
}

#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// Succeeds if the store can serve requests now. MUST return `Unavailable` if it cannot
    /// (unreachable, not migrated yet), so readiness probes can take the replica out of rotation.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// How current a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// A store that keeps reads for a moment (the SQL store, for `SNACKDRAWER_CACHE_TTL`) may
    /// answer from a copy up to its keep time old.
    MayBeKept,
    /// The store as it is now, never a kept copy: for what a stale answer must not decide.
    Current,
}

#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Adds a user with a fresh random key (`UserKey::from_random_bits`), never one the store
    /// gave before. MUST return `Duplicate` if the username is taken (exact, case-sensitive).
    async fn create(&self, username: &Username, hash: &PasswordHash) -> Result<User, StoreError>;

    /// The user with this id; `None` if there is none.
    async fn find_by_id(
        &self,
        id: UserId,
        freshness: Freshness,
    ) -> Result<Option<User>, StoreError>;

    /// The user with exactly this username and their password hash; `None` if there is none.
    async fn find_by_username(
        &self,
        username: &Username,
    ) -> Result<Option<Credentials>, StoreError>;
}

#[async_trait]
pub trait SnackRepository: Send + Sync {
    /// Every snack in the catalogue, in id order. SHOULD hand out the same list until the
    /// catalogue changes, rather than a copy per read (see `SnackList`).
    async fn list(&self) -> Result<SnackList, StoreError>;

    /// The snack with this id; `None` if there is none.
    async fn get(&self, id: SnackId) -> Result<Option<Snack>, StoreError>;

    /// Adds a snack. MUST return `Duplicate` if a snack has exactly this name, and `Full` if
    /// the catalogue already holds `at_most` snacks, counted in the same atomic step as the
    /// insert (see `DrawerRepository::create` for the bound on concurrent writers).
    async fn create(&self, name: &SnackName, at_most: u32) -> Result<Snack, StoreError>;
}

#[async_trait]
pub trait DrawerRepository: Send + Sync {
    /// The owner's drawers, in id order, without contents.
    async fn list_by_owner(&self, owner: UserId) -> Result<Vec<Drawer>, StoreError>;

    /// Adds an empty drawer. MUST return `Duplicate` if this owner already has a drawer with
    /// exactly this name (other owners' drawers do not count), and `Full` if the owner already
    /// has `at_most` drawers. The count and the insert are one step: a store that serialises
    /// writes never passes `at_most`; one that counts in a snapshot (PostgreSQL) may pass it by
    /// fewer than the writes it runs at once.
    async fn create(
        &self,
        owner: UserId,
        name: &DrawerName,
        at_most: u32,
    ) -> Result<Drawer, StoreError>;

    /// The drawer with this id, whoever owns it; `None` if there is none. Checking ownership
    /// is the caller's job (see `Drawer::is_visible_to`).
    async fn find(&self, id: DrawerId) -> Result<Option<Drawer>, StoreError>;

    /// The drawer with its contents in snack-id order; `None` if there is none. Costs a fixed
    /// number of store round trips whatever the number of snacks.
    async fn find_with_contents(
        &self,
        id: DrawerId,
    ) -> Result<Option<DrawerWithContents>, StoreError>;

    /// Puts a snack in a drawer. MUST return `MissingDrawer` if the drawer does not exist,
    /// `Full` if it holds `at_most` snacks (counted as `create` counts), `MissingSnack` if the
    /// snack does not exist, and `Duplicate` if it is already in the drawer.
    async fn add_snack(
        &self,
        drawer: DrawerId,
        snack: SnackId,
        at_most: u32,
    ) -> Result<(), StoreError>;

    /// Takes a snack out of a drawer. MUST return `MissingSnack` if it is not in the drawer
    /// (including when the drawer itself no longer exists).
    async fn remove_snack(&self, drawer: DrawerId, snack: SnackId) -> Result<(), StoreError>;

    /// Deletes a drawer and its contents. MUST return `MissingDrawer` if it does not exist.
    async fn delete(&self, drawer: DrawerId) -> Result<(), StoreError>;
}
