//! Honeycomb with one variable, as the original service had it: `HONEYCOMB_API_KEY` alone
//! sends traces and logs to Honeycomb's OTLP endpoint, with the key in `x-honeycomb-team`.
//!
//! Why here rather than through `OTEL_*` variables: those work too, but a key that carries
//! everything is what the original offered, and a key is easy to get wrong in a header list.
//! Honeycomb is only a default: an OTLP endpoint set explicitly wins (`otlp::destination`).
//! The key is a secret: it is never printed, in `Debug` or in an error.

use std::fmt;

/// Honeycomb's OTLP endpoint (US); `https://api.eu1.honeycomb.io` is the EU one.
pub const DEFAULT_ENDPOINT: &str = "https://api.honeycomb.io";

/// A Honeycomb API key; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct HoneycombKey(String);

impl HoneycombKey {
    /// A key is sent as a header value, so it must be visible ASCII; the error does not quote
    /// it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || !raw.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err("must be a Honeycomb API key (letters, digits and punctuation)".to_owned());
        }
        Ok(Self(raw.to_owned()))
    }

    /// A classic key, which needs a dataset named with every export: 32 hexadecimal digits
    /// (a classic configuration key) or 64 characters starting `hc?ic_` (a classic ingest
    /// key), as Honeycomb's own OpenTelemetry distributions tell them apart. Any other key
    /// belongs to an environment, and the data lands in the dataset named by `service.name`.
    fn is_classic(&self) -> bool {
        let key = self.0.as_bytes();
        match key.len() {
            32 => key.iter().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f')),
            64 => {
                key.starts_with(b"hc")
                    && key[2].is_ascii_lowercase()
                    && key[3..6] == *b"ic_"
                    && key[6..].iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            }
            _ => false,
        }
    }
}

impl fmt::Debug for HoneycombKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HoneycombKey(..)")
    }
}

/// Where and as whom to send to Honeycomb.
#[derive(Clone, Debug)]
pub struct Honeycomb {
    pub key: HoneycombKey,
    /// Honeycomb's host, `DEFAULT_ENDPOINT` unless `HONEYCOMB_API_ENDPOINT` says otherwise.
    pub endpoint: String,
    /// The dataset for a classic key (`HONEYCOMB_DATASET`); the service's name when unset.
    pub dataset: Option<String>,
}

impl Honeycomb {
    /// The headers every export to Honeycomb carries: the key, and for a classic key the
    /// dataset (`HONEYCOMB_DATASET`, else the service's name).
    pub fn headers(&self, service_name: &str) -> Vec<(String, String)> {
        let mut headers = vec![("x-honeycomb-team".to_owned(), self.key.0.clone())];
        if self.key.is_classic() {
            let dataset = self.dataset.as_deref().filter(|d| !d.is_empty()).unwrap_or(service_name);
            headers.push(("x-honeycomb-dataset".to_owned(), dataset.to_owned()));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(key: &str, dataset: Option<&str>) -> Vec<(String, String)> {
        let key = HoneycombKey::parse(key).unwrap();
        let honeycomb = Honeycomb {
            key,
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            dataset: dataset.map(str::to_owned),
        };
        honeycomb.headers("snackdrawer")
    }

    fn header(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn a_classic_key_names_a_dataset_and_an_environment_key_does_not() {
        let classic = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            headers(classic, None),
            [header("x-honeycomb-team", classic), header("x-honeycomb-dataset", "snackdrawer")]
        );
        assert_eq!(headers(classic, Some("snacks"))[1], header("x-honeycomb-dataset", "snacks"));
        let classic_ingest = format!("hcaic_{}", "0a".repeat(29));
        assert_eq!(headers(&classic_ingest, None).len(), 2);
        for environment_key in [
            "aBcDeFgHiJkLmNoPqRsTuV",
            "0123456789ABCDEF0123456789ABCDEF",
            &format!("hcaik_{}", "0a".repeat(29)),
        ] {
            assert_eq!(
                headers(environment_key, Some("ignored")),
                [header("x-honeycomb-team", environment_key)],
                "{environment_key}"
            );
        }
    }

    #[test]
    fn a_key_is_never_printed() {
        let key = HoneycombKey::parse("hunter2-honeycomb").unwrap();
        assert_eq!(format!("{key:?}"), "HoneycombKey(..)");
        let error = HoneycombKey::parse("hunter2 with spaces").unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(HoneycombKey::parse("").is_err());
    }
}
