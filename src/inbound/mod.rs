//! What calls the core: adapters that turn the outside world's requests into calls on the
//! inbound port (`ports::UseCases`). Today that is the HTTP API; each inbound adapter takes only
//! the settings it needs, and none of them knows how it is observed.

pub mod http;
