//! snackdrawer-lab: one terminal to watch Snackdrawer live. It starts (or attaches to) the
//! service, drives it with snackdrawer-load, reads its metrics, faults, Prometheus's rules and
//! the traces and logs it exports, and shows them in a terminal UI. docs/lab.md is the guide.

pub mod admin;
pub mod app;
pub mod cli;
pub mod collector;
pub mod exposition;
pub mod format;
pub mod golden;
pub mod procstat;
pub mod prometheus;
pub mod run;
pub mod scrape;
pub mod screen;
pub mod slo;
pub mod state;
pub mod supervise;
pub mod terminal;
pub mod traces;
pub mod ui;
