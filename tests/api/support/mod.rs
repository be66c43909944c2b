//! The api binary's harness: the cheap auth adapters (`auth`), the in-process client of the real
//! router (`client`, `requests`), a fresh store of each kind (`stores`), an application on one
//! (`TestApp`), and the real binary as a child process (`server`).

pub mod auth;
pub mod client;
mod requests;
pub mod server;
pub mod stores;
pub mod test_app;

pub use test_app::TestApp;
