//! Registering, logging in and recognising a token.

use super::{Snackdrawer, unexpected};
use crate::domain::{
    AccessToken, ClientAddress, Credentials, LoginName, Password, User, UserId, Username,
};
use crate::ports::{Access, Accounts, AppError, Freshness, LoginThrottle, StoreError, Throttled};

impl Accounts for Snackdrawer {
    async fn register(&self, username: Username, password: Password) -> Result<User, AppError> {
        let hash = self.ports.hasher.hash(&password).await?;
        match self.ports.users.create(&username, &hash).await {
            Err(StoreError::Duplicate) => Err(AppError::UsernameTaken),
            other => other.map_err(unexpected),
        }
    }

    /// The throttle is asked first, by username and client address, so a held-back guess
    /// costs no hashing and says nothing about whether the user exists. The unknown user's
    /// check hashes too (`PasswordHasher::verify` with `None`), so both refusals take the same
    /// time.
    async fn log_in(
        &self,
        name: LoginName,
        password: Password,
        from: ClientAddress,
    ) -> Result<AccessToken, AppError> {
        let attempt = Attempt::begin(&*self.ports.login_throttle, &name.folded, from)?;
        let credentials = self.account_named(&name).await?;
        let hash = credentials.as_ref().map(|found| &found.password_hash);
        let matches = self.ports.hasher.verify(&password, hash).await?;
        match credentials {
            Some(found) if matches => {
                attempt.succeeded();
                Ok(self.ports.tokens.issue(&found.user)?)
            }
            _ => {
                attempt.failed();
                Err(AppError::BadCredentials)
            }
        }
    }

    /// A token names a user id and that account's key; the account must still exist with that
    /// key, so a token outlives neither its account nor a reset of the store that reused its
    /// id. That is one store look-up by primary key per authenticated request; a read may be
    /// answered from a copy the store kept, a write never is (decision 0012).
    async fn authenticate(&self, token: &str, access: Access) -> Result<UserId, AppError> {
        let subject = self.ports.tokens.verify(token)?;
        let freshness = match access {
            Access::Read => Freshness::MayBeKept,
            Access::Write => Freshness::Current,
        };
        let found = self.ports.users.find_by_id(subject.user, freshness).await;
        match found.map_err(unexpected)? {
            Some(user) if user.key == subject.key => Ok(user.id),
            _ => Err(AppError::InvalidToken),
        }
    }
}

impl Snackdrawer {
    /// The account a login names: registered under the name as typed (as before usernames
    /// were folded), else under its folded form. The throttle counts the folded form, which
    /// every spelling that reaches the account shares.
    async fn account_named(&self, name: &LoginName) -> Result<Option<Credentials>, AppError> {
        let users = &self.ports.users;
        let typed = users.find_by_username(&name.typed).await.map_err(unexpected)?;
        if typed.is_some() || name.folded == name.typed {
            return Ok(typed);
        }
        users.find_by_username(&name.folded).await.map_err(unexpected)
    }
}

/// A login attempt the throttle let through, until it is settled: it stays counted as a failure
/// if `failed`, is forgotten with the others if `succeeded`, and is handed back if dropped
/// unsettled (an error before the password was judged, or the request cancelled).
struct Attempt<'a> {
    throttle: &'a dyn LoginThrottle,
    username: &'a Username,
    from: ClientAddress,
    settled: bool,
}

impl<'a> Attempt<'a> {
    fn begin(
        throttle: &'a dyn LoginThrottle,
        username: &'a Username,
        from: ClientAddress,
    ) -> Result<Self, AppError> {
        let refused = |held: Throttled| AppError::LoginThrottled(held.retry_after);
        throttle.attempt(username, from).map_err(refused)?;
        Ok(Self { throttle, username, from, settled: false })
    }

    fn succeeded(mut self) {
        self.throttle.succeeded(self.username, self.from);
        self.settled = true;
    }

    fn failed(mut self) {
        self.settled = true;
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.abandoned(self.username, self.from);
        }
    }
}
