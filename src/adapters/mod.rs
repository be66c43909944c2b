//! Every adapter, one file or folder each: what calls the core (the HTTP API, on the inbound
//! port `ports::UseCases`) and what the core calls (the stores, password hashing, tokens, time
//! and the write limits, on the outbound ports). Each knows one outside library and nothing of
//! the other adapters, of telemetry or of faults; `startup` wraps each one in its decorators
//! and wires them together. `tests/api/layering.rs` holds them to that.

pub mod clock;
pub mod http;
pub mod jwt;
pub mod memory;
pub mod scrypt;
pub mod sql;
pub mod throttle;
pub mod write_rate;
