//! The ledger: every change to an item is an [`Event`] in that item's hash chain.
//!
//! An event's hash is `sha256(previous hash ‖ canonical JSON of the event)`, where the
//! previous hash is the 32 raw bytes of the hash of the item's event before it (32 zero bytes
//! for the first) and the canonical JSON ([`Event::canonical_json`]) holds every other field of
//! the event: keys sorted, no whitespace, UTF-8, instants in RFC 3339 with nine fractional
//! digits. Changing, removing or inserting any event breaks the chain at that event, which
//! [`chain::verify`](crate::chain::verify) names.

use std::sync::Arc;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::{DefinitionHash, Sha256Hash, chain_hash, write_canonical, write_json_str};
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
    /// The event whose canonical JSON is `body`, with the previous hash and the hash a store
    /// keeps beside it. Nothing is checked here: verification hashes `body` itself
    /// ([`chain::verify_stored`](crate::chain::verify_stored)). Fails when `body` is not an
    /// event's JSON (a missing or unknown field, a value of the wrong kind).
    pub fn from_canonical(
        body: &str,
        prev: Sha256Hash,
        hash: Sha256Hash,
    ) -> Result<Event, serde_json::Error> {
        let body: Body = serde_json::from_str(body)?;
        Ok(Event {
            item: body.item,
            seq: body.seq,
            at: body.at,
            actor: body.actor,
            change: body.change,
            reason: body.reason,
            payload: body.payload,
            definition: body.definition,
            prev,
            hash,
        })
    }

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

    pub(crate) fn write_canonical(&self, out: &mut Vec<u8>) {
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

/// An event's fields but its two hashes: what its canonical JSON holds, read back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    item: ItemId,
    seq: u64,
    at: DateTime<Utc>,
    actor: String,
    change: Change,
    reason: Option<String>,
    payload: Value,
    definition: DefinitionHash,
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
pub(crate) mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    /// An item's `created` event, sealed.
    pub(crate) fn created() -> Event {
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
}
