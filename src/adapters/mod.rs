//! Everything that touches the outside world, each behind a port.

pub mod clock;
pub mod http;
pub mod jwt;
pub mod memory;
pub mod metrics;
pub mod observed;
pub mod request_trace;
pub mod scrypt;
pub mod sql;
