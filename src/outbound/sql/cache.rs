//! Reads kept for a moment: the snack catalogue, drawers with their contents, and users by id
//! (every authenticated request checks its account key), so that most reads of a busy service
//! never reach the database.
//!
//! Why: a SQLite call crosses to the driver's own thread and back, and that hand-off, not the
//! query, is most of a read's cost (docs/measuring.md has the profile). A copy answered in
//! place costs a hash look-up and a clone.
//!
//! What it promises:
//! - a read never returns something older than a write this process has acknowledged: every
//!   write through this store forgets the copies it may change before it returns, and a read
//!   that raced a write does not keep what it read (the `writes` count below);
//! - a write by anybody else (another replica, another process on the same file) shows within
//!   the keep time, after which a copy is read again;
//! - only things that exist are kept: a look-up that found nothing asks the database each time,
//!   so a new drawer or user needs no invalidation.

use quick_cache::sync::Cache;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Most copies kept of each kind: ten thousand drawers (or users) of a few hundred bytes each.
const MOST_KEPT: usize = 10_000;

/// The copies of one kind of read, by key. With a keep time of zero it keeps nothing.
pub(super) struct Kept<K, V> {
    keep_for: Duration,
    copies: Cache<K, Snapshot<V>>,
    /// How many writes to this kind have finished; a read keeps what it read only if none
    /// finished while it was reading.
    writes: AtomicU64,
}

#[derive(Clone)]
struct Snapshot<V> {
    value: Arc<V>,
    read_at: Instant,
}

/// Taken before a read goes to the database; shows whether a write finished meanwhile.
pub(super) struct ReadTicket(u64);

impl<K: Eq + Hash, V: Clone> Kept<K, V> {
    pub(super) fn new(keep_for: Duration) -> Self {
        let capacity = if keep_for.is_zero() { 1 } else { MOST_KEPT };
        Self { keep_for, copies: Cache::new(capacity), writes: AtomicU64::new(0) }
    }

    /// The copy of `key`, if one was read within the keep time.
    pub(super) fn fresh(&self, key: &K) -> Option<V> {
        if self.keep_for.is_zero() {
            return None;
        }
        let copy = self.copies.get(key)?;
        (copy.read_at.elapsed() < self.keep_for).then(|| V::clone(&copy.value))
    }

    pub(super) fn ticket(&self) -> ReadTicket {
        ReadTicket(self.writes.load(Ordering::SeqCst))
    }

    /// Keeps what a read found, unless a write finished after its ticket was taken. A write
    /// that finishes between the check and the insert is caught by the check after it, or by
    /// that write's own `forget`, which comes after its count.
    pub(super) fn keep(&self, ticket: ReadTicket, key: K, value: V)
    where
        K: Clone,
    {
        if self.keep_for.is_zero() || self.writes.load(Ordering::SeqCst) != ticket.0 {
            return;
        }
        let read_at = Instant::now();
        self.copies.insert(key.clone(), Snapshot { value: Arc::new(value), read_at });
        if self.writes.load(Ordering::SeqCst) != ticket.0 {
            self.copies.remove(&key);
        }
    }

    /// Forgets `key` once the returned guard is dropped: when the write it is held across is
    /// over, whether it succeeded, failed or timed out, or when the write is abandoned half-way
    /// (its client hung up); an unanswered write may still have landed.
    pub(super) fn forgetting<'a>(&'a self, key: &'a K) -> Forgetting<'a, K, V> {
        Forgetting { kept: self, key }
    }

    fn forget(&self, key: &K) {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.copies.remove(key);
    }
}

pub(super) struct Forgetting<'a, K: Eq + Hash, V: Clone> {
    kept: &'a Kept<K, V>,
    key: &'a K,
}

impl<K: Eq + Hash, V: Clone> Drop for Forgetting<'_, K, V> {
    fn drop(&mut self) {
        self.kept.forget(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept() -> Kept<u8, &'static str> {
        Kept::new(Duration::from_secs(60))
    }

    #[test]
    fn a_kept_read_is_answered_until_a_write_forgets_it() {
        let kept = kept();
        kept.keep(kept.ticket(), 1, "old");
        assert_eq!(kept.fresh(&1), Some("old"));
        drop(kept.forgetting(&1));
        assert_eq!(kept.fresh(&1), None);
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let kept = kept();
        let ticket = kept.ticket();
        drop(kept.forgetting(&1));
        kept.keep(ticket, 1, "read before the write finished");
        assert_eq!(kept.fresh(&1), None);
        kept.keep(kept.ticket(), 1, "read after");
        assert_eq!(kept.fresh(&1), Some("read after"));
    }

    #[test]
    fn a_copy_older_than_the_keep_time_is_read_again() {
        let kept = Kept::new(Duration::from_millis(20));
        kept.keep(kept.ticket(), 1, "soon stale");
        assert_eq!(kept.fresh(&1), Some("soon stale"));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(kept.fresh(&1), None);
    }

    #[test]
    fn a_keep_time_of_zero_keeps_nothing() {
        let kept = Kept::new(Duration::ZERO);
        kept.keep(kept.ticket(), 1, "x");
        assert_eq!(kept.fresh(&1), None);
    }
}
