//! Items: the units of work that move through a workflow, and the actors who move them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::{DefinitionHash, Sha256Hash};
pub use crate::id::{IdHasher, ItemId};
use crate::ledger::{Change, Event, EventDraft};
use crate::value::merge_patch;
use crate::workflow::Outcome;

/// Who asks for a change: an id recorded on every event, and the roles that transitions'
/// `by` lists are checked against.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    id: String,
    roles: Vec<String>,
}

impl Actor {
    /// An actor with the given id and roles: an array or slice of names, or a `Vec` of them
    /// (`[]` for none).
    ///
    /// ```
    /// use workstream_core::Actor;
    /// let alice = Actor::new("alice", ["reviewer"]);
    /// assert!(alice.has_role("reviewer"));
    /// let bot = Actor::new("bot", []);
    /// assert!(bot.roles().is_empty());
    /// let roles: Vec<String> = vec!["operator".into()];
    /// assert!(Actor::new("ola", roles).has_role("operator"));
    /// ```
    pub fn new(id: impl Into<String>, roles: impl IntoRoles) -> Self {
        Self {
            id: id.into(),
            roles: roles.into_roles(),
        }
    }

    /// The actor's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The actor's roles.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Whether the actor has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// The roles [`Actor::new`] takes: an array or slice of names, or a `Vec` of them. There is
/// one array form (`[&str; N]`), so an empty `[]` needs no annotation.
pub trait IntoRoles {
    /// The role names.
    fn into_roles(self) -> Vec<String>;
}

impl<const N: usize> IntoRoles for [&str; N] {
    fn into_roles(self) -> Vec<String> {
        self.iter().map(|&role| role.to_owned()).collect()
    }
}

impl IntoRoles for &[&str] {
    fn into_roles(self) -> Vec<String> {
        self.iter().map(|&role| role.to_owned()).collect()
    }
}

impl<const N: usize> IntoRoles for &[&str; N] {
    fn into_roles(self) -> Vec<String> {
        self.iter().map(|&role| role.to_owned()).collect()
    }
}

impl IntoRoles for Vec<&str> {
    fn into_roles(self) -> Vec<String> {
        self.into_iter().map(str::to_owned).collect()
    }
}

impl IntoRoles for &[String] {
    fn into_roles(self) -> Vec<String> {
        self.to_vec()
    }
}

impl IntoRoles for Vec<String> {
    fn into_roles(self) -> Vec<String> {
        self
    }
}

/// A hold on an item: a flag with a reason, set and released by events. Forward moves are
/// refused while any hold is on, unless the transition says `allow_held: true`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Hold {
    /// Why the item is held.
    pub reason: Option<String>,
    /// Who put it on.
    pub by: String,
    /// When it was put on.
    pub since: DateTime<Utc>,
}

/// The current state of an item, as its ledger events give it.
///
/// An [`Item`] is a *projection*: the state that replaying its ledger events gives. The engine
/// builds every new state by applying the event it is about to append ([`Item::apply`]), and
/// [`Item::replay`] uses the same function, so a stored state and a replay cannot disagree
/// unless something outside the engine changed one of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    id: ItemId,
    // Shared strings: copying an item's state (every read does) copies no text.
    workflow: Arc<str>,
    version: u32,
    definition: DefinitionHash,
    workstation: Arc<str>,
    outcome: Option<Outcome>,
    holds: BTreeMap<String, Hold>,
    /// Shared, so a copy of an item's state does not copy its data; written through
    /// `Arc::make_mut`.
    fields: Arc<Value>,
    parent: Option<ItemId>,
    deps: BTreeSet<ItemId>,
    created: DateTime<Utc>,
    entered: DateTime<Utc>,
    updated: DateTime<Utc>,
    seq: u64,
    head: Sha256Hash,
}

impl Item {
    /// Its id.
    pub fn id(&self) -> ItemId {
        self.id
    }
    /// The name of its workflow.
    pub fn workflow(&self) -> &str {
        &self.workflow
    }
    /// The workflow version it is on: the one it was created under, until it is migrated.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The definition hash it is locked to: its version's, as it was created or migrated
    /// under. An item workstream 0.1 created carries the hash 0.1 gave that definition until
    /// its first event under a later release, which names today's hash of it instead.
    pub fn definition(&self) -> &DefinitionHash {
        &self.definition
    }
    /// The workstation it is in.
    pub fn workstation(&self) -> &str {
        &self.workstation
    }
    /// How its work ended, once it is in a terminal workstation.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }
    /// Whether it is in a terminal workstation.
    pub fn is_closed(&self) -> bool {
        self.outcome.is_some()
    }
    /// The holds on it, by kind.
    pub fn holds(&self) -> &BTreeMap<String, Hold> {
        &self.holds
    }
    /// Whether any hold is on it.
    pub fn is_held(&self) -> bool {
        !self.holds.is_empty()
    }
    /// Its data: always a JSON object.
    pub fn fields(&self) -> &Value {
        &self.fields
    }
    pub(crate) fn fields_mut(&mut self) -> &mut Value {
        Arc::make_mut(&mut self.fields)
    }
    /// One field of its data, if present.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }
    /// The item it belongs to, if any.
    pub fn parent(&self) -> Option<ItemId> {
        self.parent
    }
    /// The items it depends on.
    pub fn deps(&self) -> &BTreeSet<ItemId> {
        &self.deps
    }
    /// When it was created.
    pub fn created(&self) -> DateTime<Utc> {
        self.created
    }
    /// When it entered the workstation it is in.
    pub fn entered(&self) -> DateTime<Utc> {
        self.entered
    }
    /// When its last event happened.
    pub fn updated(&self) -> DateTime<Utc> {
        self.updated
    }
    /// The sequence number of its last event (the number of events in its chain).
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// The hash of its last event: the head of its chain.
    pub fn head(&self) -> &Sha256Hash {
        &self.head
    }

    /// The draft of this item's next event: its id, the next sequence number, its definition
    /// hash, and its head as `prev`; no reason, a `null` payload and no source. Set any other field,
    /// then [`seal`](EventDraft::seal) it. This is how the engine makes every event; stores'
    /// tests and importers can make theirs the same way.
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
    /// let item = Item::replay([&created])?;
    /// let event = item
    ///     .next_event(chrono::Utc::now(), "ann", Change::DependencyAdded { on: ItemId(2) })
    ///     .seal();
    /// assert_eq!((event.seq(), event.prev()), (2, created.hash()));
    /// let mut next = item.clone();
    /// next.apply(&event)?;
    /// assert!(next.deps().contains(&ItemId(2)));
    /// # Ok::<(), workstream_core::ReplayError>(())
    /// ```
    pub fn next_event(
        &self,
        at: DateTime<Utc>,
        actor: impl Into<String>,
        change: Change,
    ) -> EventDraft {
        EventDraft {
            item: self.id,
            seq: self.seq.saturating_add(1),
            at,
            actor: actor.into(),
            change,
            reason: None,
            payload: Value::Null,
            definition: self.definition,
            source: None,
            prev: self.head,
        }
    }

    /// Rebuilds an item from its events, checking that they form one chain: the first
    /// creates the item, sequence numbers run 1, 2, 3, … and each event names the hash of the
    /// one before. (Whether each hash matches its event's content is the job of
    /// [`verify_chain`](crate::verify_chain).)
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a Event>) -> Result<Item, ReplayError> {
        let mut events = events.into_iter();
        let first = events.next().ok_or(ReplayError::Empty)?;
        let mut item = Item::from_created(first)?;
        for event in events {
            item.apply(event)?;
        }
        Ok(item)
    }

    /// The item a `created` event makes.
    pub(crate) fn from_created(event: &Event) -> Result<Item, ReplayError> {
        let Change::Created {
            workflow,
            version,
            workstation,
            fields,
            parent,
        } = &event.change
        else {
            return Err(ReplayError::NotCreatedFirst {
                item: event.item,
                seq: event.seq,
            });
        };
        if event.seq != 1 {
            return Err(ReplayError::Gap {
                item: event.item,
                expected: 1,
                found: event.seq,
            });
        }
        if event.prev != Sha256Hash::ZERO {
            return Err(ReplayError::Broken {
                item: event.item,
                seq: event.seq,
            });
        }
        Ok(Item {
            id: event.item,
            workflow: Arc::from(workflow.as_str()),
            version: *version,
            definition: event.definition,
            workstation: Arc::from(workstation.as_str()),
            outcome: None,
            holds: BTreeMap::new(),
            fields: Arc::clone(fields),
            parent: *parent,
            deps: BTreeSet::new(),
            created: event.at,
            entered: event.at,
            updated: event.at,
            seq: 1,
            head: event.hash,
        })
    }

    /// Applies the next event of this item's chain to it.
    ///
    /// The engine makes every new state with this function, and [`Item::replay`] uses it too.
    pub fn apply(&mut self, event: &Event) -> Result<(), ReplayError> {
        if event.item != self.id {
            return Err(ReplayError::WrongItem {
                expected: self.id,
                found: event.item,
            });
        }
        if event.seq != self.seq + 1 {
            return Err(ReplayError::Gap {
                item: self.id,
                expected: self.seq + 1,
                found: event.seq,
            });
        }
        if event.prev != self.head {
            return Err(ReplayError::Broken {
                item: self.id,
                seq: event.seq,
            });
        }
        match &event.change {
            Change::Created { .. } => {
                return Err(ReplayError::CreatedTwice {
                    item: self.id,
                    seq: event.seq,
                });
            }
            Change::Transitioned {
                to, outcome, patch, ..
            } => {
                self.workstation = Arc::from(to.as_str());
                self.outcome = *outcome;
                self.entered = event.at;
                if let Some(patch) = patch {
                    merge_patch(self.fields_mut(), patch);
                }
            }
            Change::FieldsUpdated { patch } => merge_patch(self.fields_mut(), patch),
            Change::Held { hold } => {
                self.holds.insert(
                    hold.clone(),
                    Hold {
                        reason: event.reason.clone(),
                        by: event.actor.clone(),
                        since: event.at,
                    },
                );
            }
            Change::Released { hold } => {
                self.holds.remove(hold);
            }
            Change::DependencyAdded { on } => {
                self.deps.insert(*on);
            }
            Change::DependencyRemoved { on } => {
                self.deps.remove(on);
            }
            Change::ParentSet { parent } => self.parent = *parent,
            Change::Migrated {
                to_version,
                to_workstation,
                holds,
                outcome,
                ..
            } => {
                self.version = *to_version;
                self.definition = event.definition;
                if *self.workstation != **to_workstation {
                    self.workstation = Arc::from(to_workstation.as_str());
                    self.entered = event.at;
                }
                self.outcome = *outcome;
                // All at once: a rename may take a name another one gives up.
                let moved: Vec<(String, Hold)> = holds
                    .iter()
                    .filter_map(|(from, to)| Some((to.clone(), self.holds.remove(from)?)))
                    .collect();
                self.holds.extend(moved);
            }
        }
        // Each event names the definition it was written under: the same as the event before,
        // but after a migration, or for an item of workstream 0.1 re-keyed to today's hash.
        self.definition = event.definition;
        self.updated = event.at;
        self.seq = event.seq;
        self.head = event.hash;
        Ok(())
    }
}

/// Events that do not form one item's chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// There were no events.
    #[error("there are no events to replay")]
    Empty,
    /// The first event does not create the item.
    #[error("item {item}: event {seq} comes first but does not create the item")]
    NotCreatedFirst {
        /// The item.
        item: ItemId,
        /// The event's sequence number.
        seq: u64,
    },
    /// A second `created` event.
    #[error("item {item}: event {seq} creates the item a second time")]
    CreatedTwice {
        /// The item.
        item: ItemId,
        /// The event's sequence number.
        seq: u64,
    },
    /// An event of another item.
    #[error("an event of item {found} is in the chain of item {expected}")]
    WrongItem {
        /// The item whose chain it is.
        expected: ItemId,
        /// The item the event names.
        found: ItemId,
    },
    /// Sequence numbers do not run on.
    #[error("item {item}: expected event {expected}, found event {found}")]
    Gap {
        /// The item.
        item: ItemId,
        /// The sequence number that should come next.
        expected: u64,
        /// The one that came.
        found: u64,
    },
    /// An event does not name the hash of the one before.
    #[error(
        "item {item}: event {seq} does not follow from the event before it (its previous hash differs)"
    )]
    Broken {
        /// The item.
        item: ItemId,
        /// The event's sequence number.
        seq: u64,
    },
}
