//! Faults on routes: a tower layer around every route of the API, for rules that target a
//! route or `*`, and for lazy mode. An injected error is answered by the HTTP adapter's own
//! error type, so its body is the contract's error shape and a 503 carries `Retry-After`.
//!
//! It sits inside the router's request deadline (a hang ends there, as a stuck dependency
//! would) and inside the telemetry request layer, which it tells through a response marker
//! (`FaultInjected`) that the request, or a port call it made, got a fault. The client is told
//! too, by the `x-fault-injected: true` header, so that a load generator counts such answers
//! apart from the service's own; it is never sent otherwise.
//!
//! A request is targeted by the name the telemetry gives it (`telemetry::http::request_route`),
//! never by its raw method or path: lazy mode and `*` rules hit every request, and each
//! target is kept for good in the injection counters.

use super::faulty::InjectedFault;
use super::injector::{FaultInjector, Outcome};
use crate::adapters::http::{ApiError, OPERATIONAL_PATHS};
use crate::ports::AppError;
use crate::telemetry::faults::FaultInjected;
use crate::telemetry::http::request_route;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// On every response into which a fault was injected, and on no other.
const FAULT_INJECTED_HEADER: HeaderName = HeaderName::from_static("x-fault-injected");

#[derive(Clone)]
pub struct FaultLayer {
    injector: Arc<FaultInjector>,
}

impl FaultLayer {
    pub fn new(injector: Arc<FaultInjector>) -> Self {
        Self { injector }
    }
}

impl<S> tower::Layer<S> for FaultLayer {
    type Service = FaultyRoute<S>;

    fn layer(&self, inner: S) -> FaultyRoute<S> {
        FaultyRoute { inner, injector: self.injector.clone() }
    }
}

#[derive(Clone)]
pub struct FaultyRoute<S> {
    inner: S,
    injector: Arc<FaultInjector>,
}

type Faulted = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

pin_project_lite::pin_project! {
    /// A request as it goes when nothing is active, or with faults.
    #[project = RouteFutureProjection]
    pub enum RouteFuture<F> {
        Untouched { #[pin] inner: F },
        Watched { inner: Faulted },
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for RouteFuture<F> {
    type Output = Result<Response, Infallible>;

    /// Inlined, as `call` is, into axum's route future: the idle path is then the flag and the
    /// inner call (the fault layer costs +164 instructions a request idle, +226 without).
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RouteFutureProjection::Untouched { inner } => inner.poll(cx),
            RouteFutureProjection::Watched { inner } => inner.as_mut().poll(cx),
        }
    }
}

impl<S> tower::Service<Request> for FaultyRoute<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RouteFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Request) -> Self::Future {
        if !self.injector.is_active() {
            return RouteFuture::Untouched { inner: self.inner.call(request) };
        }
        RouteFuture::Watched { inner: self.with_faults(request) }
    }
}

impl<S> FaultyRoute<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    /// `call` while faults are active: kept out of line, so that the idle path stays the flag
    /// and the inner call.
    #[inline(never)]
    fn with_faults(&mut self, request: Request) -> Faulted {
        let route = request_route(&request);
        let operational = OPERATIONAL_PATHS.contains(&route.template());
        let target = route.name();
        let decision = self.injector.request(target, operational);
        // The service that was made ready is the one to call; a clone takes its place.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let served = async move {
            let Some(decision) = decision else { return inner.call(request).await };
            if !decision.delay.is_zero() {
                tokio::time::sleep(decision.delay).await;
            }
            let failed = |outcome| {
                let cause = Box::new(InjectedFault { target: target.to_owned(), outcome });
                match outcome {
                    Outcome::TooLazy => ApiError::TooLazy(cause),
                    Outcome::Unavailable => AppError::Unavailable(cause).into(),
                    _ => AppError::Internal(cause).into(),
                }
                .into_response()
            };
            match decision.outcome {
                None => inner.call(request).await,
                Some(Outcome::Hang) => std::future::pending().await,
                Some(Outcome::ErrorAfter) => {
                    let Ok(served) = inner.call(request).await;
                    Ok(if served.status().is_success() {
                        failed(Outcome::ErrorAfter)
                    } else {
                        served
                    })
                }
                Some(outcome) => Ok(failed(outcome)),
            }
        };
        let injected_already = decision.is_some() && self.injector.shows_injections();
        Box::pin(async move {
            let (served, injected) = FaultInjector::watch(served, injected_already).await;
            let Ok(mut response) = served;
            if injected {
                response.extensions_mut().insert(FaultInjected);
                let marked = HeaderValue::from_static("true");
                response.headers_mut().insert(FAULT_INJECTED_HEADER, marked);
            }
            Ok(response)
        })
    }
}
