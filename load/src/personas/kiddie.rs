//! The script kiddie: forged tokens on every route and method that takes one, broken and
//! oversized bodies, hostile names, routes and methods that do not exist, and password guessing
//! against a real username. None of it may work, and all of it must be refused in the API's
//! error shape without a 5xx (judged for every answer, see `contract`). A forged token must get
//! 401: the token is checked before the ids and the body (docs/api.md, the order of checks), so
//! any other answer but one holding the client back (a 404, a 422, a 2xx) means it got past the
//! check, `forged-accepted`; so does a guessed password that gets a 2xx.

use super::{Persona, step};
use crate::contract;
use crate::exchange::{Call, Exchange};
use crate::forgery::Forgery;
use crate::ledger::Ledger;
use crate::user::{TokenHeader, send, send_with_token, session};
use crate::violation::ViolationKind;
use goose::prelude::*;
use hyper::Method;
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::json;
use std::sync::Arc;

/// The largest body it sends: sixteen times the service's limit.
const LARGEST_BODY: usize = 1024 * 1024;
const BODY_LIMIT: usize = 64 * 1024;

const MALFORMED_BODIES: [&str; 6] =
    [r#"{"name": "#, r#"{"name": 3}"#, r#"["desk"]"#, "", r#"{"nom": "desk"}"#, "\u{0}\u{1}"];

/// Routes that do not exist (404) and methods a route does not serve (405).
const UNKNOWN_ROUTES: [(Method, &str, u16); 7] = [
    (Method::GET, "/admin", 404),
    (Method::GET, "/drawers/abc", 404),
    (Method::GET, "/snacks/1/", 404),
    (Method::GET, "/drawers/99999999999999999999999", 404),
    (Method::PUT, "/drawers/1", 405),
    (Method::PATCH, "/snacks/", 405),
    (Method::POST, "/healthz", 405),
];

/// Ids from here up exist in no test or demo database.
const MISSING_IDS_FROM: u64 = 1_000_000_000_000;

/// Every route and method that takes a token (docs/api.md, Routes).
const TOKEN_ROUTES: [(Method, &str); 7] = [
    (Method::POST, "/snacks/"),
    (Method::GET, "/drawers/"),
    (Method::POST, "/drawers/"),
    (Method::GET, "/drawers/{id}"),
    (Method::POST, "/drawers/{id}"),
    (Method::DELETE, "/drawers/{id}"),
    (Method::DELETE, "/drawers/{id}/snacks/{snack_id}"),
];

const COMMON_PASSWORDS: [&str; 6] =
    ["123456", "password", "qwerty", "letmein", "snackdrawer", "admin"];

pub fn transactions(ledger: &Arc<Ledger>) -> Result<Vec<Transaction>, GooseError> {
    Ok(vec![
        step!(ledger, "sign up", sign_up).set_on_start(),
        step!(ledger, "forged token", forged_token).set_weight(3)?,
        step!(ledger, "POST /drawers/ malformed body", malformed_body).set_weight(2)?,
        step!(ledger, "POST /snacks/ hostile name", hostile_name).set_weight(2)?,
        step!(ledger, "unknown route or method", unknown_route),
        step!(ledger, "POST /auth/login credential stuffing", credential_stuffing),
    ])
}

async fn sign_up(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    super::sign_up(user, &ledger, Persona::Kiddie).await.map(drop)
}

/// A forged token on a route that takes one, naming a victim: the owner of a drawer it reads
/// if the ledger knows one.
async fn forged_token(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let session = session(user)?;
    let me = session.account.username.clone();
    let foreign = ledger.foreign_drawer(&me).map(|(drawer, _)| drawer);
    let owner = foreign.and_then(|drawer| ledger.account(&ledger.owner_of(drawer)?));
    let victim = owner.or_else(|| ledger.other_account(&me));
    let forgery = Forgery::ALL.choose(&mut rand::rng()).copied().unwrap_or(Forgery::Unsigned);
    let token = forgery.forge(&session.token, victim.as_ref().map_or(1, |victim| victim.user_id));
    let (method, route) = TOKEN_ROUTES.choose(&mut rand::rng()).unwrap_or(&TOKEN_ROUTES[0]).clone();
    let mut owners: Vec<&str> = victim.iter().map(|victim| victim.username.as_str()).collect();
    owners.push(&me);
    let call = harmless_call(&ledger, method, route, foreign, &owners);
    let header = TokenHeader::for_user(rand::rng().random_range(0..2));
    let exchange = send(user, &ledger, header.carry(call.expect(401), &token)).await?;
    if got_past_the_token_check(&exchange) {
        ledger.record(ViolationKind::ForgedAccepted, exchange.example());
    }
    Ok(())
}

/// A request of `route` that changes nothing should the forged token work: it reads `foreign`
/// (or a missing drawer), and the writes that name a drawer name a missing one, so a forgery
/// that works gets 404 there. Creating a snack or a drawer is harmless; the drawer is filed as
/// one that `owners` (the victim, and the kiddie, whom an expired token names) may have, so the
/// audit does not take it for tampering.
fn harmless_call(
    ledger: &Ledger,
    method: Method,
    route: &'static str,
    foreign: Option<u64>,
    owners: &[&str],
) -> Call {
    let missing = MISSING_IDS_FROM + rand::rng().random_range(0..1_000_000);
    let name = ledger.fresh_name("forged");
    match (method.as_str(), route) {
        ("POST", "/snacks/") => Call::new(method, route, route).json(&json!({"name": name})),
        ("POST", "/drawers/") => {
            for owner in owners {
                ledger.intend_drawer(owner, &name);
            }
            Call::new(method, route, route).json(&json!({"name": name}))
        }
        ("GET", "/drawers/{id}") => {
            Call::new(method, format!("/drawers/{}", foreign.unwrap_or(missing)), route)
        }
        ("POST", "/drawers/{id}") => {
            let snack = ledger.random_snack().unwrap_or(1);
            Call::new(method, format!("/drawers/{missing}"), route).json(&json!({"snack": snack}))
        }
        ("DELETE", "/drawers/{id}") => Call::new(method, format!("/drawers/{missing}"), route),
        ("DELETE", _) => Call::new(method, format!("/drawers/{missing}/snacks/1"), route),
        _ => Call::new(method, route, route),
    }
}

/// Whether the answer to a forged token shows it was taken: anything but a 401, a 5xx (judged as
/// such), an answer holding the client back, or one carrying an injected fault.
fn got_past_the_token_check(exchange: &Exchange) -> bool {
    exchange.judgeable().is_some_and(|reply| {
        reply.status != hyper::StatusCode::UNAUTHORIZED
            && !reply.status.is_server_error()
            && !contract::holds_back(reply)
    })
}

async fn malformed_body(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let (body, refusal) = match MALFORMED_BODIES.choose(&mut rand::rng()) {
        Some(malformed) if rand::rng().random_bool(0.8) => (malformed.as_bytes().to_vec(), 400),
        _ => {
            let size = rand::rng().random_range(BODY_LIMIT + 1..=LARGEST_BODY);
            (format!(r#"{{"name": "{}"}}"#, "x".repeat(size)).into_bytes(), 413)
        }
    };
    let call = Call::new(Method::POST, "/drawers/", "/drawers/").body(body).expect(refusal);
    send_with_token(user, &ledger, call).await?;
    Ok(())
}

async fn hostile_name(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let tag = ledger.fresh_name("k");
    // Injections are names like any other (201); the rest break the limits (400).
    let names = [
        (format!("'; DROP TABLE snacks; -- {tag}"), 201),
        (format!("\" OR 1=1 -- {tag}"), 201),
        (format!("Robert'); DELETE FROM drawers;-- {tag}"), 201),
        (format!("nul\u{0}byte {tag}"), 400),
        (format!("bell\u{7}and\r\nnewline {tag}"), 400),
        (format!("\u{202e}reversed {tag}"), 400),
        ("x".repeat(rand::rng().random_range(65..10_000)), 400),
    ];
    let (name, answer) = names.choose(&mut rand::rng()).cloned().unwrap_or((tag, 201));
    let call = Call::new(Method::POST, "/snacks/", "/snacks/").json(&json!({"name": name}));
    send_with_token(user, &ledger, call.expect(answer)).await?;
    Ok(())
}

async fn unknown_route(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let (method, path, refusal) =
        UNKNOWN_ROUTES.choose(&mut rand::rng()).unwrap_or(&UNKNOWN_ROUTES[0]).clone();
    send(user, &ledger, Call::new(method, path, path).expect(refusal)).await?;
    Ok(())
}

async fn credential_stuffing(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let me = session(user)?.account;
    let victim = ledger.other_account(&me.username).unwrap_or(me).username;
    let password = COMMON_PASSWORDS.choose(&mut rand::rng()).copied().unwrap_or_default();
    let credentials = json!({"username": victim, "password": password});
    let call = Call::new(Method::POST, "/auth/login", "/auth/login").json(&credentials);
    let exchange = send(user, &ledger, call.expect(401)).await?;
    if exchange.succeeded() && !exchange.fault_injected() {
        ledger.record(ViolationKind::ForgedAccepted, exchange.example());
    }
    Ok(())
}
