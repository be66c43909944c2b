//! Names people choose: usernames, snack names and drawer names.
//!
//! All three follow one rule: 1 to 64 characters (Unicode scalar values, not bytes), compared
//! exactly and case-sensitively, and free of control characters. The last part is ours: a NUL
//! breaks PostgreSQL's `text`, a newline or line separator forges log lines, and bidirectional
//! overrides make a name display as something else; no client needs any of them. (Zero-width
//! joiners stay allowed: emoji are made of them.)
//!
//! Usernames have one more rule: no whitespace at either end, which a user cannot see when they
//! type it and would otherwise make " bob" an account beside "bob". A new username (one being
//! registered) has a third: no default-ignorable code point (zero-width spaces and joiners, the
//! byte order mark, soft hyphens, variation selectors, …), which render as nothing and would
//! make "bob" with one an account beside "bob". Names registered before that rule still parse,
//! so their owners still log in. (The HTTP adapter also normalises a new username to Unicode
//! NFKC before it gets here, so fullwidth "ｂｏｂ" is "bob", and a login's to NFC and NFKC:
//! `LoginName`. Decision record 0018.)

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

fn check_new_username(field: &'static str, raw: &str) -> Result<(), ValidationError> {
    check_username(field, raw)?;
    if raw.chars().any(is_default_ignorable) {
        return Err(ValidationError::InvisibleCharacter);
    }
    Ok(())
}

/// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt; the same in Unicode 14
/// to 16): characters shown as nothing unless a font knows them.
const DEFAULT_IGNORABLE: [(char, char); 17] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

fn is_default_ignorable(c: char) -> bool {
    DEFAULT_IGNORABLE.iter().any(|&(first, last)| (first..=last).contains(&c))
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
impl Username {
    /// A username for a new account: as `parse`, and free of default-ignorable code points.
    pub fn parse_new(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        check_new_username("username", &raw)?;
        Ok(Self(raw))
    }
}

/// The username a login gives, in both forms an account may be registered under: as typed (in
/// NFC, as accounts registered before compatibility characters were folded are) and folded (in
/// NFKC, as every account registered since is). An account registered under the typed form
/// wins, so a name that was one account before still is. Only the HTTP adapter can normalise:
/// it makes both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginName {
    pub typed: Username,
    pub folded: Username,
}

/// A name already in its one form (as from a caller in the same process).
impl From<Username> for LoginName {
    fn from(username: Username) -> Self {
        Self { typed: username.clone(), folded: username }
    }
}

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

    #[test]
    fn new_usernames_refuse_invisible_characters() {
        let look_alikes = [
            "b\u{200B}ob",
            "b\u{200D}ob",
            "\u{FEFF}bob",
            "bo\u{AD}b",
            "bo\u{34F}b",
            "bob\u{FE0F}",
            "bob\u{E0062}",
            "\u{3164}bob",
        ];
        for look_alike in look_alikes {
            assert_eq!(
                Username::parse_new(look_alike).unwrap_err().to_string(),
                "username must not contain invisible characters (default-ignorable code points \
                 such as zero-width spaces and joiners, soft hyphens or variation selectors)",
                "{look_alike:?}"
            );
            assert!(Username::parse(look_alike).is_ok(), "names registered before still parse");
        }
        assert!(Username::parse_new("bob the builder").is_ok());
        assert!(Username::parse_new("Zo\u{eb} \u{1F36A}").is_ok(), "accents and emoji");
    }

    #[test]
    fn the_default_ignorable_table_holds_the_known_code_points() {
        let ignorable = ['\u{AD}', '\u{34F}', '\u{61C}', '\u{115F}', '\u{180E}', '\u{200B}'];
        let more = ['\u{2060}', '\u{2064}', '\u{206F}', '\u{FE0F}', '\u{FEFF}', '\u{E0001}'];
        for c in ignorable.into_iter().chain(more).chain(['\u{1D173}', '\u{E01EF}']) {
            assert!(is_default_ignorable(c), "{c:?}");
        }
        let visible = ['a', ' ', '\u{A0}', '\u{200A}', '\u{2028}', '\u{FFF9}', '\u{FF42}'];
        for c in visible.into_iter().chain(['\u{1F36A}', '\u{E1000}', '\u{1160}']) {
            assert_eq!(is_default_ignorable(c), c == '\u{1160}', "{c:?}");
        }
        let total: u32 = DEFAULT_IGNORABLE.iter().map(|&(a, b)| b as u32 - a as u32 + 1).sum();
        assert_eq!(total, 4174, "the property's size in Unicode 16");
    }
}
