//! The run's memory, shared by every user of the process. It knows each account the run created
//! (with its password, so the audit can log in as the owner), each drawer (owner and what it
//! must hold), the writes whose answer nobody saw (they may or may not have landed), the snacks
//! known to exist, and the violations seen so far with one example each; and the tallies a
//! single request cannot judge: how the users got going, the nosy neighbour's pairs of answers
//! (side channels), the answers carrying injected faults, and the traffic the live view shows.
//! The nosy neighbour draws its targets from it; the end-of-run audit compares each owner's own
//! view with it.

use crate::side_channel::{self, Side, SideChannels};
use crate::start_up::{Outcome, StartUp};
use crate::traffic::Traffic;
use crate::violation::{Example, Tally, ViolationKind};
use rand::Rng;
use rand::seq::IteratorRandom;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Account {
    pub username: String,
    pub password: String,
    pub user_id: u64,
}

/// A drawer as its owner left it: `contents` certainly, `unconfirmed` maybe.
#[derive(Clone, Debug, Default)]
pub struct Drawer {
    pub owner: String,
    pub contents: BTreeSet<u64>,
    pub unconfirmed: BTreeSet<u64>,
}

#[derive(Default)]
struct State {
    accounts: BTreeMap<String, Account>,
    drawers: BTreeMap<u64, Drawer>,
    /// Names of drawers their owner asked for without seeing the answer, per owner.
    unconfirmed_drawers: BTreeMap<String, BTreeSet<String>>,
    snacks: BTreeSet<u64>,
    violations: BTreeMap<ViolationKind, Tally>,
    start_up: StartUp,
    side_channels: SideChannels,
}

pub struct Ledger {
    run_tag: String,
    names_issued: AtomicU64,
    state: Mutex<State>,
    traffic: Traffic,
    faults_injected: AtomicU64,
    /// Whether the run can fill drawers, the only use of the snacks it knows.
    fills_drawers: bool,
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            run_tag: format!("{:08x}", rand::rng().random::<u32>()),
            names_issued: AtomicU64::new(0),
            state: Mutex::default(),
            traffic: Traffic::default(),
            faults_injected: AtomicU64::new(0),
            fills_drawers: true,
        }
    }
}

impl Ledger {
    /// The ledger of a run that creates no account, so no drawer either (a public step run
    /// alone, `--only 'GET /snacks/'`): it has no use for snack ids, and the users need not read
    /// every listing into them.
    pub fn without_drawers() -> Self {
        Self { fills_drawers: false, ..Self::default() }
    }

    /// Whether snack ids are worth noting: only a run that fills drawers puts snacks into them.
    pub fn wants_snacks(&self) -> bool {
        self.fills_drawers
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A name no other user, drawer or snack of this run or an earlier one has: `prefix-run-n`.
    pub fn fresh_name(&self, prefix: &str) -> String {
        let n = self.names_issued.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}-{}-{n}", self.run_tag)
    }

    pub fn add_account(&self, account: Account) {
        self.state().accounts.insert(account.username.clone(), account);
    }

    pub fn accounts(&self) -> Vec<Account> {
        self.state().accounts.values().cloned().collect()
    }

    /// Any account but `username`'s: a victim.
    pub fn other_account(&self, username: &str) -> Option<Account> {
        let state = self.state();
        let others = state.accounts.values().filter(|account| account.username != username);
        others.choose(&mut rand::rng()).cloned()
    }

    pub fn intend_drawer(&self, owner: &str, name: &str) {
        let mut state = self.state();
        state.unconfirmed_drawers.entry(owner.to_owned()).or_default().insert(name.to_owned());
    }

    pub fn add_drawer(&self, id: u64, owner: &str, name: &str) {
        let mut state = self.state();
        if let Some(names) = state.unconfirmed_drawers.get_mut(owner) {
            names.remove(name);
        }
        let drawer = Drawer { owner: owner.to_owned(), ..Drawer::default() };
        state.drawers.insert(id, drawer);
    }

    /// Whether `owner` asked for a drawer called `name` and never saw the answer.
    pub fn drawer_may_exist(&self, owner: &str, name: &str) -> bool {
        let state = self.state();
        state.unconfirmed_drawers.get(owner).is_some_and(|names| names.contains(name))
    }

    pub fn account(&self, username: &str) -> Option<Account> {
        self.state().accounts.get(username).cloned()
    }

    pub fn owner_of(&self, drawer: u64) -> Option<String> {
        self.state().drawers.get(&drawer).map(|drawer| drawer.owner.clone())
    }

    pub fn drawers_of(&self, owner: &str) -> BTreeMap<u64, Drawer> {
        let state = self.state();
        let owned = state.drawers.iter().filter(|(_, drawer)| drawer.owner == owner);
        owned.map(|(id, drawer)| (*id, drawer.clone())).collect()
    }

    pub fn random_drawer_of(&self, owner: &str) -> Option<u64> {
        let state = self.state();
        let owned = state.drawers.iter().filter(|(_, drawer)| drawer.owner == owner);
        owned.map(|(id, _)| *id).choose(&mut rand::rng())
    }

    /// A drawer that is not `owner`'s, with a snack the ledger says is in it (if any).
    pub fn foreign_drawer(&self, owner: &str) -> Option<(u64, Option<u64>)> {
        let state = self.state();
        let foreign = state.drawers.iter().filter(|(_, drawer)| drawer.owner != owner);
        let (id, drawer) = foreign.choose(&mut rand::rng())?;
        Some((*id, drawer.contents.iter().copied().choose(&mut rand::rng())))
    }

    pub fn note_snacks(&self, ids: impl IntoIterator<Item = u64>) {
        self.state().snacks.extend(ids);
    }

    pub fn random_snack(&self) -> Option<u64> {
        self.state().snacks.iter().copied().choose(&mut rand::rng())
    }

    /// A known snack that `drawer` neither holds nor may hold.
    pub fn snack_not_in(&self, drawer: u64) -> Option<u64> {
        let state = self.state();
        let drawer = state.drawers.get(&drawer)?;
        let absent = state.snacks.iter().copied();
        absent
            .filter(|snack| !drawer.contents.contains(snack) && !drawer.unconfirmed.contains(snack))
            .choose(&mut rand::rng())
    }

    /// Before asking to put `snack` into `drawer`: until settled, it may or may not be there.
    pub fn intend_put(&self, drawer: u64, snack: u64) {
        if let Some(drawer) = self.state().drawers.get_mut(&drawer) {
            drawer.unconfirmed.insert(snack);
        }
    }

    /// The answer to a put arrived: the snack is in the drawer exactly when `landed`.
    pub fn settle_put(&self, drawer: u64, snack: u64, landed: bool) {
        if let Some(drawer) = self.state().drawers.get_mut(&drawer) {
            drawer.unconfirmed.remove(&snack);
            if landed {
                drawer.contents.insert(snack);
            }
        }
    }

    pub fn record(&self, kind: ViolationKind, example: Example) {
        let mut state = self.state();
        let tally = state.violations.entry(kind).or_insert(Tally { count: 0, example });
        tally.count += 1;
    }

    pub fn violations(&self) -> BTreeMap<ViolationKind, Tally> {
        self.state().violations.clone()
    }

    pub fn begin_sign_up(&self) {
        self.state().start_up.begin_sign_up();
    }

    pub fn end_sign_up(&self, outcome: Outcome) {
        self.state().start_up.end_sign_up(outcome);
    }

    pub fn add_login(&self, outcome: Outcome) {
        self.state().start_up.add_login(outcome);
    }

    pub fn start_up(&self) -> StartUp {
        self.state().start_up.clone()
    }

    /// A foreign drawer and a missing one answered alike, in these times.
    pub fn add_times(&self, foreign: Duration, missing: Duration) {
        self.state().side_channels.add_times(foreign, missing);
    }

    /// Of a foreign drawer and a missing one, only `side` was held back.
    pub fn add_held_back(&self, side: Side) {
        self.state().side_channels.add_held_back(side);
    }

    pub fn side_channels(&self) -> side_channel::Report {
        self.state().side_channels.report()
    }

    /// Records as a leak each side channel the end-of-run tests find.
    pub fn record_side_channel_leaks(&self) {
        for evidence in self.side_channels().leaks() {
            self.record(ViolationKind::Leak, evidence);
        }
    }

    /// Counts one more answer that carried an injected fault.
    pub fn note_fault_injected(&self) {
        self.faults_injected.fetch_add(1, Ordering::Relaxed);
    }

    pub fn faults_injected(&self) -> u64 {
        self.faults_injected.load(Ordering::Relaxed)
    }

    /// The users and requests so far, for the live view.
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(text: &str) -> Example {
        Example { request: text.into(), response: text.into() }
    }

    #[test]
    fn a_kind_keeps_its_first_example_and_counts_every_time() {
        let ledger = Ledger::default();
        ledger.record(ViolationKind::Leak, example("first"));
        ledger.record(ViolationKind::Leak, example("second"));
        let violations = ledger.violations();
        assert_eq!(violations[&ViolationKind::Leak].count, 2);
        assert_eq!(violations[&ViolationKind::Leak].example.request, "first");
    }

    #[test]
    fn a_put_is_unconfirmed_until_settled() {
        let ledger = Ledger::default();
        ledger.add_drawer(1, "ann", "desk");
        ledger.note_snacks([7, 8]);
        ledger.intend_put(1, 7);
        assert_eq!(ledger.snack_not_in(1), Some(8));
        ledger.settle_put(1, 7, true);
        ledger.intend_put(1, 8);
        ledger.settle_put(1, 8, false);
        let drawer = &ledger.drawers_of("ann")[&1];
        assert_eq!(drawer.contents, BTreeSet::from([7]));
        assert!(drawer.unconfirmed.is_empty());
    }

    #[test]
    fn foreign_drawers_are_never_the_owners_own() {
        let ledger = Ledger::default();
        ledger.add_drawer(1, "ann", "desk");
        ledger.add_drawer(2, "bob", "desk");
        for _ in 0..20 {
            assert_eq!(ledger.foreign_drawer("ann").map(|(id, _)| id), Some(2));
        }
        assert!(ledger.foreign_drawer("nobody-else").is_some());
    }

    #[test]
    fn an_unseen_drawer_creation_is_tolerated_until_confirmed() {
        let ledger = Ledger::default();
        ledger.intend_drawer("ann", "shelf");
        assert!(ledger.drawer_may_exist("ann", "shelf"));
        assert!(!ledger.drawer_may_exist("bob", "shelf"));
        ledger.add_drawer(3, "ann", "shelf");
        assert!(!ledger.drawer_may_exist("ann", "shelf"));
    }
}
