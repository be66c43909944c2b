//! The api binary's harness: the cheap auth adapters (`auth`), the in-process client of the real
//! router (`client`, `requests`), a fresh store of each kind (`stores`), an application on one
//! (`TestApp`), the real binary as a child process (`server`) with an HTTP client of it
//! (`remote`), and a relay to PostgreSQL that can fail like a network or a server (`relay`).

pub mod auth;
pub mod client;
pub mod relay;
pub mod remote;
mod requests;
pub mod server;
pub mod stores;
pub mod test_app;

pub use test_app::TestApp;
