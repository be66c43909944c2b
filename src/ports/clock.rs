//! Time, as a port, so token expiry can be tested without waiting.

use std::time::SystemTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}
