//! The script kiddie: forged tokens, broken and oversized bodies, hostile names, routes and
//! methods that do not exist, and password guessing against a real username. None of it may
//! work (a forged token or a guessed password that gets a 2xx is `forged-accepted`), and all of
//! it must be refused in the API's error shape without a 5xx (judged for every answer, see
//! `contract`).

use super::{Persona, step};
use crate::exchange::{Call, send};
use crate::forgery::Forgery;
use crate::ledger::{Ledger, ViolationKind};
use crate::session::{TokenHeader, send_with_token, session};
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

const COMMON_PASSWORDS: [&str; 6] =
    ["123456", "password", "qwerty", "letmein", "snackdrawer", "admin"];

pub fn transactions(ledger: &Arc<Ledger>) -> Result<Vec<Transaction>, GooseError> {
    Ok(vec![
        step!(ledger, "sign up", sign_up).set_on_start(),
        step!(ledger, "GET /drawers/ forged token", forged_token).set_weight(3)?,
        step!(ledger, "POST /drawers/ malformed body", malformed_body).set_weight(2)?,
        step!(ledger, "POST /snacks/ hostile name", hostile_name).set_weight(2)?,
        step!(ledger, "unknown route or method", unknown_route),
        step!(ledger, "POST /auth/login credential stuffing", credential_stuffing),
    ])
}

async fn sign_up(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    super::sign_up(user, &ledger, Persona::Kiddie).await.map(drop)
}

async fn forged_token(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let session = session(user)?;
    let victim =
        ledger.other_account(&session.account.username).map_or(1, |account| account.user_id);
    let forgery = Forgery::ALL.choose(&mut rand::rng()).copied().unwrap_or(Forgery::Unsigned);
    let token = forgery.forge(&session.token, victim);
    let header = TokenHeader::for_user(rand::rng().random_range(0..2));
    let call = header.carry(Call::new(Method::GET, "/drawers/", "/drawers/").expect(401), &token);
    let exchange = send(user, &ledger, call).await?;
    if exchange.succeeded() {
        ledger.record(ViolationKind::ForgedAccepted, exchange.example());
    }
    Ok(())
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
    if exchange.succeeded() {
        ledger.record(ViolationKind::ForgedAccepted, exchange.example());
    }
    Ok(())
}
