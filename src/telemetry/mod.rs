//! Everything that makes Snackdrawer visible, kept outside the core: the set-up of logs and
//! traces (`setup`), the metrics registry and its exposition (`metrics`), the per-request
//! trace decision (`request_trace`), the HTTP request layer and `/metrics` (`http`), the access
//! line it writes (`access_line`), and `Observed<P>`, the decorator that gives every port,
//! inbound and outbound, its spans and function-call series (`observed`), how injected faults
//! show (`faults`), and the budget that keeps floods of alike warnings to a line per interval
//! (`log_budget`). `startup` puts them around the core and the adapters; nothing here knows
//! which adapters those are.

mod access_line;
pub mod faults;
pub mod http;
mod log_budget;
pub mod metrics;
mod observed;
pub mod request_trace;
mod setup;

pub use observed::Observed;
pub use setup::{
    SampledRequestsOnly, Telemetry, TelemetryError, TraceSettings, error_chain, init, json_logs,
    local_tracer_provider, log_levels, registry, trace_layer,
};
