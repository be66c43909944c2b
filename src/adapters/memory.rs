//! An in-memory store implementing every repository port: the default until a database is
//! configured, the fast store for tests, and the baseline the SQL store is compared against.
//!
//! All state sits behind one mutex that is never held across an `.await`, so each repository
//! call is atomic: a uniqueness check and the insert it guards cannot interleave with another
//! call, which is what gives concurrent duplicates exactly one winner.

use crate::domain::{
    Credentials, Drawer, DrawerId, DrawerName, DrawerWithContents, PasswordHash, Snack, SnackId,
    SnackList, SnackName, User, UserId, UserKey, Username, ValidationError,
};
use crate::ports::{DrawerRepository, SnackRepository, StoreError, StoreHealth, UserRepository};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    users: BTreeMap<Username, Credentials>,
    usernames: HashMap<UserId, Username>,
    snacks: BTreeMap<SnackId, Snack>,
    /// The catalogue as the last `list` handed it out, until a snack is added.
    snack_list: Option<SnackList>,
    snack_names: HashSet<SnackName>,
    drawers: BTreeMap<DrawerId, Drawer>,
    drawer_names: HashSet<(UserId, DrawerName)>,
    /// (drawer, snack) pairs; ordered so a drawer's contents come out in snack-id order.
    contents: BTreeSet<(DrawerId, SnackId)>,
    user_ids: Sequence,
    snack_ids: Sequence,
    drawer_ids: Sequence,
}

/// Hands out 1, 2, 3, … like a database's serial column, so ids look the same on every store.
#[derive(Default)]
struct Sequence(i64);

impl Sequence {
    fn next<T>(&mut self, make: fn(i64) -> Result<T, ValidationError>) -> T {
        self.0 += 1;
        make(self.0).expect("sequences start at 1")
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // No method panics between two related updates, so state behind a poisoned lock is
        // still consistent; refusing every later request would help nobody.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl StoreHealth for MemoryStore {
    /// Memory is always there.
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl UserRepository for MemoryStore {
    async fn create(&self, username: &Username, hash: &PasswordHash) -> Result<User, StoreError> {
        let mut state = self.state();
        if state.users.contains_key(username) {
            return Err(StoreError::Duplicate);
        }
        let user = User {
            id: state.user_ids.next(UserId::new),
            username: username.clone(),
            key: UserKey::from_random_bits(rand::random()),
        };
        let credentials = Credentials { user: user.clone(), password_hash: hash.clone() };
        state.users.insert(username.clone(), credentials);
        state.usernames.insert(user.id, username.clone());
        Ok(user)
    }

    /// Always current: nothing is kept apart from the map itself.
    async fn find_by_id(
        &self,
        id: UserId,
        _: crate::ports::Freshness,
    ) -> Result<Option<User>, StoreError> {
        let state = self.state();
        let username = state.usernames.get(&id);
        Ok(username.map(|username| state.users[username].user.clone()))
    }

    async fn find_by_username(
        &self,
        username: &Username,
    ) -> Result<Option<Credentials>, StoreError> {
        Ok(self.state().users.get(username).cloned())
    }
}

#[async_trait]
impl SnackRepository for MemoryStore {
    async fn list(&self) -> Result<SnackList, StoreError> {
        let mut state = self.state();
        let State { snacks, snack_list, .. } = &mut *state;
        Ok(snack_list.get_or_insert_with(|| snacks.values().cloned().collect()).clone())
    }

    async fn get(&self, id: SnackId) -> Result<Option<Snack>, StoreError> {
        Ok(self.state().snacks.get(&id).cloned())
    }

    async fn create(&self, name: &SnackName, at_most: u32) -> Result<Snack, StoreError> {
        let mut state = self.state();
        if state.snacks.len() >= at_most as usize {
            return Err(StoreError::Full);
        }
        if !state.snack_names.insert(name.clone()) {
            return Err(StoreError::Duplicate);
        }
        let snack = Snack { id: state.snack_ids.next(SnackId::new), name: name.clone() };
        state.snacks.insert(snack.id, snack.clone());
        state.snack_list = None;
        Ok(snack)
    }
}

#[async_trait]
impl DrawerRepository for MemoryStore {
    async fn list_by_owner(&self, owner: UserId) -> Result<Vec<Drawer>, StoreError> {
        let state = self.state();
        Ok(state.drawers.values().filter(|d| d.owner == owner).cloned().collect())
    }

    async fn create(
        &self,
        owner: UserId,
        name: &DrawerName,
        at_most: u32,
    ) -> Result<Drawer, StoreError> {
        let mut state = self.state();
        // A walk over every drawer: the memory store is for tests and comparisons, not for
        // crowds of users.
        if state.drawers.values().filter(|d| d.owner == owner).count() >= at_most as usize {
            return Err(StoreError::Full);
        }
        if !state.drawer_names.insert((owner, name.clone())) {
            return Err(StoreError::Duplicate);
        }
        let drawer = Drawer { id: state.drawer_ids.next(DrawerId::new), owner, name: name.clone() };
        state.drawers.insert(drawer.id, drawer.clone());
        Ok(drawer)
    }

    async fn find(&self, id: DrawerId) -> Result<Option<Drawer>, StoreError> {
        Ok(self.state().drawers.get(&id).cloned())
    }

    async fn find_with_contents(
        &self,
        id: DrawerId,
    ) -> Result<Option<DrawerWithContents>, StoreError> {
        let state = self.state();
        let Some(drawer) = state.drawers.get(&id).cloned() else {
            return Ok(None);
        };
        let contents = contents_of(&state.contents, id)
            .map(|snack_id| state.snacks[&snack_id].clone())
            .collect();
        Ok(Some(DrawerWithContents { drawer, contents }))
    }

    async fn add_snack(
        &self,
        drawer: DrawerId,
        snack: SnackId,
        at_most: u32,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        if !state.drawers.contains_key(&drawer) {
            return Err(StoreError::MissingDrawer);
        }
        if contents_of(&state.contents, drawer).count() >= at_most as usize {
            return Err(StoreError::Full);
        }
        if !state.snacks.contains_key(&snack) {
            return Err(StoreError::MissingSnack);
        }
        if !state.contents.insert((drawer, snack)) {
            return Err(StoreError::Duplicate);
        }
        Ok(())
    }

    async fn remove_snack(&self, drawer: DrawerId, snack: SnackId) -> Result<(), StoreError> {
        if self.state().contents.remove(&(drawer, snack)) {
            Ok(())
        } else {
            Err(StoreError::MissingSnack)
        }
    }

    async fn delete(&self, drawer: DrawerId) -> Result<(), StoreError> {
        let mut state = self.state();
        let Some(removed) = state.drawers.remove(&drawer) else {
            return Err(StoreError::MissingDrawer);
        };
        state.drawer_names.remove(&(removed.owner, removed.name));
        let snacks: Vec<SnackId> = contents_of(&state.contents, drawer).collect();
        for snack in snacks {
            state.contents.remove(&(drawer, snack));
        }
        Ok(())
    }
}

/// The snacks in one drawer, in id order: a range of the ordered (drawer, snack) pairs.
fn contents_of(
    contents: &BTreeSet<(DrawerId, SnackId)>,
    drawer: DrawerId,
) -> impl Iterator<Item = SnackId> + '_ {
    let first_snack = SnackId::new(1).expect("ids start at 1");
    contents
        .range((drawer, first_snack)..)
        .take_while(move |(drawer_id, _)| *drawer_id == drawer)
        .map(|(_, snack)| *snack)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Readers of an unchanged catalogue share one list, and a new snack makes a new one.
    #[tokio::test]
    async fn the_catalogue_is_shared_until_a_snack_is_added() {
        let store = MemoryStore::new();
        let chips = SnackName::parse("chips".to_owned()).unwrap();
        SnackRepository::create(&store, &chips, 10).await.unwrap();
        let first = SnackRepository::list(&store).await.unwrap();
        let second = SnackRepository::list(&store).await.unwrap();
        assert!(Arc::ptr_eq(&first, &second), "two reads, one list");
        let nuts = SnackName::parse("nuts".to_owned()).unwrap();
        SnackRepository::create(&store, &nuts, 10).await.unwrap();
        let after = SnackRepository::list(&store).await.unwrap();
        assert_eq!(after.len(), 2, "the new snack is listed: {after:?}");
        assert_eq!(first.len(), 1, "a list handed out never changes");
    }
}
