//! What the subscriber costs where nobody listens: a log callsite below every level must be
//! refused once, when it registers, and never asked about again.
//!
//! Separate binary: interest is cached per callsite across every subscriber in the process.

use snackdrawer::telemetry::request_trace::TraceSampler;
use snackdrawer::telemetry::{local_tracer_provider, registry, trace_layer};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tracing::Level;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn events_nobody_wants_are_refused_at_their_callsite() {
    // A log layer whose filter refuses everything and counts how often it is asked.
    let asked = Arc::new(AtomicUsize::new(0));
    let counting = {
        let asked = asked.clone();
        filter_fn(move |_| {
            asked.fetch_add(1, Ordering::SeqCst);
            false
        })
    };
    let provider = local_tracer_provider(TraceSampler::always());
    let levels = Targets::new().with_default(Level::INFO);
    let subscriber = registry(levels.clone())
        .with(trace_layer(&provider, levels))
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink).with_filter(counting));
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..10 {
            tracing::debug!("below every level: decided once, when the callsite registers");
        }
    });
    let asked = asked.load(Ordering::SeqCst);
    assert!(asked <= 1, "the log filter was asked {asked} times");
}
