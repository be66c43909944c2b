//! Proving who someone is: password hashing, access tokens, and holding back password guessing.

use super::BoxError;
use crate::domain::{
    AccessToken, ClientAddress, Password, PasswordHash, User, UserId, UserKey, Username,
};
use async_trait::async_trait;
use std::time::Duration;

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

/// Whom a token names: a user id and the key of the account that had it when the token was
/// issued. Only the store can say whether that account still exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSubject {
    pub user: UserId,
    pub key: UserKey,
}

pub trait TokenService: Send + Sync {
    /// A signed token that proves to `verify` that its bearer is `user` (its id and key), until
    /// it expires.
    fn issue(&self, user: &User) -> Result<AccessToken, AuthError>;

    /// Whom a token was issued to. MUST return `InvalidToken` for anything that is not a
    /// current token issued by this service (bad signature, wrong algorithm, expired, not valid
    /// yet, issued in the future, missing or malformed claims, garbage), and never panic.
    fn verify(&self, token: &str) -> Result<TokenSubject, AuthError>;
}

/// A login refused because too many failed ones for the same username came just before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins for this username")]
pub struct Throttled {
    /// How long until an attempt for this username is let through again.
    pub retry_after: Duration,
}

/// Holds back password guessing against one username, whoever guesses and whether or not the
/// user exists, without locking its owner out: failures are counted per username and per
/// username and client address.
pub trait LoginThrottle: Send + Sync {
    /// Called before any password work for every login attempt: MUST refuse it while failed
    /// attempts for `username` from `from` hold it back, and while failed attempts for
    /// `username` from anywhere hold it back unless `from` has no recent failure for it (so its
    /// owner, elsewhere, can still log in), with a wait that grows with the failures. A
    /// username being guessed MUST stay held back however many other usernames are tried.
    /// Otherwise it counts the attempt as a failure until `succeeded` says otherwise (so that
    /// concurrent guesses are counted before any of them is checked).
    fn attempt(&self, username: &Username, from: ClientAddress) -> Result<(), Throttled>;

    /// The attempt let through for `username` from `from` had the right password: forget its
    /// failures from there, and the username's own.
    fn succeeded(&self, username: &Username, from: ClientAddress);

    /// The attempt let through for `username` from `from` ended without telling whether the
    /// password was right (the hasher was overloaded, the client went away): it does not count.
    fn abandoned(&self, username: &Username, from: ClientAddress);
}
