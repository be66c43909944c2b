//! `Observed<P>` on the outbound ports: around each store, hashing and token call it opens a
//! span (named and attributed after the OpenTelemetry conventions) and records the
//! autometrics-format function-call metrics, named `<PortTrait>::<method>` as `ports::methods`
//! spells them.
//!
//! A call counts as an error (`result="error"`, span status ERROR) only when the dependency
//! failed (unavailable, internal error, overloaded); an expected refusal such as a duplicate
//! name or an invalid token is a correct answer, not a failure of the port.

use super::{Observed, span_if_traced};
use crate::domain::{
    AccessToken, Credentials, Drawer, DrawerId, DrawerName, DrawerWithContents, Password,
    PasswordHash, Snack, SnackId, SnackList, SnackName, User, UserId, Username,
};
use crate::ports::{
    AuthError, DrawerRepository, PasswordHasher, SnackRepository, StoreError, StoreHealth,
    TokenService, TokenSubject, UserRepository, methods,
};
use crate::telemetry::metrics::{self, CallOutcome, Function};
use crate::telemetry::wide_event;
use async_trait::async_trait;
use opentelemetry::KeyValue;
use std::future::Future;
use tracing::{Instrument, Span, field::Empty};

impl<P> Observed<P> {
    fn db_span(&self, call: &DbCall) -> Span {
        tracing::info_span!(
            "db",
            otel.name = call.span_name,
            otel.kind = "client",
            otel.status_code = Empty,
            db.system.name = self.db_system,
            db.operation.name = call.operation,
            db.collection.name = call.collection,
            code.function.name = call.function.name(),
        )
    }
}

/// What a store method does, for its span and its metric.
struct DbCall {
    function: Function,
    /// `"SELECT drawers"`: the span name the OpenTelemetry database conventions ask for.
    span_name: &'static str,
    operation: &'static str,
    collection: &'static str,
}

/// The `DbCall` of one store method, made once (a `static` at the call site):
/// `db_call!(methods::DRAWER_REPOSITORY_ADD_SNACK, "INSERT", "drawer_snacks")`.
macro_rules! db_call {
    ($function:expr, $operation:literal, $collection:literal) => {{
        static CALL: DbCall = DbCall {
            function: Function::new($function),
            span_name: concat!($operation, " ", $collection),
            operation: $operation,
            collection: $collection,
        };
        &CALL
    }};
}

/// The `Function` of one password or token method, made once at the call site.
macro_rules! auth_function {
    ($function:expr) => {{
        static FUNCTION: Function = Function::new($function);
        &FUNCTION
    }};
}

fn auth_span(function: &Function) -> Span {
    tracing::info_span!(
        "auth",
        otel.name = function.name(),
        otel.status_code = Empty,
        code.function.name = function.name()
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

/// Runs `call` inside `span` (entered whenever the call is polled, so work it starts, such as
/// hashing on the blocking pool, nests under it), measured as `function`.
async fn observe<T, E>(
    span: Span,
    function: &'static Function,
    module: &'static str,
    classify: fn(&Result<T, E>) -> CallOutcome,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let result =
        metrics::record_call(function, module, classify, call).instrument(span.clone()).await;
    mark_failure(&span, classify(&result));
    result
}

fn mark_failure(span: &Span, outcome: CallOutcome) {
    if outcome == CallOutcome::Error {
        span.record("otel.status_code", "ERROR");
    }
}

impl<P> Observed<P> {
    async fn db_call<T>(
        &self,
        call: &'static DbCall,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        // The span starts now, as a child of the use case, and ends when dropped below. It is
        // entered while the call runs, so what happens inside it lands on it (an injected
        // fault's event, sea-orm's statement spans when asked for). Only a traced request
        // pays for that; an untraced one enters `Span::none()`, which costs nothing.
        let span = span_if_traced(|| self.db_span(call));
        let work = work.instrument(span.clone());
        let result = metrics::record_call(&call.function, self.module, store_outcome, work).await;
        mark_failure(&span, store_outcome(&result));
        if !span.is_disabled() {
            wide_event::record(KeyValue::new(wide_event::STORE, self.db_system));
        }
        result
    }
}

#[async_trait]
impl<P: StoreHealth> StoreHealth for Observed<P> {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db_call(db_call!(methods::STORE_HEALTH_PING, "PING", "database"), self.inner.ping())
            .await
    }
}

#[async_trait]
impl<P: UserRepository> UserRepository for Observed<P> {
    async fn create(&self, username: &Username, hash: &PasswordHash) -> Result<User, StoreError> {
        let call = db_call!(methods::USER_REPOSITORY_CREATE, "INSERT", "users");
        self.db_call(call, self.inner.create(username, hash)).await
    }

    async fn find_by_id(
        &self,
        id: UserId,
        freshness: crate::ports::Freshness,
    ) -> Result<Option<User>, StoreError> {
        let call = db_call!(methods::USER_REPOSITORY_FIND_BY_ID, "SELECT", "users");
        self.db_call(call, self.inner.find_by_id(id, freshness)).await
    }

    async fn find_by_username(
        &self,
        username: &Username,
    ) -> Result<Option<Credentials>, StoreError> {
        let call = db_call!(methods::USER_REPOSITORY_FIND_BY_USERNAME, "SELECT", "users");
        self.db_call(call, self.inner.find_by_username(username)).await
    }
}

#[async_trait]
impl<P: SnackRepository> SnackRepository for Observed<P> {
    async fn list(&self) -> Result<SnackList, StoreError> {
        self.db_call(
            db_call!(methods::SNACK_REPOSITORY_LIST, "SELECT", "snacks"),
            self.inner.list(),
        )
        .await
    }

    async fn get(&self, id: SnackId) -> Result<Option<Snack>, StoreError> {
        self.db_call(
            db_call!(methods::SNACK_REPOSITORY_GET, "SELECT", "snacks"),
            self.inner.get(id),
        )
        .await
    }

    async fn create(&self, name: &SnackName, at_most: u32) -> Result<Snack, StoreError> {
        self.db_call(
            db_call!(methods::SNACK_REPOSITORY_CREATE, "INSERT", "snacks"),
            self.inner.create(name, at_most),
        )
        .await
    }
}

#[async_trait]
impl<P: DrawerRepository> DrawerRepository for Observed<P> {
    async fn list_by_owner(&self, owner: UserId) -> Result<Vec<Drawer>, StoreError> {
        let call = db_call!(methods::DRAWER_REPOSITORY_LIST_BY_OWNER, "SELECT", "drawers");
        self.db_call(call, self.inner.list_by_owner(owner)).await
    }

    async fn create(
        &self,
        owner: UserId,
        name: &DrawerName,
        at_most: u32,
    ) -> Result<Drawer, StoreError> {
        let call = db_call!(methods::DRAWER_REPOSITORY_CREATE, "INSERT", "drawers");
        self.db_call(call, self.inner.create(owner, name, at_most)).await
    }

    async fn find(&self, id: DrawerId) -> Result<Option<Drawer>, StoreError> {
        self.db_call(
            db_call!(methods::DRAWER_REPOSITORY_FIND, "SELECT", "drawers"),
            self.inner.find(id),
        )
        .await
    }

    async fn find_with_contents(
        &self,
        id: DrawerId,
    ) -> Result<Option<DrawerWithContents>, StoreError> {
        let call = db_call!(methods::DRAWER_REPOSITORY_FIND_WITH_CONTENTS, "SELECT", "drawers");
        self.db_call(call, self.inner.find_with_contents(id)).await
    }

    async fn add_snack(
        &self,
        drawer: DrawerId,
        snack: SnackId,
        at_most: u32,
    ) -> Result<(), StoreError> {
        let call = db_call!(methods::DRAWER_REPOSITORY_ADD_SNACK, "INSERT", "drawer_snacks");
        self.db_call(call, self.inner.add_snack(drawer, snack, at_most)).await
    }

    async fn remove_snack(&self, drawer: DrawerId, snack: SnackId) -> Result<(), StoreError> {
        let call = db_call!(methods::DRAWER_REPOSITORY_REMOVE_SNACK, "DELETE", "drawer_snacks");
        self.db_call(call, self.inner.remove_snack(drawer, snack)).await
    }

    async fn delete(&self, drawer: DrawerId) -> Result<(), StoreError> {
        let call = db_call!(methods::DRAWER_REPOSITORY_DELETE, "DELETE", "drawers");
        self.db_call(call, self.inner.delete(drawer)).await
    }
}

#[async_trait]
impl<P: PasswordHasher> PasswordHasher for Observed<P> {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        let function = auth_function!(methods::PASSWORD_HASHER_HASH);
        let call = self.inner.hash(password);
        observe(span_if_traced(|| auth_span(function)), function, self.module, auth_outcome, call)
            .await
    }

    async fn verify(
        &self,
        password: &Password,
        hash: Option<&PasswordHash>,
    ) -> Result<bool, AuthError> {
        let function = auth_function!(methods::PASSWORD_HASHER_VERIFY);
        let call = self.inner.verify(password, hash);
        observe(span_if_traced(|| auth_span(function)), function, self.module, auth_outcome, call)
            .await
    }
}

impl<P: TokenService> TokenService for Observed<P> {
    fn issue(&self, user: &User) -> Result<AccessToken, AuthError> {
        observe_sync(auth_function!(methods::TOKEN_SERVICE_ISSUE), self.module, || {
            self.inner.issue(user)
        })
    }

    fn verify(&self, token: &str) -> Result<TokenSubject, AuthError> {
        observe_sync(auth_function!(methods::TOKEN_SERVICE_VERIFY), self.module, || {
            self.inner.verify(token)
        })
    }
}

fn observe_sync<T>(
    function: &'static Function,
    module: &'static str,
    call: impl FnOnce() -> Result<T, AuthError>,
) -> Result<T, AuthError> {
    let span = span_if_traced(|| auth_span(function));
    let result = span.in_scope(|| metrics::record_call_sync(function, module, auth_outcome, call));
    mark_failure(&span, auth_outcome(&result));
    result
}
