//! The chain's rules: what makes one item's events a chain, checked event by event, and the
//! problems a walk along a chain (or an audit of a store) names.

use std::fmt;

use serde::Serialize;

use crate::hash::{Sha256Hash, chain_hash};
use crate::id::ItemId;
use crate::ledger::{Change, Event};

/// A problem found in one item's chain: the item, the event, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("item {item}, event {seq}: {problem}")]
#[non_exhaustive]
pub struct VerifyError {
    /// The item whose chain is broken.
    pub item: ItemId,
    /// The event that does not check out (the sequence number expected, for a gap).
    pub seq: u64,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with an event in a chain, or with what a store keeps beside the chains.
/// As JSON, an object whose `kind` names the variant (`hash_mismatch`, `gap`, …) and whose
/// `detail` holds its fields, if it has any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Problem {
    /// Its content does not hash to its stored hash: it was changed after it was written.
    #[error("its content does not match its hash (stored {stored}, computed {computed})")]
    HashMismatch {
        /// The hash stored with the event.
        stored: Sha256Hash,
        /// The hash of its content.
        computed: Sha256Hash,
    },
    /// It does not name the hash of the event before it.
    #[error(
        "it does not name the hash of the event before it (it names {found}, the event before has {expected})"
    )]
    PrevMismatch {
        /// The hash of the event before.
        expected: Sha256Hash,
        /// The previous hash the event names.
        found: Sha256Hash,
    },
    /// Sequence numbers skip or repeat here.
    #[error("expected event {expected}, found event {found}: an event is missing or was inserted")]
    Gap {
        /// The sequence number that should come.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// The event belongs to another item.
    #[error("the event belongs to item {0}")]
    WrongItem(ItemId),
    /// The store files the event here, but its content says it is another event of the
    /// item (its key was changed outside workstream, or it was copied).
    #[error("the store files it here, but its content says it is item {item}, event {seq}")]
    Misfiled {
        /// The item its content names.
        item: ItemId,
        /// The sequence number its content names.
        seq: u64,
    },
    /// The chain does not start with the item's creation.
    #[error("the chain does not start with a `created` event")]
    NotCreatedFirst,
    /// A second creation.
    #[error("only the first event may create the item")]
    CreatedTwice,
    /// The item has a current state but no events.
    #[error("the item has a current state but no events")]
    Empty,
    /// The item's events are stored, but its current state is not.
    #[error("{events} event(s) are stored for the item, but it has no current state")]
    NoState {
        /// How many events are stored for it.
        events: u64,
    },
    /// The stored current state is not what replaying the events gives.
    #[error("the stored state differs from the replay of its events: {0}")]
    ProjectionMismatch(String),
    /// What the store keeps for the item cannot be read back.
    #[error("the store holds data it cannot read: {0}")]
    Unreadable(String),
    /// The event was written under a workflow text (its `source`) the store does not keep.
    #[error("it was written under the workflow text {text}, which the store does not keep")]
    TextNotKept {
        /// The sha256 of the text the event names.
        text: Sha256Hash,
    },
    /// The event's definition hash is not the one the text it was written under parses to.
    #[error(
        "it names definition {definition}, but the workflow text {text} it was written under \
         is definition {kept}"
    )]
    TextDiffers {
        /// The sha256 of the text the event names.
        text: Sha256Hash,
        /// The definition hash the event names.
        definition: Sha256Hash,
        /// The definition hash the kept text is recorded with.
        kept: Sha256Hash,
    },
    /// A kept workflow text is not what the store records it as: it does not hash to the
    /// source it is kept under, does not parse, or parses to another definition.
    #[error("the workflow text kept under {text}: {detail}")]
    BadDefinition {
        /// The source it is kept under.
        text: Sha256Hash,
        /// What is wrong.
        detail: String,
    },
    /// The event a [digest](crate::LedgerDigest) ended this item's chain on is not the one
    /// stored: the history up to there was rewritten after the digest was taken (even if
    /// every later hash was recomputed).
    #[error(
        "its history was rewritten: the digest ends its chain at event {seq} with hash \
         {expected}, the store has {found} there"
    )]
    Rewritten {
        /// The sequence number the digest covers.
        seq: u64,
        /// The head the digest recorded.
        expected: Sha256Hash,
        /// The hash of the event stored at that sequence number.
        found: Sha256Hash,
    },
    /// The chain is shorter than a [digest](crate::LedgerDigest) taken earlier recorded:
    /// events it covered were removed.
    #[error("the digest covers {covered} event(s) of it, but only {found} are stored")]
    Truncated {
        /// How many events the digest covers.
        covered: u64,
        /// How many are stored.
        found: u64,
    },
    /// A [digest](crate::LedgerDigest) taken earlier covers this item, but the store holds
    /// nothing of it any more: neither its state nor any of its events.
    #[error("the digest covers {covered} event(s) of it, but the store holds nothing of it")]
    Removed {
        /// How many events the digest covers.
        covered: u64,
    },
    /// Something the store keeps beside the events and states (an index, a column, a
    /// counter) disagrees with them.
    #[error("{what} holds {stored}, but the events and states say {expected}")]
    Disagrees {
        /// What holds the wrong value, e.g. "the `workstation` column of `items`".
        what: String,
        /// What it holds.
        stored: String,
        /// What the events and states say it should hold.
        expected: String,
    },
}

/// One problem found by an audit ([`audit`](crate::audit())): where, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// The item it concerns, if it concerns one (an id counter does not).
    pub item: Option<ItemId>,
    /// The event it concerns, if it concerns one.
    pub seq: Option<u64>,
    /// What is wrong.
    pub problem: Problem,
}

impl Finding {
    /// A problem of one item, not of one of its events.
    pub fn item(item: ItemId, problem: Problem) -> Self {
        Self {
            item: Some(item),
            seq: None,
            problem,
        }
    }

    /// A problem of one event.
    pub fn event(item: ItemId, seq: u64, problem: Problem) -> Self {
        Self {
            item: Some(item),
            seq: Some(seq),
            problem,
        }
    }

    /// A problem of the store as a whole.
    pub fn store(problem: Problem) -> Self {
        Self {
            item: None,
            seq: None,
            problem,
        }
    }
}

impl From<VerifyError> for Finding {
    fn from(e: VerifyError) -> Self {
        Finding::event(e.item, e.seq, e.problem)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.item, self.seq) {
            (Some(item), Some(seq)) => write!(f, "item {item}, event {seq}: {}", self.problem),
            (Some(item), None) => write!(f, "item {item}: {}", self.problem),
            _ => write!(f, "{}", self.problem),
        }
    }
}

/// An event as a store keeps it, for verification: the event read back, the sequence number
/// the store files it under, and the bytes the store keeps as its canonical JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// The event as read back.
    pub event: Event,
    /// The sequence number the store files it under (its key, kept apart from its content
    /// by a database).
    pub seq: u64,
    /// The bytes the store keeps as the event's canonical JSON, when it keeps them (a
    /// database does); the hash is checked against these bytes, as they are, and `event`
    /// must be what they read as ([`Event::from_canonical`]), so that what is verified is
    /// what is read. `None` when the store keeps the event itself (the memory store): the
    /// canonical JSON is then written from it to be hashed.
    pub body: Option<String>,
}

impl StoredEvent {
    /// An event kept as itself, filed under its own sequence number.
    pub fn kept(event: Event) -> Self {
        Self {
            seq: event.seq,
            event,
            body: None,
        }
    }
}

/// Walks one item's chain and names the first event that does not check out.
///
/// A chain runs from a `created` event, sequence numbers 1, 2, 3, …, each event naming the
/// hash of the one before and hashing to its own ([`chain_hash`](crate::chain_hash)`(prev,
/// canonical JSON)`). Sequence
/// numbers run from 1 without gaps, each event names its predecessor's hash, each event's
/// content hashes to its stored hash, and only the first event creates the item.
/// [`verify_stored_chain`] names every problem instead.
///
/// ```
/// # use workstream_core::{verify_chain, EventDraft, Change, ItemId, Sha256Hash};
/// # use chrono::Utc;
/// let first = EventDraft {
///     item: ItemId(1), seq: 1, at: Utc::now(), actor: "ops".into(),
///     change: Change::FieldsUpdated { patch: serde_json::json!({}) },
///     reason: None, payload: serde_json::Value::Null,
///     definition: Sha256Hash::of(b"definition"), source: None, prev: Sha256Hash::ZERO,
/// }.seal();
/// let err = verify_chain(ItemId(1), &[first]).unwrap_err();
/// assert_eq!(err.seq, 1); // the chain does not start with `created`
/// ```
pub fn verify_chain(item: ItemId, events: &[Event]) -> Result<(), VerifyError> {
    let mut walk = ChainWalk::new(item);
    for event in events {
        walk.step(event, None, None);
        if !walk.problems.is_empty() {
            return Err(walk.problems.swap_remove(0));
        }
    }
    walk.finish().into_iter().next().map_or(Ok(()), Err)
}

/// Walks one item's chain as a store keeps it and names every problem, in chain order: what
/// [`verify_chain`] checks, plus that each event is filed under its own sequence number,
/// and, where the store keeps an event's bytes, that its hash is checked against those bytes
/// (without writing the event out again). After a problem the walk goes on from the
/// event as stored, so each changed event is named, not only the first.
pub fn verify_stored_chain(item: ItemId, events: &[StoredEvent]) -> Vec<VerifyError> {
    let mut walk = ChainWalk::new(item);
    for stored in events {
        walk.step(&stored.event, Some(stored.seq), stored.body.as_deref());
    }
    walk.finish()
}

/// The state of a walk along one chain.
struct ChainWalk {
    item: ItemId,
    /// The sequence number the next event should have.
    next: u64,
    /// The hash the next event should name as its previous one.
    prev: Sha256Hash,
    /// How many events were walked.
    walked: u64,
    buf: Vec<u8>,
    problems: Vec<VerifyError>,
}

impl ChainWalk {
    fn new(item: ItemId) -> Self {
        Self {
            item,
            next: 1,
            prev: Sha256Hash::ZERO,
            walked: 0,
            buf: Vec::with_capacity(512),
            problems: Vec::new(),
        }
    }

    fn fail(&mut self, seq: u64, problem: Problem) {
        self.problems.push(VerifyError {
            item: self.item,
            seq,
            problem,
        });
    }

    /// Checks the next event of the walk. `filed` is the sequence number the store files it
    /// under (`None`: it is kept as itself, under its own); findings are placed there, and
    /// the walk goes on from there, so one changed event is named once.
    fn step(&mut self, event: &Event, filed: Option<u64>, body: Option<&str>) {
        let at = filed.unwrap_or(event.seq);
        if event.item != self.item {
            self.fail(at, Problem::WrongItem(event.item));
        } else if event.seq != at {
            self.fail(
                at,
                Problem::Misfiled {
                    item: event.item,
                    seq: event.seq,
                },
            );
        }
        if at != self.next {
            let expected = self.next;
            self.fail(
                expected,
                Problem::Gap {
                    expected,
                    found: at,
                },
            );
        }
        // Which event comes first is the store's order, not what an event says of itself.
        let creates = matches!(event.change, Change::Created { .. });
        if self.walked == 0 && !creates {
            self.fail(at, Problem::NotCreatedFirst);
        }
        if self.walked > 0 && creates {
            self.fail(at, Problem::CreatedTwice);
        }
        if event.prev != self.prev {
            let expected = self.prev;
            self.fail(
                at,
                Problem::PrevMismatch {
                    expected,
                    found: event.prev,
                },
            );
        }
        // The bytes the store keeps are what the hash covers; only an event kept as itself
        // is written out again to be hashed.
        let hashed: &[u8] = match body {
            Some(body) => body.as_bytes(),
            None => {
                self.buf.clear();
                event.write_canonical(&mut self.buf);
                &self.buf
            }
        };
        let computed = chain_hash(&event.prev, hashed);
        if computed != event.hash {
            self.fail(
                at,
                Problem::HashMismatch {
                    stored: event.hash,
                    computed,
                },
            );
        }
        // Go on from the event as stored, so the next one is checked against it.
        self.next = at.saturating_add(1);
        self.prev = event.hash;
        self.walked += 1;
    }

    fn finish(mut self) -> Vec<VerifyError> {
        if self.walked == 0 {
            self.fail(1, Problem::Empty);
        }
        self.problems
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ledger::EventDraft;
    use crate::ledger::tests::created;

    #[test]
    fn verify_names_the_first_event_that_does_not_match() {
        let first = created();
        let second = EventDraft {
            seq: 2,
            change: Change::Held {
                hold: "paused".into(),
            },
            prev: first.hash,
            ..first.clone().into_draft()
        }
        .seal();
        let chain = vec![first.clone(), second.clone()];
        assert_eq!(verify_chain(ItemId(7), &chain), Ok(()));

        let mut tampered = chain.clone();
        tampered[1].actor = "mallory".into();
        let err = verify_chain(ItemId(7), &tampered).unwrap_err();
        assert_eq!(err.seq, 2);
        assert!(matches!(err.problem, Problem::HashMismatch { .. }));

        let err =
            verify_chain(ItemId(7), &[first.clone(), second.clone(), second.clone()]).unwrap_err();
        assert_eq!(
            (err.seq, &err.problem),
            (
                3,
                &Problem::Gap {
                    expected: 3,
                    found: 2
                }
            )
        );

        let err = verify_chain(ItemId(7), std::slice::from_ref(&second)).unwrap_err();
        assert_eq!(err.seq, 1);

        let mut relinked = second.clone().into_draft();
        relinked.prev = Sha256Hash::of(b"elsewhere");
        let relinked = relinked.seal();
        let err = verify_chain(ItemId(7), &[first, relinked]).unwrap_err();
        assert!(matches!(err.problem, Problem::PrevMismatch { .. }));
    }

    /// A chain of four events of item 7, each sealed onto the one before.
    fn chain() -> Vec<Event> {
        let mut events = vec![created()];
        for seq in 2..=4 {
            let prev = events[events.len() - 1].hash;
            events.push(
                EventDraft {
                    seq,
                    change: Change::FieldsUpdated {
                        patch: json!({ "n": seq }),
                    },
                    prev,
                    ..created().into_draft()
                }
                .seal(),
            );
        }
        events
    }

    fn stored(events: &[Event]) -> Vec<StoredEvent> {
        events.iter().cloned().map(StoredEvent::kept).collect()
    }

    fn found(problems: &[VerifyError]) -> Vec<(u64, &Problem)> {
        problems.iter().map(|e| (e.seq, &e.problem)).collect()
    }

    #[test]
    fn a_valid_chain_has_no_problems_and_an_empty_one_one() {
        assert_eq!(verify_stored_chain(ItemId(7), &stored(&chain())), []);
        let empty = verify_stored_chain(ItemId(7), &[]);
        assert_eq!(found(&empty), [(1, &Problem::Empty)]);
    }

    #[test]
    fn a_changed_event_is_named_once_and_the_walk_goes_on() {
        // The content of event 2 names another item: that event, and only it, is wrong.
        let mut events = stored(&chain());
        events[1].event.item = ItemId(8);
        let problems = verify_stored_chain(ItemId(7), &events);
        assert!(problems.iter().all(|e| e.seq == 2), "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|e| e.problem == Problem::WrongItem(ItemId(8)))
        );

        // Event 3's content says it is event 7: filed as 3, it is misfiled, nothing more is
        // wrong with the events after it, and no event that does not exist is named.
        let mut events = stored(&chain());
        events[2].event.seq = 7;
        let problems = verify_stored_chain(ItemId(7), &events);
        assert!(problems.iter().all(|e| e.seq == 3), "{problems:?}");
        assert!(problems.iter().any(|e| e.problem
            == Problem::Misfiled {
                item: ItemId(7),
                seq: 7
            }));

        // The first event's content claims another number: misfiled, not a second creation.
        let mut events = stored(&chain());
        events[0].event.seq = 2;
        let problems = verify_stored_chain(ItemId(7), &events);
        assert!(problems.iter().all(|e| e.seq == 1), "{problems:?}");
        assert!(!problems.iter().any(|e| e.problem == Problem::CreatedTwice));

        // Two events edited: both named.
        let mut events = stored(&chain());
        events[1].event.actor = "mallory".into();
        events[3].event.actor = "mallory".into();
        let seqs: Vec<u64> = verify_stored_chain(ItemId(7), &events)
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, [2, 4]);
    }

    #[test]
    fn stored_bytes_are_what_the_hash_is_checked_against() {
        let events = chain();
        let mut kept = stored(&events);
        kept[2].body = Some(events[2].canonical_json());
        assert_eq!(verify_stored_chain(ItemId(7), &kept), []);
        // A space in the stored bytes: the hash no longer matches them.
        kept[2].body = Some(events[2].canonical_json().replacen(':', ": ", 1));
        let problems = verify_stored_chain(ItemId(7), &kept);
        assert!(matches!(
            found(&problems)[..],
            [(3, Problem::HashMismatch { .. })]
        ));
        // Bytes resealed by hand (their hash recomputed over them) are what is checked: the
        // chain walk cannot tell a rewrite from the original; a digest can.
        let spaced = events[2].canonical_json().replacen(':', ": ", 1);
        kept[2].event.hash = chain_hash(&kept[2].event.prev, spaced.as_bytes());
        kept[2].body = Some(spaced);
        let problems = verify_stored_chain(ItemId(7), &kept);
        assert!(
            matches!(found(&problems)[..], [(4, Problem::PrevMismatch { .. })]),
            "{problems:?}"
        );
    }
}
