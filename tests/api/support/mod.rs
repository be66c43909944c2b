//! The api binary's harness: an application on a fresh store of each kind, driven in-process
//! through the real router (`TestApp`), and the real binary as a child process (`server`).

pub mod auth;
pub mod client;
mod requests;
pub mod server;
pub mod stores;
pub mod test_app;

pub use test_app::TestApp;
