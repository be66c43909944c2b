//! What fails a run: the kinds of violation, and the evidence kept for each, one request and the
//! answer it got, shown as text. Every check files what it finds here, whichever module it lives
//! in, so this is the one vocabulary they share.

use serde::Serialize;
use std::fmt;

/// Characters of any text shown in an example: a header value, a request or answer body.
const SHOWN_CHARACTERS: usize = 300;

/// What a run fails on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ViolationKind {
    /// Another user's drawer reached someone, or answered differently from a missing one.
    Leak,
    /// A drawer changed without its owner asking.
    Tamper,
    /// A forged token or guessed password got a 2xx.
    ForgedAccepted,
    /// A 5xx other than a 503 that says when to retry.
    ServerError,
    /// An error answer that is not `{"error": "<code> <reason>: <description>"}`.
    Contract,
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = serde_json::to_value(self).map_err(|_| fmt::Error)?;
        formatter.write_str(value.as_str().unwrap_or_default())
    }
}

/// One request and the answer it got, as text.
#[derive(Clone, Debug, Serialize)]
pub struct Example {
    pub request: String,
    pub response: String,
}

/// How often a kind of violation was seen, and the first time it was.
#[derive(Clone, Debug, Serialize)]
pub struct Tally {
    pub count: u64,
    pub example: Example,
}

/// `text` as an example shows it: whole when short, otherwise its start and its length.
pub fn shorten(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARACTERS) {
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_as_in_the_summary() {
        assert_eq!(ViolationKind::ForgedAccepted.to_string(), "forged-accepted");
        assert_eq!(ViolationKind::ServerError.to_string(), "server-error");
    }

    #[test]
    fn long_texts_are_cut_and_say_how_long_they_were() {
        assert_eq!(shorten("short"), "short");
        let long = "é".repeat(400);
        let shown = shorten(&long);
        assert!(shown.starts_with(&"é".repeat(300)), "{shown}");
        assert!(shown.ends_with("… (800 bytes in all)"), "{shown}");
    }
}
