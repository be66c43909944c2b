//! A connection's watchdog: it closes connections that hold a slot without using it.
//!
//! The socket (`Watched`) and the requests (`InFlight`) report to the connection's `Activity`;
//! `Deadline` completes when the connection has dawdled: no request in flight and nothing heard
//! for the idle timeout, or a request's head begun but not finished within the header timeout.
//! A request in flight is never cut off here: the request deadline bounds it.

use pin_project_lite::pin_project;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// `head_started` when no request head is on its way.
const NO_HEAD: u64 = u64::MAX;

/// What one connection has been doing, in milliseconds since it opened.
pub struct Activity {
    opened: Instant,
    header_timeout: Duration,
    idle_timeout: Duration,
    in_flight: AtomicUsize,
    /// The last sign of life (opening, a response finished, bytes written) with no request in
    /// flight.
    quiet_since: AtomicU64,
    /// When the first byte of a request head not yet complete arrived, or `NO_HEAD`.
    head_started: AtomicU64,
}

impl Activity {
    pub fn new(header_timeout: Duration, idle_timeout: Duration) -> Self {
        Self {
            opened: Instant::now(),
            header_timeout,
            idle_timeout,
            in_flight: AtomicUsize::new(0),
            quiet_since: AtomicU64::new(0),
            head_started: AtomicU64::new(NO_HEAD),
        }
    }

    /// When the connection is to be closed as things stand; `None` while a request is in
    /// flight.
    fn closes_at(&self) -> Option<Instant> {
        if self.in_flight.load(Relaxed) > 0 {
            return None;
        }
        let at = |millis, timeout| self.opened + Duration::from_millis(millis) + timeout;
        match self.head_started.load(Relaxed) {
            NO_HEAD => Some(at(self.quiet_since.load(Relaxed), self.idle_timeout)),
            started => Some(at(started, self.header_timeout)),
        }
    }

    /// No request in flight and none on its way: closing loses nothing.
    pub fn is_idle(&self) -> bool {
        self.in_flight.load(Relaxed) == 0 && self.head_started.load(Relaxed) == NO_HEAD
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(NO_HEAD - 1)
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Relaxed) == 0 {
            let _ = self.head_started.compare_exchange(NO_HEAD, self.now(), Relaxed, Relaxed);
        }
    }

    fn bytes_written(&self) {
        self.quiet_since.store(self.now(), Relaxed);
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Relaxed);
        self.head_started.store(NO_HEAD, Relaxed);
    }

    fn request_ended(&self) {
        self.quiet_since.store(self.now(), Relaxed);
        self.in_flight.fetch_sub(1, Relaxed);
    }
}

pin_project! {
    /// A socket that reports what it reads and writes to the connection's `Activity`.
    pub struct Watched<T> {
        #[pin]
        io: T,
        activity: Arc<Activity>,
    }
}

impl<T> Watched<T> {
    pub fn new(io: T, activity: Arc<Activity>) -> Self {
        Self { io, activity }
    }
}

impl<T: AsyncRead> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        ready!(this.io.poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.activity.bytes_read();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let written = ready!(this.io.poll_write(cx, buf))?;
        if written > 0 {
            this.activity.bytes_written();
        }
        Poll::Ready(Ok(written))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}

pin_project! {
    /// A request's response on its way: the request counts as in flight until it is dropped.
    pub struct InFlight<F> {
        #[pin]
        response: F,
        guard: RequestGuard,
    }
}

impl<F> InFlight<F> {
    pub fn new(response: F, activity: &Arc<Activity>) -> Self {
        activity.request_started();
        Self { response, guard: RequestGuard(activity.clone()) }
    }
}

impl<F: Future> Future for InFlight<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().response.poll(cx)
    }
}

struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

pin_project! {
    /// Completes when the connection has dawdled. Poll it after the connection, so that it
    /// sees what the connection just read or wrote.
    pub struct Deadline {
        activity: Arc<Activity>,
        #[pin]
        timer: Sleep,
    }
}

impl Deadline {
    pub fn new(activity: Arc<Activity>) -> Self {
        let first = Instant::now() + activity.idle_timeout;
        Self { activity, timer: tokio::time::sleep_until(first) }
    }
}

impl Future for Deadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let now = Instant::now();
        match this.activity.closes_at() {
            Some(at) if at <= now => return Poll::Ready(()),
            Some(at) if this.timer.deadline() != at => this.timer.as_mut().reset(at),
            Some(_) => {}
            // A request in flight: look again later (its end may come from another task).
            None if this.timer.deadline() <= now => {
                let timeouts = this.activity.header_timeout.min(this.activity.idle_timeout);
                this.timer.as_mut().reset(now + timeouts);
            }
            None => {}
        }
        ready!(this.timer.poll(cx));
        // The clock moved on while deciding: decide again.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
