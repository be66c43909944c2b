//! Snackdrawer: a REST API for snacks and drawers, built to be watched.
//!
//! The crate is a hexagon, and its folders say so. [`domain`], [`ports`] and [`app`] are the
//! core and name no outside library but `async-trait` and `thiserror`. [`adapters`] holds every
//! adapter: what calls the core (the HTTP API) and what the core calls (stores, hashing,
//! tokens, time). [`telemetry`] holds the decorators and layers that make both sides visible,
//! and [`chaos`] those that make either side fail on purpose (fault injection, lazy mode). Only
//! [`startup`] knows every room: it wraps each adapter and serves. The crate is a library so
//! tests and benchmarks reuse it; `main.rs` parses the [`config`] and calls [`startup`].

pub mod adapters;
pub mod app;
pub mod chaos;
pub mod config;
pub mod domain;
pub mod ports;
pub mod startup;
pub mod telemetry;
