//! `Observed<P>`: the decorator that makes every port call visible. It implements each port by
//! wrapping another implementation of the same port, and around each call it opens a span
//! (named and attributed after the OpenTelemetry conventions) and records the autometrics-format
//! function-call metrics through `metrics`, named `<PortTrait>::<method>`.
//!
//! A call counts as an error (`result="error"`, span status ERROR) only when the dependency
//! failed (unavailable, internal error, overloaded); an expected refusal such as a duplicate
//! name or an invalid token is a correct answer, not a failure of the port.

use crate::adapters::metrics::{self, CallOutcome};
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
use tracing::{Instrument, Span, field::Empty};

pub struct Observed<P> {
    inner: P,
    /// `db.system.name` for store calls: `sqlite`, `postgresql`, or `memory`.
    db_system: &'static str,
}

impl<P> Observed<P> {
    /// Observes a store, whose calls are database calls of `db_system`.
    pub fn store(inner: P, db_system: &'static str) -> Self {
        Self { inner, db_system }
    }

    /// Observes the password hasher or the token service.
    pub fn auth(inner: P) -> Self {
        Self { inner, db_system: "" }
    }

    fn db_span(&self, call: DbCall) -> Span {
        tracing::info_span!(
            "db",
            otel.name = %format_args!("{} {}", call.operation, call.collection),
            otel.kind = "client",
            otel.status_code = Empty,
            db.system.name = self.db_system,
            db.operation.name = call.operation,
            db.collection.name = call.collection,
            code.function.name = call.function,
        )
    }
}

/// What a store method does, for its span and its metric.
#[derive(Clone, Copy)]
struct DbCall {
    function: &'static str,
    operation: &'static str,
    collection: &'static str,
}

const fn db(function: &'static str, operation: &'static str, collection: &'static str) -> DbCall {
    DbCall { function, operation, collection }
}

fn auth_span(function: &'static str) -> Span {
    tracing::info_span!(
        "auth",
        otel.name = function,
        otel.status_code = Empty,
        code.function.name = function
    )
}

fn store_outcome<T>(result: &Result<T, StoreError>) -> CallOutcome {
    match result {
        Err(StoreError::Unavailable(_) | StoreError::Internal(_)) => CallOutcome::Error,
        _ => CallOutcome::Ok,
    }
}

fn auth_outcome<T>(result: &Result<T, AuthError>) -> CallOutcome {
    match result {
        Err(AuthError::Overloaded | AuthError::Internal(_)) => CallOutcome::Error,
        _ => CallOutcome::Ok,
    }
}

/// Runs `call` inside `span`, measured as `function`, and marks the span on failure.
async fn observe<T, E>(
    span: Span,
    function: &'static str,
    classify: fn(&Result<T, E>) -> CallOutcome,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let result = metrics::record_call(function, classify, call).instrument(span.clone()).await;
    if classify(&result) == CallOutcome::Error {
        span.record("otel.status_code", "ERROR");
    }
    result
}

impl<P> Observed<P> {
    async fn db_call<T>(
        &self,
        call: DbCall,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        observe(self.db_span(call), call.function, store_outcome, work).await
    }
}

#[async_trait]
impl<P: StoreHealth> StoreHealth for Observed<P> {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db_call(db("StoreHealth::ping", "PING", "database"), self.inner.ping()).await
    }
}

#[async_trait]
impl<P: UserRepository> UserRepository for Observed<P> {
    async fn create(&self, username: &Username, hash: &PasswordHash) -> Result<User, StoreError> {
        let call = db("UserRepository::create", "INSERT", "users");
        self.db_call(call, self.inner.create(username, hash)).await
    }

    async fn find_by_username(
        &self,
        username: &Username,
    ) -> Result<Option<Credentials>, StoreError> {
        let call = db("UserRepository::find_by_username", "SELECT", "users");
        self.db_call(call, self.inner.find_by_username(username)).await
    }
}

#[async_trait]
impl<P: SnackRepository> SnackRepository for Observed<P> {
    async fn list(&self) -> Result<Vec<Snack>, StoreError> {
        self.db_call(db("SnackRepository::list", "SELECT", "snacks"), self.inner.list()).await
    }

    async fn get(&self, id: SnackId) -> Result<Option<Snack>, StoreError> {
        self.db_call(db("SnackRepository::get", "SELECT", "snacks"), self.inner.get(id)).await
    }

    async fn create(&self, name: &SnackName) -> Result<Snack, StoreError> {
        self.db_call(db("SnackRepository::create", "INSERT", "snacks"), self.inner.create(name))
            .await
    }
}

#[async_trait]
impl<P: DrawerRepository> DrawerRepository for Observed<P> {
    async fn list_by_owner(&self, owner: UserId) -> Result<Vec<Drawer>, StoreError> {
        let call = db("DrawerRepository::list_by_owner", "SELECT", "drawers");
        self.db_call(call, self.inner.list_by_owner(owner)).await
    }

    async fn create(&self, owner: UserId, name: &DrawerName) -> Result<Drawer, StoreError> {
        let call = db("DrawerRepository::create", "INSERT", "drawers");
        self.db_call(call, self.inner.create(owner, name)).await
    }

    async fn find(&self, id: DrawerId) -> Result<Option<Drawer>, StoreError> {
        self.db_call(db("DrawerRepository::find", "SELECT", "drawers"), self.inner.find(id)).await
    }

    async fn find_with_contents(
        &self,
        id: DrawerId,
    ) -> Result<Option<DrawerWithContents>, StoreError> {
        let call = db("DrawerRepository::find_with_contents", "SELECT", "drawers");
        self.db_call(call, self.inner.find_with_contents(id)).await
    }

    async fn add_snack(&self, drawer: DrawerId, snack: SnackId) -> Result<(), StoreError> {
        let call = db("DrawerRepository::add_snack", "INSERT", "drawer_snacks");
        self.db_call(call, self.inner.add_snack(drawer, snack)).await
    }

    async fn remove_snack(&self, drawer: DrawerId, snack: SnackId) -> Result<(), StoreError> {
        let call = db("DrawerRepository::remove_snack", "DELETE", "drawer_snacks");
        self.db_call(call, self.inner.remove_snack(drawer, snack)).await
    }

    async fn delete(&self, drawer: DrawerId) -> Result<(), StoreError> {
        let call = db("DrawerRepository::delete", "DELETE", "drawers");
        self.db_call(call, self.inner.delete(drawer)).await
    }
}

#[async_trait]
impl<P: PasswordHasher> PasswordHasher for Observed<P> {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        let function = "PasswordHasher::hash";
        observe(auth_span(function), function, auth_outcome, self.inner.hash(password)).await
    }

    async fn verify(
        &self,
        password: &Password,
        hash: Option<&PasswordHash>,
    ) -> Result<bool, AuthError> {
        let function = "PasswordHasher::verify";
        observe(auth_span(function), function, auth_outcome, self.inner.verify(password, hash))
            .await
    }
}

impl<P: TokenService> TokenService for Observed<P> {
    fn issue(&self, user: UserId) -> Result<AccessToken, AuthError> {
        observe_sync("TokenService::issue", || self.inner.issue(user))
    }

    fn verify(&self, token: &str) -> Result<UserId, AuthError> {
        observe_sync("TokenService::verify", || self.inner.verify(token))
    }
}

fn observe_sync<T>(
    function: &'static str,
    call: impl FnOnce() -> Result<T, AuthError>,
) -> Result<T, AuthError> {
    let span = auth_span(function);
    let result = span.in_scope(|| metrics::record_call_sync(function, auth_outcome, call));
    if auth_outcome(&result) == CallOutcome::Error {
        span.record("otel.status_code", "ERROR");
    }
    result
}
