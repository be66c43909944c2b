//! Identifiers. Each kind of record has its own id type so a snack id can never be passed where
//! a drawer id is expected; all of them are positive integers, as the HTTP contract promises.

use super::ValidationError;
use std::fmt;

macro_rules! positive_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            /// Accepts only ids >= 1; anything else is the client's mistake.
            pub fn new(raw: i64) -> Result<Self, ValidationError> {
                if raw >= 1 { Ok(Self(raw)) } else { Err(ValidationError::IdBelowOne($what)) }
            }

            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

positive_id!(
    /// A registered user.
    UserId,
    "user"
);
positive_id!(
    /// A snack in the global catalogue.
    SnackId,
    "snack"
);
positive_id!(
    /// One user's drawer.
    DrawerId,
    "drawer"
);

/// What tells one account from every other that had, or will have, its id: a random value a
/// store gives each user it creates, carried in the user's tokens. A store that is reset hands
/// ids out again from 1; keys it never hands out again, so an old token cannot pass for the new
/// account that got its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserKey(String);

/// The longest user key accepted, in characters.
pub const USER_KEY_MAX_CHARS: usize = 64;

impl UserKey {
    /// A fresh key from 128 random bits, as 32 hex digits.
    pub fn from_random_bits(bits: u128) -> Self {
        Self(format!("{bits:032x}"))
    }

    /// A key as a store keeps it or a token carries it: 1 to 64 ASCII letters and digits.
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        let well_formed = (1..=USER_KEY_MAX_CHARS).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric());
        if well_formed { Ok(Self(raw)) } else { Err(ValidationError::UserKey) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_start_at_one() {
        assert_eq!(SnackId::new(1).unwrap().get(), 1);
        assert_eq!(SnackId::new(0).unwrap_err().to_string(), "snack ID must be >= 1");
        assert_eq!(DrawerId::new(-5).unwrap_err().to_string(), "drawer ID must be >= 1");
    }

    #[test]
    fn user_keys_are_short_ascii_alphanumerics() {
        let fresh = UserKey::from_random_bits(0xab);
        assert_eq!(fresh.as_str(), "000000000000000000000000000000ab");
        assert_eq!(UserKey::parse(fresh.as_str()).unwrap(), fresh);
        for bad in ["", "has space", "é", &"k".repeat(65)] {
            assert!(UserKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
