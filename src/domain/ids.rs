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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_start_at_one() {
        assert_eq!(SnackId::new(1).unwrap().get(), 1);
        assert_eq!(SnackId::new(0).unwrap_err().to_string(), "snack ID must be >= 1");
        assert_eq!(DrawerId::new(-5).unwrap_err().to_string(), "drawer ID must be >= 1");
    }
}
