//! One request through goose and the answer read to the end, as the checks need it: status,
//! headers and body text. Goose times and counts the request under its route template (the
//! `name`), and a persona says which statuses it expects, so a 404 the nosy neighbour wanted is
//! not a failure. Every answer, whichever persona got it, is judged against the API's contract
//! here, so no persona can forget to.

use crate::contract;
use crate::ledger::{Example, Ledger};
use goose::prelude::*;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use std::collections::HashMap;
use std::time::Duration;

/// Bytes of a body shown in an example.
const SHOWN_BODY_BYTES: usize = 300;

/// A request to make, kept whole so it can be sent again after a fresh login.
#[derive(Clone)]
pub struct Call {
    method: GooseMethod,
    path: String,
    name: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    timeout: Option<Duration>,
    expected: Option<u16>,
}

impl Call {
    /// `name` is the route template goose files the request under, e.g. `/drawers/{id}`.
    pub fn new(method: GooseMethod, path: impl Into<String>, name: &'static str) -> Self {
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

impl Reply {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn describe(&self) -> String {
        let content_type = self.header(CONTENT_TYPE.as_str()).unwrap_or("none");
        format!("{}\ncontent-type: {content_type}\n\n{}", self.status, shorten(&self.body))
    }
}

/// A call and its answer; `reply` is `None` when none arrived (refused, timed out, cut off).
pub struct Exchange {
    pub call: Call,
    pub reply: Option<Reply>,
}

impl Exchange {
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

/// Sends `call` as `user`, reads the answer and records any contract violation in `ledger`.
pub async fn send(
    user: &mut GooseUser,
    ledger: &Ledger,
    call: Call,
) -> Result<Exchange, Box<TransactionError>> {
    // The path joined to the user's base URL once, and handed to reqwest as a parsed URL: goose's
    // `get_request_builder` would parse it twice more, host included, on every request.
    let url = user.base_url.join(&call.path).map_err(|error| Box::new(error.into()))?;
    let mut builder = user.client.request(http_method(call.method)?, url);
    for (name, value) in &call.headers {
        builder = builder.header(*name, value);
    }
    if let Some(body) = &call.body {
        builder = builder.header(CONTENT_TYPE, "application/json").body(body.clone());
    }
    if let Some(timeout) = call.timeout {
        builder = builder.timeout(timeout);
    }
    let mut request = GooseRequest::builder()
        .method(call.method)
        .path(call.path.as_str())
        .name(call.name)
        .set_request_builder(builder);
    if let Some(status) = call.expected {
        request = request.expect_status_code(status);
    }
    let sent = user.request(request.build()).await?;
    ledger.note_request();
    let reply = match sent.response {
        Ok(response) => {
            let (status, headers) = (response.status(), response.headers().clone());
            response.bytes().await.ok().map(|body| Reply { status, headers, body: text(&body) })
        }
        Err(_) => None,
    };
    let exchange = Exchange { call, reply };
    if let Some(kind) = exchange.reply.as_ref().and_then(contract::judge) {
        ledger.record(kind, exchange.example());
    }
    Ok(exchange)
}

/// The HTTP method of a goose method; goose itself only converts the other way.
fn http_method(method: GooseMethod) -> Result<Method, Box<TransactionError>> {
    Ok(match method {
        GooseMethod::Delete => Method::DELETE,
        GooseMethod::Get => Method::GET,
        GooseMethod::Head => Method::HEAD,
        GooseMethod::Patch => Method::PATCH,
        GooseMethod::Post => Method::POST,
        GooseMethod::Put => Method::PUT,
        GooseMethod::Custom => return Err("a custom method is no HTTP request".to_owned().into()),
    })
}

/// The body as text. It is UTF-8 unless the answer went wrong, and then shown as best it can be:
/// reqwest's `text()` would take the slower lossy path for every body.
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
