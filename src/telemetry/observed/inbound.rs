//! `Observed<P>` on the inbound port: each use case runs in a span named after it
//! (`get_drawer`), child of the request span and parent of the port calls it makes, with its
//! arguments as attributes (never a password). Use cases get no function-call series of their
//! own: each API route is one already (`GET /drawers/{id}`), measured by the request layer.
//!
//! Recognising a token also names the caller on the request span (`enduser.id`), and each use
//! case adds what it learns to the request span's wide event (`wide_event`): the drawer and
//! snack it names, how much it returned, or its error's kind.

use super::{Observed, span_if_traced};
use crate::domain::{
    AccessToken, ClientAddress, Drawer, DrawerId, DrawerName, DrawerWithContents, LoginName,
    Password, Snack, SnackId, SnackList, SnackName, User, UserId, Username,
};
use crate::ports::{Access, Accounts, AppError, Catalogue, Drawers, Readiness};
use crate::telemetry::request_trace;
use crate::telemetry::wide_event::{
    self, DRAWER_ID, DRAWERS_RETURNED, SNACK_ID, SNACKS_RETURNED, outcome,
};
use opentelemetry::KeyValue;
use std::future::Future;
use tracing::{Instrument, Span, info_span};

/// One use case's part of the request's telemetry, decided by one look at whether the request
/// is traced: every request passes here, and each further look at the task-local, or a
/// disabled span entered at each poll, would be paid by all of them (the instrumentation
/// budget in docs/measuring.md).
struct UseCase {
    traced: bool,
}

impl UseCase {
    /// A use case naming `drawer` and `snack`, which a traced request's wide event gets.
    fn begin(drawer: Option<DrawerId>, snack: Option<SnackId>) -> Self {
        let traced = request_trace::recording();
        if traced {
            if let Some(drawer) = drawer {
                wide_event::record(KeyValue::new(DRAWER_ID, drawer.get()));
            }
            if let Some(snack) = snack {
                wide_event::record(KeyValue::new(SNACK_ID, snack.get()));
            }
        }
        Self { traced }
    }

    /// The use case's span: the one `open` makes in a traced request, and none otherwise.
    fn span(&self, open: impl FnOnce() -> Span) -> Span {
        if self.traced { open() } else { Span::none() }
    }

    /// Runs `work`; in a traced request inside `span`, with what its outcome says (`facts` of
    /// a success, or its error's kind) on the request's wide event.
    async fn run<T>(
        self,
        span: Span,
        work: impl Future<Output = Result<T, AppError>>,
        facts: impl FnOnce(&T) -> Vec<KeyValue>,
    ) -> Result<T, AppError> {
        if !self.traced {
            return work.await;
        }
        let result = work.instrument(span).await;
        outcome(&result, facts);
        result
    }
}

/// How many items an answer holds, as an attribute's value.
fn count(items: usize) -> i64 {
    i64::try_from(items).unwrap_or(i64::MAX)
}

/// No facts beyond success.
fn nothing<T>(_: &T) -> Vec<KeyValue> {
    Vec::new()
}

impl<P: Accounts> Accounts for Observed<P> {
    async fn register(&self, username: Username, password: Password) -> Result<User, AppError> {
        let use_case = UseCase::begin(None, None);
        let span = use_case.span(|| info_span!("register", username = %username));
        use_case.run(span, self.inner.register(username, password), nothing).await
    }

    async fn log_in(
        &self,
        name: LoginName,
        password: Password,
        from: ClientAddress,
    ) -> Result<AccessToken, AppError> {
        let use_case = UseCase::begin(None, None);
        let span = use_case.span(|| info_span!("log_in", username = %name.folded));
        use_case.run(span, self.inner.log_in(name, password, from), nothing).await
    }

    async fn authenticate(&self, token: &str, access: Access) -> Result<UserId, AppError> {
        if !request_trace::recording() {
            return self.inner.authenticate(token, access).await;
        }
        let span = info_span!("authenticate");
        let user = self.inner.authenticate(token, access).instrument(span).await;
        outcome(&user, nothing);
        if let Ok(user) = &user {
            Span::current().record("enduser.id", user.get());
        }
        user
    }
}

impl<P: Catalogue> Catalogue for Observed<P> {
    async fn list_snacks(&self) -> Result<SnackList, AppError> {
        let use_case = UseCase::begin(None, None);
        let span = use_case.span(|| info_span!("list_snacks"));
        use_case
            .run(span, self.inner.list_snacks(), |snacks| {
                vec![KeyValue::new(SNACKS_RETURNED, count(snacks.len()))]
            })
            .await
    }

    async fn get_snack(&self, id: SnackId) -> Result<Snack, AppError> {
        let use_case = UseCase::begin(None, Some(id));
        let span = use_case.span(|| info_span!("get_snack", id = id.get()));
        use_case.run(span, self.inner.get_snack(id), nothing).await
    }

    async fn create_snack(&self, caller: UserId, name: SnackName) -> Result<Snack, AppError> {
        let use_case = UseCase::begin(None, None);
        let span =
            use_case.span(|| info_span!("create_snack", caller = caller.get(), name = %name));
        use_case
            .run(span, self.inner.create_snack(caller, name), |snack| {
                vec![KeyValue::new(SNACK_ID, snack.id.get())]
            })
            .await
    }

    async fn seed_catalogue(&self) -> Result<usize, AppError> {
        self.inner
            .seed_catalogue()
            .instrument(span_if_traced(|| info_span!("seed_catalogue")))
            .await
    }
}

impl<P: Drawers> Drawers for Observed<P> {
    async fn list_drawers(&self, caller: UserId) -> Result<Vec<Drawer>, AppError> {
        let use_case = UseCase::begin(None, None);
        let span = use_case.span(|| info_span!("list_drawers", caller = caller.get()));
        use_case
            .run(span, self.inner.list_drawers(caller), |drawers| {
                vec![KeyValue::new(DRAWERS_RETURNED, count(drawers.len()))]
            })
            .await
    }

    async fn create_drawer(&self, caller: UserId, name: DrawerName) -> Result<Drawer, AppError> {
        let use_case = UseCase::begin(None, None);
        let span =
            use_case.span(|| info_span!("create_drawer", caller = caller.get(), name = %name));
        use_case
            .run(span, self.inner.create_drawer(caller, name), |drawer| {
                vec![KeyValue::new(DRAWER_ID, drawer.id.get())]
            })
            .await
    }

    async fn get_drawer(
        &self,
        caller: UserId,
        id: DrawerId,
    ) -> Result<DrawerWithContents, AppError> {
        let use_case = UseCase::begin(Some(id), None);
        let span = use_case.span(|| info_span!("get_drawer", caller = caller.get(), id = id.get()));
        use_case
            .run(span, self.inner.get_drawer(caller, id), |drawer| {
                vec![KeyValue::new(SNACKS_RETURNED, count(drawer.contents.len()))]
            })
            .await
    }

    async fn put_snack_in_drawer(
        &self,
        caller: UserId,
        drawer: DrawerId,
        snack: SnackId,
    ) -> Result<(), AppError> {
        let use_case = UseCase::begin(Some(drawer), Some(snack));
        let span = use_case.span(|| {
            info_span!(
                "put_snack_in_drawer",
                caller = caller.get(),
                drawer = drawer.get(),
                snack = snack.get()
            )
        });
        use_case.run(span, self.inner.put_snack_in_drawer(caller, drawer, snack), nothing).await
    }

    async fn take_snack_from_drawer(
        &self,
        caller: UserId,
        drawer: DrawerId,
        snack: SnackId,
    ) -> Result<(), AppError> {
        let use_case = UseCase::begin(Some(drawer), Some(snack));
        let span = use_case.span(|| {
            info_span!(
                "take_snack_from_drawer",
                caller = caller.get(),
                drawer = drawer.get(),
                snack = snack.get()
            )
        });
        use_case.run(span, self.inner.take_snack_from_drawer(caller, drawer, snack), nothing).await
    }

    async fn delete_drawer(&self, caller: UserId, drawer: DrawerId) -> Result<(), AppError> {
        let use_case = UseCase::begin(Some(drawer), None);
        let span = use_case
            .span(|| info_span!("delete_drawer", caller = caller.get(), drawer = drawer.get()));
        use_case.run(span, self.inner.delete_drawer(caller, drawer), nothing).await
    }
}

impl<P: Readiness> Readiness for Observed<P> {
    async fn readiness(&self) -> Result<(), AppError> {
        self.inner.readiness().instrument(span_if_traced(|| info_span!("readiness"))).await
    }
}
