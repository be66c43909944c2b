//! Holding back password guessing per username (`LoginThrottle`) with a growing back-off: a few
//! failed logins in a row are free, then each further one doubles the wait before the next
//! attempt is let through (1 s, 2 s, 4 s, … up to a ceiling). The right password forgets the
//! failures, and so does a quiet spell of twice the ceiling (a guesser who waits out each
//! ceiling is held to one guess per ceiling).
//!
//! Failures are counted twice: per username, and per username and client address. A username
//! held back still lets an attempt through from an address with no recent failure for it, so
//! a guesser cannot lock its owner out by guessing on; the guesser's own address stays held
//! back by its own count, and each further address gets one guess per spell, not the free ones.
//!
//! Growing waits are not a token bucket, so this is not `governor`'s job (the per-address limit
//! in the HTTP adapter is). The state lives in this process's memory: each replica counts on
//! its own and a restart forgets, which still turns thousands of guesses a minute into a few.
//! The table is bounded, and filling it with other names must not free a username being
//! guessed: when full it forgets failures that are past their time, then drops the entries
//! holding no one back (fewest failures, oldest first), never one that holds a username back;
//! if every entry does, names without one share a single back-off (a global limit) until room
//! returns.

use crate::domain::{ClientAddress, Username};
use crate::ports::{Clock, LoginThrottle, Throttled};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

/// The wait after the first failure beyond the free ones; each further failure doubles it.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);

/// The most entries (usernames, and username and address pairs) tracked at once, about 150
/// bytes each.
pub const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffSettings {
    /// Failed logins in a row for one username before the waits begin.
    pub free_failures: u32,
    /// The longest wait; twice it, the quiet spell after which failures are forgotten. Zero
    /// turns the throttle off.
    pub longest_wait: Duration,
}

pub struct BackoffThrottle {
    settings: BackoffSettings,
    clock: Arc<dyn Clock>,
    capacity: usize,
    table: Mutex<Table>,
}

/// What failures are counted for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A username, from anywhere.
    Username(Username),
    /// A username, from one client.
    From(Username, ClientAddress),
}

/// Failed (or still unsettled) attempts in a row, and when the last began.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: SystemTime,
}

impl Failures {
    const NONE: Self = Self { count: 0, last: SystemTime::UNIX_EPOCH };
}

struct Table {
    entries: HashMap<Key, Failures>,
    /// The failures of every key that found no room, counted together.
    overflow: Failures,
    /// While the table is full, no sweep before this time could free anything.
    no_room_until: SystemTime,
}

/// Where the failures of one key are counted: in its own entry (new ones start at none) or,
/// when the table has no room, in the overflow.
#[derive(Clone, Copy)]
enum Slot {
    Own(Failures),
    Overflow,
}

impl BackoffThrottle {
    pub fn new(settings: BackoffSettings, clock: Arc<dyn Clock>) -> Self {
        Self::with_capacity(settings, clock, MAX_TRACKED)
    }

    /// A throttle tracking at most about `capacity` entries (a usernames and a username and
    /// address pair per guessed username), for tests that fill it.
    pub fn with_capacity(
        settings: BackoffSettings,
        clock: Arc<dyn Clock>,
        capacity: usize,
    ) -> Self {
        let table = Table {
            entries: HashMap::new(),
            overflow: Failures::NONE,
            no_room_until: SystemTime::UNIX_EPOCH,
        };
        Self { settings, clock, capacity: capacity.max(2), table: Mutex::new(table) }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long after the last of `count` failures the next attempt must wait.
    fn wait_after(&self, count: u32) -> Duration {
        let Some(beyond_free) = count.checked_sub(self.settings.free_failures) else {
            return Duration::ZERO;
        };
        let doubled = FIRST_WAIT.checked_mul(1 << beyond_free.min(31));
        doubled.map_or(self.settings.longest_wait, |wait| wait.min(self.settings.longest_wait))
    }

    /// How much longer `failures` hold the next attempt back, if they do.
    fn holding_back(&self, failures: &Failures, now: SystemTime) -> Option<Duration> {
        let allowed_at = failures.last + self.wait_after(failures.count);
        allowed_at.duration_since(now).ok().filter(|wait| !wait.is_zero())
    }

    fn forget_after(&self) -> Duration {
        self.settings.longest_wait.saturating_mul(2)
    }

    fn forgotten(&self, failures: &Failures, now: SystemTime) -> bool {
        now.duration_since(failures.last).is_ok_and(|quiet| quiet >= self.forget_after())
    }

    fn failed_recently(&self, failures: &Failures, now: SystemTime) -> bool {
        failures.count > 0 && !self.forgotten(failures, now)
    }

    /// `failures` and one more, begun `now`.
    fn one_more(&self, failures: Failures, now: SystemTime) -> Failures {
        let count = if self.forgotten(&failures, now) { 1 } else { failures.count + 1 };
        Failures { count, last: now }
    }

    fn slot(&self, table: &mut Table, key: &Key, now: SystemTime) -> Slot {
        match table.entries.get(key).copied() {
            Some(failures) => Slot::Own(failures),
            None if self.make_room(table, now) => Slot::Own(Failures::NONE),
            None => Slot::Overflow,
        }
    }

    /// Whether the table has room for one more entry, making some when it is full: it forgets
    /// failures past their time, then drops entries below the free failures (which hold no one
    /// back yet), fewest failures and oldest first, until an eighth of it is free, so that a
    /// sweep is paid for by many insertions. An attacker who fills the table to free a name
    /// they guess gains one guess per table's worth of other names tried.
    fn make_room(&self, table: &mut Table, now: SystemTime) -> bool {
        if table.entries.len() < self.capacity {
            return true;
        }
        if now < table.no_room_until {
            return false;
        }
        table.entries.retain(|_, failures| !self.forgotten(failures, now));
        let free_failures = self.settings.free_failures;
        let mut droppable: Vec<(u32, SystemTime)> = table
            .entries
            .values()
            .filter(|failures| failures.count < free_failures)
            .map(|failures| (failures.count, failures.last))
            .collect();
        let target = self.capacity - (self.capacity / 8).max(1);
        let excess = table.entries.len().saturating_sub(target);
        if excess > 0 && !droppable.is_empty() {
            let last_dropped = excess.min(droppable.len()) - 1;
            let (_, &mut cutoff, _) = droppable.select_nth_unstable(last_dropped);
            table.entries.retain(|_, failures| {
                failures.count >= free_failures || (failures.count, failures.last) > cutoff
            });
        }
        if table.entries.len() < self.capacity {
            return true;
        }
        let oldest = table.entries.values().map(|failures| failures.last).min();
        table.no_room_until = oldest.map_or(now, |last| last + self.forget_after());
        false
    }
}

impl LoginThrottle for BackoffThrottle {
    fn attempt(&self, username: &Username, from: ClientAddress) -> Result<(), Throttled> {
        if self.settings.longest_wait.is_zero() {
            return Ok(());
        }
        let now = self.clock.now();
        let name_key = Key::Username(username.clone());
        let pair_key = Key::From(username.clone(), from);
        let mut table = self.lock();
        let name_slot = self.slot(&mut table, &name_key, now);
        let pair_slot = self.slot(&mut table, &pair_key, now);
        let read = |slot| match slot {
            Slot::Own(failures) => failures,
            Slot::Overflow => table.overflow,
        };
        let (name, pair) = (read(name_slot), read(pair_slot));
        let held_back = self
            .holding_back(&pair, now)
            .or_else(|| self.holding_back(&name, now).filter(|_| self.failed_recently(&pair, now)));
        if let Some(retry_after) = held_back {
            return Err(Throttled { retry_after });
        }
        let mut overflowed = false;
        for (key, slot) in [(name_key, name_slot), (pair_key, pair_slot)] {
            match slot {
                Slot::Own(failures) => {
                    table.entries.insert(key, self.one_more(failures, now));
                }
                Slot::Overflow => overflowed = true,
            }
        }
        if overflowed {
            table.overflow = self.one_more(table.overflow, now);
        }
        Ok(())
    }

    /// The attempt was counted as a failure in advance: a success forgets the name's and the
    /// pair's failures, and takes back what the attempt added to the overflow, so that logins
    /// that work never hold the others back when the table is full.
    fn succeeded(&self, username: &Username, from: ClientAddress) {
        let mut table = self.lock();
        let mut overflowed = false;
        for key in [Key::Username(username.clone()), Key::From(username.clone(), from)] {
            overflowed |= table.entries.remove(&key).is_none();
        }
        if overflowed {
            table.overflow.count = table.overflow.count.saturating_sub(1);
        }
    }

    fn abandoned(&self, username: &Username, from: ClientAddress) {
        let mut table = self.lock();
        let mut overflowed = false;
        for key in [Key::Username(username.clone()), Key::From(username.clone(), from)] {
            match table.entries.get_mut(&key) {
                Some(failures) => failures.count = failures.count.saturating_sub(1),
                None => overflowed = true,
            }
        }
        if overflowed {
            table.overflow.count = table.overflow.count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct StoppedClock(Mutex<SystemTime>);

    impl Clock for StoppedClock {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }

    fn throttle(
        free_failures: u32,
        longest_wait: Duration,
    ) -> (BackoffThrottle, Arc<StoppedClock>) {
        throttle_of(MAX_TRACKED, BackoffSettings { free_failures, longest_wait })
    }

    fn throttle_of(
        capacity: usize,
        settings: BackoffSettings,
    ) -> (BackoffThrottle, Arc<StoppedClock>) {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = Arc::new(StoppedClock(Mutex::new(start)));
        (BackoffThrottle::with_capacity(settings, clock.clone(), capacity), clock)
    }

    /// The service's defaults.
    const DEFAULTS: BackoffSettings =
        BackoffSettings { free_failures: 5, longest_wait: Duration::from_secs(300) };

    fn advance(clock: &StoppedClock, by: Duration) {
        *clock.0.lock().unwrap() += by;
    }

    const HERE: ClientAddress = ClientAddress::InProcess;

    fn client(last_octet: u8) -> ClientAddress {
        ClientAddress::of([127, 0, 0, last_octet].into())
    }

    fn bob() -> Username {
        Username::parse("bob").unwrap()
    }

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_ceiling() {
        let (throttle, clock) = throttle(3, Duration::from_secs(5));
        for _ in 0..3 {
            throttle.attempt(&bob(), HERE).unwrap();
        }
        let mut waits = vec![];
        for _ in 0..5 {
            let wait = throttle.attempt(&bob(), HERE).unwrap_err().retry_after;
            waits.push(wait.as_secs());
            advance(&clock, wait);
            throttle.attempt(&bob(), HERE).unwrap();
        }
        assert_eq!(waits, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn the_right_password_or_a_quiet_spell_forgets_the_failures() {
        let (throttle, clock) = throttle(1, Duration::from_secs(60));
        throttle.attempt(&bob(), HERE).unwrap();
        assert!(throttle.attempt(&bob(), HERE).is_err());
        throttle.succeeded(&bob(), HERE);
        throttle.attempt(&bob(), HERE).unwrap();
        advance(&clock, Duration::from_secs(120));
        throttle.attempt(&bob(), HERE).unwrap();
        assert!(throttle.attempt(&bob(), HERE).is_err(), "the quiet spell reset the count to one");
        assert!(throttle.attempt(&Username::parse("ann").unwrap(), HERE).is_ok(), "per username");
    }

    #[test]
    fn abandoned_attempts_do_not_count() {
        let (throttle, _) = throttle(2, Duration::from_secs(60));
        for _ in 0..5 {
            throttle.attempt(&bob(), HERE).unwrap();
            throttle.abandoned(&bob(), HERE);
        }
        throttle.attempt(&bob(), HERE).unwrap();
        throttle.attempt(&bob(), HERE).unwrap();
        assert!(throttle.attempt(&bob(), HERE).is_err());
    }

    #[test]
    fn a_zero_ceiling_turns_it_off() {
        let (throttle, _) = throttle(0, Duration::ZERO);
        for _ in 0..100 {
            throttle.attempt(&bob(), HERE).unwrap();
        }
    }

    #[test]
    fn a_guesser_elsewhere_does_not_lock_the_owner_out() {
        let (throttle, clock) = throttle(5, Duration::from_secs(300));
        let (guesser, owner, second_guesser) = (client(2), client(3), client(4));
        for _ in 0..5 {
            throttle.attempt(&bob(), guesser).unwrap();
        }
        for _ in 0..20 {
            let wait = throttle.attempt(&bob(), guesser).unwrap_err().retry_after;
            advance(&clock, wait);
            throttle.attempt(&bob(), guesser).unwrap();
        }
        assert!(throttle.attempt(&bob(), guesser).is_err());
        // A further address gets one guess while the name is held back, not the free ones.
        throttle.attempt(&bob(), second_guesser).unwrap();
        assert!(throttle.attempt(&bob(), second_guesser).is_err());

        throttle.attempt(&bob(), owner).expect("an address that has not failed is let through");
        throttle.succeeded(&bob(), owner);
        throttle.attempt(&bob(), owner).expect("and again after its success");
        throttle.succeeded(&bob(), owner);
        assert!(throttle.attempt(&bob(), guesser).is_err(), "the guesser is still held back");
    }

    #[test]
    fn filling_the_table_never_frees_a_name_being_guessed() {
        let (throttle, _) = throttle(5, Duration::from_secs(300));
        let guesser = client(2);
        let ann = Username::parse("ann").unwrap();
        for _ in 0..5 {
            throttle.attempt(&bob(), guesser).unwrap();
        }
        // A flood of other names, one failure each, twice the table's size, while bob is
        // guessed on: every guess at bob is held back.
        for n in 0..MAX_TRACKED {
            throttle.attempt(&Username::parse(format!("junk{n}")).unwrap(), guesser).unwrap();
            if n % 1000 == 0 {
                assert!(throttle.attempt(&bob(), guesser).is_err(), "after {n} other names");
            }
        }
        assert!(throttle.lock().entries.len() <= MAX_TRACKED, "bounded");
        // A name first guessed once the table is full is held back like any other.
        for _ in 0..5 {
            throttle.attempt(&ann, guesser).unwrap();
        }
        assert!(throttle.attempt(&ann, guesser).is_err());
        assert!(throttle.attempt(&bob(), guesser).is_err());
        assert!(throttle.lock().entries.len() <= MAX_TRACKED, "bounded");
    }

    /// Fills a table of 100 with 50 names held back, each with its pair from `HERE`.
    fn fill_with_names_held_back(throttle: &BackoffThrottle) {
        for n in 0..50 {
            let name = Username::parse(format!("victim{n}")).unwrap();
            for _ in 0..5 {
                throttle.attempt(&name, HERE).unwrap();
            }
        }
    }

    #[test]
    fn a_table_full_of_names_held_back_holds_back_the_rest_together() {
        let (throttle, clock) = throttle_of(100, DEFAULTS);
        fill_with_names_held_back(&throttle);
        assert_eq!(throttle.lock().entries.len(), 100);
        for _ in 0..5 {
            throttle.attempt(&bob(), HERE).unwrap();
        }
        assert!(throttle.attempt(&bob(), HERE).is_err(), "bob has no entry but is held back");
        assert!(throttle.attempt(&Username::parse("ann").unwrap(), HERE).is_err(), "and ann");
        assert_eq!(throttle.lock().entries.len(), 100);
        advance(&clock, Duration::from_secs(600));
        throttle.attempt(&bob(), HERE).expect("room again once the failures are forgotten");
        assert_eq!(throttle.lock().entries.len(), 2);
    }

    #[test]
    fn logins_that_work_add_nothing_to_a_full_table_s_shared_count() {
        let (throttle, _clock) = throttle_of(100, DEFAULTS);
        fill_with_names_held_back(&throttle);
        for _ in 0..20 {
            throttle.attempt(&bob(), HERE).expect("bob logs in, again and again");
            throttle.succeeded(&bob(), HERE);
        }
        assert_eq!(throttle.lock().overflow.count, 0);
    }
}
