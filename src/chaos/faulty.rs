//! `Faulty<P>`: the decorator that injects faults into a port. It implements every outbound
//! port by wrapping another implementation of it, and asks the injector, by the method's name
//! from `ports::methods` (`DrawerRepository::add_snack`), what each call gets.
//!
//! `startup` puts it inside `Observed`, so an injected delay or error is measured, traced and
//! logged exactly as a real one. A fault other than `error-after` and `slow-commit` replaces the
//! call before it starts (the inner future is dropped unpolled), so it never touches the store;
//! a slow commit lets the write land and holds its answer back. A verified token tells the
//! injector whose request it is, for rules narrowed to one user.

use super::injector::{Decision, FaultInjector, Outcome};
use crate::domain::{
    AccessToken, Credentials, Drawer, DrawerId, DrawerName, DrawerWithContents, Password,
    PasswordHash, Snack, SnackId, SnackList, SnackName, User, UserId, Username,
};
use crate::ports::{
    AuthError, DrawerRepository, PasswordHasher, SnackRepository, StoreError, StoreHealth,
    TokenService, TokenSubject, UserRepository, methods,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What an `#[async_trait]` port method returns.
type PortFuture<'a, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

/// Port methods that hand the inner adapter's future to `Faulty::route`. Written out as
/// `#[async_trait]` would expand them (its lifetimes, then `'async_trait`), because
/// `#[async_trait]` itself would box every call a second time, faults or not.
macro_rules! faulty_methods {
    ($(fn $method:ident<$($life:lifetime),+>(&$me:lifetime self $(, $arg:ident: $ty:ty)*)
        -> Result<$ok:ty, $err:ty> = $name:expr;)+) => {$(
        fn $method<$($life,)+ 'async_trait>(&$me self $(, $arg: $ty)*)
            -> PortFuture<'async_trait, $ok, $err>
        where
            $($life: 'async_trait,)+
            Self: 'async_trait,
        {
            self.route($name, self.inner.$method($($arg),*))
        }
    )+};
}

pub struct Faulty<P> {
    inner: P,
    injector: Arc<FaultInjector>,
}

impl<P> Faulty<P> {
    pub fn new(inner: P, injector: Arc<FaultInjector>) -> Self {
        Self { inner, injector }
    }

    /// The inner call's future itself while no fault is active, so the common case costs the
    /// flag and a branch (no second box, no second poll layer); otherwise a future that asks
    /// the injector when it is first polled (inside the caller's span, where the injection
    /// then shows) and applies the answer around the call.
    #[inline]
    fn route<'a, T: Send + 'a, E: InjectedError + Send + 'a>(
        &self,
        name: &'static str,
        call: PortFuture<'a, T, E>,
    ) -> PortFuture<'a, T, E> {
        if !self.injector.is_active() {
            return call;
        }
        self.route_with_faults(name, call)
    }

    /// `route` while faults are active: kept out of line, so that the idle path inlines into
    /// every port method as the flag and a branch.
    #[inline(never)]
    fn route_with_faults<'a, T: Send + 'a, E: InjectedError + Send + 'a>(
        &self,
        name: &'static str,
        call: PortFuture<'a, T, E>,
    ) -> PortFuture<'a, T, E> {
        let injector = self.injector.clone();
        Box::pin(async move {
            match injector.port_call(name) {
                None => call.await,
                Some(decision) => injected(name, decision, call).await,
            }
        })
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

/// A call that gets `decision`: a delay first, then the call or an outcome in its place, and
/// after the call the wait of a slow commit.
async fn injected<T, E: InjectedError>(
    name: &'static str,
    decision: Decision,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    let made = match decision.outcome {
        None => call.await,
        Some(Outcome::Hang) => std::future::pending().await,
        Some(Outcome::ErrorAfter) => {
            call.await.and_then(|_| Err(E::injected(name, Outcome::ErrorAfter)))
        }
        Some(outcome) => return Err(E::injected(name, outcome)),
    };
    if !decision.after.is_zero() {
        tokio::time::sleep(decision.after).await;
    }
    made
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

impl<P: StoreHealth> StoreHealth for Faulty<P> {
    faulty_methods! {
        fn ping<'s>(&'s self) -> Result<(), StoreError> = methods::STORE_HEALTH_PING;
    }
}

impl<P: UserRepository> UserRepository for Faulty<P> {
    faulty_methods! {
        fn create<'s, 'u, 'h>(&'s self, username: &'u Username, hash: &'h PasswordHash)
            -> Result<User, StoreError> = methods::USER_REPOSITORY_CREATE;
        fn find_by_id<'s>(&'s self, id: UserId, freshness: crate::ports::Freshness)
            -> Result<Option<User>, StoreError> = methods::USER_REPOSITORY_FIND_BY_ID;
        fn find_by_username<'s, 'u>(&'s self, username: &'u Username)
            -> Result<Option<Credentials>, StoreError> = methods::USER_REPOSITORY_FIND_BY_USERNAME;
    }
}

impl<P: SnackRepository> SnackRepository for Faulty<P> {
    faulty_methods! {
        fn list<'s>(&'s self) -> Result<SnackList, StoreError> = methods::SNACK_REPOSITORY_LIST;
        fn get<'s>(&'s self, id: SnackId)
            -> Result<Option<Snack>, StoreError> = methods::SNACK_REPOSITORY_GET;
        fn create<'s, 'n>(&'s self, name: &'n SnackName, at_most: u32)
            -> Result<Snack, StoreError> = methods::SNACK_REPOSITORY_CREATE;
    }
}

impl<P: DrawerRepository> DrawerRepository for Faulty<P> {
    faulty_methods! {
        fn list_by_owner<'s>(&'s self, owner: UserId)
            -> Result<Vec<Drawer>, StoreError> = methods::DRAWER_REPOSITORY_LIST_BY_OWNER;
        fn create<'s, 'n>(&'s self, owner: UserId, name: &'n DrawerName, at_most: u32)
            -> Result<Drawer, StoreError> = methods::DRAWER_REPOSITORY_CREATE;
        fn find<'s>(&'s self, id: DrawerId)
            -> Result<Option<Drawer>, StoreError> = methods::DRAWER_REPOSITORY_FIND;
        fn find_with_contents<'s>(&'s self, id: DrawerId)
            -> Result<Option<DrawerWithContents>, StoreError>
            = methods::DRAWER_REPOSITORY_FIND_WITH_CONTENTS;
        fn add_snack<'s>(&'s self, drawer: DrawerId, snack: SnackId, at_most: u32)
            -> Result<(), StoreError> = methods::DRAWER_REPOSITORY_ADD_SNACK;
        fn remove_snack<'s>(&'s self, drawer: DrawerId, snack: SnackId)
            -> Result<(), StoreError> = methods::DRAWER_REPOSITORY_REMOVE_SNACK;
        fn delete<'s>(&'s self, drawer: DrawerId)
            -> Result<(), StoreError> = methods::DRAWER_REPOSITORY_DELETE;
    }
}

impl<P: PasswordHasher> PasswordHasher for Faulty<P> {
    faulty_methods! {
        fn hash<'s, 'p>(&'s self, password: &'p Password)
            -> Result<PasswordHash, AuthError> = methods::PASSWORD_HASHER_HASH;
        fn verify<'s, 'p, 'h>(&'s self, password: &'p Password, hash: Option<&'h PasswordHash>)
            -> Result<bool, AuthError> = methods::PASSWORD_HASHER_VERIFY;
    }
}

impl<P: TokenService> TokenService for Faulty<P> {
    fn issue(&self, user: &User) -> Result<AccessToken, AuthError> {
        self.call_now(methods::TOKEN_SERVICE_ISSUE, || self.inner.issue(user))
    }

    /// Also tells the injector whose request it is, for `user=` rules; only while faults are
    /// active, so the idle path stays the flag and the call.
    fn verify(&self, token: &str) -> Result<TokenSubject, AuthError> {
        if !self.injector.is_active() {
            return self.inner.verify(token);
        }
        let subject = self.call_now(methods::TOKEN_SERVICE_VERIFY, || self.inner.verify(token))?;
        FaultInjector::note_user(subject.user.get());
        Ok(subject)
    }
}
