//! The core's boundary: the inbound port the outside world calls (`UseCases`, in four parts), and the
//! outbound ports the core calls (repositories, password hashing, tokens, login throttling,
//! time), and the store's connection pool, which only the outside reads (`pool`).
//!
//! Each port is narrow enough that an in-memory fake is a page of code, and each method's
//! documentation states which error it MUST return in which case, so every adapter (SQL, memory,
//! and the decorators that wrap them) can be held to the same contract by the same tests.

mod auth;
mod clock;
mod inbound;
pub mod methods;
mod pool;
mod rate;
mod store;

pub use auth::{AuthError, LoginThrottle, PasswordHasher, Throttled, TokenService, TokenSubject};
pub use clock::Clock;
pub use inbound::{
    Access, Accounts, AppError, Catalogue, Drawers, Readiness, UseCases, retry_after_seconds,
};
pub use pool::{ConnectionPool, Connections, Loan};
pub use rate::{WriteRate, WriteThrottled};
pub use store::{
    DrawerRepository, Freshness, SnackRepository, StoreError, StoreHealth, UserRepository,
};

/// Any error from below a port, kept as the cause without the core knowing its type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
