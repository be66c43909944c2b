//! How fast one user may write: a flood of writes from one account would otherwise fill every
//! list to its limit in a moment and hold the store's single writer (SQLite) for everyone.

use crate::domain::UserId;
use std::time::Duration;

/// A write refused because its user has written too much just now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many writes from this user")]
pub struct WriteThrottled {
    /// How long until a write by this user is let through again.
    pub retry_after: Duration,
}

/// Counts the writes each user makes to the lists (snacks, drawers, drawer contents).
pub trait WriteRate: Send + Sync {
    /// Called before every such write, and counts it: MUST refuse it while `user` is over
    /// its rate, saying when the next one will be let through.
    fn admit(&self, user: UserId) -> Result<(), WriteThrottled>;
}
