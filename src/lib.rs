//! Snackdrawer: a REST API for snacks and drawers, built to be watched.
//!
//! The crate is a library so tests and extra binaries reuse it; `main.rs` only parses the
//! configuration and calls [`startup::Application`]. The layers follow `shared/DESIGN.md`:
//! [`domain`] and [`ports`] and [`app`] are the core and name no outside library; [`adapters`]
//! connect the core to HTTP, storage and crypto.

pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
pub mod ports;
pub mod startup;
pub mod telemetry;
