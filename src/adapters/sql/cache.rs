//! Reads kept for a moment: the snack catalogue, drawers with their contents, and users by id
//! (every authenticated request checks its account key), so that most reads of a busy service
//! never reach the database.
//!
//! Why: a SQLite call crosses to the driver's own thread and back, and that hand-off, not the
//! query, is the largest part of a read's cost (docs/measuring.md has the profile). A copy
//! answered in place costs a hash look-up and a clone; the catalogue's copy is shared
//! (`SnackList`), so its clone is a reference count, not ten thousand snacks.
//!
//! What it promises:
//! - a read never returns something older than a write this process has acknowledged: each
//!   kind of copy counts the writes to it that have finished, every copy carries the count its
//!   read started under, and a copy whose count is not the current one is never answered. So a
//!   write makes every copy of its kind stale the moment it is over (and forgets its own key to
//!   free the space), including one a racing read stores after it. Creating a row counts as a
//!   write too: after a reset of the database a new row can take the id of a kept one;
//! - a write by anybody else (another replica, another process on the same file) shows within
//!   the keep time, counted from when the read that made the copy started, and once a read has
//!   seen it no copy from a read that started earlier is answered again (a later read's finding,
//!   even "nothing there", replaces an earlier one's, never the other way round);
//! - the copies are bounded by what they hold (`MOST_KEPT_ITEMS`), not by their number, so a
//!   drawer holding the whole catalogue weighs what it holds, and a copy of that size is kept
//!   whatever the number of cores (`options`);
//! - a look-up that found nothing is never answered from a copy, so creating a drawer or an
//!   account has nothing stale to answer;
//! - readers that miss while a read of the same key is under way share its answer
//!   (`flight.rs`), so a copy that expires under load costs one read, not one per reader.

use super::flight::{Flights, Turn};
use crate::domain::{DrawerWithContents, SnackList, User};
use crate::ports::StoreError;
use quick_cache::sync::{Cache, EntryAction, EntryResult};
use quick_cache::{Options, OptionsBuilder};
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Most items (snacks, or accounts) one copy may hold and still be kept: the whole catalogue
/// of this size, or a drawer holding it. The copies of a kind hold about this much together
/// (`options`): a few megabytes at most.
pub(super) const MOST_KEPT_ITEMS: u64 = 50_000;

/// The share of a quick_cache shard kept for copies read more than once; quick_cache admits no
/// copy heavier than it. Set here rather than left to quick_cache's default (the same 97 %),
/// because the sizes in `options` depend on it.
const HOT_SHARE: f64 = 0.97;

/// What a kept value weighs.
pub(super) trait Items {
    /// The heaviest copy of this kind that is kept.
    const HEAVIEST: u64;

    /// What a copy weighs: the items it holds, and one for the copy itself.
    fn weight(&self) -> u64;
}

impl Items for SnackList {
    const HEAVIEST: u64 = MOST_KEPT_ITEMS + 1;

    fn weight(&self) -> u64 {
        self.len() as u64 + 1
    }
}

impl Items for DrawerWithContents {
    const HEAVIEST: u64 = MOST_KEPT_ITEMS + 1;

    fn weight(&self) -> u64 {
        self.contents.len() as u64 + 1
    }
}

impl Items for User {
    const HEAVIEST: u64 = 1;

    fn weight(&self) -> u64 {
        1
    }
}

/// quick_cache splits a cache's capacity evenly across its shards (four per core unless told)
/// and never admits a copy heavier than a shard's hot share, so a cache sized for a whole kind
/// and sharded by core count silently refuses every copy heavier than its share: on two cores
/// a catalogue above about 6,000 snacks was never kept. So each kind gets as many shards as
/// leave each one room for its heaviest copy (one for lists, one per core and more for
/// accounts), and room for `MOST_KEPT_ITEMS` in all.
fn options(heaviest: u64, cores: usize) -> Options {
    let shard_room = (heaviest as f64 / HOT_SHARE).ceil() as u64 + 1;
    let shards = (cores.max(1) as u64 * 4).min(MOST_KEPT_ITEMS / shard_room).max(1);
    // quick_cache rounds a shard count up to a power of two; rounding down keeps the room.
    let shards = 1 << shards.ilog2();
    OptionsBuilder::new()
        .shards(shards as usize)
        .hot_allocation(HOT_SHARE)
        .weight_capacity((shards * shard_room).max(MOST_KEPT_ITEMS))
        .estimated_items_capacity(10_000)
        .build()
        .expect("every option is set")
}

/// The copies of one kind of read, by key. With a keep time of zero it keeps nothing.
pub(super) struct Kept<K, V> {
    keep_for: Duration,
    copies: Cache<K, Snapshot<V>, ByWeight>,
    /// How many writes to this kind have finished.
    writes: AtomicU64,
    flights: Flights<K, V>,
}

/// What one read found (`None`: nothing there, or too heavy to keep), when it started and
/// when it had its answer.
#[derive(Clone)]
struct Snapshot<V> {
    value: Option<Arc<V>>,
    ticket: ReadTicket,
    finished: Instant,
}

impl<V> Snapshot<V> {
    /// Whether this finding replaces `kept`. Only a read's interval is known, not the moment
    /// of its snapshot, so after a read found nothing (a client may have been told 404), only
    /// a read that started after it ended may be answered; a read that found nothing replaces
    /// every copy whose read started before it ended; otherwise the later read wins.
    fn supersedes(&self, kept: &Self) -> bool {
        match (&kept.value, &self.value) {
            (_, None) => kept.ticket.started < self.finished,
            (None, Some(_)) => self.ticket.started > kept.finished,
            (Some(_), Some(_)) => self.ticket.started >= kept.ticket.started,
        }
    }
}

#[derive(Clone)]
struct ByWeight;

impl<K, V: Items> quick_cache::Weighter<K, Snapshot<V>> for ByWeight {
    fn weight(&self, _key: &K, snapshot: &Snapshot<V>) -> u64 {
        snapshot.value.as_ref().map_or(1, |value| value.weight())
    }
}

/// Taken before a read goes to the database: the writes finished by then, and when.
#[derive(Clone)]
pub(super) struct ReadTicket {
    writes: u64,
    started: Instant,
}

impl<K: Eq + Hash + Clone, V: Clone + Items> Kept<K, V> {
    pub(super) fn new(keep_for: Duration) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
        Self::for_cores(keep_for, cores)
    }

    fn for_cores(keep_for: Duration, cores: usize) -> Self {
        let options = if keep_for.is_zero() {
            OptionsBuilder::new().weight_capacity(1).estimated_items_capacity(1).build().unwrap()
        } else {
            options(V::HEAVIEST, cores)
        };
        Self {
            keep_for,
            copies: Cache::with_options(options, ByWeight, Default::default(), Default::default()),
            writes: AtomicU64::new(0),
            flights: Flights::new(),
        }
    }

    /// The copy of `key`, if its read found something, started within the keep time, and no
    /// write to this kind has finished since.
    pub(super) fn fresh(&self, key: &K) -> Option<V> {
        if self.keep_for.is_zero() {
            return None;
        }
        let copy = self.copies.get(key)?;
        let current = copy.ticket.writes == self.writes.load(Ordering::SeqCst);
        let young = copy.ticket.started.elapsed() < self.keep_for;
        let value = copy.value.filter(|_| current && young)?;
        Some(V::clone(&value))
    }

    /// What a read about to ask the database needs to keep its answer; `None` when nothing is
    /// kept, so such a read neither reads the clock nor copies what it found.
    pub(super) fn ticket(&self) -> Option<ReadTicket> {
        let writes = self.writes.load(Ordering::SeqCst);
        (!self.keep_for.is_zero()).then(|| ReadTicket { writes, started: Instant::now() })
    }

    /// Whether a read that found no fresh copy joins the read of `key` under way, taken under
    /// the same count of finished writes as `ticket`, or leads one of its own.
    pub(super) fn turn(&self, key: &K, ticket: &ReadTicket) -> Turn<'_, K, V> {
        self.flights.turn(key, ticket.writes)
    }

    /// Keeps what a read found, unless what is kept is newer (`Snapshot::supersedes`): even a
    /// read that found nothing is remembered, never answered, so that no older copy is
    /// answered after it. Kept after a write finished, it is never answered (`fresh` compares
    /// counts), so the first check only saves a useless insert.
    pub(super) fn keep(&self, ticket: ReadTicket, key: K, found: Option<V>) {
        if self.writes.load(Ordering::SeqCst) != ticket.writes {
            return;
        }
        let value = found.filter(|value| value.weight() <= V::HEAVIEST).map(Arc::new);
        let mut snapshot = Some(Snapshot { value, ticket, finished: Instant::now() });
        let kept = self.copies.entry(&key, None, |_, kept| {
            if snapshot.as_ref().is_some_and(|snapshot| snapshot.supersedes(kept)) {
                *kept = snapshot.take().expect("the callback runs once");
            }
            EntryAction::Retain(())
        });
        if let (EntryResult::Vacant(place), Some(snapshot)) = (kept, snapshot) {
            // Only fails if the copies were cleared meanwhile; then there is nothing to keep.
            let _ = place.insert(snapshot);
        }
    }

    /// Forgets `key` once the returned guard is dropped: when the write it is held across is
    /// over, whether it succeeded, failed or timed out, or when the write is abandoned half-way
    /// (its client hung up); an unanswered write may still have landed.
    pub(super) fn forgetting<'a>(&'a self, key: &'a K) -> Forgetting<'a, K, V> {
        Forgetting { kept: self, key: Some(key), armed: true }
    }

    /// Like `forgetting`, for a write whose key is not known before it is over (creating a row,
    /// which may take the id of a kept one after a reset of the database): every copy of this
    /// kind is stale once the guard is dropped.
    pub(super) fn forgetting_all(&self) -> Forgetting<'_, K, V> {
        Forgetting { kept: self, key: None, armed: true }
    }

    fn forget(&self, key: Option<&K>) {
        self.writes.fetch_add(1, Ordering::SeqCst);
        if let Some(key) = key {
            self.copies.remove(key);
        }
    }
}

pub(super) struct Forgetting<'a, K: Eq + Hash + Clone, V: Clone + Items> {
    kept: &'a Kept<K, V>,
    key: Option<&'a K>,
    /// Whether dropping the guard forgets: a write refused having written nothing leaves
    /// every copy as it was. Under a flood of refused writes (a full catalogue), forgetting
    /// would make every reader read the whole catalogue again after each of them.
    armed: bool,
}

impl<K: Eq + Hash + Clone, V: Clone + Items> Forgetting<'_, K, V> {
    /// Passes on the write's outcome, forgetting now unless the store refused the write
    /// having written nothing (`StoreError::wrote_nothing`).
    pub(super) fn unless_refused<T>(
        mut self,
        outcome: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.armed = !outcome.as_ref().is_err_and(StoreError::wrote_nothing);
        outcome
    }
}

impl<K: Eq + Hash + Clone, V: Clone + Items> Drop for Forgetting<'_, K, V> {
    fn drop(&mut self) {
        if self.armed {
            self.kept.forget(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DrawerId, Snack, SnackId, SnackName, UserId};

    impl Items for &'static str {
        const HEAVIEST: u64 = 1;

        fn weight(&self) -> u64 {
            1
        }
    }

    fn kept() -> Kept<u8, &'static str> {
        Kept::new(Duration::from_secs(60))
    }

    fn snacks(how_many: u64) -> Vec<Snack> {
        let snack = Snack {
            id: SnackId::new(1).unwrap(),
            name: SnackName::parse("chips".to_owned()).unwrap(),
        };
        vec![snack; how_many as usize]
    }

    #[test]
    fn a_kept_read_is_answered_until_a_write_forgets_it() {
        let kept = kept();
        kept.keep(kept.ticket().unwrap(), 1, Some("old"));
        assert_eq!(kept.fresh(&1), Some("old"));
        drop(kept.forgetting(&1));
        assert_eq!(kept.fresh(&1), None);
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let kept = kept();
        let ticket = kept.ticket().unwrap();
        drop(kept.forgetting(&1));
        kept.keep(ticket, 1, Some("read before the write finished"));
        assert_eq!(kept.fresh(&1), None);
        kept.keep(kept.ticket().unwrap(), 1, Some("read after"));
        assert_eq!(kept.fresh(&1), Some("read after"));
    }

    #[test]
    fn a_copy_stored_just_after_a_write_finished_is_never_answered() {
        let kept = kept();
        let ticket = kept.ticket().unwrap();
        // The read passed `keep`'s check, then a write finished before it stored its copy.
        kept.writes.fetch_add(1, Ordering::SeqCst);
        let stale = Snapshot { value: Some(Arc::new("stale")), ticket, finished: Instant::now() };
        kept.copies.insert(1, stale);
        assert_eq!(kept.fresh(&1), None);
    }

    #[test]
    fn a_write_refused_having_written_nothing_leaves_the_copies() {
        let kept = kept();
        kept.keep(kept.ticket().unwrap(), 1, Some("still true"));
        for refusal in [StoreError::Full, StoreError::Duplicate] {
            let outcome: Result<(), _> = kept.forgetting(&1).unless_refused(Err(refusal));
            assert!(outcome.is_err());
            let _ = kept.forgetting_all().unless_refused::<()>(Err(StoreError::Full));
            assert_eq!(kept.fresh(&1), Some("still true"));
        }
        let _ = kept.forgetting(&1).unless_refused::<()>(Err(StoreError::MissingDrawer));
        assert_eq!(kept.fresh(&1), None, "any other outcome may have written");
        kept.keep(kept.ticket().unwrap(), 1, Some("again"));
        let _ = kept.forgetting(&1).unless_refused(Ok(()));
        assert_eq!(kept.fresh(&1), None, "a write that succeeded");
    }

    #[test]
    fn creating_a_row_makes_every_copy_of_its_kind_stale() {
        let kept = kept();
        kept.keep(kept.ticket().unwrap(), 1, Some("the account 1 had before a reset"));
        drop(kept.forgetting_all());
        assert_eq!(kept.fresh(&1), None);
    }

    #[test]
    fn a_later_read_that_found_nothing_is_not_undone_by_an_earlier_one_kept_late() {
        let kept = kept();
        let earlier = kept.ticket().unwrap();
        let later = kept.ticket().unwrap();
        kept.keep(later, 1, None); // another process deleted it in between
        kept.keep(earlier, 1, Some("there, before the delete"));
        assert_eq!(kept.fresh(&1), None, "found gone, then answered as there");
    }

    /// Reads that overlap: the one that found the drawer may have read it before the other
    /// found it gone, so it is not answered after the 404.
    #[test]
    fn a_read_that_overlapped_one_that_found_nothing_is_not_answered_after_it() {
        let kept = kept();
        let gone = kept.ticket().unwrap();
        let there = kept.ticket().unwrap(); // started later, but its query ran first
        kept.keep(gone, 1, None);
        kept.keep(there, 1, Some("there, read before the delete"));
        assert_eq!(kept.fresh(&1), None, "found gone, then answered as there");
        kept.keep(kept.ticket().unwrap(), 1, Some("there again"));
        assert_eq!(kept.fresh(&1), Some("there again"), "a read that started after it");
    }

    #[test]
    fn a_later_read_replaces_an_earlier_copy() {
        let kept = kept();
        kept.keep(kept.ticket().unwrap(), 1, Some("there"));
        kept.keep(kept.ticket().unwrap(), 1, None);
        assert_eq!(kept.fresh(&1), None, "a read that found nothing supersedes the copy");
        kept.keep(kept.ticket().unwrap(), 1, Some("back"));
        assert_eq!(kept.fresh(&1), Some("back"));
    }

    #[test]
    fn the_keep_time_counts_from_when_the_read_started() {
        let kept = Kept::new(Duration::from_millis(20));
        let ticket = kept.ticket().unwrap();
        std::thread::sleep(Duration::from_millis(30)); // a slow database
        kept.keep(ticket, 1, Some("read long ago"));
        assert_eq!(kept.fresh(&1), None);
    }

    /// quick_cache splits its capacity across shards, four per core by default: whatever the
    /// cores, a list of exactly the bound is kept and one more is not, for the catalogue and
    /// for a drawer holding it.
    #[test]
    fn a_copy_of_the_most_kept_items_is_kept_on_any_number_of_cores() {
        let keep = Duration::from_secs(60);
        for cores in [1, 2, 3, 4, 8, 64, 1024] {
            let catalogue: Kept<(), SnackList> = Kept::for_cores(keep, cores);
            catalogue.keep(catalogue.ticket().unwrap(), (), Some(snacks(MOST_KEPT_ITEMS).into()));
            let kept = catalogue.fresh(&()).map(|list| list.len() as u64);
            assert_eq!(kept, Some(MOST_KEPT_ITEMS), "the whole catalogue on {cores} cores");
            catalogue.keep(
                catalogue.ticket().unwrap(),
                (),
                Some(snacks(MOST_KEPT_ITEMS + 1).into()),
            );
            assert_eq!(catalogue.fresh(&()), None, "one snack too many, on {cores} cores");

            let drawers: Kept<DrawerId, DrawerWithContents> = Kept::for_cores(keep, cores);
            let id = DrawerId::new(7).unwrap();
            let drawer = crate::domain::Drawer {
                id,
                owner: UserId::new(1).unwrap(),
                name: crate::domain::DrawerName::parse("desk".to_owned()).unwrap(),
            };
            let full = DrawerWithContents { drawer, contents: snacks(MOST_KEPT_ITEMS) };
            drawers.keep(drawers.ticket().unwrap(), id, Some(full));
            assert!(drawers.fresh(&id).is_some(), "a drawer holding it, on {cores} cores");
        }
    }

    /// Accounts weigh one each and stay spread over shards, one per core and more; a kind
    /// holds about `MOST_KEPT_ITEMS` in all, however many cores.
    #[test]
    fn each_kind_holds_about_the_most_kept_items_in_all() {
        for cores in [1, 2, 8, 64] {
            let accounts: Kept<u8, User> = Kept::for_cores(Duration::from_secs(1), cores);
            assert!(accounts.copies.num_shards() >= cores.min(8), "{cores} cores");
            let lists: Kept<(), SnackList> = Kept::for_cores(Duration::from_secs(1), cores);
            for capacity in [accounts.copies.capacity(), lists.copies.capacity()] {
                assert!((MOST_KEPT_ITEMS..MOST_KEPT_ITEMS * 21 / 20).contains(&capacity));
            }
        }
    }

    #[test]
    fn a_copy_older_than_the_keep_time_is_read_again() {
        let kept = Kept::new(Duration::from_millis(20));
        kept.keep(kept.ticket().unwrap(), 1, Some("soon stale"));
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
