//! Fault injection: making the service slow or failing on purpose, so that people can watch
//! their dashboards, alerts and traces react to a degradation they control.
//!
//! A room of its own, beside telemetry and apart from the core: `Faulty<P>` decorates every
//! outbound port and `FaultLayer` every route, both asking one `FaultInjector` what each call
//! gets. `startup` composes them inside the telemetry decorators, so an injected fault is
//! measured, traced and logged exactly as a real one would be; what only fault injection
//! shows (the injection counters, the `fault.injected` span events, the log lines of each
//! change) it hands to `telemetry::faults`. The plan is set at start (`plan`, `lazy`) and
//! changed at runtime through the admin API (`admin`, and `client` for the command line).
//! Faults of the whole process (a CPU burn, a leak, a log flood) run beside the requests
//! (`background`). Named incidents (`incidents`) are plans to practise on: started untold as a
//! mystery (`mystery`), or unattended by a schedule (`schedule`).

pub mod admin;
mod background;
pub mod client;
mod dice;
mod faulty;
mod http;
pub mod incidents;
mod injector;
pub mod lazy;
pub mod mystery;
pub mod plan;
pub mod schedule;

pub use faulty::Faulty;
pub use http::FaultLayer;
pub use injector::{ChangedBy, FaultInjector, MysteryError, View};
