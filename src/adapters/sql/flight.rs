//! Reads under way, shared: a reader that finds no fresh copy of a key while another read of
//! it is already on its way to the database waits for that read's answer instead of asking
//! again.
//!
//! Why: every kept copy expires at once, after the keep time. Without this, each of the
//! requests that arrive before the new copy is kept reads the whole catalogue (up to 10,000
//! rows) and builds its own copy, and each copy is rendered to JSON anew: 32 readers of the
//! largest catalogue drove the service from 24 MiB to 73 MiB and their p99 to 700 ms, all of it
//! from those herds (docs/measuring.md). With one read in flight per key, what a miss costs no
//! longer grows with the number of readers.
//!
//! What it keeps of `Kept`'s promise: a reader joins a read only if no write to the kind has
//! finished since that read's ticket was taken (the same count `Kept::fresh` compares), so the
//! answer it is given is no older than a write acknowledged before it asked. A reader whose
//! leader gives up (its request was dropped, or the database failed it) reads for itself.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::watch;

/// The reads under way, one per key: each with the write count its ticket was taken under.
pub(super) struct Flights<K, V> {
    under_way: Mutex<HashMap<K, Flight<V>>>,
}

/// `None` until the leader has its answer; then what it found.
type Answer<V> = Option<Option<V>>;

struct Flight<V> {
    writes: u64,
    answer: watch::Receiver<Answer<V>>,
}

/// What a reader without a fresh copy does.
pub(super) enum Turn<'a, K: Eq + Hash, V> {
    /// Reads the database and hands its answer to whoever joined (`Leading::answer`).
    Lead(Leading<'a, K, V>),
    /// Waits for the read under way (`Following::answer`).
    Follow(Following<V>),
}

pub(super) struct Leading<'a, K: Eq + Hash, V> {
    flights: &'a Flights<K, V>,
    key: K,
    answer: watch::Sender<Answer<V>>,
}

pub(super) struct Following<V> {
    answer: watch::Receiver<Answer<V>>,
}

impl<K, V> Flights<K, V> {
    fn under_way(&self) -> MutexGuard<'_, HashMap<K, Flight<V>>> {
        // Nothing panics while the map is held, so a poisoned one is still whole.
        self.under_way.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Flights<K, V> {
    pub(super) fn new() -> Self {
        Self { under_way: Mutex::new(HashMap::new()) }
    }

    /// Joins the read of `key` under way if it was started under `writes` finished writes,
    /// the count the caller's own ticket holds; otherwise the caller leads a new one, which
    /// later readers under the same count join.
    pub(super) fn turn(&self, key: &K, writes: u64) -> Turn<'_, K, V> {
        let mut under_way = self.under_way();
        if let Some(flight) = under_way.get(key)
            && flight.writes == writes
        {
            return Turn::Follow(Following { answer: flight.answer.clone() });
        }
        let (sender, answer) = watch::channel(None);
        under_way.insert(key.clone(), Flight { writes, answer });
        Turn::Lead(Leading { flights: self, key: key.clone(), answer: sender })
    }
}

impl<K: Eq + Hash, V> Leading<'_, K, V> {
    /// Hands what the read found to every reader that joined it.
    pub(super) fn answer(self, found: Option<V>) {
        self.answer.send_replace(Some(found));
    }
}

impl<K: Eq + Hash, V> Drop for Leading<'_, K, V> {
    /// Ends the flight, answered or abandoned; a newer flight of the same key that replaced
    /// this one in the map stays.
    fn drop(&mut self) {
        let mut under_way = self.flights.under_way();
        let ours = |flight: &Flight<V>| flight.answer.same_channel(&self.answer.subscribe());
        if under_way.get(&self.key).is_some_and(ours) {
            under_way.remove(&self.key);
        }
    }
}

impl<V: Clone> Following<V> {
    /// What the leader found; `None` if it gave up without an answer.
    pub(super) async fn answer(mut self) -> Option<Option<V>> {
        let answered = self.answer.wait_for(Option::is_some).await.ok()?;
        answered.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow(turn: Turn<'_, u8, &'static str>) -> Following<&'static str> {
        match turn {
            Turn::Follow(following) => following,
            Turn::Lead(_) => panic!("expected to join the read under way"),
        }
    }

    fn lead<'a>(turn: Turn<'a, u8, &'static str>) -> Leading<'a, u8, &'static str> {
        match turn {
            Turn::Lead(leading) => leading,
            Turn::Follow(_) => panic!("expected to lead a read"),
        }
    }

    #[tokio::test]
    async fn readers_of_a_key_under_way_share_its_answer() {
        let flights = Flights::new();
        let leader = lead(flights.turn(&1, 0));
        let (first, second) = (follow(flights.turn(&1, 0)), follow(flights.turn(&1, 0)));
        leader.answer(Some("the row"));
        assert_eq!(first.answer().await, Some(Some("the row")));
        assert_eq!(second.answer().await, Some(Some("the row")));
        assert!(flights.under_way().is_empty(), "an answered flight is over");
    }

    #[tokio::test]
    async fn a_reader_after_a_write_does_not_join_a_read_from_before_it() {
        let flights = Flights::new();
        let before = lead(flights.turn(&1, 0));
        let after = lead(flights.turn(&1, 1));
        follow(flights.turn(&1, 1));
        drop(before);
        assert_eq!(flights.under_way().len(), 1, "the newer flight stays when the older ends");
        drop(after);
        assert!(flights.under_way().is_empty());
    }

    #[tokio::test]
    async fn followers_of_a_leader_that_gave_up_are_told_so() {
        let flights = Flights::new();
        let leader = lead(flights.turn(&1, 0));
        let follower = follow(flights.turn(&1, 0));
        drop(leader);
        assert_eq!(follower.answer().await, None);
        lead(flights.turn(&1, 0));
    }

    #[tokio::test]
    async fn other_keys_fly_on_their_own() {
        let flights = Flights::new();
        let _one = lead(flights.turn(&1, 0));
        lead(flights.turn(&2, 0));
    }
}
