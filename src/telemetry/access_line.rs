//! The access line, and a JSON writer of its own for requests that are not traced.
//!
//! Why not always through the JSON log layer: every request writes this line, and most are not
//! traced. Through `json_logs` (the `json-subscriber` crate) the line cost about 20,000
//! instructions, nearly half again what the rest of a request costs on the memory store:
//! the layer gathers the event's fields into a map of owned values, checks every write for UTF-8
//! and formats the timestamp and the ids through `fmt`. This line's fields are fixed, so for a
//! request that is not traced they are written here in one pass into a buffer kept per thread,
//! and handed to the layer's writer in one write. It is the line the layer would write, byte for
//! byte but for the time: the same keys in the same order, the same number and timestamp formats;
//! the test below writes lines both ways and compares them, so neither can drift alone. A
//! traced request keeps the layer's line, which also shows its span (its spans cost far more
//! than the line), and so do text logs, which have no such writer.

use super::request_trace::RequestTrace;
use std::cell::RefCell;
use std::io::Write;
use std::time::{Duration, SystemTime};
use tracing::{Dispatch, Level, Span};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;

/// The access line's target, which `RUST_LOG` can name.
pub const TARGET: &str = "snackdrawer::access";

/// What the access line says about one request, answered or abandoned.
pub struct AccessLine<'a> {
    pub method: &'a str,
    /// The route template (`/drawers/{id}`), or `unmatched`.
    pub route: &'a str,
    pub status: u16,
    pub duration: Duration,
}

impl AccessLine<'_> {
    /// Logs the line of the request `trace` identifies, whose span is `span` (disabled when
    /// the request is not traced): written here when the request is not traced and the logs
    /// are JSON, as a tracing event otherwise. `RUST_LOG` decides either way.
    pub fn log(&self, span: &Span, trace: RequestTrace) {
        if trace.sampled || !self.write_json(trace) {
            self.log_event(span);
        }
    }

    /// The line as a tracing event, for the log layers to format.
    fn log_event(&self, span: &Span) {
        // An explicit parent gives the log layers the span's context without entering it.
        tracing::info!(
            target: TARGET,
            parent: span,
            method = self.method,
            route = self.route,
            status = self.status,
            duration_ms = self.duration_ms(),
            "request served"
        );
    }

    fn duration_ms(&self) -> f64 {
        self.duration.as_secs_f64() * 1000.0
    }

    /// Writes the line to the JSON logs' writer, if the log filter lets it through (asked as
    /// the event would be); false if the line is left to the log layers: the current subscriber
    /// has no such writer (text logs), the clock is outside what the formatter handles, or the
    /// thread's buffer cannot be had.
    fn write_json(&self, trace: RequestTrace) -> bool {
        thread_local! {
            static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        // Cloned out rather than used inside `get_default`, where `enabled!` would find no
        // subscriber; the global one clones without a reference count.
        let dispatch = tracing::dispatcher::get_default(Dispatch::clone);
        let Some(writer) = dispatch.downcast_ref::<AccessLineWriter>() else {
            return false;
        };
        if !tracing::enabled!(target: TARGET, Level::INFO) {
            return true;
        }
        // Without the buffer (the thread is ending, or it is somehow in use) the log layers
        // write the line instead.
        let written = LINE.try_with(|line| {
            let Ok(mut line) = line.try_borrow_mut() else {
                return false;
            };
            line.clear();
            let formatted = self.format_json(trace, &mut line);
            if formatted {
                (writer.write)(&line);
            }
            formatted
        });
        written.unwrap_or(false)
    }

    /// The line as `json_logs` writes it for a request that is not traced, newline included;
    /// false if the clock is before 1970 or after 9999, which humantime does not format.
    fn format_json(&self, trace: RequestTrace, line: &mut Vec<u8>) -> bool {
        let now = SystemTime::now();
        if now < SystemTime::UNIX_EPOCH {
            return false;
        }
        let (trace_id, span_id) = (trace.trace_id_hex(), trace.span_id_hex());
        line.extend_from_slice(br#"{"level":"INFO","target":"#);
        json_value(line, TARGET);
        line.extend_from_slice(br#","timestamp":""#);
        // The layer's timer, `tracing_subscriber::fmt::time::SystemTime`, writes microseconds too.
        if write!(line, "{}", humantime::format_rfc3339_micros(now)).is_err() {
            return false;
        }
        line.extend_from_slice(br#"","trace_id":""#);
        line.extend_from_slice(&trace_id);
        line.extend_from_slice(br#"","span_id":""#);
        line.extend_from_slice(&span_id);
        line.extend_from_slice(br#"","duration_ms":"#);
        json_value(line, &self.duration_ms());
        line.extend_from_slice(br#","message":"request served","method":"#);
        json_value(line, self.method);
        line.extend_from_slice(br#","route":"#);
        json_value(line, self.route);
        line.extend_from_slice(br#","status":"#);
        json_value(line, &self.status);
        line.extend_from_slice(b"}\n");
        true
    }
}

/// `value` as JSON, escaped and formatted as the layer's serde_json does it.
fn json_value(line: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    serde_json::to_writer(line, value).expect("strings and numbers always serialise");
}

/// The JSON logs' writer, for the access line: a layer that does nothing but sit next to the
/// JSON log layer (`json_logs`), under the same filter, so the access line finds it through the
/// current subscriber and writes where that layer writes.
pub struct AccessLineWriter {
    write: Box<WriteLine>,
}

/// Writes one whole line.
type WriteLine = dyn Fn(&[u8]) + Send + Sync;

impl AccessLineWriter {
    pub fn new<W>(make_writer: W) -> Self
    where
        W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
    {
        // As the layer does, a line that cannot be written is dropped.
        let write = move |line: &[u8]| {
            let _ = make_writer.make_writer().write_all(line);
        };
        Self { write: Box::new(write) }
    }
}

/// Found by type (`Dispatch::downcast_ref`), which the default `downcast_raw` answers.
impl<S: tracing::Subscriber> Layer<S> for AccessLineWriter {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::request_trace::TraceSampler;
    use crate::telemetry::{json_logs, log_levels, registry};
    use opentelemetry::Context;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    /// What the logs wrote, shared with the subscriber that writes it.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        fn lines(&self) -> Vec<String> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines().map(str::to_owned).collect()
        }
    }

    impl Write for Captured {
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

    fn unsampled_request() -> RequestTrace {
        RequestTrace::decide(&TraceSampler::never(), &Context::new(), "GET /snacks/")
    }

    /// Lines with awkward values: a float that prints with 17 digits, zero, a long request,
    /// the status of a client that hung up, and a route that needs escaping.
    fn awkward_lines() -> [AccessLine<'static>; 4] {
        let line = |method, route, status, duration| AccessLine { method, route, status, duration };
        [
            line("GET", "/snacks/", 200, Duration::from_nanos(92_327)),
            line("DELETE", "/drawers/{id}/snacks/{snack_id}", 499, Duration::ZERO),
            line("POST", "/auth/login", 503, Duration::from_secs(3600) + Duration::from_nanos(1)),
            line("GET", "unmatched \"quoted\" \\ ü \u{1}\t", 404, Duration::from_micros(1500)),
        ]
    }

    /// `"timestamp":"…"` of a JSON log line, checked to be RFC 3339 in UTC with microseconds,
    /// as `tracing_subscriber::fmt::time::SystemTime` writes it.
    fn timestamp(line: &str) -> &str {
        let parsed: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let rfc3339 = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$").unwrap();
        let timestamp = parsed["timestamp"].as_str().expect("a timestamp");
        assert!(rfc3339.is_match(timestamp), "{timestamp} in {line}");
        let at = line.find(timestamp).expect("the timestamp as written");
        &line[at..at + timestamp.len()]
    }

    #[test]
    fn the_hand_written_line_is_the_json_layer_s_line_but_for_the_time() {
        let logs = Captured::default();
        let subscriber = registry(log_levels()).with(json_logs(logs.clone()));
        let trace = unsampled_request();
        tracing::subscriber::with_default(subscriber, || {
            trace.scope(|| {
                for line in awkward_lines() {
                    assert!(line.write_json(trace), "the JSON logs have an access line writer");
                    line.log_event(&Span::none());
                }
            })
        });
        let lines = logs.lines();
        assert_eq!(lines.len(), 2 * awkward_lines().len(), "{lines:#?}");
        for pair in lines.chunks(2) {
            let (by_hand, by_layer) = (&pair[0], &pair[1]);
            let at_layer_time = by_hand.replace(timestamp(by_hand), timestamp(by_layer));
            assert_eq!(&at_layer_time, by_layer, "written by hand, then by the JSON layer");
        }
    }

    #[test]
    fn text_logs_get_the_line_as_an_event() {
        let logs = Captured::default();
        let text = tracing_subscriber::fmt::layer().with_writer(logs.clone()).with_ansi(false);
        let subscriber = registry(log_levels()).with(text);
        let trace = unsampled_request();
        tracing::subscriber::with_default(subscriber, || {
            trace.scope(|| awkward_lines()[0].log(&Span::none(), trace))
        });
        let lines = logs.lines();
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(lines[0].contains("request served") && !lines[0].starts_with('{'), "{lines:#?}");
    }
}
