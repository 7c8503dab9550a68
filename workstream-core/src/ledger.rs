//! The ledger: every change to an item is an [`Event`] in that item's hash chain.
//!
//! An event's hash is `sha256(previous hash ‖ canonical JSON of the event)`, where the
//! previous hash is the 32 raw bytes of the hash of the item's event before it (32 zero bytes
//! for the first) and the canonical JSON ([`Event::canonical_json`]) holds every other field of
//! the event: keys sorted, no whitespace, UTF-8, instants in RFC 3339 with nine fractional
//! digits. Changing, removing or inserting any event breaks the chain at that event, which
//! [`verify`] names.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::{DefinitionHash, Sha256Hash, Sha256Hasher, write_canonical, write_json_str};
use crate::id::ItemId;
use crate::workflow::Outcome;

/// One change to one item, linked to the item's previous event by hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The item changed.
    pub item: ItemId,
    /// Its place in the item's chain: 1 for the event that created the item, then 2, 3, ….
    pub seq: u64,
    /// When it happened, by the engine's clock.
    #[serde(with = "instant")]
    pub at: DateTime<Utc>,
    /// The id of the actor who made the change.
    pub actor: String,
    /// What changed.
    pub change: Change,
    /// Why, in the actor's words.
    pub reason: Option<String>,
    /// Data the caller attached to the change (a review, a receipt, …); `null` when none.
    pub payload: Value,
    /// The definition hash of the item's workflow.
    pub definition: DefinitionHash,
    /// The hash of the item's previous event ([`Sha256Hash::ZERO`] for the first).
    pub prev: Sha256Hash,
    /// This event's hash: `sha256(prev ‖ canonical JSON)`.
    pub hash: Sha256Hash,
}

/// What an event changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// The item was created in its workflow's initial workstation.
    Created {
        /// The workflow's name.
        workflow: String,
        /// The workflow version the item keeps.
        version: u32,
        /// The initial workstation.
        workstation: String,
        /// The item's first data (shared with the item's state, so it is kept once).
        fields: Arc<Value>,
        /// The item it belongs to, if any.
        parent: Option<ItemId>,
    },
    /// The item moved along a transition.
    Transitioned {
        /// The transition's name.
        transition: String,
        /// Where it was.
        from: String,
        /// Where it is now.
        to: String,
        /// How its work ended, when `to` is terminal.
        outcome: Option<Outcome>,
        /// A merge patch applied to its fields with the move.
        patch: Option<Value>,
        /// Soft limits the move went past (soft WIP limits).
        warnings: Vec<String>,
    },
    /// The item's fields changed by a merge patch (RFC 7386).
    FieldsUpdated {
        /// The patch.
        patch: Value,
    },
    /// A hold was put on; the event's reason says why.
    Held {
        /// The hold kind.
        hold: String,
    },
    /// A hold was released.
    Released {
        /// The hold kind.
        hold: String,
    },
    /// The item came to depend on another.
    DependencyAdded {
        /// The item depended on.
        on: ItemId,
    },
    /// The item no longer depends on another.
    DependencyRemoved {
        /// The item no longer depended on.
        on: ItemId,
    },
    /// The item's parent changed.
    ParentSet {
        /// The new parent, or none.
        parent: Option<ItemId>,
    },
}

impl Change {
    /// The change's kind as written in the ledger (`created`, `transitioned`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Created { .. } => "created",
            Change::Transitioned { .. } => "transitioned",
            Change::FieldsUpdated { .. } => "fields_updated",
            Change::Held { .. } => "held",
            Change::Released { .. } => "released",
            Change::DependencyAdded { .. } => "dependency_added",
            Change::DependencyRemoved { .. } => "dependency_removed",
            Change::ParentSet { .. } => "parent_set",
        }
    }
}

impl Event {
    /// The JSON values the event carries: the fields of a `created` event, the patch of a
    /// move or a field update, and the payload.
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        let change = match &self.change {
            Change::Created { fields, .. } => Some(&**fields),
            Change::Transitioned { patch, .. } => patch.as_ref(),
            Change::FieldsUpdated { patch } => Some(patch),
            _ => None,
        };
        change.into_iter().chain(std::iter::once(&self.payload))
    }

    /// Takes the event apart without recursion: dropping a value nested many thousands of
    /// levels deep the ordinary way overflows the stack. Stores call it on an event they
    /// refuse as too deep ([`StoreError::TooDeep`](crate::StoreError::TooDeep)).
    pub fn dismantle(self) {
        let Event {
            change, payload, ..
        } = self;
        crate::value::dismantle(payload);
        match change {
            Change::Created { fields, .. } => {
                if let Ok(fields) = Arc::try_unwrap(fields) {
                    crate::value::dismantle(fields);
                }
            }
            Change::Transitioned {
                patch: Some(patch), ..
            }
            | Change::FieldsUpdated { patch } => crate::value::dismantle(patch),
            _ => {}
        }
    }

    /// The canonical JSON the event's hash covers: every field but `prev` (which is hashed
    /// as raw bytes in front of it) and `hash`.
    pub fn canonical_json(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_canonical(&mut out);
        // Only whole UTF-8 strings and ASCII punctuation were written.
        String::from_utf8(out).unwrap_or_default()
    }

    /// The hash this event should have: `sha256(prev ‖ canonical JSON)`.
    pub fn compute_hash(&self) -> Sha256Hash {
        // Most events fit; one allocation per event.
        let mut buf = Vec::with_capacity(512);
        self.write_canonical(&mut buf);
        chain_hash(&self.prev, &buf)
    }

    /// Sets `hash` to [`compute_hash`](Self::compute_hash).
    pub fn seal(mut self) -> Self {
        self.hash = self.compute_hash();
        self
    }

    fn write_canonical(&self, out: &mut Vec<u8>) {
        let mut w = ObjectWriter::new(out);
        w.key("actor");
        write_json_str(&self.actor, w.out);
        w.key("at");
        write_instant(self.at, w.out);
        w.key("change");
        write_change(&self.change, w.out);
        w.key("definition");
        w.out.push(b'"');
        w.out.extend_from_slice(&self.definition.text());
        w.out.push(b'"');
        w.key("item");
        write_u64(self.item.0, w.out);
        w.key("payload");
        write_canonical(&self.payload, w.out);
        w.key("reason");
        write_opt_str(self.reason.as_deref(), w.out);
        w.key("seq");
        write_u64(self.seq, w.out);
        w.finish();
    }
}

fn write_change(change: &Change, out: &mut Vec<u8>) {
    let mut w = ObjectWriter::new(out);
    match change {
        Change::Created {
            workflow,
            version,
            workstation,
            fields,
            parent,
        } => {
            w.key("fields");
            write_canonical(fields, w.out);
            w.kind("created");
            w.key("parent");
            write_opt_id(*parent, w.out);
            w.key("version");
            write_u64(u64::from(*version), w.out);
            w.key("workflow");
            write_json_str(workflow, w.out);
            w.key("workstation");
            write_json_str(workstation, w.out);
        }
        Change::Transitioned {
            transition,
            from,
            to,
            outcome,
            patch,
            warnings,
        } => {
            w.key("from");
            write_json_str(from, w.out);
            w.kind("transitioned");
            w.key("outcome");
            write_opt_str(outcome.map(Outcome::name), w.out);
            w.key("patch");
            match patch {
                Some(patch) => write_canonical(patch, w.out),
                None => w.out.extend_from_slice(b"null"),
            }
            w.key("to");
            write_json_str(to, w.out);
            w.key("transition");
            write_json_str(transition, w.out);
            w.key("warnings");
            w.out.push(b'[');
            for (i, warning) in warnings.iter().enumerate() {
                if i > 0 {
                    w.out.push(b',');
                }
                write_json_str(warning, w.out);
            }
            w.out.push(b']');
        }
        Change::FieldsUpdated { patch } => {
            w.kind("fields_updated");
            w.key("patch");
            write_canonical(patch, w.out);
        }
        Change::Held { hold } | Change::Released { hold } => {
            w.key("hold");
            write_json_str(hold, w.out);
            w.kind(change.kind());
        }
        Change::DependencyAdded { on } | Change::DependencyRemoved { on } => {
            w.kind(change.kind());
            w.key("on");
            write_u64(on.0, w.out);
        }
        Change::ParentSet { parent } => {
            w.kind("parent_set");
            w.key("parent");
            write_opt_id(*parent, w.out);
        }
    }
    w.finish();
}

/// Writes a JSON object whose keys the caller gives in sorted order (checked in debug
/// builds), so the output is canonical without building a map.
struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    #[cfg(debug_assertions)]
    last: &'static str,
}

impl<'a> ObjectWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self {
            out,
            first: true,
            #[cfg(debug_assertions)]
            last: "",
        }
    }

    fn key(&mut self, key: &'static str) {
        #[cfg(debug_assertions)]
        {
            debug_assert!(self.first || self.last < key, "keys out of order: {key}");
            self.last = key;
        }
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn kind(&mut self, kind: &'static str) {
        self.key("kind");
        write_json_str(kind, self.out);
    }

    fn finish(self) {
        self.out.push(b'}');
    }
}

fn write_u64(n: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn write_opt_str(s: Option<&str>, out: &mut Vec<u8>) {
    match s {
        Some(s) => write_json_str(s, out),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_opt_id(id: Option<ItemId>, out: &mut Vec<u8>) {
    match id {
        Some(id) => write_u64(id.0, out),
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes an instant as `"YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"`, the form chrono writes with
/// `SecondsFormat::Nanos` and `Z`; this is the hot path, so common instants skip the
/// formatter.
fn write_instant(at: DateTime<Utc>, out: &mut Vec<u8>) {
    // One conversion to the calendar; `DateTime`'s own accessors convert on every call.
    let at = at.naive_utc();
    let year = at.year();
    let nanos = at.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        write_json_str(
            &at.and_utc().to_rfc3339_opts(SecondsFormat::Nanos, true),
            out,
        );
        return;
    }
    let mut buf = *b"\"0000-00-00T00:00:00.000000000Z\"";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(1, 4, year as u32);
    put(6, 2, at.month());
    put(9, 2, at.day());
    put(12, 2, at.hour());
    put(15, 2, at.minute());
    put(18, 2, at.second());
    put(21, 9, nanos);
    out.extend_from_slice(&buf);
}

/// Instants in the serde form of events are written as in the canonical form, with nine
/// fractional digits, so the serde form of an event is its canonical form plus its hashes.
mod instant {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        let mut out = Vec::with_capacity(32);
        super::write_instant(*at, &mut out);
        // `out` is a quoted ASCII string.
        let text = std::str::from_utf8(&out).unwrap_or_default();
        s.serialize_str(text.trim_matches('"'))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }
}

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
    /// The bytes the store keeps for the event hash to its hash, but do not read back as the
    /// same event: what is read is not what was hashed.
    #[error("its stored bytes hash correctly but do not read back as the same event")]
    NotCanonical,
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

/// One problem found by an audit ([`audit`](crate::audit)): where, and what is wrong.
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
    /// database does); the hash is checked against these bytes. `None` when the store keeps
    /// the event itself (the memory store): the canonical JSON is then made from it.
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

/// Walks one item's chain and names the first event that does not check out: sequence
/// numbers run from 1 without gaps, each event names its predecessor's hash, each event's
/// content hashes to its stored hash, and only the first event creates the item.
/// [`verify_stored`] names every problem instead.
///
/// ```
/// # use workstream_core::{ledger::{verify, Event, Change}, ItemId, Sha256Hash};
/// # use chrono::Utc;
/// let first = Event {
///     item: ItemId(1), seq: 1, at: Utc::now(), actor: "ops".into(),
///     change: Change::FieldsUpdated { patch: serde_json::json!({}) },
///     reason: None, payload: serde_json::Value::Null,
///     definition: Sha256Hash::of(b"definition"), prev: Sha256Hash::ZERO, hash: Sha256Hash::ZERO,
/// }.seal();
/// let err = verify(ItemId(1), &[first]).unwrap_err();
/// assert_eq!(err.seq, 1); // the chain does not start with `created`
/// ```
pub fn verify(item: ItemId, events: &[Event]) -> Result<(), VerifyError> {
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
/// [`verify`] checks, plus that each event is filed under its own sequence number,
/// and, where the store keeps an event's bytes, that its hash is checked against those bytes
/// and that they read back as the same event. After a problem the walk goes on from the
/// event as stored, so each changed event is named, not only the first.
pub fn verify_stored(item: ItemId, events: &[StoredEvent]) -> Vec<VerifyError> {
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
        self.buf.clear();
        event.write_canonical(&mut self.buf);
        let hashed: &[u8] = body.map_or(&self.buf, str::as_bytes);
        let computed = chain_hash(&event.prev, hashed);
        if computed != event.hash {
            self.fail(
                at,
                Problem::HashMismatch {
                    stored: event.hash,
                    computed,
                },
            );
        } else if hashed != self.buf.as_slice() {
            self.fail(at, Problem::NotCanonical);
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

/// The hash of an event in a chain: `sha256(prev ‖ body)`, where `prev` is the hash of the
/// event before it (32 raw bytes; zero for the first) and `body` its canonical JSON. Every
/// check of a chain, in the ledger and in the stores, computes it here.
pub fn chain_hash(prev: &Sha256Hash, body: &[u8]) -> Sha256Hash {
    let mut hasher = Sha256Hasher::new();
    hasher.update(prev.as_bytes());
    hasher.update(body);
    hasher.finish()
}

/// The `sha256:<hex>` hash of an artifact's bytes, to bind a record (a submission, a checker
/// run) to exactly those bytes.
///
/// ```
/// let h = workstream_core::ledger::artifact_hash(b"report v1");
/// assert!(h.to_string().starts_with("sha256:"));
/// ```
pub fn artifact_hash(bytes: &[u8]) -> Sha256Hash {
    Sha256Hash::of(bytes)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn created() -> Event {
        Event {
            item: ItemId(7),
            seq: 1,
            at: Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap(),
            actor: "ops".into(),
            change: Change::Created {
                workflow: "task".into(),
                version: 2,
                workstation: "draft".into(),
                fields: Arc::new(json!({"b": 1, "a": "é\n"})),
                parent: None,
            },
            reason: Some("new".into()),
            payload: Value::Null,
            definition: Sha256Hash::of(b"def"),
            prev: Sha256Hash::ZERO,
            hash: Sha256Hash::ZERO,
        }
        .seal()
    }

    #[test]
    fn canonical_form_is_sorted_compact_and_stable() {
        let e = created();
        assert_eq!(
            e.canonical_json(),
            format!(
                "{{\"actor\":\"ops\",\"at\":\"2026-03-04T05:06:07.000000000Z\",\"change\":{{\
                 \"fields\":{{\"a\":\"é\\n\",\"b\":1}},\"kind\":\"created\",\"parent\":null,\
                 \"version\":2,\"workflow\":\"task\",\"workstation\":\"draft\"}},\
                 \"definition\":\"{}\",\"item\":7,\"payload\":null,\"reason\":\"new\",\"seq\":1}}",
                Sha256Hash::of(b"def")
            )
        );
        // The canonical form is the JSON of the serde form with sorted keys, minus the hashes.
        let mut via_serde = serde_json::to_value(&e).unwrap();
        let map = via_serde.as_object_mut().unwrap();
        map.remove("hash");
        map.remove("prev");
        assert_eq!(crate::canonical_json(&via_serde), e.canonical_json());
    }

    #[test]
    fn every_change_kind_matches_its_serde_form() {
        let changes = [
            Change::Transitioned {
                transition: "t".into(),
                from: "a".into(),
                to: "b".into(),
                outcome: Some(Outcome::Cancelled),
                patch: Some(json!({"z": [1, {"y": 2, "x": 1}]})),
                warnings: vec!["wip".into()],
            },
            Change::FieldsUpdated {
                patch: json!({"k": null}),
            },
            Change::Held {
                hold: "paused".into(),
            },
            Change::Released {
                hold: "paused".into(),
            },
            Change::DependencyAdded { on: ItemId(3) },
            Change::DependencyRemoved { on: ItemId(3) },
            Change::ParentSet {
                parent: Some(ItemId(1)),
            },
        ];
        for change in changes {
            let mut e = created();
            e.seq = 2;
            e.change = change;
            let mut via_serde = serde_json::to_value(&e).unwrap();
            let map = via_serde.as_object_mut().unwrap();
            map.remove("hash");
            map.remove("prev");
            assert_eq!(crate::canonical_json(&via_serde), e.canonical_json());
        }
    }

    #[test]
    fn instants_match_chrono_and_round_trip() {
        for at in [
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.timestamp_opt(1_800_000_000, 123_456_789).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(12026, 1, 1, 0, 0, 0).unwrap(),
        ] {
            let mut out = Vec::new();
            write_instant(at, &mut out);
            let text = String::from_utf8(out).unwrap();
            assert_eq!(
                text,
                format!("\"{}\"", at.to_rfc3339_opts(SecondsFormat::Nanos, true))
            );
            let back: DateTime<Utc> = serde_json::from_str(&text).unwrap();
            assert_eq!(back, at);
        }
    }

    #[test]
    fn verify_names_the_first_event_that_does_not_match() {
        let first = created();
        let second = Event {
            seq: 2,
            change: Change::Held {
                hold: "paused".into(),
            },
            prev: first.hash,
            ..first.clone()
        }
        .seal();
        let chain = vec![first.clone(), second.clone()];
        assert_eq!(verify(ItemId(7), &chain), Ok(()));

        let mut tampered = chain.clone();
        tampered[1].actor = "mallory".into();
        let err = verify(ItemId(7), &tampered).unwrap_err();
        assert_eq!(err.seq, 2);
        assert!(matches!(err.problem, Problem::HashMismatch { .. }));

        let err = verify(ItemId(7), &[first.clone(), second.clone(), second.clone()]).unwrap_err();
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

        let err = verify(ItemId(7), std::slice::from_ref(&second)).unwrap_err();
        assert_eq!(err.seq, 1);

        let mut relinked = second.clone();
        relinked.prev = Sha256Hash::of(b"elsewhere");
        let relinked = relinked.seal();
        let err = verify(ItemId(7), &[first, relinked]).unwrap_err();
        assert!(matches!(err.problem, Problem::PrevMismatch { .. }));
    }

    /// A chain of four events of item 7, each sealed onto the one before.
    fn chain() -> Vec<Event> {
        let mut events = vec![created()];
        for seq in 2..=4 {
            let prev = events[events.len() - 1].hash;
            events.push(
                Event {
                    seq,
                    change: Change::FieldsUpdated {
                        patch: json!({ "n": seq }),
                    },
                    prev,
                    ..created()
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
        assert_eq!(verify_stored(ItemId(7), &stored(&chain())), []);
        let empty = verify_stored(ItemId(7), &[]);
        assert_eq!(found(&empty), [(1, &Problem::Empty)]);
    }

    #[test]
    fn a_changed_event_is_named_once_and_the_walk_goes_on() {
        // The content of event 2 names another item: that event, and only it, is wrong.
        let mut events = stored(&chain());
        events[1].event.item = ItemId(8);
        let problems = verify_stored(ItemId(7), &events);
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
        let problems = verify_stored(ItemId(7), &events);
        assert!(problems.iter().all(|e| e.seq == 3), "{problems:?}");
        assert!(problems.iter().any(|e| e.problem
            == Problem::Misfiled {
                item: ItemId(7),
                seq: 7
            }));

        // The first event's content claims another number: misfiled, not a second creation.
        let mut events = stored(&chain());
        events[0].event.seq = 2;
        let problems = verify_stored(ItemId(7), &events);
        assert!(problems.iter().all(|e| e.seq == 1), "{problems:?}");
        assert!(!problems.iter().any(|e| e.problem == Problem::CreatedTwice));

        // Two events edited: both named.
        let mut events = stored(&chain());
        events[1].event.actor = "mallory".into();
        events[3].event.actor = "mallory".into();
        let seqs: Vec<u64> = verify_stored(ItemId(7), &events)
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
        assert_eq!(verify_stored(ItemId(7), &kept), []);
        // A space in the stored bytes: the hash no longer matches them.
        kept[2].body = Some(events[2].canonical_json().replacen(':', ": ", 1));
        let problems = verify_stored(ItemId(7), &kept);
        assert!(matches!(
            found(&problems)[..],
            [(3, Problem::HashMismatch { .. })]
        ));
        // Bytes that hash to the hash but are not what the event writes back to.
        let spaced = events[2].canonical_json().replacen(':', ": ", 1);
        kept[2].event.hash = chain_hash(&kept[2].event.prev, spaced.as_bytes());
        kept[2].body = Some(spaced);
        let problems = verify_stored(ItemId(7), &kept);
        assert_eq!(found(&problems)[0], (3, &Problem::NotCanonical));
    }
}
