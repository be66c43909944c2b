//! The integration tests that can share a process, in one binary, a module per feature.
//!
//! A test that needs a process of its own, because it reads or sets process-wide state, is a
//! binary of its own beside this one: `tests/metrics.rs`, `tests/callsite_interest.rs`.

mod support;

mod access_log;
mod binary;
mod connections;
mod contract;
mod disk_full;
mod fault_binary;
mod faults;
mod incident_binary;
mod layering;
mod logins;
mod otlp_export;
mod otlp_receiver;
mod persistence;
mod races;
mod read_cache;
mod settings;
mod store_contract;
mod store_outages;
mod tokens;
mod traces;
mod use_cases;
mod wide_events;
