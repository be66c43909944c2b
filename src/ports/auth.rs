//! Proving who someone is: password hashing and access tokens.

use super::BoxError;
use crate::domain::{AccessToken, Password, PasswordHash, UserId};
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is not one this service issued, or no longer valid.
    #[error("invalid authentication token")]
    InvalidToken,
    /// Too much hashing work is queued already; the caller should retry later.
    #[error("too many password operations in progress")]
    Overloaded,
    /// A bug or corrupt data (for example a stored hash that cannot be parsed).
    #[error("authentication machinery failed")]
    Internal(#[source] BoxError),
}

#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A salted hash of the password. MUST return `Overloaded` rather than queue without bound.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError>;

    /// Whether the password matches the hash. With `None` (an unknown user) it MUST spend the
    /// same work as a real check and answer `false`, so timing does not reveal which usernames
    /// exist. MUST return `Overloaded` rather than queue without bound.
    async fn verify(
        &self,
        password: &Password,
        hash: Option<&PasswordHash>,
    ) -> Result<bool, AuthError>;
}

pub trait TokenService: Send + Sync {
    /// A signed token that proves to `verify` that its bearer is `user`, until it expires.
    fn issue(&self, user: UserId) -> Result<AccessToken, AuthError>;

    /// The user a token was issued to. MUST return `InvalidToken` for anything that is not a
    /// current token issued by this service (bad signature, wrong algorithm, expired, missing or
    /// malformed claims, garbage), and never panic.
    fn verify(&self, token: &str) -> Result<UserId, AuthError>;
}
