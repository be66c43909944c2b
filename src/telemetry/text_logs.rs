//! Log lines for people: tracing-subscriber's full text format, with every line written inside
//! a request ending in ` trace_id=…`, the id its `x-trace-id` header carries.
//!
//! Why: the text format shows the spans around a line by name and fields, not by id, and a
//! request that is not sampled has no spans at all, so on a terminal nothing tied a line to the
//! id a user hands over. The id is appended after the line is formatted (and colours are kept),
//! rather than written as a field, because field formatting is shared with spans' fields.

use super::setup::{line_ids, log_filter};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::{DefaultFields, Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// Text lines to `make_writer`, filtered by `RUST_LOG` (`info` when unset), with ANSI colours.
pub fn text_logs<S, W>(make_writer: W) -> impl Layer<S>
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(DefaultFields::new())
        .event_format(EndingInTraceId)
        .with_writer(make_writer)
        .with_filter(log_filter())
}

/// The default full format, with ` trace_id=…` at the end of a line written inside a request.
struct EndingInTraceId;

impl<S, N> FormatEvent<S, N> for EndingInTraceId
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
    N: for<'writer> FormatFields<'writer> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        // The writer's colour setting cannot be passed to a writer of one's own; the format's can.
        let format = Format::default().with_ansi(writer.has_ansi_escapes());
        let Some((trace_id, _)) = line_ids(ctx.event_scope()) else {
            return format.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        format.format_event(ctx, Writer::new(&mut line), event)?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        writeln!(writer, "{line} trace_id={trace_id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::request_trace::{RequestTrace, TraceSampler};
    use crate::telemetry::{local_tracer_provider, log_levels, registry, trace_layer};
    use opentelemetry::Context;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(bytes)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl MakeWriter<'_> for Captured {
        type Writer = Self;

        fn make_writer(&self) -> Self {
            self.clone()
        }
    }

    /// The lines written for one warning inside a request decided by `sampler`, and outside.
    fn lines(sampler: TraceSampler) -> (RequestTrace, Vec<String>) {
        let logs = Captured::default();
        let provider = local_tracer_provider(sampler.clone());
        let subscriber = registry(log_levels())
            .with(trace_layer(&provider, log_levels()))
            .with(text_logs(logs.clone()));
        let trace = RequestTrace::decide(&sampler, &Context::new(), "GET /snacks/");
        tracing::subscriber::with_default(subscriber, || {
            let span = trace.open_span(|| tracing::info_span!("request", route = "/snacks/"));
            trace.scope(|| span.in_scope(|| tracing::warn!(status = 503, "request failed")));
            tracing::info!("outside any request");
        });
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        // Colours are on unless NO_COLOR is set; the words are what is checked.
        let text =
            regex::Regex::new("\x1b\\[[0-9;]*m").unwrap().replace_all(&text, "").into_owned();
        (trace, text.lines().map(str::to_owned).collect())
    }

    #[test]
    fn a_line_inside_a_request_ends_with_its_trace_id_sampled_or_not() {
        for sampler in [TraceSampler::never(), TraceSampler::always()] {
            let (trace, lines) = lines(sampler);
            assert_eq!(lines.len(), 2, "{lines:#?}");
            let trace_id = format!(" trace_id={}", trace.trace_id);
            assert!(lines[0].contains("request failed status=503"), "{lines:#?}");
            assert!(lines[0].ends_with(&trace_id), "sampled {}: {lines:#?}", trace.sampled);
            assert!(!lines[1].contains("trace_id="), "{lines:#?}");
        }
    }
}
