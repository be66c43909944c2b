//! Traces and their log lines, received over OTLP/HTTP from the service and kept for the
//! lists and the waterfall.

pub mod receiver;
pub mod store;
