//! An answer of the service read to its end, as the checks need it: status, headers and body
//! text. The transport hands over bytes; everything above it (the contract, the personas, the
//! examples a violation keeps) reads this.

use crate::transport::Answer;
use crate::violation::shorten;
use hyper::StatusCode;
use hyper::header::HeaderMap;

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

/// The body as text. It is UTF-8 unless the answer went wrong, and then shown as best it can be;
/// `from_utf8_lossy` alone would walk every body in chunks, about 2,500 instructions for the snack
/// list where the plain check takes a few hundred.
fn text(body: &[u8]) -> String {
    std::str::from_utf8(body)
        .map_or_else(|_| String::from_utf8_lossy(body).into_owned(), str::to_owned)
}
