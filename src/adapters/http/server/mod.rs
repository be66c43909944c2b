//! How connections are accepted and served, so that no client can starve the others of them.
//!
//! `axum::serve` has no knobs for this, so the service runs its own accept loop on hyper:
//! - at most `max_connections` connections at once; at the cap, the loop stops accepting (the
//!   kernel's backlog queues newcomers) and first asks idle connections to close, so a client
//!   hoarding idle sockets makes room at once;
//! - every connection is watched (`watchdog`): silent for `idle_timeout` with no request in
//!   flight, or slower than `header_timeout` to finish a request's head once it began, it is
//!   closed. hyper's own header timeout would not do: it does not run while the server reads
//!   the first bytes to tell HTTP/1 from HTTP/2, nor on HTTP/2 at all;
//! - an accept that fails for want of file descriptors (EMFILE, ENFILE) does not end the loop: it
//!   logs once per episode, closes idle connections and retries after a growing pause;
//! - hyper's own answers to requests it cannot parse carry the contract's JSON error body
//!   (`parse_errors`).
//!
//! `serve` stops accepting when `shutdown` completes, lets the requests in flight finish for at
//! most the grace, and says which of the two ended it.

mod parse_errors;
mod watchdog;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use parse_errors::JsonParseErrors;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::Service;
use watchdog::{Activity, Deadline, InFlight, Watched};

/// How many connections may be open and how long each may dawdle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: u32,
    /// How long a request's head may take to arrive, from its first byte to its last.
    pub header_timeout: Duration,
    /// How long a connection may stay silent with no request in flight.
    pub idle_timeout: Duration,
}

/// How `serve` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every connection closed within the grace.
    Cleanly,
    /// Requests were still in flight when the grace ran out; they are cut off.
    GraceExpired,
}

/// What the accept loop tells its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Keep serving; each new number asks idle connections to close, to make room.
    Serve { shed: u64 },
    /// Finish what is in flight and close.
    Stop,
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then lets the
/// requests in flight finish for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) -> Stopped {
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (orders, _) = watch::channel(Order::Serve { shed: 0 });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // One buffer per response (head and body together) lets `JsonParseErrors` see hyper's
    // automatic answers whole.
    builder.http1().writev(false);
    let server = Arc::new(Server { router, limits, builder });
    tokio::select! {
        () = accept_loop(listener, &server, &slots, &orders) => {}
        () = shutdown => {}
    }
    orders.send_replace(Order::Stop);
    let all_closed = slots.acquire_many(limits.max_connections);
    tokio::select! {
        _ = all_closed => Stopped::Cleanly,
        () = tokio::time::sleep(grace) => Stopped::GraceExpired,
    }
}

struct Server {
    router: Router,
    limits: ConnectionLimits,
    builder: auto::Builder<TokioExecutor>,
}

/// Accepts for ever; returns only when dropped (at shutdown).
async fn accept_loop(
    listener: TcpListener,
    server: &Arc<Server>,
    slots: &Arc<Semaphore>,
    orders: &watch::Sender<Order>,
) {
    let shed_idle = || {
        orders.send_modify(|order| {
            if let Order::Serve { shed } = order {
                *shed += 1;
            }
        })
    };
    let mut exhausted = Exhaustion::default();
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                shed_idle();
                slots.clone().acquire_owned().await.expect("the semaphore is never closed")
            }
        };
        match listener.accept().await {
            Ok((stream, peer)) => {
                exhausted.recovered();
                tokio::spawn(serve_connection(
                    server.clone(),
                    stream,
                    peer,
                    orders.subscribe(),
                    slot,
                ));
            }
            Err(error) if out_of_descriptors(&error) => {
                drop(slot);
                shed_idle();
                tokio::time::sleep(exhausted.failed(&error)).await;
            }
            // The peer gave up before we took its connection (ECONNABORTED and the like).
            Err(error) => tracing::debug!(%error, "accept failed"),
        }
    }
}

/// An episode of accepts failing for want of file descriptors: logged when it starts and when
/// it ends, never in between, with pauses doubling from 10 ms to 1 s.
#[derive(Default)]
struct Exhaustion {
    failures: u64,
}

impl Exhaustion {
    fn failed(&mut self, error: &io::Error) -> Duration {
        if self.failures == 0 {
            tracing::warn!(
                %error,
                "cannot accept connections: out of file descriptors; closing idle connections \
                 and retrying (see SNACKDRAWER_MAX_CONNECTIONS)"
            );
        }
        self.failures += 1;
        Duration::from_millis(10 << self.failures.min(8).saturating_sub(1))
            .min(Duration::from_secs(1))
    }

    fn recovered(&mut self) {
        if self.failures > 0 {
            tracing::info!(failed_accepts = self.failures, "accepting connections again");
            self.failures = 0;
        }
    }
}

fn out_of_descriptors(error: &io::Error) -> bool {
    // EMFILE (24) and ENFILE (23) on Linux and the BSDs alike.
    matches!(error.raw_os_error(), Some(23 | 24))
}

/// Serves one connection until it ends, its watchdog closes it, or the loop says stop.
async fn serve_connection(
    server: Arc<Server>,
    stream: TcpStream,
    peer: SocketAddr,
    mut orders: watch::Receiver<Order>,
    _slot: OwnedSemaphorePermit,
) {
    let limits = server.limits;
    let activity = Arc::new(Activity::new(limits.header_timeout, limits.idle_timeout));
    let io = TokioIo::new(JsonParseErrors::new(Watched::new(stream, activity.clone())));
    let service =
        ConnectionService { router: server.router.clone(), peer, activity: activity.clone() };
    let mut connection = pin!(server.builder.serve_connection(io, service));
    let mut dawdled = pin!(Deadline::new(activity.clone()));
    let mut stopping = false;
    loop {
        tokio::select! {
            // The connection first, so that the deadline sees what it just read or wrote.
            biased;
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, error, "connection ended with an error");
                }
                return;
            }
            () = dawdled.as_mut() => {
                tracing::debug!(%peer, "closing a connection that dawdled");
                return;
            }
            changed = orders.changed(), if !stopping => {
                match changed.map(|()| *orders.borrow_and_update()) {
                    Ok(Order::Serve { .. }) if activity.is_idle() => return,
                    Ok(Order::Serve { .. }) => {}
                    Ok(Order::Stop) | Err(_) => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// The router as one connection's hyper service: it tells each request where it came from
/// and counts the requests in flight for the watchdog.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = InFlight<axum::routing::future::RouteFuture<Infallible>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        // The router is always ready: `call` without `poll_ready` is its documented use.
        let response = self.router.clone().call(request);
        InFlight::new(response, &self.activity)
    }
}
