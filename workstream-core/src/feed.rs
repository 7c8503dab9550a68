//! The store-wide feed: every committed event, once, in one order fixed at commit.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::ledger::Event;

/// A place in a store's feed of events: the order in which its events were committed,
/// store-wide. Positions only grow: an event committed after a reader saw position `p`
/// gets a position after `p`, so a reader that keeps the last position it handled (in a
/// file, in its own database) and asks for the events since it misses none and sees none
/// twice, across restarts.
///
/// Positions are not dense and their two parts are the store's own: the SQLite and memory
/// stores count commits (`0.n`), the PostgreSQL store orders by transaction (`t.n`, the
/// transaction's number and the event's place in it). Written as text (`17`, `4711.2`) they
/// read back with [`FromStr`]; [`Position::START`] is before every event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    major: u64,
    minor: u64,
}

impl Position {
    /// Before every event: `events_since(Position::START, …)` starts at the beginning.
    pub const START: Position = Position { major: 0, minor: 0 };

    /// The position `major.minor` (stores make them; a reader keeps and compares them).
    pub const fn new(major: u64, minor: u64) -> Self {
        Self { major, minor }
    }

    /// The first part: 0 for stores that count commits.
    pub const fn major(&self) -> u64 {
        self.major
    }

    /// The second part.
    pub const fn minor(&self) -> u64 {
        self.minor
    }
}

impl fmt::Display for Position {
    /// `17` when the first part is 0, `4711.2` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.major == 0 {
            write!(f, "{}", self.minor)
        } else {
            write!(f, "{}.{}", self.major, self.minor)
        }
    }
}

/// As JSON, the text form: `"17"`, `"4711.2"`.
impl Serialize for Position {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The text is not a feed position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a feed position (a number, or two joined by a dot: 17, 4711.2)")]
pub struct ParsePositionError(String);

impl FromStr for Position {
    type Err = ParsePositionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || ParsePositionError(text.chars().take(40).collect());
        let number = |s: &str| -> Result<u64, ParsePositionError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            s.parse().map_err(|_| err())
        };
        match text.split_once('.') {
            None => Ok(Position::new(0, number(text)?)),
            Some((major, minor)) => Ok(Position::new(number(major)?, number(minor)?)),
        }
    }
}

/// One event of the feed, with its position.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FeedEvent {
    /// Where it is in the feed.
    pub position: Position,
    /// The event.
    pub event: Event,
}

impl FeedEvent {
    /// The event at `position`.
    pub fn new(position: Position, event: Event) -> Self {
        Self { position, event }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_back_as_written_and_order_by_both_parts() {
        for p in [
            Position::START,
            Position::new(0, 17),
            Position::new(4711, 2),
            Position::new(u64::MAX, u64::MAX),
        ] {
            assert_eq!(p.to_string().parse::<Position>(), Ok(p));
        }
        assert_eq!("17".parse::<Position>(), Ok(Position::new(0, 17)));
        for bad in [
            "",
            ".",
            "1.",
            ".1",
            "-1",
            "+1",
            "1.2.3",
            "x",
            "18446744073709551616",
        ] {
            assert!(bad.parse::<Position>().is_err(), "{bad}");
        }
        assert!(Position::new(1, 0) > Position::new(0, u64::MAX));
        assert!(Position::new(3, 2) < Position::new(3, 10));
    }
}
