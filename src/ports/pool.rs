//! The store's connection pool, seen from outside the store. The core never calls it: the
//! saturation signals read how many connections are in use, and the pool-exhaustion fault
//! borrows some and keeps them, as a component that forgets to give them back would. It is a
//! port so that both can reach a pool without naming the adapter that owns it.

use async_trait::async_trait;

/// How many connections the pool has open, how many of those wait idle, and the most it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

impl Connections {
    /// The connections lent out now, to calls or to a fault.
    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

/// A connection taken from the pool; it goes back when this is dropped, which must happen on
/// the async runtime it was borrowed on (giving it back is a task there).
pub struct Loan(pub Box<dyn Send>);

#[async_trait]
pub trait ConnectionPool: Send + Sync {
    /// The pool as it is now.
    fn connections(&self) -> Connections;

    /// One connection, waited for as a call waits for one: `None` if none came in that time
    /// or the pool is closed.
    async fn borrow(&self) -> Option<Loan>;
}
