//! What the core calls: one adapter per outbound port (or several ports, for a store), each
//! knowing one outside library and nothing of the others, of HTTP or of telemetry.

pub mod clock;
pub mod jwt;
pub mod memory;
pub mod scrypt;
pub mod sql;
pub mod throttle;
pub mod write_rate;
