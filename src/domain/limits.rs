//! How long the lists may grow: the catalogue, one user's drawers, one drawer's contents.
//!
//! Every list is read whole (old clients know no paging), so an unbounded list makes every read
//! of it as large as one writer pleases. The limits are the core's rule; a store counts and
//! refuses in the same step as it writes, so concurrent writers cannot pass a limit together.

use super::DrawerId;
use std::fmt;

/// The most each list may hold. Each is at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    /// Snacks in the global catalogue.
    pub catalogue: u32,
    /// Drawers one user may have.
    pub drawers_per_user: u32,
    /// Snacks one drawer may hold.
    pub snacks_per_drawer: u32,
}

impl ListLimits {
    /// No limit anything can meet: for tests and benchmarks of everything else. The service's
    /// defaults are its settings'.
    pub const UNBOUNDED: Self =
        Self { catalogue: u32::MAX, drawers_per_user: u32::MAX, snacks_per_drawer: u32::MAX };
}

/// A list that holds as much as its limit allows, so a write that would lengthen it is refused.
/// Its text is written for the client and names the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullList {
    Catalogue { limit: u32 },
    Drawers { limit: u32 },
    Drawer { drawer: DrawerId, limit: u32 },
}

impl fmt::Display for FullList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Catalogue { limit } => {
                write!(f, "catalogue limit reached: the catalogue may hold at most {limit} snacks")
            }
            Self::Drawers { limit } => {
                write!(f, "drawer limit reached: a user may have at most {limit} drawers")
            }
            Self::Drawer { drawer, limit } => write!(
                f,
                "drawer with ID {drawer} is full: a drawer may hold at most {limit} snacks"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_list_names_its_limit() {
        let drawer = DrawerId::new(3).unwrap();
        assert_eq!(
            FullList::Drawer { drawer, limit: 7 }.to_string(),
            "drawer with ID 3 is full: a drawer may hold at most 7 snacks"
        );
        assert!(FullList::Catalogue { limit: 10 }.to_string().contains("at most 10 snacks"));
        assert!(FullList::Drawers { limit: 2 }.to_string().contains("at most 2 drawers"));
    }
}
