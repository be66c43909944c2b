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
    Password, Snack, SnackId, SnackName, User, UserId, Username,
};
use crate::ports::{Access, Accounts, AppError, Catalogue, Drawers, Readiness};
use crate::telemetry::request_trace;
use crate::telemetry::wide_event::{
    self, DRAWER_ID, DRAWERS_RETURNED, SNACK_ID, SNACKS_RETURNED, outcome,
};
use opentelemetry::KeyValue;
use tracing::{Instrument, Span, info_span};

/// The drawer and snack a use case names, on the request span.
fn names(drawer: Option<DrawerId>, snack: Option<SnackId>) {
    if let Some(drawer) = drawer {
        wide_event::record(KeyValue::new(DRAWER_ID, drawer.get()));
    }
    if let Some(snack) = snack {
        wide_event::record(KeyValue::new(SNACK_ID, snack.get()));
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
        let span = span_if_traced(|| info_span!("register", username = %username));
        let registered = self.inner.register(username, password).instrument(span).await;
        outcome(&registered, nothing);
        registered
    }

    async fn log_in(
        &self,
        name: LoginName,
        password: Password,
        from: ClientAddress,
    ) -> Result<AccessToken, AppError> {
        let span = span_if_traced(|| info_span!("log_in", username = %name.folded));
        let logged_in = self.inner.log_in(name, password, from).instrument(span).await;
        outcome(&logged_in, nothing);
        logged_in
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
    async fn list_snacks(&self) -> Result<Vec<Snack>, AppError> {
        let span = span_if_traced(|| info_span!("list_snacks"));
        let listed = self.inner.list_snacks().instrument(span).await;
        outcome(&listed, |snacks| vec![KeyValue::new(SNACKS_RETURNED, count(snacks.len()))]);
        listed
    }

    async fn get_snack(&self, id: SnackId) -> Result<Snack, AppError> {
        names(None, Some(id));
        let span = span_if_traced(|| info_span!("get_snack", ?id));
        let found = self.inner.get_snack(id).instrument(span).await;
        outcome(&found, nothing);
        found
    }

    async fn create_snack(&self, caller: UserId, name: SnackName) -> Result<Snack, AppError> {
        let span = span_if_traced(|| info_span!("create_snack", ?caller, ?name));
        let created = self.inner.create_snack(caller, name).instrument(span).await;
        outcome(&created, |snack| vec![KeyValue::new(SNACK_ID, snack.id.get())]);
        created
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
        let span = span_if_traced(|| info_span!("list_drawers", ?caller));
        let listed = self.inner.list_drawers(caller).instrument(span).await;
        outcome(&listed, |drawers| vec![KeyValue::new(DRAWERS_RETURNED, count(drawers.len()))]);
        listed
    }

    async fn create_drawer(&self, caller: UserId, name: DrawerName) -> Result<Drawer, AppError> {
        let span = span_if_traced(|| info_span!("create_drawer", ?caller, ?name));
        let created = self.inner.create_drawer(caller, name).instrument(span).await;
        outcome(&created, |drawer| vec![KeyValue::new(DRAWER_ID, drawer.id.get())]);
        created
    }

    async fn get_drawer(
        &self,
        caller: UserId,
        id: DrawerId,
    ) -> Result<DrawerWithContents, AppError> {
        names(Some(id), None);
        let span = span_if_traced(|| info_span!("get_drawer", ?caller, ?id));
        let found = self.inner.get_drawer(caller, id).instrument(span).await;
        outcome(&found, |drawer| {
            vec![KeyValue::new(SNACKS_RETURNED, count(drawer.contents.len()))]
        });
        found
    }

    async fn put_snack_in_drawer(
        &self,
        caller: UserId,
        drawer: DrawerId,
        snack: SnackId,
    ) -> Result<(), AppError> {
        names(Some(drawer), Some(snack));
        let span = span_if_traced(|| info_span!("put_snack_in_drawer", ?caller, ?drawer, ?snack));
        let put = self.inner.put_snack_in_drawer(caller, drawer, snack).instrument(span).await;
        outcome(&put, nothing);
        put
    }

    async fn take_snack_from_drawer(
        &self,
        caller: UserId,
        drawer: DrawerId,
        snack: SnackId,
    ) -> Result<(), AppError> {
        names(Some(drawer), Some(snack));
        let span =
            span_if_traced(|| info_span!("take_snack_from_drawer", ?caller, ?drawer, ?snack));
        let taken = self.inner.take_snack_from_drawer(caller, drawer, snack).instrument(span).await;
        outcome(&taken, nothing);
        taken
    }

    async fn delete_drawer(&self, caller: UserId, drawer: DrawerId) -> Result<(), AppError> {
        names(Some(drawer), None);
        let span = span_if_traced(|| info_span!("delete_drawer", ?caller, ?drawer));
        let deleted = self.inner.delete_drawer(caller, drawer).instrument(span).await;
        outcome(&deleted, nothing);
        deleted
    }
}

impl<P: Readiness> Readiness for Observed<P> {
    async fn readiness(&self) -> Result<(), AppError> {
        self.inner.readiness().instrument(span_if_traced(|| info_span!("readiness"))).await
    }
}
