//! Registering, logging in and recognising a token.

use super::{Snackdrawer, unexpected};
use crate::domain::{AccessToken, Password, User, UserId, Username};
use crate::ports::{Accounts, AppError, StoreError};

impl Accounts for Snackdrawer {
    async fn register(&self, username: Username, password: Password) -> Result<User, AppError> {
        let hash = self.ports.hasher.hash(&password).await?;
        match self.ports.users.create(&username, &hash).await {
            Err(StoreError::Duplicate) => Err(AppError::UsernameTaken),
            other => other.map_err(unexpected),
        }
    }

    /// The throttle is asked first, by username alone, so a held-back guess costs no hashing
    /// and says nothing about whether the user exists. The unknown user's check hashes too
    /// (`PasswordHasher::verify` with `None`), so both refusals take the same time.
    async fn log_in(
        &self,
        username: Username,
        password: Password,
    ) -> Result<AccessToken, AppError> {
        self.ports
            .login_throttle
            .attempt(&username)
            .map_err(|throttled| AppError::LoginThrottled(throttled.retry_after))?;
        let credentials = self.ports.users.find_by_username(&username).await.map_err(unexpected)?;
        let hash = credentials.as_ref().map(|found| &found.password_hash);
        let matches = self.ports.hasher.verify(&password, hash).await?;
        match credentials {
            Some(found) if matches => {
                self.ports.login_throttle.succeeded(&username);
                Ok(self.ports.tokens.issue(&found.user)?)
            }
            _ => Err(AppError::BadCredentials),
        }
    }

    /// A token names a user id and that account's key; the account must still exist with that
    /// key, so a token outlives neither its account nor a reset of the store that reused its
    /// id. That is one store look-up by primary key per authenticated request.
    async fn authenticate(&self, token: &str) -> Result<UserId, AppError> {
        let subject = self.ports.tokens.verify(token)?;
        match self.ports.users.find_by_id(subject.user).await.map_err(unexpected)? {
            Some(user) if user.key == subject.key => Ok(user.id),
            _ => Err(AppError::InvalidToken),
        }
    }
}
