//! The records Snackdrawer keeps, and the one rule about who may see what.

use super::{DrawerId, DrawerName, PasswordHash, SnackId, SnackName, UserId, UserKey, Username};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    /// Binds the user's tokens to this account rather than to its id alone.
    pub key: UserKey,
}

/// A user together with what logging in checks the password against.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: PasswordHash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snack {
    pub id: SnackId,
    pub name: SnackName,
}

/// The whole catalogue, in id order, as one read-only list that every reader shares: the
/// catalogue is read far more often than it changes, so a store hands the same list to every
/// read until a write makes a new one, and whoever renders it may keep the rendering as long as
/// it holds that same list (`Arc::ptr_eq`).
pub type SnackList = std::sync::Arc<[Snack]>;

/// A drawer without its contents, as listings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawer {
    pub id: DrawerId,
    pub owner: UserId,
    pub name: DrawerName,
}

impl Drawer {
    /// Drawers are private: to anyone but their owner they do not exist at all, so callers
    /// must answer "not found", never "forbidden", when this is false.
    pub fn is_visible_to(&self, user: UserId) -> bool {
        self.owner == user
    }
}

/// A drawer with the snacks in it, in snack-id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawerWithContents {
    pub drawer: Drawer,
    pub contents: Vec<Snack>,
}
