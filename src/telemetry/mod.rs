//! Everything that makes Snackdrawer visible, kept outside the core: the set-up of logs and
//! traces (`setup`), the metrics registry and its exposition (`metrics`), the per-request
//! trace decision (`request_trace`), the HTTP request layer and `/metrics` (`http`), the access
//! line it writes (`access_line`), and `Observed<P>`, the decorator that gives every port,
//! inbound and outbound, its spans and function-call series (`observed`), how injected faults
//! show (`faults`), and the budget that keeps floods of alike warnings to a line per interval
//! (`log_budget`), and the facts the request span gathers as a wide event (`wide_event`). Where spans and log records are exported is `otlp` (with `honeycomb`, its
//! one-variable default); the text lines are `text_logs`, the OTLP log records `otlp_logs`.
//! `startup` puts them around the core and the adapters; nothing here knows which adapters
//! those are.

mod access_line;
pub mod faults;
pub mod honeycomb;
pub mod http;
mod log_budget;
pub mod metrics;
mod observed;
mod otlp;
mod otlp_logs;
pub mod request_trace;
mod setup;
mod text_logs;
pub mod wide_event;

pub use observed::Observed;
pub use otlp::{OtlpError, OtlpSettings};
pub use otlp_logs::{logger_provider, otlp_logs};
pub use setup::{
    SampledRequestsOnly, Telemetry, TelemetryError, TraceSettings, error_chain, init,
    json_and_otlp_logs, json_logs, local_tracer_provider, log_levels, registry, trace_layer,
};
pub use text_logs::text_logs;
