//! `Observed<P>` on the inbound port: each use case runs in a span named after it
//! (`get_drawer`), child of the request span and parent of the port calls it makes, with its
//! arguments as attributes (never a password). Use cases get no function-call series of their
//! own: each API route is one already (`GET /drawers/{id}`), measured by the request layer.
//!
//! Recognising a token also names the caller on the request span (`enduser.id`).

use super::{Observed, span_if_traced};
use crate::domain::{
    AccessToken, ClientAddress, Drawer, DrawerId, DrawerName, DrawerWithContents, LoginName,
    Password, Snack, SnackId, SnackName, User, UserId, Username,
};
use crate::ports::{Access, Accounts, AppError, Catalogue, Drawers, Readiness};
use crate::telemetry::request_trace;
use tracing::{Instrument, Span, info_span};

impl<P: Accounts> Accounts for Observed<P> {
    async fn register(&self, username: Username, password: Password) -> Result<User, AppError> {
        let span = span_if_traced(|| info_span!("register", username = %username));
        self.inner.register(username, password).instrument(span).await
    }

    async fn log_in(
        &self,
        name: LoginName,
        password: Password,
        from: ClientAddress,
    ) -> Result<AccessToken, AppError> {
        let span = span_if_traced(|| info_span!("log_in", username = %name.folded));
        self.inner.log_in(name, password, from).instrument(span).await
    }

    async fn authenticate(&self, token: &str, access: Access) -> Result<UserId, AppError> {
        if !request_trace::recording() {
            return self.inner.authenticate(token, access).await;
        }
        let span = info_span!("authenticate");
        let user = self.inner.authenticate(token, access).instrument(span).await?;
        Span::current().record("enduser.id", user.get());
        Ok(user)
    }
}

impl<P: Catalogue> Catalogue for Observed<P> {
    async fn list_snacks(&self) -> Result<Vec<Snack>, AppError> {
        self.inner.list_snacks().instrument(span_if_traced(|| info_span!("list_snacks"))).await
    }

    async fn get_snack(&self, id: SnackId) -> Result<Snack, AppError> {
        self.inner.get_snack(id).instrument(span_if_traced(|| info_span!("get_snack", ?id))).await
    }

    async fn create_snack(&self, caller: UserId, name: SnackName) -> Result<Snack, AppError> {
        let span = span_if_traced(|| info_span!("create_snack", ?caller, ?name));
        self.inner.create_snack(caller, name).instrument(span).await
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
        self.inner
            .list_drawers(caller)
            .instrument(span_if_traced(|| info_span!("list_drawers", ?caller)))
            .await
    }

    async fn create_drawer(&self, caller: UserId, name: DrawerName) -> Result<Drawer, AppError> {
        let span = span_if_traced(|| info_span!("create_drawer", ?caller, ?name));
        self.inner.create_drawer(caller, name).instrument(span).await
    }

    async fn get_drawer(
        &self,
        caller: UserId,
        id: DrawerId,
    ) -> Result<DrawerWithContents, AppError> {
        let span = span_if_traced(|| info_span!("get_drawer", ?caller, ?id));
        self.inner.get_drawer(caller, id).instrument(span).await
    }

    async fn put_snack_in_drawer(
        &self,
        caller: UserId,
        drawer: DrawerId,
        snack: SnackId,
    ) -> Result<(), AppError> {
        let span = span_if_traced(|| info_span!("put_snack_in_drawer", ?caller, ?drawer, ?snack));
        self.inner.put_snack_in_drawer(caller, drawer, snack).instrument(span).await
    }

    async fn take_snack_from_drawer(
        &self,
        caller: UserId,
        drawer: DrawerId,
        snack: SnackId,
    ) -> Result<(), AppError> {
        let span =
            span_if_traced(|| info_span!("take_snack_from_drawer", ?caller, ?drawer, ?snack));
        self.inner.take_snack_from_drawer(caller, drawer, snack).instrument(span).await
    }

    async fn delete_drawer(&self, caller: UserId, drawer: DrawerId) -> Result<(), AppError> {
        let span = span_if_traced(|| info_span!("delete_drawer", ?caller, ?drawer));
        self.inner.delete_drawer(caller, drawer).instrument(span).await
    }
}

impl<P: Readiness> Readiness for Observed<P> {
    async fn readiness(&self) -> Result<(), AppError> {
        self.inner.readiness().instrument(span_if_traced(|| info_span!("readiness"))).await
    }
}
