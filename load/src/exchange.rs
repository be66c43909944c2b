//! One request of a user's and what came of it. A `Call` is the request, kept whole so it can be
//! sent again after a fresh login, with the route template goose files it under (its `name`) and
//! the status the persona expects, so a 404 the nosy neighbour wanted is not a failure. An
//! `Exchange` is the call with its answer, and every one is filed here, whichever persona made
//! it, so none can forget to: counted, and judged against the API's contract, or counted apart
//! when the answer carries an injected fault, which every check then leaves alone
//! (`Exchange::judgeable`).

use crate::contract;
use crate::ledger::Ledger;
use crate::reply::Reply;
use crate::transport::{Connection, RoundTrip};
use crate::violation::{Example, shorten};
use hyper::{Method, StatusCode};
use std::collections::HashMap;
use std::time::Duration;

/// Longest any request waits for its answer, unless it asks for less.
const PATIENCE: Duration = Duration::from_secs(30);

/// A request to make.
#[derive(Clone)]
pub struct Call {
    method: Method,
    path: String,
    name: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    timeout: Option<Duration>,
    expected: Option<u16>,
}

impl Call {
    /// `name` is the route template goose files the request under, e.g. `/drawers/{id}`.
    pub fn new(method: Method, path: impl Into<String>, name: &'static str) -> Self {
        let path = path.into();
        Self { method, path, name, headers: vec![], body: None, timeout: None, expected: None }
    }

    pub fn json(self, body: &serde_json::Value) -> Self {
        self.body(body.to_string().into_bytes())
    }

    /// A body sent as JSON whatever it holds.
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.retain(|(present, _)| *present != name);
        self.headers.push((name, value.into()));
        self
    }

    /// Give up on the answer after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The status that counts as success; by default any 2xx.
    pub fn expect(mut self, status: u16) -> Self {
        self.expected = Some(status);
        self
    }

    fn expects(&self, status: StatusCode) -> bool {
        self.expected.map_or(status.is_success(), |expected| status == expected)
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The route template goose files the request under.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Sends the call on `connection` and reads the answer to its end.
    pub async fn round_trip(&self, connection: &mut Connection) -> RoundTrip {
        let mut request = connection.request(self.method.clone(), &self.path);
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let timeout = self.timeout.unwrap_or(PATIENCE);
        connection.round_trip(request, self.body.clone(), timeout).await
    }

    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.method, self.path);
        for (name, value) in &self.headers {
            text.push_str(&format!("\n{name}: {}", shorten(value)));
        }
        if let Some(body) = &self.body {
            text.push_str(&format!("\n\n{}", shorten(&String::from_utf8_lossy(body))));
        }
        text
    }
}

/// A call and its answer; `reply` is `None` when none arrived (refused, timed out, cut off).
/// `elapsed` is the time to the answer's headers.
pub struct Exchange {
    pub call: Call,
    pub reply: Option<Reply>,
    pub elapsed: Duration,
}

impl Exchange {
    /// The exchange `round_trip` made of `call`, filed in `ledger`: counted, and judged unless
    /// its answer carries an injected fault, which is counted apart. Goose's statistics are the
    /// user's to file (`user::send`).
    pub fn filed(call: Call, round_trip: RoundTrip, ledger: &Ledger) -> Self {
        let reply = round_trip.answer.ok().map(Reply::from);
        let exchange = Self { call, reply, elapsed: round_trip.to_headers };
        ledger.traffic().note_request(exchange.elapsed, exchange.as_expected());
        if exchange.fault_injected() {
            ledger.note_fault_injected();
        }
        if let Some(kind) = exchange.judgeable().and_then(contract::judge) {
            ledger.record(kind, exchange.example());
        }
        exchange
    }

    /// The answer, if one came that says something about the service: not one carrying an
    /// injected fault.
    pub fn judgeable(&self) -> Option<&Reply> {
        self.reply.as_ref().filter(|reply| !contract::fault_injected(&reply.headers))
    }

    pub fn fault_injected(&self) -> bool {
        self.reply.as_ref().is_some_and(|reply| contract::fault_injected(&reply.headers))
    }

    pub fn status(&self) -> Option<StatusCode> {
        self.reply.as_ref().map(|reply| reply.status)
    }

    /// Whether the answer is the one the call expects: goose counts any other, or none, as a
    /// failure.
    pub fn as_expected(&self) -> bool {
        self.status().is_some_and(|status| self.call.expects(status))
    }

    pub fn succeeded(&self) -> bool {
        self.status().is_some_and(|status| status.is_success())
    }

    /// The ids in a successful answer `{"<key>": [{"id": …}, …]}`. Read into the ids alone,
    /// not a whole JSON tree: the snack list is most of a stress run's answers.
    pub fn listed_ids(&self, key: &str) -> Vec<u64> {
        #[derive(serde::Deserialize)]
        struct Listed {
            id: u64,
        }
        let reply = self.reply.as_ref().filter(|reply| reply.status.is_success());
        let listing = reply.and_then(|reply| {
            serde_json::from_str::<HashMap<String, Vec<Listed>>>(&reply.body).ok()
        });
        let items = listing.and_then(|mut listing| listing.remove(key)).unwrap_or_default();
        items.into_iter().map(|item| item.id).collect()
    }

    pub fn example(&self) -> Example {
        let response = self.reply.as_ref().map_or_else(|| "no answer".to_owned(), Reply::describe);
        Example { request: self.call.describe(), response }
    }
}
