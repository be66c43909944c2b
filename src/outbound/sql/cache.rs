//! Reads kept for a moment: the snack catalogue, drawers with their contents, and users by id
//! (every authenticated request checks its account key), so that most reads of a busy service
//! never reach the database.
//!
//! Why: a SQLite call crosses to the driver's own thread and back, and that hand-off, not the
//! query, is the largest part of a read's cost (docs/measuring.md has the profile). A copy
//! answered in place costs a hash look-up and a clone.
//!
//! What it promises:
//! - a read never returns something older than a write this process has acknowledged: each
//!   kind of copy counts the writes to it that have finished, every copy carries the count its
//!   read started under, and a copy whose count is not the current one is never answered. So a
//!   write makes every copy of its kind stale the moment it is over (and forgets its own key to
//!   free the space), including one a racing read stores after it;
//! - a write by anybody else (another replica, another process on the same file) shows within
//!   the keep time, counted from when the read that made the copy started;
//! - the copies are bounded by what they hold (`MOST_KEPT_ITEMS`), not by their number, so a
//!   drawer holding the whole catalogue weighs what it holds;
//! - a look-up that found nothing is not kept, so creating a drawer or an account has nothing
//!   to forget.

use crate::domain::{DrawerWithContents, Snack, User};
use quick_cache::sync::Cache;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Most items (snacks, or accounts) kept of each kind: a few megabytes at most.
const MOST_KEPT_ITEMS: u64 = 50_000;

/// How many items a kept value holds, which is what it is weighed by.
pub(super) trait Items {
    fn items(&self) -> u64;
}

impl Items for Vec<Snack> {
    fn items(&self) -> u64 {
        self.len() as u64 + 1
    }
}

impl Items for DrawerWithContents {
    fn items(&self) -> u64 {
        self.contents.len() as u64 + 1
    }
}

impl Items for User {
    fn items(&self) -> u64 {
        1
    }
}

/// The copies of one kind of read, by key. With a keep time of zero it keeps nothing.
pub(super) struct Kept<K, V> {
    keep_for: Duration,
    copies: Cache<K, Snapshot<V>, ByItems>,
    /// How many writes to this kind have finished.
    writes: AtomicU64,
}

#[derive(Clone)]
struct Snapshot<V> {
    value: Arc<V>,
    ticket: ReadTicket,
}

#[derive(Clone)]
struct ByItems;

impl<K, V: Items> quick_cache::Weighter<K, Snapshot<V>> for ByItems {
    fn weight(&self, _key: &K, snapshot: &Snapshot<V>) -> u64 {
        snapshot.value.items()
    }
}

/// Taken before a read goes to the database: the writes finished by then, and when.
#[derive(Clone)]
pub(super) struct ReadTicket {
    writes: u64,
    started: Instant,
}

impl<K: Eq + Hash, V: Clone + Items> Kept<K, V> {
    pub(super) fn new(keep_for: Duration) -> Self {
        let (estimated, capacity) =
            if keep_for.is_zero() { (1, 1) } else { (10_000, MOST_KEPT_ITEMS) };
        Self {
            keep_for,
            copies: Cache::with_weighter(estimated, capacity, ByItems),
            writes: AtomicU64::new(0),
        }
    }

    /// The copy of `key`, if its read started within the keep time and no write to this kind
    /// has finished since.
    pub(super) fn fresh(&self, key: &K) -> Option<V> {
        if self.keep_for.is_zero() {
            return None;
        }
        let copy = self.copies.get(key)?;
        let current = copy.ticket.writes == self.writes.load(Ordering::SeqCst);
        let young = copy.ticket.started.elapsed() < self.keep_for;
        (current && young).then(|| V::clone(&copy.value))
    }

    /// What a read about to ask the database needs to keep its answer; `None` when nothing is
    /// kept, so such a read neither reads the clock nor copies what it found.
    pub(super) fn ticket(&self) -> Option<ReadTicket> {
        let writes = self.writes.load(Ordering::SeqCst);
        (!self.keep_for.is_zero()).then(|| ReadTicket { writes, started: Instant::now() })
    }

    /// Keeps what a read found. Kept after a write finished, it is never answered (`fresh`
    /// compares counts), so this only saves a useless insert.
    pub(super) fn keep(&self, ticket: ReadTicket, key: K, value: V) {
        if self.writes.load(Ordering::SeqCst) == ticket.writes {
            self.copies.insert(key, Snapshot { value: Arc::new(value), ticket });
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

pub(super) struct Forgetting<'a, K: Eq + Hash, V: Clone + Items> {
    kept: &'a Kept<K, V>,
    key: &'a K,
}

impl<K: Eq + Hash, V: Clone + Items> Drop for Forgetting<'_, K, V> {
    fn drop(&mut self) {
        self.kept.forget(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Items for &'static str {
        fn items(&self) -> u64 {
            1
        }
    }

    fn kept() -> Kept<u8, &'static str> {
        Kept::new(Duration::from_secs(60))
    }

    #[test]
    fn a_kept_read_is_answered_until_a_write_forgets_it() {
        let kept = kept();
        kept.keep(kept.ticket().unwrap(), 1, "old");
        assert_eq!(kept.fresh(&1), Some("old"));
        drop(kept.forgetting(&1));
        assert_eq!(kept.fresh(&1), None);
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let kept = kept();
        let ticket = kept.ticket().unwrap();
        drop(kept.forgetting(&1));
        kept.keep(ticket, 1, "read before the write finished");
        assert_eq!(kept.fresh(&1), None);
        kept.keep(kept.ticket().unwrap(), 1, "read after");
        assert_eq!(kept.fresh(&1), Some("read after"));
    }

    #[test]
    fn a_copy_stored_just_after_a_write_finished_is_never_answered() {
        let kept = kept();
        let ticket = kept.ticket().unwrap();
        // The read passed `keep`'s check, then a write finished before it stored its copy.
        kept.writes.fetch_add(1, Ordering::SeqCst);
        kept.copies.insert(1, Snapshot { value: Arc::new("stale"), ticket });
        assert_eq!(kept.fresh(&1), None);
    }

    #[test]
    fn the_keep_time_counts_from_when_the_read_started() {
        let kept = Kept::new(Duration::from_millis(20));
        let ticket = kept.ticket().unwrap();
        std::thread::sleep(Duration::from_millis(30)); // a slow database
        kept.keep(ticket, 1, "read long ago");
        assert_eq!(kept.fresh(&1), None);
    }

    #[test]
    fn copies_are_bounded_by_what_they_hold() {
        let kept: Kept<u8, Vec<Snack>> = Kept::new(Duration::from_secs(60));
        let snack = Snack {
            id: crate::domain::SnackId::new(1).unwrap(),
            name: crate::domain::SnackName::parse("chips".to_owned()).unwrap(),
        };
        let too_many = vec![snack; MOST_KEPT_ITEMS as usize + 1];
        kept.keep(kept.ticket().unwrap(), 1, too_many);
        assert_eq!(kept.fresh(&1), None);
    }

    #[test]
    fn a_copy_older_than_the_keep_time_is_read_again() {
        let kept = Kept::new(Duration::from_millis(20));
        kept.keep(kept.ticket().unwrap(), 1, "soon stale");
        assert_eq!(kept.fresh(&1), Some("soon stale"));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(kept.fresh(&1), None);
    }

    #[test]
    fn a_keep_time_of_zero_keeps_nothing() {
        let kept: Kept<u8, &str> = Kept::new(Duration::ZERO);
        assert!(kept.ticket().is_none(), "a read with nothing to keep");
        assert_eq!(kept.fresh(&1), None);
    }
}
