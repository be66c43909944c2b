//! A goose user of the generator's, seen from goose's side: what it carries from step to step in
//! the one slot goose keeps for a user's own data (`UserData`: its hyper connection, whose user
//! agent names the persona, and once it has signed up, its account's session), and how it sends
//! a request and files it in goose's statistics, as goose files its own.
//!
//! Its account is used the way a real client uses one: register a fresh user, log in, send the
//! token in the header this user was given (half the users `x-access-token`, half
//! `Authorization: Bearer`), and on a 401 log in again and retry once, as a client with a
//! short-lived token has to. How each sign-up and each later login ended goes into the ledger,
//! so that a run whose users never got going fails (`start_up`).

use crate::contract;
use crate::exchange::{Call, Exchange};
use crate::ledger::{Account, Ledger};
use crate::start_up::Outcome;
use crate::transport::Connection;
use goose::prelude::*;
use hyper::{Method, StatusCode};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::json;
use std::time::Duration;

/// Attempts at registering or logging in while the service sheds load (503) or a login limit
/// holds the client back (429).
const CREDENTIAL_ATTEMPTS: usize = 5;
/// The pause before trying again after an injected fault that does not say how long to wait.
const PAUSE_AFTER_FAULT: Duration = Duration::from_millis(100);

/// What a user keeps in goose's slot for a user's own data (`set_session_data`); the first step
/// of every persona puts it there.
#[derive(Clone)]
pub struct UserData {
    pub connection: Connection,
    pub session: Option<Session>,
}

/// The account a user signed up for, and the token it holds for it.
#[derive(Clone)]
pub struct Session {
    pub account: Account,
    pub token: String,
    pub token_header: TokenHeader,
}

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

/// This user's data; an error before the persona's first step has run.
fn data(user: &mut GooseUser) -> Result<&mut UserData, Box<TransactionError>> {
    let data = user.get_session_data_mut::<UserData>();
    data.ok_or_else(|| "this user has no connection: its first step did not run".to_owned().into())
}

/// This user's session; an error when signing up failed at start.
pub fn session(user: &mut GooseUser) -> Result<Session, Box<TransactionError>> {
    let session = data(user)?.session.clone();
    session.ok_or_else(|| "this user has no session: signing up failed".to_owned().into())
}

/// Sends `call` as `user` on its own connection, files the exchange in `ledger` (where it is
/// judged) and the request in goose's statistics.
pub async fn send(
    user: &mut GooseUser,
    ledger: &Ledger,
    call: Call,
) -> Result<Exchange, Box<TransactionError>> {
    wait_for_throttle(user).await?;
    let round_trip = call.round_trip(&mut data(user)?.connection).await;
    let transport_error = round_trip.answer.as_ref().err().map(ToString::to_string);
    let exchange = Exchange::filed(call, round_trip, ledger);
    record(user, &exchange, transport_error).await?;
    Ok(exchange)
}

/// Files the request in goose's statistics as `METHOD name`, the key goose gives its own,
/// timed to the answer's headers as goose times its own requests; `transport_error` says why no
/// answer came, if none did.
async fn record(
    user: &mut GooseUser,
    exchange: &Exchange,
    transport_error: Option<String>,
) -> Result<(), Box<TransactionError>> {
    let call = &exchange.call;
    let success = exchange.as_expected();
    // Goose's own wording: "404 Not Found: /drawers/{id}", or what went wrong on the way.
    let error = match (transport_error, exchange.status()) {
        (Some(error), _) => Some(format!("{error}: {}", call.name())),
        (None, Some(status)) if !success => Some(format!("{status}: {}", call.name())),
        _ => None,
    };
    let status = exchange.status().map(|status| status.as_u16());
    user.record_custom_request_duration(
        call.method().as_str(),
        call.name(),
        exchange.elapsed,
        success,
        status,
        error.as_deref(),
    )
    .await
}

/// Waits for room under `--throttle-requests`, as goose's own requests do.
async fn wait_for_throttle(user: &GooseUser) -> Result<(), Box<TransactionError>> {
    if let Some(throttle) = user.throttle.as_ref().filter(|_| user.is_throttled) {
        throttle.send_async(true).await.map_err(|error| Box::new(error.into()))?;
    }
    Ok(())
}

/// Why registering or logging in failed: how it ended, for the ledger, and the error for goose.
struct Failure {
    outcome: Outcome,
    error: Box<TransactionError>,
}

impl Failure {
    /// A failure with no answer to show for it (the request could not be recorded or sent).
    fn unanswered(error: Box<TransactionError>) -> Self {
        Self { outcome: Outcome::Failed(None), error }
    }
}

/// Registers a fresh user named after `prefix`, logs in, keeps the session and files the
/// account in the ledger; the ledger learns whether this user got going.
pub async fn sign_up(
    user: &mut GooseUser,
    ledger: &Ledger,
    prefix: &str,
) -> Result<Session, Box<TransactionError>> {
    ledger.begin_sign_up();
    match register(user, ledger, prefix).await {
        Ok(session) => {
            ledger.end_sign_up(Outcome::Succeeded);
            Ok(session)
        }
        Err(failure) => {
            ledger.end_sign_up(failure.outcome);
            Err(failure.error)
        }
    }
}

async fn register(user: &mut GooseUser, ledger: &Ledger, prefix: &str) -> Result<Session, Failure> {
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
    data(user).map_err(Failure::unanswered)?.session = Some(session.clone());
    Ok(session)
}

async fn log_in(
    user: &mut GooseUser,
    ledger: &Ledger,
    account: &Account,
) -> Result<String, Failure> {
    let credentials = json!({"username": account.username, "password": account.password});
    let answer = post_credentials(user, ledger, "/auth/login", &credentials).await?;
    let token = answer.get("token").and_then(serde_json::Value::as_str);
    let no_token = || Failure::unanswered("the login answer has no token".into());
    Ok(token.ok_or_else(no_token)?.to_owned())
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
    let token = match log_in(user, ledger, &session.account).await {
        Ok(token) => token,
        Err(failure) => {
            ledger.add_login(failure.outcome);
            return Err(failure.error);
        }
    };
    ledger.add_login(Outcome::Succeeded);
    data(user)?.session = Some(Session { token: token.clone(), ..session.clone() });
    send(user, ledger, session.token_header.carry(call, &token)).await
}

/// Posts credentials until the answer is neither a 503 nor a 429 (waiting as each says) nor
/// carries an injected fault, and returns its JSON body.
async fn post_credentials(
    user: &mut GooseUser,
    ledger: &Ledger,
    path: &'static str,
    credentials: &serde_json::Value,
) -> Result<serde_json::Value, Failure> {
    let mut outcome = Outcome::Failed(None);
    for _ in 0..CREDENTIAL_ATTEMPTS {
        let call = Call::new(Method::POST, path, path).json(credentials).expect(201);
        let exchange = send(user, ledger, call).await.map_err(Failure::unanswered)?;
        let reply = exchange.reply.as_ref();
        let status = exchange.status().map(|status| status.as_u16());
        if let Some(reply) = reply.filter(|reply| reply.status.is_success()) {
            let not_json = || format!("{path} answered no JSON").into();
            return reply
                .json()
                .ok_or_else(|| Failure { outcome: Outcome::Failed(status), error: not_json() });
        }
        let fault = exchange.fault_injected();
        outcome = if fault { Outcome::FailedByInjectedFault } else { Outcome::Failed(status) };
        let wait = reply.and_then(|reply| contract::retry_after(reply.status, &reply.headers));
        match wait.or(fault.then_some(PAUSE_AFTER_FAULT)) {
            Some(wait) => tokio::time::sleep(wait).await,
            None => {
                let error = format!("{path} failed:\n{}", exchange.example().response).into();
                return Err(Failure { outcome, error });
            }
        }
    }
    let error = format!("{path} kept answering 503 or 429, or with injected faults").into();
    Err(Failure { outcome, error })
}
