//! The nosy neighbour: a logged-in user who reads, fills and empties drawers of other users
//! (ids from the ledger), each time also asking the same of a drawer that does not exist. The
//! API promises that someone else's drawer is indistinguishable from a missing one, so any 2xx
//! on a foreign drawer, or any difference in status, body (ids aside) or headers (beyond the few
//! that differ between any two answers) is a leak. What one pair cannot show, a difference in
//! time or in being held back (a 503 or 429 with `Retry-After`) on one side only, the pairs show
//! together: each is filed in the ledger for the end-of-run tests (`side_channel`). An answer
//! carrying an injected fault says nothing, and its pair is set aside. Whether a foreign write
//! changed anything is the end-of-run audit's question.

use super::{Persona, step};
use crate::contract;
use crate::exchange::{Call, Exchange};
use crate::ledger::Ledger;
use crate::reply::Reply;
use crate::side_channel::Side;
use crate::user::{send_with_token, session};
use crate::violation::{Example, ViolationKind};
use goose::prelude::*;
use hyper::Method;
use rand::Rng;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Ids from here up exist in no test or demo database.
const MISSING_IDS_FROM: u64 = 1_000_000_000_000;

/// The headers that differ between any two answers, so a missing drawer's and a foreign one's
/// may: the time, the trace, and the length (the bodies are compared, ids aside). Every other
/// header must be the same on both, or be on neither.
const MAY_DIFFER: [&str; 5] = ["date", "x-trace-id", "traceparent", "tracestate", "content-length"];

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

/// Makes the same request of a foreign drawer and of a missing one, in random order, and
/// compares the answers; `probe` gets a snack the foreign drawer holds, if the ledger knows one.
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
    let (foreign_answer, missing_answer) = if rand::rng().random_bool(0.5) {
        let foreign_answer = send_with_token(user, ledger, probe.call(foreign)).await?;
        (foreign_answer, send_with_token(user, ledger, probe.call(missing)).await?)
    } else {
        let missing_answer = send_with_token(user, ledger, probe.call(missing)).await?;
        (send_with_token(user, ledger, probe.call(foreign)).await?, missing_answer)
    };
    let pair = Pair {
        foreign: &foreign_answer,
        foreign_id: foreign,
        missing: &missing_answer,
        missing_id: missing,
    };
    match pair.compare() {
        Comparison::Leak => ledger.record(ViolationKind::Leak, pair.evidence()),
        Comparison::HeldBack(side) => ledger.add_held_back(side),
        Comparison::Alike => ledger.add_times(foreign_answer.elapsed, missing_answer.elapsed),
        Comparison::SetAside => {}
    }
    Ok(())
}

/// The same request of a foreign drawer and of a missing one, and their answers.
struct Pair<'a> {
    foreign: &'a Exchange,
    foreign_id: u64,
    missing: &'a Exchange,
    missing_id: u64,
}

/// What a pair shows.
#[derive(Debug, PartialEq, Eq)]
enum Comparison {
    /// The foreign drawer was shown, or answered differently.
    Leak,
    /// Only this side was held back: a hint, for the end-of-run test.
    HeldBack(Side),
    /// Alike, ids aside: their times go to the end-of-run test.
    Alike,
    /// Nothing to compare: an answer is missing, carries an injected fault, or both were held
    /// back.
    SetAside,
}

impl Pair<'_> {
    fn compare(&self) -> Comparison {
        if self.foreign.succeeded() && !self.foreign.fault_injected() {
            return Comparison::Leak;
        }
        let (Some(foreign), Some(missing)) = (self.foreign.judgeable(), self.missing.judgeable())
        else {
            return Comparison::SetAside;
        };
        match (contract::holds_back(foreign), contract::holds_back(missing)) {
            (true, true) => Comparison::SetAside,
            (true, false) => Comparison::HeldBack(Side::Foreign),
            (false, true) => Comparison::HeldBack(Side::Missing),
            (false, false) if self.alike(foreign, missing) => Comparison::Alike,
            (false, false) => Comparison::Leak,
        }
    }

    fn alike(&self, foreign: &Reply, missing: &Reply) -> bool {
        let ids = [self.foreign_id, self.missing_id];
        let names: BTreeSet<&str> = foreign
            .headers
            .keys()
            .chain(missing.headers.keys())
            .map(|name| name.as_str())
            .collect();
        let same_header = |name: &&str| {
            let values = |reply: &Reply| -> Vec<String> {
                let values = reply.headers.get_all(*name).iter();
                values
                    .map(|value| without_ids(&String::from_utf8_lossy(value.as_bytes()), ids))
                    .collect()
            };
            MAY_DIFFER.contains(name) || values(foreign) == values(missing)
        };
        foreign.status == missing.status
            && names.iter().all(same_header)
            && without_ids(&foreign.body, ids) == without_ids(&missing.body, ids)
    }

    fn evidence(&self) -> Example {
        let (foreign, missing) = (self.foreign.example(), self.missing.example());
        Example {
            request: format!(
                "{}\n\nand, for a missing drawer:\n{}",
                foreign.request, missing.request
            ),
            response: format!(
                "{}\n\nand, for the missing drawer:\n{}",
                foreign.response, missing.response
            ),
        }
    }
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
    use std::time::Duration;

    fn exchange(drawer: u64, status: u16, body: &str) -> Exchange {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("x-trace-id", HeaderValue::from_str(&format!("{drawer:032x}")).unwrap());
        headers.insert("content-length", HeaderValue::from(body.len()));
        let reply =
            Reply { status: StatusCode::from_u16(status).unwrap(), headers, body: body.into() };
        Exchange { call: Probe::Read.call(drawer), reply: Some(reply), elapsed: Duration::ZERO }
    }

    fn not_found(drawer: u64) -> Exchange {
        exchange(
            drawer,
            404,
            &format!(r#"{{"error": "404 Not Found: drawer with ID == {drawer} not found"}}"#),
        )
    }

    fn compare(
        foreign: &Exchange,
        foreign_id: u64,
        missing: &Exchange,
        missing_id: u64,
    ) -> Comparison {
        Pair { foreign, foreign_id, missing, missing_id }.compare()
    }

    fn with_header(mut exchange: Exchange, name: &'static str, value: &'static str) -> Exchange {
        let reply = exchange.reply.as_mut().unwrap();
        reply.headers.insert(name, HeaderValue::from_static(value));
        exchange
    }

    #[test]
    fn the_same_answer_but_for_the_id_trace_and_length_is_alike() {
        let missing = 1_000_000_000_123;
        assert_eq!(compare(&not_found(7), 7, &not_found(missing), missing), Comparison::Alike);
    }

    #[test]
    fn a_2xx_on_a_foreign_drawer_is_a_leak() {
        let shown = exchange(7, 200, r#"{"drawer": {"id": 7, "name": "desk", "contents": []}}"#);
        assert_eq!(compare(&shown, 7, &not_found(12), 12), Comparison::Leak);
    }

    #[test]
    fn a_different_status_body_or_header_is_a_leak() {
        let forbidden = exchange(7, 403, r#"{"error": "403 Forbidden: not yours"}"#);
        assert_eq!(compare(&forbidden, 7, &not_found(12), 12), Comparison::Leak);
        let worded =
            exchange(7, 404, r#"{"error": "404 Not Found: drawer with ID == 7 is not yours"}"#);
        assert_eq!(compare(&worded, 7, &not_found(12), 12), Comparison::Leak);
        let challenged = with_header(not_found(7), "www-authenticate", "Bearer");
        assert_eq!(compare(&challenged, 7, &not_found(12), 12), Comparison::Leak);
        let owned = with_header(not_found(7), "x-drawer-owner", "3");
        assert_eq!(compare(&owned, 7, &not_found(12), 12), Comparison::Leak);
    }

    #[test]
    fn a_header_that_only_names_the_id_is_alike() {
        let (foreign, missing) = (not_found(7), not_found(12));
        let foreign = with_header(foreign, "x-drawer", "7");
        let missing = with_header(missing, "x-drawer", "12");
        assert_eq!(compare(&foreign, 7, &missing, 12), Comparison::Alike);
    }

    #[test]
    fn held_back_on_one_side_is_a_hint_and_on_both_nothing() {
        let shed = || {
            let body = r#"{"error": "503 Service Unavailable: retry later"}"#;
            with_header(exchange(7, 503, body), "retry-after", "1")
        };
        assert_eq!(compare(&shed(), 7, &not_found(12), 12), Comparison::HeldBack(Side::Foreign));
        assert_eq!(compare(&not_found(7), 7, &shed(), 12), Comparison::HeldBack(Side::Missing));
        assert_eq!(compare(&shed(), 7, &shed(), 12), Comparison::SetAside);
    }

    #[test]
    fn an_answer_with_an_injected_fault_sets_the_pair_aside() {
        let faulted = with_header(
            exchange(7, 500, r#"{"error": "500 Internal Server Error: internal error"}"#),
            "x-fault-injected",
            "true",
        );
        assert_eq!(compare(&faulted, 7, &not_found(12), 12), Comparison::SetAside);
        let faulted = with_header(not_found(12), "x-fault-injected", "true");
        assert_eq!(compare(&not_found(7), 7, &faulted, 12), Comparison::SetAside);
    }

    #[test]
    fn a_drawer_whose_id_is_its_status_code_is_no_leak() {
        let missing = 1_000_000_445_387;
        assert_eq!(compare(&not_found(404), 404, &not_found(missing), missing), Comparison::Alike);
        let worded =
            exchange(404, 404, r#"{"error": "404 Not Found: drawer with ID == 404 is not yours"}"#);
        assert_eq!(compare(&worded, 404, &not_found(12), 12), Comparison::Leak);
    }

    #[test]
    fn only_the_ids_themselves_are_normalised() {
        assert_eq!(
            without_ids("drawer 17 holds snack 7, not 77 or 12", [7, 12]),
            "drawer 17 holds snack {id}, not 77 or {id}"
        );
    }
}
