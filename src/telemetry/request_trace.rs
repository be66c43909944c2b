//! The trace identity of the request being served (trace id, span id, sampled or not), decided
//! once at the edge and kept in a task-local for everything that runs inside the request.
//!
//! Why decide before any span exists: building an OpenTelemetry span through
//! tracing-opentelemetry costs several times what the rest of the instrumentation does, and a
//! span that the sampler later drops has paid all of it. Deciding first lets a request that
//! will not be exported skip span building altogether (the subscriber's span filter,
//! `telemetry::SampledRequestsOnly`, asks `recording()`), while it still has a trace id for its
//! `x-trace-id` header and its log lines. The decision is made by the same sampler the tracer
//! provider holds, on the same trace id (`RequestIds` hands the decided id to the request's
//! span), so for every sampler `OTEL_TRACES_SAMPLER` can name, which judge by the parent and
//! the trace id alone, the two agree.
//!
//! Exemplars carry only sampled trace ids: an exemplar exists to open its trace, and an
//! unsampled trace was never sent anywhere.

use opentelemetry::Context;
use opentelemetry::trace::{SamplingDecision, SpanId, SpanKind, TraceContextExt, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, Sampler, ShouldSample};
use std::cell::Cell;
use std::sync::Arc;

/// The trace identity of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestTrace {
    pub trace_id: TraceId,
    /// The id a log line of the request carries when no OpenTelemetry span is around it (the
    /// request is not sampled); a sampled request's lines carry their spans' ids.
    pub span_id: SpanId,
    pub sampled: bool,
}

tokio::task_local! {
    static CURRENT: RequestTrace;
}

impl RequestTrace {
    /// The trace id in lowercase hex, as the `x-trace-id` header and the log lines write it.
    pub fn trace_id_hex(&self) -> [u8; 32] {
        let mut digits = [0; 32];
        hex::encode_to_slice(self.trace_id.to_bytes(), &mut digits)
            .expect("16 bytes fill 32 hex digits");
        digits
    }

    /// The span id in lowercase hex, as the log lines write it.
    pub fn span_id_hex(&self) -> [u8; 16] {
        let mut digits = [0; 16];
        hex::encode_to_slice(self.span_id.to_bytes(), &mut digits)
            .expect("8 bytes fill 16 hex digits");
        digits
    }

    /// Decides for a request named `name` (`GET /drawers/{id}`) whose caller's context is
    /// `parent` (empty when no `traceparent` came): the caller's trace id or a new one, and
    /// the sampler's verdict.
    pub fn decide(sampler: &TraceSampler, parent: &Context, name: &str) -> Self {
        let ids = RandomIdGenerator::default();
        let remote = parent.span().span_context().clone();
        let trace_id = if remote.is_valid() { remote.trace_id() } else { ids.new_trace_id() };
        let verdict =
            sampler.should_sample(Some(parent), trace_id, name, &SpanKind::Server, &[], &[]);
        Self {
            trace_id,
            span_id: ids.new_span_id(),
            sampled: verdict.decision == SamplingDecision::RecordAndSample,
        }
    }

    /// Runs `work` with this as the current request trace.
    pub fn scope<R>(self, work: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self, work)
    }

    /// Opens the request's own span with `open`, inside the request's scope, handing the
    /// decided trace id to the tracer for that one span.
    pub fn open_span(self, open: impl FnOnce() -> tracing::Span) -> tracing::Span {
        self.scope(|| {
            NEXT_TRACE_ID.set(Some(self.trace_id));
            let span = open();
            NEXT_TRACE_ID.set(None);
            span
        })
    }

    /// The request being served on this task, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(|trace| *trace).ok()
    }

    /// The trace id an exemplar should carry: this trace's, if it is sampled.
    pub fn exemplar(self) -> Option<TraceId> {
        self.sampled.then_some(self.trace_id)
    }
}

/// Whether spans opened now should become OpenTelemetry spans: not inside a request that
/// was not sampled. Outside requests (start-up, background work) the tracer's own sampler
/// decides as usual.
pub fn recording() -> bool {
    CURRENT.try_with(|trace| trace.sampled).unwrap_or(true)
}

/// The sampler shared by the request decision and the tracer provider.
#[derive(Clone, Debug)]
pub struct TraceSampler(Arc<dyn ShouldSample>);

impl TraceSampler {
    pub fn new(sampler: impl ShouldSample + 'static) -> Self {
        Self(Arc::new(sampler))
    }

    /// Samples every request, or follows the caller's decision (OpenTelemetry's default).
    pub fn always() -> Self {
        Self::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
    }

    /// Samples nothing, whatever the caller decided: nothing is exported anyway.
    pub fn never() -> Self {
        Self::new(Sampler::AlwaysOff)
    }
}

impl From<Box<dyn ShouldSample>> for TraceSampler {
    fn from(sampler: Box<dyn ShouldSample>) -> Self {
        Self(Arc::from(sampler))
    }
}

impl ShouldSample for TraceSampler {
    fn should_sample(
        &self,
        parent: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        kind: &SpanKind,
        attributes: &[opentelemetry::KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> opentelemetry::trace::SamplingResult {
        self.0.should_sample(parent, trace_id, name, kind, attributes, links)
    }
}

thread_local! {
    /// The trace id `open_span` hands to the request span being opened on this thread.
    static NEXT_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// The tracer's id generator: the request span opened by `open_span` takes the request's
/// decided trace id (so the sampler sees the id it already judged); every other id is random.
#[derive(Debug, Default)]
pub struct RequestIds(RandomIdGenerator);

impl IdGenerator for RequestIds {
    fn new_trace_id(&self) -> TraceId {
        NEXT_TRACE_ID.take().unwrap_or_else(|| self.0.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        self.0.new_span_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{local_tracer_provider, registry, trace_layer};
    use opentelemetry::trace::{SpanContext, TraceFlags};
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;

    fn caller(sampled: bool) -> Context {
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            flags,
            true,
            Default::default(),
        ))
    }

    fn trace_id(span: &tracing::Span) -> TraceId {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        span.context().span().span_context().trace_id()
    }

    #[test]
    fn a_caller_s_trace_is_continued_and_its_decision_followed() {
        for sampled in [true, false] {
            let trace = RequestTrace::decide(&TraceSampler::always(), &caller(sampled), "GET /");
            assert_eq!(trace.trace_id, caller(sampled).span().span_context().trace_id());
            assert_eq!(trace.sampled, sampled);
            assert_eq!(trace.exemplar().is_some(), sampled);
        }
    }

    #[test]
    fn without_a_caller_the_sampler_decides_on_a_new_trace() {
        let sampled = RequestTrace::decide(&TraceSampler::always(), &Context::new(), "GET /");
        let unsampled = RequestTrace::decide(&TraceSampler::never(), &Context::new(), "GET /");
        assert!(sampled.sampled && !unsampled.sampled);
        assert_ne!(unsampled.trace_id, TraceId::INVALID);
        assert_ne!(unsampled.span_id, SpanId::INVALID);
    }

    #[test]
    fn spans_open_only_in_sampled_requests_and_take_the_decided_trace_id() {
        let provider = local_tracer_provider(TraceSampler::always());
        let subscriber = registry(Targets::new()).with(trace_layer(&provider, Targets::new()));
        tracing::subscriber::with_default(subscriber, || {
            assert!(recording(), "outside a request the tracer's sampler decides");
            assert!(!tracing::info_span!("background").is_disabled());
            let unsampled = RequestTrace::decide(&TraceSampler::never(), &Context::new(), "x");
            unsampled.scope(|| {
                assert!(!recording());
                assert!(tracing::info_span!("unsampled").is_disabled());
                assert_eq!(RequestTrace::current(), Some(unsampled));
            });
            let sampled = RequestTrace::decide(&TraceSampler::always(), &Context::new(), "x");
            let span = sampled.open_span(|| tracing::info_span!(parent: None, "sampled"));
            assert!(!span.is_disabled());
            assert_eq!(trace_id(&span), sampled.trace_id);
            // The hand-off is for the request span alone: another root is another trace.
            let other = sampled.scope(|| tracing::info_span!(parent: None, "other"));
            assert_ne!(trace_id(&other), sampled.trace_id);
            assert_eq!(RequestTrace::current(), None);
        });
    }
}
