//! One request of a user's, sent on its own connection and read to the end, as the checks need
//! it: status, headers and body text. Each is recorded in goose's statistics under its route
//! template (the `name`), timed to the answer's headers as goose times its own requests, and a
//! persona says which statuses it expects, so a 404 the nosy neighbour wanted is not a failure.
//! Every answer, whichever persona got it, is judged against the API's contract here, so no
//! persona can forget to; an answer marked as carrying an injected fault is counted instead, and
//! every check leaves it alone (`Exchange::judgeable`).

use crate::agent::agent;
use crate::contract;
use crate::ledger::{Example, Ledger};
use crate::transport::{Answer, RoundTrip};
use goose::prelude::*;
use hyper::header::HeaderMap;
use hyper::{Method, StatusCode};
use std::collections::HashMap;
use std::time::Duration;

/// Longest any request waits for its answer, unless it asks for less.
const PATIENCE: Duration = Duration::from_secs(30);

/// Bytes of a body shown in an example.
const SHOWN_BODY_BYTES: usize = 300;

/// A request to make, kept whole so it can be sent again after a fresh login.
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

/// An answer read to its end.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl From<Answer> for Reply {
    fn from(answer: Answer) -> Self {
        Self { status: answer.status, headers: answer.headers, body: text(&answer.body) }
    }
}

impl Reply {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Whether the service marked this answer as carrying a fault it was asked to inject.
    pub fn fault_injected(&self) -> bool {
        contract::fault_injected(&self.headers)
    }

    /// The status, every header and the body (shortened).
    pub fn describe(&self) -> String {
        let mut text = self.status.to_string();
        for (name, value) in &self.headers {
            text.push_str(&format!(
                "\n{name}: {}",
                shorten(&String::from_utf8_lossy(value.as_bytes()))
            ));
        }
        text.push_str(&format!("\n\n{}", shorten(&self.body)));
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
    /// The answer, if one came that says something about the service: not one carrying an
    /// injected fault.
    pub fn judgeable(&self) -> Option<&Reply> {
        self.reply.as_ref().filter(|reply| !reply.fault_injected())
    }

    pub fn fault_injected(&self) -> bool {
        self.reply.as_ref().is_some_and(Reply::fault_injected)
    }

    pub fn status(&self) -> Option<StatusCode> {
        self.reply.as_ref().map(|reply| reply.status)
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

/// Sends `call` as `user`, records it in goose's statistics, reads the answer and records any
/// contract violation in `ledger`.
pub async fn send(
    user: &mut GooseUser,
    ledger: &Ledger,
    call: Call,
) -> Result<Exchange, Box<TransactionError>> {
    wait_for_throttle(user).await?;
    let connection = &mut agent(user)?.connection;
    let mut request = connection.request(call.method.clone(), &call.path);
    for (name, value) in &call.headers {
        request = request.header(*name, value);
    }
    let timeout = call.timeout.unwrap_or(PATIENCE);
    let round_trip = connection.round_trip(request, call.body.clone(), timeout).await;
    ledger.note_request();
    record(user, &call, &round_trip).await?;
    let reply = round_trip.answer.ok().map(Reply::from);
    let exchange = Exchange { call, reply, elapsed: round_trip.to_headers };
    if exchange.fault_injected() {
        ledger.note_fault_injected();
    }
    if let Some(kind) = exchange.judgeable().and_then(contract::judge) {
        ledger.record(kind, exchange.example());
    }
    Ok(exchange)
}

/// Files the request in goose's statistics as `METHOD name`, the key goose gives its own.
async fn record(
    user: &mut GooseUser,
    call: &Call,
    round_trip: &RoundTrip,
) -> Result<(), Box<TransactionError>> {
    let status = round_trip.answer.as_ref().ok().map(|answer| answer.status);
    let success = status.is_some_and(|status| call.expects(status));
    // Goose's own wording: "404 Not Found: /drawers/{id}", or what went wrong on the way.
    let error = match &round_trip.answer {
        Err(error) => Some(format!("{error}: {}", call.name)),
        Ok(answer) if !success => Some(format!("{}: {}", answer.status, call.name)),
        Ok(_) => None,
    };
    user.record_custom_request_duration(
        call.method.as_str(),
        call.name,
        round_trip.to_headers,
        success,
        status.map(|status| status.as_u16()),
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

/// The body as text. It is UTF-8 unless the answer went wrong, and then shown as best it can be;
/// `from_utf8_lossy` alone would walk every body in chunks, about 2,500 instructions for the snack
/// list where the plain check takes a few hundred.
fn text(body: &[u8]) -> String {
    std::str::from_utf8(body)
        .map_or_else(|_| String::from_utf8_lossy(body).into_owned(), str::to_owned)
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(SHOWN_BODY_BYTES) {
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}
