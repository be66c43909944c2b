//! The nosy neighbour: a logged-in user who reads, fills and empties drawers of other users
//! (ids from the ledger), each time also asking the same of a drawer that does not exist. The
//! API promises that someone else's drawer is indistinguishable from a missing one, so any 2xx
//! on a foreign drawer, or any difference in status, body (ids aside) or the headers a client
//! could read the difference from, is a leak. Whether a foreign write changed anything is the
//! end-of-run audit's question.

use super::{Persona, step};
use crate::exchange::{Call, Exchange, Reply};
use crate::ledger::{Example, Ledger, ViolationKind};
use crate::session::{send_with_token, session};
use goose::prelude::*;
use hyper::Method;
use rand::Rng;
use serde_json::json;
use std::sync::Arc;

/// Ids from here up exist in no test or demo database.
const MISSING_IDS_FROM: u64 = 1_000_000_000_000;

/// The headers a missing drawer and a foreign one must not differ in.
const COMPARED_HEADERS: [&str; 2] = ["content-type", "www-authenticate"];

pub fn transactions(ledger: &Arc<Ledger>) -> Result<Vec<Transaction>, GooseError> {
    Ok(vec![
        step!(ledger, "sign up", sign_up).set_on_start(),
        step!(ledger, "GET /drawers/{id}", read_foreign).set_weight(3)?,
        step!(ledger, "POST /drawers/{id}", fill_foreign).set_weight(2)?,
        step!(ledger, "DELETE /drawers/{id}", delete_foreign),
        step!(ledger, "DELETE /drawers/{id}/snacks/{snack_id}", empty_foreign),
    ])
}

async fn sign_up(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    super::sign_up(user, &ledger, Persona::Nosy).await.map(drop)
}

/// Which request to make of a drawer, by id.
#[derive(Clone, Copy)]
enum Probe {
    Read,
    Fill { snack: u64 },
    Delete,
    TakeOut { snack: u64 },
}

impl Probe {
    fn call(self, drawer: u64) -> Call {
        match self {
            Self::Read => Call::new(Method::GET, format!("/drawers/{drawer}"), "/drawers/{id}"),
            Self::Fill { snack } => {
                let call = Call::new(Method::POST, format!("/drawers/{drawer}"), "/drawers/{id}");
                call.json(&json!({"snack": snack}))
            }
            Self::Delete => {
                Call::new(Method::DELETE, format!("/drawers/{drawer}"), "/drawers/{id}")
            }
            Self::TakeOut { snack } => Call::new(
                Method::DELETE,
                format!("/drawers/{drawer}/snacks/{snack}"),
                "/drawers/{id}/snacks/{snack_id}",
            ),
        }
        .expect(404)
    }
}

async fn read_foreign(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    pry(user, &ledger, |_| Probe::Read).await
}

async fn fill_foreign(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let snack = ledger.random_snack().unwrap_or(1);
    pry(user, &ledger, |_| Probe::Fill { snack }).await
}

async fn delete_foreign(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    pry(user, &ledger, |_| Probe::Delete).await
}

async fn empty_foreign(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let fallback = ledger.random_snack().unwrap_or(1);
    pry(user, &ledger, |held| Probe::TakeOut { snack: held.unwrap_or(fallback) }).await
}

/// Makes the same request of a foreign drawer and of a missing one and compares the answers;
/// `probe` gets a snack the foreign drawer holds, if the ledger knows one.
async fn pry(
    user: &mut GooseUser,
    ledger: &Ledger,
    probe: impl FnOnce(Option<u64>) -> Probe,
) -> TransactionResult {
    let me = session(user)?.account.username;
    let Some((foreign, held)) = ledger.foreign_drawer(&me) else {
        return Ok(());
    };
    let probe = probe(held);
    let missing = MISSING_IDS_FROM + rand::rng().random_range(0..1_000_000);
    let foreign_answer = send_with_token(user, ledger, probe.call(foreign)).await?;
    let missing_answer = send_with_token(user, ledger, probe.call(missing)).await?;
    if let Some(example) = leak(&foreign_answer, foreign, &missing_answer, missing) {
        ledger.record(ViolationKind::Leak, example);
    }
    Ok(())
}

/// The evidence, if the answer about drawer `foreign` gives away more than the one about the
/// missing drawer `missing`.
fn leak(
    foreign: &Exchange,
    foreign_id: u64,
    missing: &Exchange,
    missing_id: u64,
) -> Option<Example> {
    let evidence = || Example {
        request: format!(
            "{}\n\nand, for a missing drawer:\n{}",
            foreign.call.describe(),
            missing.call.describe()
        ),
        response: format!(
            "{}\n\nand, for the missing drawer:\n{}",
            foreign.example().response,
            missing.example().response
        ),
    };
    if foreign.succeeded() {
        return Some(evidence());
    }
    let (Some(foreign_reply), Some(missing_reply)) = (&foreign.reply, &missing.reply) else {
        return None;
    };
    // A 503 is the service shedding load, not an answer about the drawer.
    let shedding = [foreign_reply, missing_reply].iter().any(|reply| reply.status.as_u16() == 503);
    (!shedding && !alike(foreign_reply, foreign_id, missing_reply, missing_id)).then(evidence)
}

fn alike(foreign: &Reply, foreign_id: u64, missing: &Reply, missing_id: u64) -> bool {
    foreign.status == missing.status
        && COMPARED_HEADERS.iter().all(|name| foreign.header(name) == missing.header(name))
        && without_ids(&foreign.body, [foreign_id, missing_id])
            == without_ids(&missing.body, [foreign_id, missing_id])
}

/// `text` with every number equal to one of `ids` written `{id}`. Both bodies are compared with
/// both ids set aside: a drawer whose id is also a status code (404) must not make its
/// `404 Not Found` read differently from the missing drawer's.
fn without_ids(text: &str, ids: [u64; 2]) -> String {
    let ids = ids.map(|id| id.to_string());
    let mut normalised = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let digits =
            rest[start..].find(|c: char| !c.is_ascii_digit()).map_or(rest.len(), |end| start + end);
        normalised.push_str(&rest[..start]);
        let number = &rest[start..digits];
        normalised.push_str(if ids.iter().any(|id| id == number) { "{id}" } else { number });
        rest = &rest[digits..];
    }
    normalised.push_str(rest);
    normalised
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::StatusCode;
    use hyper::header::{HeaderMap, HeaderValue};

    fn exchange(drawer: u64, status: u16, body: &str) -> Exchange {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let reply =
            Reply { status: StatusCode::from_u16(status).unwrap(), headers, body: body.into() };
        Exchange { call: Probe::Read.call(drawer), reply: Some(reply) }
    }

    fn not_found(drawer: u64) -> Exchange {
        exchange(
            drawer,
            404,
            &format!(r#"{{"error": "404 Not Found: drawer with ID == {drawer} not found"}}"#),
        )
    }

    #[test]
    fn the_same_answer_but_for_the_id_is_no_leak() {
        assert!(leak(&not_found(7), 7, &not_found(1_000_000_000_123), 1_000_000_000_123).is_none());
    }

    #[test]
    fn a_2xx_on_a_foreign_drawer_is_a_leak() {
        let shown = exchange(7, 200, r#"{"drawer": {"id": 7, "name": "desk", "contents": []}}"#);
        assert!(leak(&shown, 7, &not_found(12), 12).is_some());
    }

    #[test]
    fn a_different_status_body_or_header_is_a_leak() {
        let forbidden = exchange(7, 403, r#"{"error": "403 Forbidden: not yours"}"#);
        assert!(leak(&forbidden, 7, &not_found(12), 12).is_some());
        let worded =
            exchange(7, 404, r#"{"error": "404 Not Found: drawer with ID == 7 is not yours"}"#);
        assert!(leak(&worded, 7, &not_found(12), 12).is_some());
        let mut challenged = not_found(7);
        let reply = challenged.reply.as_mut().unwrap();
        reply.headers.insert("www-authenticate", HeaderValue::from_static("Bearer"));
        assert!(leak(&challenged, 7, &not_found(12), 12).is_some());
    }

    #[test]
    fn a_drawer_whose_id_is_its_status_code_is_no_leak() {
        assert!(
            leak(&not_found(404), 404, &not_found(1_000_000_445_387), 1_000_000_445_387).is_none()
        );
        let worded =
            exchange(404, 404, r#"{"error": "404 Not Found: drawer with ID == 404 is not yours"}"#);
        assert!(leak(&worded, 404, &not_found(12), 12).is_some());
    }

    #[test]
    fn only_the_ids_themselves_are_normalised() {
        assert_eq!(
            without_ids("drawer 17 holds snack 7, not 77 or 12", [7, 12]),
            "drawer 17 holds snack {id}, not 77 or {id}"
        );
    }
}
