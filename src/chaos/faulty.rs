//! `Faulty<P>`: the decorator that injects faults into a port. It implements every outbound
//! port by wrapping another implementation of it, and asks the injector, by the method's name
//! (`DrawerRepository::add_snack`), what each call gets.
//!
//! `startup` puts it inside `Observed`, so an injected delay or error is measured, traced and
//! logged exactly as a real one. A fault other than `error-after` replaces the call before it
//! starts (the inner future is dropped unpolled), so it never touches the store.

use super::injector::{Decision, FaultInjector, Outcome};
use crate::domain::{
    AccessToken, Credentials, Drawer, DrawerId, DrawerName, DrawerWithContents, Password,
    PasswordHash, Snack, SnackId, SnackName, User, UserId, Username,
};
use crate::ports::{
    AuthError, DrawerRepository, PasswordHasher, SnackRepository, StoreError, StoreHealth,
    TokenService, UserRepository,
};
use async_trait::async_trait;
use std::future::Future;
use std::sync::Arc;

pub struct Faulty<P> {
    inner: P,
    injector: Arc<FaultInjector>,
}

impl<P> Faulty<P> {
    pub fn new(inner: P, injector: Arc<FaultInjector>) -> Self {
        Self { inner, injector }
    }

    async fn call<T, E: InjectedError>(
        &self,
        name: &'static str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        match self.decision(name) {
            None => call.await,
            Some(decision) => {
                if !decision.delay.is_zero() {
                    tokio::time::sleep(decision.delay).await;
                }
                match decision.outcome {
                    None => call.await,
                    Some(Outcome::Hang) => std::future::pending().await,
                    Some(Outcome::ErrorAfter) => {
                        call.await?;
                        Err(E::injected(name, Outcome::ErrorAfter))
                    }
                    Some(outcome) => Err(E::injected(name, outcome)),
                }
            }
        }
    }

    /// For synchronous methods, which a plan never delays or hangs.
    fn call_now<T, E: InjectedError>(
        &self,
        name: &'static str,
        call: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        match self.decision(name).and_then(|decision| decision.outcome) {
            None | Some(Outcome::Hang) => call(),
            Some(Outcome::ErrorAfter) => {
                call()?;
                Err(E::injected(name, Outcome::ErrorAfter))
            }
            Some(outcome) => Err(E::injected(name, outcome)),
        }
    }

    fn decision(&self, name: &'static str) -> Option<Decision> {
        if !self.injector.is_active() {
            return None;
        }
        self.injector.port_call(name)
    }
}

/// The cause an injected error carries, so that logs and traces say it was injected.
#[derive(Debug, thiserror::Error)]
#[error("fault injected into {target}: {outcome}")]
pub struct InjectedFault {
    pub target: String,
    pub outcome: Outcome,
}

/// A port's error for an injected outcome: an outage for `Unavailable`, a failure otherwise.
trait InjectedError {
    fn injected(target: &'static str, outcome: Outcome) -> Self;
}

impl InjectedError for StoreError {
    fn injected(target: &'static str, outcome: Outcome) -> Self {
        let cause = Box::new(InjectedFault { target: target.to_owned(), outcome });
        match outcome {
            Outcome::Unavailable | Outcome::TooLazy => Self::Unavailable(cause),
            _ => Self::Internal(cause),
        }
    }
}

impl InjectedError for AuthError {
    fn injected(target: &'static str, outcome: Outcome) -> Self {
        match outcome {
            Outcome::Unavailable | Outcome::TooLazy => Self::Overloaded,
            _ => Self::Internal(Box::new(InjectedFault { target: target.to_owned(), outcome })),
        }
    }
}

#[async_trait]
impl<P: StoreHealth> StoreHealth for Faulty<P> {
    async fn ping(&self) -> Result<(), StoreError> {
        self.call("StoreHealth::ping", self.inner.ping()).await
    }
}

#[async_trait]
impl<P: UserRepository> UserRepository for Faulty<P> {
    async fn create(&self, username: &Username, hash: &PasswordHash) -> Result<User, StoreError> {
        self.call("UserRepository::create", self.inner.create(username, hash)).await
    }

    async fn find_by_username(
        &self,
        username: &Username,
    ) -> Result<Option<Credentials>, StoreError> {
        self.call("UserRepository::find_by_username", self.inner.find_by_username(username)).await
    }
}

#[async_trait]
impl<P: SnackRepository> SnackRepository for Faulty<P> {
    async fn list(&self) -> Result<Vec<Snack>, StoreError> {
        self.call("SnackRepository::list", self.inner.list()).await
    }

    async fn get(&self, id: SnackId) -> Result<Option<Snack>, StoreError> {
        self.call("SnackRepository::get", self.inner.get(id)).await
    }

    async fn create(&self, name: &SnackName) -> Result<Snack, StoreError> {
        self.call("SnackRepository::create", self.inner.create(name)).await
    }
}

#[async_trait]
impl<P: DrawerRepository> DrawerRepository for Faulty<P> {
    async fn list_by_owner(&self, owner: UserId) -> Result<Vec<Drawer>, StoreError> {
        self.call("DrawerRepository::list_by_owner", self.inner.list_by_owner(owner)).await
    }

    async fn create(&self, owner: UserId, name: &DrawerName) -> Result<Drawer, StoreError> {
        self.call("DrawerRepository::create", self.inner.create(owner, name)).await
    }

    async fn find(&self, id: DrawerId) -> Result<Option<Drawer>, StoreError> {
        self.call("DrawerRepository::find", self.inner.find(id)).await
    }

    async fn find_with_contents(
        &self,
        id: DrawerId,
    ) -> Result<Option<DrawerWithContents>, StoreError> {
        self.call("DrawerRepository::find_with_contents", self.inner.find_with_contents(id)).await
    }

    async fn add_snack(&self, drawer: DrawerId, snack: SnackId) -> Result<(), StoreError> {
        self.call("DrawerRepository::add_snack", self.inner.add_snack(drawer, snack)).await
    }

    async fn remove_snack(&self, drawer: DrawerId, snack: SnackId) -> Result<(), StoreError> {
        self.call("DrawerRepository::remove_snack", self.inner.remove_snack(drawer, snack)).await
    }

    async fn delete(&self, drawer: DrawerId) -> Result<(), StoreError> {
        self.call("DrawerRepository::delete", self.inner.delete(drawer)).await
    }
}

#[async_trait]
impl<P: PasswordHasher> PasswordHasher for Faulty<P> {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        self.call("PasswordHasher::hash", self.inner.hash(password)).await
    }

    async fn verify(
        &self,
        password: &Password,
        hash: Option<&PasswordHash>,
    ) -> Result<bool, AuthError> {
        self.call("PasswordHasher::verify", self.inner.verify(password, hash)).await
    }
}

impl<P: TokenService> TokenService for Faulty<P> {
    fn issue(&self, user: UserId) -> Result<AccessToken, AuthError> {
        self.call_now("TokenService::issue", || self.inner.issue(user))
    }

    fn verify(&self, token: &str) -> Result<UserId, AuthError> {
        self.call_now("TokenService::verify", || self.inner.verify(token))
    }
}

#[cfg(test)]
mod tests {
    use crate::chaos::plan::PORT_METHODS;

    /// The names this decorator asks about, read from its own source: the string literal that
    /// opens each `call` and `call_now`.
    fn names_asked_about() -> Vec<&'static str> {
        let source = include_str!("faulty.rs");
        let mut names: Vec<_> = ["self.call(\"", "self.call_now(\""]
            .into_iter()
            .flat_map(|opening| source.split(opening).skip(1))
            .filter_map(|rest| rest.split_once('"').map(|(name, _)| name))
            .collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn a_plan_can_name_exactly_the_methods_this_decorator_asks_about() {
        let mut known = PORT_METHODS.to_vec();
        known.sort_unstable();
        assert_eq!(names_asked_about(), known);
    }
}
