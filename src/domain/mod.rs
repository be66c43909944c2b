//! The vocabulary of Snackdrawer: users, snacks, drawers and the rules that hold for them
//! whatever stores or serves them.
//!
//! Values here are validated on construction (a `DrawerName` can only exist if it is 1 to 64
//! characters), so code below the edge never re-checks them. Nothing in this module does I/O,
//! awaits or names an outside library; it is plain data plus the rules.

mod client;
mod entities;
mod ids;
mod limits;
mod names;
mod secrets;

pub use client::ClientAddress;
pub use entities::{Credentials, Drawer, DrawerWithContents, Snack, SnackList, User};
pub use ids::{DrawerId, SnackId, USER_KEY_MAX_CHARS, UserId, UserKey};
pub use limits::{FullList, ListLimits};
pub use names::{DrawerName, LoginName, NAME_MAX_CHARS, SnackName, Username};
pub use secrets::{AccessToken, PASSWORD_MAX_BYTES, Password, PasswordHash};

/// Why a value offered from outside cannot become a domain value. The text is written for the
/// client who sent it: it names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{0} ID must be >= 1")]
    IdBelowOne(&'static str),
    #[error("{field} must be 1 to {NAME_MAX_CHARS} characters")]
    NameLength { field: &'static str },
    #[error("{field} must not contain control characters")]
    ControlCharacter { field: &'static str },
    #[error("password must be 1 to {PASSWORD_MAX_BYTES} bytes")]
    PasswordLength,
    #[error("username must not start or end with whitespace")]
    SurroundingWhitespace,
    #[error(
        "username must not contain invisible characters (default-ignorable code points such as \
         zero-width spaces and joiners, soft hyphens or variation selectors)"
    )]
    InvisibleCharacter,
    #[error("user key must be 1 to {USER_KEY_MAX_CHARS} ASCII letters or digits")]
    UserKey,
}
