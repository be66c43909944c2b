//! Names people choose: usernames, snack names and drawer names.
//!
//! All three follow one rule: 1 to 64 characters (Unicode scalar values, not bytes), compared
//! exactly and case-sensitively, and free of control characters. The last part is ours: a NUL
//! breaks PostgreSQL's `text`, a newline or line separator forges log lines, and bidirectional
//! overrides make a name display as something else; no client needs any of them. (Zero-width
//! joiners stay allowed: emoji are made of them.)
//!
//! Usernames have one more rule: no whitespace at either end, which a user cannot see when they
//! type it and would otherwise make " bob" an account beside "bob". (The HTTP adapter also
//! normalises a username to Unicode NFC before it gets here, so "é" typed as one character or
//! as "e" and a combining accent names one account.)

use super::ValidationError;
use std::fmt;

/// The longest name, in characters, that any of the name types accepts.
pub const NAME_MAX_CHARS: usize = 64;

fn check_name(field: &'static str, raw: &str) -> Result<(), ValidationError> {
    let chars = raw.chars().count();
    if chars == 0 || chars > NAME_MAX_CHARS {
        return Err(ValidationError::NameLength { field });
    }
    if raw.chars().any(is_disallowed) {
        return Err(ValidationError::ControlCharacter { field });
    }
    Ok(())
}

fn check_username(field: &'static str, raw: &str) -> Result<(), ValidationError> {
    check_name(field, raw)?;
    if raw.starts_with(char::is_whitespace) || raw.ends_with(char::is_whitespace) {
        return Err(ValidationError::SurroundingWhitespace);
    }
    Ok(())
}

fn is_disallowed(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
                let raw = raw.into();
                $check($field, &raw)?;
                Ok(Self(raw))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// The name a user registers and logs in with; unique across the service.
    Username,
    "username",
    check_username
);
name_type!(
    /// The name of a snack; unique across the global catalogue.
    SnackName,
    "name",
    check_name
);
name_type!(
    /// The name of a drawer; unique among one user's drawers only.
    DrawerName,
    "name",
    check_name
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_to_sixty_four_characters() {
        assert!(SnackName::parse("").is_err());
        assert!(SnackName::parse("a").is_ok());
        assert!(SnackName::parse("é".repeat(64)).is_ok(), "limit counts characters, not bytes");
        assert_eq!(
            DrawerName::parse("x".repeat(65)).unwrap_err().to_string(),
            "name must be 1 to 64 characters"
        );
    }

    #[test]
    fn names_reject_control_characters() {
        assert_eq!(
            Username::parse("nul\0byte").unwrap_err().to_string(),
            "username must not contain control characters"
        );
        assert!(Username::parse("line\nbreak").is_err());
        assert!(SnackName::parse("evil\u{202E}gnp.exe").is_err(), "bidi override");
        assert!(SnackName::parse("a\u{2028}b").is_err(), "line separator");
        assert!(SnackName::parse("👩\u{200D}🍳 snacks").is_ok(), "emoji with joiners");
    }

    #[test]
    fn usernames_refuse_surrounding_whitespace() {
        for padded in [" bob", "bob ", "\u{3000}bob", "bob\u{A0}"] {
            assert_eq!(
                Username::parse(padded).unwrap_err().to_string(),
                "username must not start or end with whitespace",
                "{padded:?}"
            );
        }
        assert!(Username::parse("bob the builder").is_ok(), "inner spaces are fine");
    }

    #[test]
    fn names_are_kept_exactly() {
        let name = SnackName::parse(" Chocolate ").unwrap();
        assert_eq!(name.as_str(), " Chocolate ");
        assert_ne!(name, SnackName::parse(" chocolate ").unwrap());
    }
}
