//! The ledger: every change to an item is an [`Event`] in that item's hash chain.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::{DefinitionHash, Sha256Hash, chain_hash};
use crate::id::ItemId;
use crate::workflow::Outcome;

mod canonical;

/// One change to one item, linked to the item's previous event by hash.
///
/// An event's hash is `sha256(previous hash ‖ canonical JSON of the event)`, where the
/// previous hash is the 32 raw bytes of the hash of the item's event before it (32 zero bytes
/// for the first) and the canonical JSON ([`Event::canonical_json`]) holds every other field of
/// the event: keys sorted, no whitespace, UTF-8, instants in RFC 3339 with nine fractional
/// digits. Changing, removing or inserting any event breaks the chain at that event, which
/// [`verify_chain`](crate::verify_chain) names.
///
/// An `Event` is made by sealing an [`EventDraft`] (which computes its hash) or read back from
/// a store ([`Event::from_canonical`], or deserialized), in which case it carries the hash
/// stored with it, and [`verify_chain`](crate::verify_chain) checks that hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub(crate) item: ItemId,
    pub(crate) seq: u64,
    #[serde(with = "canonical::instant")]
    pub(crate) at: DateTime<Utc>,
    pub(crate) actor: String,
    pub(crate) change: Change,
    pub(crate) reason: Option<String>,
    pub(crate) payload: Value,
    pub(crate) definition: DefinitionHash,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<Sha256Hash>,
    pub(crate) prev: Sha256Hash,
    pub(crate) hash: Sha256Hash,
}

/// An event before it is sealed: every field of an [`Event`] but its hash, which
/// [`seal`](Self::seal) computes. [`Item::next_event`](crate::Item::next_event) makes the
/// draft of an item's next event; the engine makes every event that way.
///
/// ```
/// use std::sync::Arc;
/// use workstream_core::{Change, EventDraft, Item, ItemId, Sha256Hash};
///
/// let created = EventDraft {
///     item: ItemId(1), seq: 1, at: chrono::Utc::now(), actor: "ann".into(),
///     change: Change::Created {
///         workflow: "task".into(), version: 1, workstation: "todo".into(),
///         fields: Arc::new(serde_json::json!({})), parent: None,
///     },
///     reason: None, payload: serde_json::Value::Null,
///     definition: Sha256Hash::of(b"definition"), source: None, prev: Sha256Hash::ZERO,
/// }
/// .seal();
/// assert_eq!(*created.hash(), created.compute_hash());
/// let item = Item::replay([&created])?;
/// assert_eq!(item.seq(), 1);
/// # Ok::<(), workstream_core::ReplayError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EventDraft {
    /// The item changed.
    pub item: ItemId,
    /// Its place in the item's chain: 1 for the event that created the item, then 2, 3, ….
    pub seq: u64,
    /// When it happened, by the engine's clock.
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
    /// The sha256 of the exact workflow text the event was written under
    /// ([`Workflow::source_hash`](crate::Workflow::source_hash)); `None` in events of
    /// workstream 0.1, which did not record it.
    pub source: Option<Sha256Hash>,
    /// The hash of the item's previous event ([`Sha256Hash::ZERO`] for the first).
    pub prev: Sha256Hash,
}

impl EventDraft {
    /// The event, with its hash: `sha256(prev ‖ canonical JSON)`.
    pub fn seal(self) -> Event {
        let EventDraft {
            item,
            seq,
            at,
            actor,
            change,
            reason,
            payload,
            definition,
            source,
            prev,
        } = self;
        let mut event = Event {
            item,
            seq,
            at,
            actor,
            change,
            reason,
            payload,
            definition,
            source,
            prev,
            hash: Sha256Hash::ZERO,
        };
        event.hash = event.compute_hash();
        event
    }
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
    /// The item moved to a newer version of its workflow, along the migration that version
    /// declares. The event's `definition` is the newer version's hash.
    Migrated {
        /// The version it was on.
        from_version: u32,
        /// That version's definition hash, as the item carried it.
        from_definition: DefinitionHash,
        /// The version it is on now.
        to_version: u32,
        /// Where it was.
        from_workstation: String,
        /// Where the migration put it.
        to_workstation: String,
        /// The holds that were on and were renamed: the older name, the name now.
        holds: Vec<(String, String)>,
        /// How its work ended, when it is in a terminal workstation after the migration.
        outcome: Option<Outcome>,
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
            Change::Migrated { .. } => "migrated",
        }
    }
}

impl Event {
    /// The event whose canonical JSON is `body`, with the previous hash and the hash a store
    /// keeps beside it. Nothing is checked here: verification hashes `body` itself
    /// ([`verify_stored_chain`](crate::verify_stored_chain)). Fails when `body` is not an
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
            source: body.source,
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
        crate::value::dismantle_value(payload);
        match change {
            Change::Created { fields, .. } => {
                if let Ok(fields) = Arc::try_unwrap(fields) {
                    crate::value::dismantle_value(fields);
                }
            }
            Change::Transitioned {
                patch: Some(patch), ..
            }
            | Change::FieldsUpdated { patch } => crate::value::dismantle_value(patch),
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

    /// The item changed.
    pub fn item(&self) -> ItemId {
        self.item
    }

    /// Its place in the item's chain: 1 for the event that created the item, then 2, 3, ….
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// When it happened, by the engine's clock.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The id of the actor who made the change.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// What changed.
    pub fn change(&self) -> &Change {
        &self.change
    }

    /// Why, in the actor's words.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// Data the caller attached to the change (a review, a receipt, …); `null` when none.
    pub fn payload(&self) -> &Value {
        &self.payload
    }

    /// The definition hash of the item's workflow.
    pub fn definition(&self) -> &DefinitionHash {
        &self.definition
    }

    /// The sha256 of the exact workflow text the event was written under; `None` in events
    /// of workstream 0.1.
    pub fn source(&self) -> Option<&Sha256Hash> {
        self.source.as_ref()
    }

    /// The hash of the item's previous event ([`Sha256Hash::ZERO`] for the first).
    pub fn prev(&self) -> &Sha256Hash {
        &self.prev
    }

    /// This event's hash: `sha256(prev ‖ canonical JSON)` when it was sealed; as stored, when
    /// it was read back.
    pub fn hash(&self) -> &Sha256Hash {
        &self.hash
    }

    /// The event's draft: every field but its hash, to change and seal again (an importer
    /// re-linking a chain, a test forging an event).
    pub fn into_draft(self) -> EventDraft {
        let Event {
            item,
            seq,
            at,
            actor,
            change,
            reason,
            payload,
            definition,
            source,
            prev,
            hash: _,
        } = self;
        EventDraft {
            item,
            seq,
            at,
            actor,
            change,
            reason,
            payload,
            definition,
            source,
            prev,
        }
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
    #[serde(default)]
    source: Option<Sha256Hash>,
}

/// The `sha256:<hex>` hash of an artifact's bytes, to bind a record (a submission, a checker
/// run) to exactly those bytes.
///
/// ```
/// let h = workstream_core::artifact_hash(b"report v1");
/// assert!(h.to_string().starts_with("sha256:"));
/// ```
pub fn artifact_hash(bytes: &[u8]) -> Sha256Hash {
    Sha256Hash::of(bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::SecondsFormat;

    use super::canonical::write_instant;
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    /// An item's `created` event, sealed.
    pub(crate) fn created() -> Event {
        EventDraft {
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
            source: None,
            prev: Sha256Hash::ZERO,
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
            Change::Migrated {
                from_version: 1,
                from_definition: Sha256Hash::of(b"v1"),
                to_version: 2,
                from_workstation: "needs_revision".into(),
                to_workstation: "revision_requested".into(),
                holds: vec![("blocked".into(), "waiting".into())],
                outcome: None,
            },
        ];
        for change in changes {
            let mut e = created();
            e.seq = 2;
            e.change = change;
            e.source = Some(Sha256Hash::of(b"text"));
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
