//! The request deadline: every request is bounded, so a stalled client or a stuck dependency
//! cannot hold a connection (or a graceful shutdown) forever.
//!
//! Who stalled decides the answer. A handler still waiting for the client's body when the
//! deadline strikes is the client's fault: 408, not counted against the service. Anything else
//! (a slow store, a nap) is the service's: 503 with Retry-After.

use super::ApiError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;

pub async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let waiting_for_client = Arc::new(AtomicBool::new(false));
    let request = if request.body().is_end_stream() {
        request
    } else {
        let waiting = waiting_for_client.clone();
        request.map(|body| Body::new(Arriving { body, waiting }))
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) if waiting_for_client.load(Relaxed) => ApiError::BodyTimedOut(limit).into_response(),
        Err(_) => ApiError::TimedOut(limit).into_response(),
    }
}

pin_project! {
    /// A request body that says whether its reader is waiting for the client.
    struct Arriving {
        #[pin]
        body: Body,
        waiting: Arc<AtomicBool>,
    }
}

impl HttpBody for Arriving {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        let frame = this.body.poll_frame(cx);
        this.waiting.store(frame.is_pending(), Relaxed);
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
