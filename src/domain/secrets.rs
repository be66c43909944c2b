//! Values that must never be printed: passwords, their hashes and access tokens.
//!
//! Their `Debug` output is redacted, so a `?password` in a log line or span field shows
//! `Password(..)` instead of the secret, and none of them implements `Display`.

use super::ValidationError;
use std::fmt;

/// The longest password accepted, in bytes; it bounds the work one login can cause.
pub const PASSWORD_MAX_BYTES: usize = 1024;

macro_rules! redacted_debug {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }
    };
}

/// A password as the user typed it: 1 to 1024 bytes, anything allowed. Deliberately not
/// comparable: checking one is the hasher's job, in constant time.
#[derive(Clone)]
pub struct Password(String);
redacted_debug!(Password);

impl Password {
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        if raw.is_empty() || raw.len() > PASSWORD_MAX_BYTES {
            return Err(ValidationError::PasswordLength);
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A stored password hash in whatever self-describing format the hasher writes.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);
redacted_debug!(PasswordHash);

impl PasswordHash {
    pub fn new(encoded: impl Into<String>) -> Self {
        Self(encoded.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A signed access token handed to a client after logging in.
#[derive(Clone)]
pub struct AccessToken(String);
redacted_debug!(AccessToken);

impl AccessToken {
    pub fn new(encoded: impl Into<String>) -> Self {
        Self(encoded.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_debug_print() {
        let password = Password::parse("hunter2").unwrap();
        assert_eq!(format!("{password:?}"), "Password(..)");
        assert_eq!(format!("{:?}", AccessToken::new("abc.def")), "AccessToken(..)");
    }

    #[test]
    fn passwords_are_one_to_1024_bytes() {
        assert!(Password::parse("").is_err());
        assert!(Password::parse("p".repeat(1024)).is_ok());
        assert_eq!(
            Password::parse("é".repeat(513)).unwrap_err().to_string(),
            "password must be 1 to 1024 bytes"
        );
    }
}
