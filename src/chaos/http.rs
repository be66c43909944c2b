//! Faults on routes: a tower layer around every route of the API, for rules that target a
//! route or `*`, and for lazy mode. An injected error is answered by the HTTP adapter's own
//! error type, so its body is the contract's error shape and a 503 carries `Retry-After`.
//!
//! It sits inside the router's request deadline (a hang ends there, as a stuck dependency
//! would) and inside the telemetry request layer, which it tells through a response marker
//! (`FaultInjected`) that the request, or a port call it made, got a fault.

use super::faulty::InjectedFault;
use super::injector::{FaultInjector, Outcome};
use crate::inbound::http::{ApiError, OPERATIONAL_PATHS};
use crate::ports::AppError;
use crate::telemetry::faults::FaultInjected;
use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

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

    fn call(&mut self, request: Request) -> Self::Future {
        if !self.injector.is_active() {
            return RouteFuture::Untouched { inner: self.inner.call(request) };
        }
        let matched = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
        let operational = matched.is_some_and(|path| OPERATIONAL_PATHS.contains(&path));
        let route = format!("{} {}", request.method(), matched.unwrap_or("unmatched"));
        let decision = self.injector.request(&route, operational);
        // The service that was made ready is the one to call; a clone takes its place.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let served = async move {
            let Some(decision) = decision else { return inner.call(request).await };
            if !decision.delay.is_zero() {
                tokio::time::sleep(decision.delay).await;
            }
            let failed = |outcome| {
                let cause = Box::new(InjectedFault { target: route, outcome });
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
        let injected_already = decision.is_some();
        RouteFuture::Watched {
            inner: Box::pin(async move {
                let (served, injected) = FaultInjector::watch(served, injected_already).await;
                let Ok(mut response) = served;
                if injected {
                    response.extensions_mut().insert(FaultInjected);
                }
                Ok(response)
            }),
        }
    }
}
