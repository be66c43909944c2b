//! A rate limit per client address on the routes that hash a password (`POST /auth/users` and
//! `POST /auth/login`), so that one address flooding them cannot fill the hashing queue and
//! starve everyone else: beyond its share it is answered 429 at once, before any hashing.
//!
//! The address is the TCP peer's (IPv6 by its /64, which one host usually holds whole), never a
//! forwarded-for header, which any client can write. Behind a proxy every client shares the
//! proxy's address: raise the limit there, or turn it off and limit at the proxy. Requests that
//! arrive without a peer address (a router called in-process) are not limited. The buckets are
//! `governor`'s, one per address, in memory; addresses whose buckets are full again are dropped
//! once more than `PRUNE_ABOVE` are held.
//!
//! The same address, as `Client`, reaches the login use case, whose throttle tells a guesser
//! from the account's owner by it.

use super::ApiError;
use crate::domain::ClientAddress;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

/// The routes limited, `POST` only.
pub const PASSWORD_ROUTES: [&str; 2] = ["/auth/users", "/auth/login"];

/// Above this many addresses held, the limiter forgets those with full buckets.
const PRUNE_ABOVE: usize = 10_000;

/// Requests per second each address may make to the password routes, after a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressLimits {
    /// Sustained requests per second; zero turns the limit off.
    pub per_second: u32,
    /// Requests an address may make at once before the rate applies (at least 1).
    pub burst: u32,
}

impl AddressLimits {
    pub const OFF: Self = Self { per_second: 0, burst: 1 };

    fn quota(self) -> Option<Quota> {
        let per_second = NonZeroU32::new(self.per_second)?;
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Some(Quota::per_second(per_second).allow_burst(burst))
    }
}

struct AddressLimiter {
    buckets: DefaultKeyedRateLimiter<ClientAddress>,
    clock: DefaultClock,
}

/// `router` with the password routes limited per address as `limits` say.
pub fn limit_password_routes(router: Router, limits: AddressLimits) -> Router {
    let Some(quota) = limits.quota() else {
        return router;
    };
    let clock = DefaultClock::default();
    let limiter =
        AddressLimiter { buckets: RateLimiter::hashmap_with_clock(quota, clock.clone()), clock };
    router.layer(middleware::from_fn_with_state(Arc::new(limiter), limit))
}

async fn limit(
    State(limiter): State<Arc<AddressLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let limited =
        request.method() == Method::POST && PASSWORD_ROUTES.contains(&request.uri().path());
    let client = client_of(request.extensions());
    if limited && client != ClientAddress::InProcess {
        if limiter.buckets.len() > PRUNE_ABOVE {
            limiter.buckets.retain_recent();
        }
        if let Err(not_until) = limiter.buckets.check_key(&client) {
            let wait = not_until.wait_time_from(limiter.clock.now());
            return ApiError::TooManyRequests(wait).into_response();
        }
    }
    next.run(request).await
}

/// The client a request came from: its TCP peer's address, or in-process without one.
fn client_of(extensions: &Extensions) -> ClientAddress {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>();
    peer.map_or(ClientAddress::InProcess, |info| ClientAddress::of(info.0.ip()))
}

/// The client a request came from, for a handler.
pub struct Client(pub ClientAddress);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self(client_of(&parts.extensions)))
    }
}
