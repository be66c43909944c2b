//! Registering, logging in and recognising a token.

use super::{AppError, Snackdrawer};
use crate::domain::{AccessToken, Password, User, UserId, Username};
use crate::ports::StoreError;

impl Snackdrawer {
    /// Creates an account. Registering does not log in: clients call `log_in` next.
    #[tracing::instrument(skip_all, fields(username = %username))]
    pub async fn register(&self, username: Username, password: Password) -> Result<User, AppError> {
        let hash = self.ports.hasher.hash(&password).await?;
        match self.ports.users.create(&username, &hash).await {
            Err(StoreError::Duplicate) => Err(AppError::UsernameTaken),
            other => other.map_err(AppError::from_store),
        }
    }

    /// Exchanges a username and password for an access token. An unknown user and a wrong
    /// password get the same answer after the same amount of work.
    #[tracing::instrument(skip_all, fields(username = %username))]
    pub async fn log_in(
        &self,
        username: Username,
        password: Password,
    ) -> Result<AccessToken, AppError> {
        let credentials =
            self.ports.users.find_by_username(&username).await.map_err(AppError::from_store)?;
        let hash = credentials.as_ref().map(|found| &found.password_hash);
        let matches = self.ports.hasher.verify(&password, hash).await?;
        match credentials {
            Some(found) if matches => Ok(self.ports.tokens.issue(found.user.id)?),
            _ => Err(AppError::BadCredentials),
        }
    }

    /// The user a token belongs to.
    #[tracing::instrument(skip_all)]
    pub fn authenticate(&self, token: &str) -> Result<UserId, AppError> {
        Ok(self.ports.tokens.verify(token)?)
    }
}
