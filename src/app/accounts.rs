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

    /// The unknown user's check hashes too (`PasswordHasher::verify` with `None`), so both
    /// refusals take the same time.
    async fn log_in(
        &self,
        username: Username,
        password: Password,
    ) -> Result<AccessToken, AppError> {
        let credentials = self.ports.users.find_by_username(&username).await.map_err(unexpected)?;
        let hash = credentials.as_ref().map(|found| &found.password_hash);
        let matches = self.ports.hasher.verify(&password, hash).await?;
        match credentials {
            Some(found) if matches => Ok(self.ports.tokens.issue(found.user.id)?),
            _ => Err(AppError::BadCredentials),
        }
    }

    fn authenticate(&self, token: &str) -> Result<UserId, AppError> {
        Ok(self.ports.tokens.verify(token)?)
    }
}
