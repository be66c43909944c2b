//! A persona's own account, used the way a real client uses one: register a fresh user, log in,
//! send the token in the header this user was given (half the users `x-access-token`, half
//! `Authorization: Bearer`), and on a 401 log in again and retry once, as a client with a
//! short-lived token has to. Kept in the user's agent.

use crate::agent::agent;
use crate::contract;
use crate::exchange::{Call, Exchange, send};
use crate::ledger::{Account, Ledger};
use goose::prelude::*;
use hyper::{Method, StatusCode};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::json;

/// Attempts at registering or logging in while the service sheds load (503) or a login limit
/// holds the client back (429).
const CREDENTIAL_ATTEMPTS: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenHeader {
    XAccessToken,
    Bearer,
}

impl TokenHeader {
    /// Even users send `x-access-token`, odd ones `Authorization: Bearer`.
    pub fn for_user(weighted_users_index: usize) -> Self {
        if weighted_users_index.is_multiple_of(2) { Self::XAccessToken } else { Self::Bearer }
    }

    /// The header that carries `token`: its name and value.
    pub fn header(self, token: &str) -> (&'static str, String) {
        match self {
            Self::XAccessToken => ("x-access-token", token.to_owned()),
            Self::Bearer => ("authorization", format!("Bearer {token}")),
        }
    }

    pub fn carry(self, call: Call, token: &str) -> Call {
        let (name, value) = self.header(token);
        call.header(name, value)
    }
}

#[derive(Clone)]
pub struct Session {
    pub account: Account,
    pub token: String,
    pub token_header: TokenHeader,
}

/// This user's session; an error when signing up failed at start.
pub fn session(user: &mut GooseUser) -> Result<Session, Box<TransactionError>> {
    let session = agent(user)?.session.clone();
    session.ok_or_else(|| "this user has no session: signing up failed".to_owned().into())
}

/// Registers a fresh user named after `prefix`, logs in, keeps the session and files the
/// account in the ledger.
pub async fn sign_up(
    user: &mut GooseUser,
    ledger: &Ledger,
    prefix: &str,
) -> Result<Session, Box<TransactionError>> {
    let username = ledger.fresh_name(prefix);
    let password: String = rand::rng().sample_iter(Alphanumeric).take(24).map(char::from).collect();
    let credentials = json!({"username": username, "password": password});
    let registered = post_credentials(user, ledger, "/auth/users", &credentials).await?;
    let user_id = registered.get("id").and_then(serde_json::Value::as_u64).unwrap_or_default();
    let account = Account { username, password, user_id };
    let token = log_in(user, ledger, &account).await?;
    ledger.add_account(account.clone());
    let session =
        Session { account, token, token_header: TokenHeader::for_user(user.weighted_users_index) };
    agent(user)?.session = Some(session.clone());
    Ok(session)
}

pub async fn log_in(
    user: &mut GooseUser,
    ledger: &Ledger,
    account: &Account,
) -> Result<String, Box<TransactionError>> {
    let credentials = json!({"username": account.username, "password": account.password});
    let answer = post_credentials(user, ledger, "/auth/login", &credentials).await?;
    let token = answer.get("token").and_then(serde_json::Value::as_str);
    Ok(token.ok_or("the login answer has no token")?.to_owned())
}

/// Sends `call` with this user's token; on a 401, logs in again and sends it once more.
pub async fn send_with_token(
    user: &mut GooseUser,
    ledger: &Ledger,
    call: Call,
) -> Result<Exchange, Box<TransactionError>> {
    let session = session(user)?;
    let first =
        send(user, ledger, session.token_header.carry(call.clone(), &session.token)).await?;
    if first.status() != Some(StatusCode::UNAUTHORIZED) {
        return Ok(first);
    }
    let token = log_in(user, ledger, &session.account).await?;
    agent(user)?.session = Some(Session { token: token.clone(), ..session.clone() });
    send(user, ledger, session.token_header.carry(call, &token)).await
}

/// Posts credentials until the answer is neither a 503 nor a 429 (waiting as each says), and
/// returns its JSON body.
async fn post_credentials(
    user: &mut GooseUser,
    ledger: &Ledger,
    path: &'static str,
    credentials: &serde_json::Value,
) -> Result<serde_json::Value, Box<TransactionError>> {
    for _ in 0..CREDENTIAL_ATTEMPTS {
        let call = Call::new(Method::POST, path, path).json(credentials).expect(201);
        let exchange = send(user, ledger, call).await?;
        let reply = exchange.reply.as_ref();
        if let Some(reply) = reply.filter(|reply| reply.status.is_success()) {
            return reply.json().ok_or_else(|| format!("{path} answered no JSON").into());
        }
        match reply.and_then(|reply| contract::retry_after(reply.status, &reply.headers)) {
            Some(wait) => tokio::time::sleep(wait).await,
            None => return Err(format!("{path} failed:\n{}", exchange.example().response).into()),
        }
    }
    Err(format!("{path} kept answering 503 or 429").into())
}
