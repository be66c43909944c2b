//! Tokens on every protected route: accepted through either header; without one, or with
//! garbage, 401 and nothing changes.

use super::fixtures::{
    Fixture, INVALID_TOKEN, NO_TOKEN, alice_with_drawer, contents_ids, drawer_path,
    drawer_snack_path,
};
use crate::support::TestApp;
use crate::support::client::RequestBuilder;
use crate::support::stores::{StoreKind, for_each_store};
use axum::http::Method;
use serde_json::{Value, json};

/// The two ways of presenting a token.
#[derive(Clone, Copy, Debug)]
enum TokenHeader {
    /// `x-access-token: <jwt>`, what old clients send.
    AccessToken,
    /// `Authorization: Bearer <jwt>`.
    Bearer,
}

impl TokenHeader {
    const BOTH: [Self; 2] = [Self::AccessToken, Self::Bearer];

    fn attach<'a>(self, request: RequestBuilder<'a>, token: &str) -> RequestBuilder<'a> {
        match self {
            Self::AccessToken => request.token(token),
            Self::Bearer => request.bearer(token),
        }
    }
}

/// One request to a protected route that succeeds with `success` given a good token, when the
/// calls of `protected_calls` are made in order.
struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
    success: u16,
}

impl Call {
    fn request<'a>(&self, app: &'a TestApp) -> RequestBuilder<'a> {
        let request = app.request(self.method.clone(), &self.path);
        match &self.body {
            Some(body) => request.json(body.clone()),
            None => request,
        }
    }
}

/// Every protected route once, on `alice_with_drawer(store, &[1])`'s drawer.
fn protected_calls(drawer: i64) -> Vec<Call> {
    let call = |method: Method, path: String, body: Option<Value>, success| Call {
        method,
        path,
        body,
        success,
    };
    vec![
        call(Method::POST, "/snacks/".into(), Some(json!({"name": "pretzel sticks"})), 201),
        call(Method::GET, "/drawers/".into(), None, 200),
        call(Method::POST, "/drawers/".into(), Some(json!({"name": "bar"})), 201),
        call(Method::GET, drawer_path(drawer), None, 200),
        call(Method::POST, drawer_path(drawer), Some(json!({"snack": 2})), 201),
        call(Method::DELETE, drawer_snack_path(drawer, 1), None, 204),
        call(Method::DELETE, drawer_path(drawer), None, 204),
    ]
}

async fn every_protected_route_accepts(store: StoreKind, header: TokenHeader) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    for call in protected_calls(drawer) {
        let reply = header.attach(call.request(&app), &token).send().await;
        assert_eq!(
            reply.status.as_u16(),
            call.success,
            "{} {} with {header:?}: {}",
            call.method,
            call.path,
            reply.text
        );
    }
}

async fn every_protected_route_accepts_x_access_token(store: StoreKind) {
    every_protected_route_accepts(store, TokenHeader::AccessToken).await;
}

async fn every_protected_route_accepts_authorization_bearer(store: StoreKind) {
    every_protected_route_accepts(store, TokenHeader::Bearer).await;
}

async fn every_protected_route_without_a_token_is_401(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    for call in protected_calls(drawer) {
        call.request(&app).send().await.assert_error(401, NO_TOKEN);
    }
    assert_eq!(contents_ids(&app, &token, drawer).await, [1], "nothing changed");
}

async fn every_protected_route_with_a_garbage_token_is_401(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    for call in protected_calls(drawer) {
        for header in TokenHeader::BOTH {
            let reply = header.attach(call.request(&app), "not-a-jwt").send().await;
            reply.assert_error(401, INVALID_TOKEN);
        }
    }
    assert_eq!(contents_ids(&app, &token, drawer).await, [1], "nothing changed");
}

for_each_store!(
    every_protected_route_accepts_x_access_token,
    every_protected_route_accepts_authorization_bearer,
    every_protected_route_without_a_token_is_401,
    every_protected_route_with_a_garbage_token_is_401,
);
