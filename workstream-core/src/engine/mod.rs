//! The engine: moves items along their workflows' transitions, refuses moves with every
//! reason that blocks them, and records each change as an event in a store.
//!
//! Every write runs in one store transaction ([`Store::write`]): the engine reads the item
//! (and whatever its assertions need), checks the rules, makes the event, applies it to the
//! item with [`Item::apply`] and appends both. A refused change writes nothing.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::assertion::Step;
use crate::audit::{self, Report};
use crate::check::Checks;
use crate::clock::Clock;
use crate::dag::{self, CriticalPath};
use crate::evaluate::{Subject, json_eq};
use crate::hash::Sha256Hash;
use crate::item::{Actor, Item, ItemId};
use crate::ledger::{Change, Event};
use crate::metrics::{FlowReport, ItemMetrics, item_metrics};
use crate::name::did_you_mean;
use crate::refusal::{Reason, ReasonKind, Refused};
use crate::signals::{self, Signal, Signals};
use crate::store::{Query, Reader, Store, StoreError, Tx};
use crate::value::{MAX_VALUE_DEPTH, deeper_than, dismantle, merge_patch};
use crate::window::Window;
use crate::workflow::{TransitionId, Workflow, WorkstationId};

mod builder;
mod error;
mod explain;
mod request;

pub use builder::EngineBuilder;
pub use error::{BuildError, Error, MissingCheck, Result};
pub use explain::{Explanation, NextMove, Verified};
use request::Target;
pub use request::{Move, NewItem, With};

/// Moves items through their workflows and records every change in a store.
///
/// Build one with [`Engine::builder`]: a [`Store`], the workflows it serves, the checks they
/// name and a [`Clock`]. All operations take `&self`; the store serializes writers, so an
/// engine can be shared between threads (`Arc<Engine<_>>`). The `workstream` crate's
/// documentation has a complete example on the in-memory store.
pub struct Engine<S> {
    pub(crate) store: S,
    pub(crate) workflows: HashMap<String, Vec<Arc<Workflow>>>,
    pub(crate) checks: Checks,
    pub(crate) clock: Arc<dyn Clock>,
}

impl<S> fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut loaded: Vec<String> = self
            .workflows
            .values()
            .flatten()
            .map(|w| format!("{} v{}", w.name(), w.version()))
            .collect();
        loaded.sort();
        f.debug_struct("Engine")
            .field("workflows", &loaded)
            .field("checks", &self.checks)
            .finish_non_exhaustive()
    }
}

/// What a transition would do: its reasons to refuse and its warnings.
struct Assessment {
    reasons: Vec<Reason>,
    warnings: Vec<String>,
}

impl<S: Store> Engine<S> {
    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock's current instant.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The newest loaded version of a workflow.
    pub fn workflow(&self, name: &str) -> Option<&Workflow> {
        self.workflows.get(name)?.last().map(|w| &**w)
    }

    /// A loaded version of a workflow.
    pub fn workflow_version(&self, name: &str, version: u32) -> Option<&Workflow> {
        let versions = self.workflows.get(name)?;
        let i = versions
            .binary_search_by_key(&version, |w| w.version())
            .ok()?;
        Some(&versions[i])
    }

    /// Every loaded workflow version.
    pub fn workflows(&self) -> impl Iterator<Item = &Workflow> {
        self.workflows.values().flatten().map(|w| &**w)
    }

    fn versions(&self, name: &str) -> Result<&[Arc<Workflow>]> {
        self.workflows
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| Error::UnknownWorkflow {
                name: name.to_owned(),
                help: did_you_mean(name, self.workflows.keys().map(String::as_str)),
            })
    }

    /// The workflow an item is locked to, checked against the item's definition hash.
    pub fn workflow_of(&self, item: &Item) -> Result<&Workflow> {
        let versions = self.versions(item.workflow())?;
        let Ok(i) = versions.binary_search_by_key(&item.version(), |w| w.version()) else {
            return Err(Error::VersionNotLoaded {
                item: Some(item.id()),
                workflow: item.workflow().to_owned(),
                version: item.version(),
                loaded: versions.iter().map(|w| w.version()).collect(),
            });
        };
        let workflow = &versions[i];
        if workflow.definition_hash() != item.definition() {
            return Err(Error::DefinitionMismatch {
                item: item.id(),
                workflow: item.workflow().to_owned(),
                version: item.version(),
                expected: *item.definition(),
                loaded: *workflow.definition_hash(),
            });
        }
        Ok(workflow)
    }

    /// The current state of an item.
    pub fn item(&self, id: ItemId) -> Result<Item> {
        self.store
            .read(|tx| tx.item(id)?.ok_or(Error::NotFound(id)))
    }

    /// The items that meet `query`, in id order.
    pub fn items(&self, query: &Query) -> Result<Vec<Item>> {
        self.store.read(|tx| Ok(tx.items(query)?))
    }

    /// An item's events, in order.
    pub fn history(&self, id: ItemId) -> Result<Vec<Event>> {
        self.store.read(|tx| {
            let events = tx.events(id, 1)?;
            if events.is_empty() {
                return Err(Error::NotFound(id));
            }
            Ok(events)
        })
    }

    /// Creates an item in its workflow's initial workstation. The initial workstation's
    /// entry assertions and WIP limit apply.
    pub fn create(&self, actor: &Actor, mut new: NewItem<'_>) -> Result<Item> {
        // First, so that a refused value is taken apart before anything else can drop it.
        let fields = within_depth("fields", &mut new.fields);
        within_depth("payload", &mut new.payload).and(fields)?;
        let versions = self.versions(&new.workflow)?;
        let workflow: &Workflow = match new.version {
            // A workflow is loaded with at least one version; the newest is last.
            None => versions.last().ok_or_else(|| Error::UnknownWorkflow {
                name: new.workflow.to_string(),
                help: None,
            })?,
            Some(v) => versions.iter().find(|w| w.version() == v).ok_or_else(|| {
                Error::VersionNotLoaded {
                    item: None,
                    workflow: new.workflow.to_string(),
                    version: v,
                    loaded: versions.iter().map(|w| w.version()).collect(),
                }
            })?,
        };
        let fields = match new.fields {
            Value::Object(_) => new.fields,
            Value::Null => Value::Object(Map::new()),
            other => return Err(Error::InvalidFields(describe(&other))),
        };
        let initial = workflow.workstation(workflow.initial());
        let now = self.clock.now();
        self.store.write(|tx| {
            if let Some(parent) = new.parent
                && tx.item(parent)?.is_none()
            {
                return Err(Error::NotFound(parent));
            }
            let id = tx.next_id()?;
            let event = Event {
                item: id,
                seq: 1,
                at: now,
                actor: actor.id().to_owned(),
                change: Change::Created {
                    workflow: workflow.name().to_owned(),
                    version: workflow.version(),
                    workstation: initial.name().to_owned(),
                    fields: Arc::new(fields),
                    parent: new.parent,
                },
                reason: new.reason,
                payload: new.payload,
                definition: *workflow.definition_hash(),
                prev: Sha256Hash::ZERO,
                hash: Sha256Hash::ZERO,
            }
            .seal();
            let item = Item::from_created(&event)?;
            // The item as it would be: its entry assertions and WIP limit must allow it.
            let mut reasons = Vec::new();
            let subject = Subject::new(
                &item,
                actor,
                workflow,
                None,
                initial.name(),
                now,
                &*tx,
                &self.checks,
            );
            subject.collect(initial.entry(), ReasonKind::Entry, &mut reasons)?;
            let mut warnings = Vec::new();
            self.check_wip(
                &*tx,
                workflow,
                workflow.initial(),
                &item,
                &mut reasons,
                &mut warnings,
            )?;
            if !reasons.is_empty() {
                return Err(refused(item, "create", reasons));
            }
            tx.append(event, item.clone())?;
            Ok(item)
        })
    }

    /// Moves an item. Every rule is checked: the transition may fire from the item's
    /// workstation, the actor has a role it lists, no hold is on (unless it allows held
    /// items), the source's exit assertions, the transition's requires, the target's entry
    /// assertions, and the target's WIP limit. A refusal ([`Error::Refused`]) carries every
    /// reason and the unchanged item.
    pub fn advance(&self, id: ItemId, actor: &Actor, mut mv: Move<'_>) -> Result<Item> {
        let patch = mv
            .patch
            .as_mut()
            .map_or(Ok(()), |patch| within_depth("patch", patch));
        within_depth("payload", &mut mv.payload).and(patch)?;
        let now = self.clock.now();
        self.store.write(|tx| {
            let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
            let workflow = self.workflow_of(&item)?;
            if let Some(expected) = &mv.expect
                && expected.as_ref() != item.workstation()
            {
                return Err(Error::Conflict {
                    item: id,
                    expected: expected.to_string(),
                    actual: item.workstation().to_owned(),
                });
            }
            let from = self.current(workflow, &item)?;
            if let Some(patch) = &mv.patch
                && !patch.is_object()
            {
                return Err(Error::InvalidFields(describe(patch)));
            }
            let proposed = match &mv.patch {
                Some(patch) => {
                    let mut p = item.clone();
                    merge_patch(p.fields_mut(), patch);
                    Cow::Owned(p)
                }
                None => Cow::Borrowed(&item),
            };
            let transition = match &mv.target {
                Target::Transition(name) => {
                    let t = self.transition_id(workflow, name)?;
                    if workflow.target(from, t).is_none() {
                        return Err(refused(item, name, vec![not_allowed(workflow, t, from)]));
                    }
                    let a = self.assess(&*tx, workflow, &proposed, actor, from, t, now)?;
                    (t, a)
                }
                Target::Id(t) => {
                    let t = *t;
                    if t.index() >= workflow.transitions().len() {
                        return Err(Error::UnknownTransition {
                            workflow: workflow.name().to_owned(),
                            name: format!("#{}", t.index()),
                            help: None,
                        });
                    }
                    if workflow.target(from, t).is_none() {
                        let name = workflow.transition(t).name().to_owned();
                        return Err(refused(item, &name, vec![not_allowed(workflow, t, from)]));
                    }
                    let a = self.assess(&*tx, workflow, &proposed, actor, from, t, now)?;
                    (t, a)
                }
                Target::Workstation(name) => {
                    let to =
                        workflow
                            .workstation_id(name)
                            .ok_or_else(|| Error::UnknownWorkstation {
                                workflow: workflow.name().to_owned(),
                                name: name.to_string(),
                                help: did_you_mean(
                                    name,
                                    workflow.workstations().iter().map(|w| w.name()),
                                ),
                            })?;
                    let candidates: Vec<TransitionId> =
                        workflow.transitions_between(from, to).collect();
                    if candidates.is_empty() {
                        let reason = Reason::new(
                            "not_allowed",
                            ReasonKind::NotAllowed,
                            format!(
                                "no transition leads from `{}` to `{name}`",
                                item.workstation()
                            ),
                        );
                        return Err(refused(item, &format!("to {name}"), vec![reason]));
                    }
                    let mut all = Vec::new();
                    let mut chosen = None;
                    for t in candidates {
                        let a = self.assess(&*tx, workflow, &proposed, actor, from, t, now)?;
                        if a.reasons.is_empty() {
                            chosen = Some((t, a));
                            break;
                        }
                        all.extend(a.reasons);
                    }
                    match chosen {
                        Some(c) => c,
                        None => return Err(refused(item, &format!("to {name}"), all)),
                    }
                }
            };
            let (t, assessment) = transition;
            let def = workflow.transition(t);
            if !assessment.reasons.is_empty() {
                return Err(refused(item, def.name(), assessment.reasons));
            }
            let target = workflow.workstation(def.to());
            let outcome = if target.is_terminal() {
                def.outcome().or(target.outcome())
            } else {
                None
            };
            drop(proposed);
            let change = Change::Transitioned {
                transition: def.name().to_owned(),
                from: item.workstation().to_owned(),
                to: target.name().to_owned(),
                outcome,
                patch: mv.patch,
                warnings: assessment.warnings,
            };
            self.record(tx, item, actor, change, mv.reason, mv.payload, now)
        })
    }

    /// Changes an item's fields by a merge patch (RFC 7386): keys in the patch replace,
    /// `null` removes. Recorded as a `fields_updated` event.
    pub fn update_fields(&self, id: ItemId, actor: &Actor, mut patch: Value) -> Result<Item> {
        within_depth("patch", &mut patch)?;
        if !patch.is_object() {
            return Err(Error::InvalidFields(describe(&patch)));
        }
        let now = self.clock.now();
        self.store.write(|tx| {
            let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
            self.workflow_of(&item)?;
            let change = Change::FieldsUpdated { patch };
            self.record(tx, item, actor, change, None, Value::Null, now)
        })
    }

    /// Puts a hold of kind `hold` (declared under `holds`) on an item, with a reason.
    /// Refused when that hold is already on or the item is closed.
    pub fn hold(&self, id: ItemId, actor: &Actor, hold: &str, reason: &str) -> Result<Item> {
        let now = self.clock.now();
        self.store.write(|tx| {
            let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
            let workflow = self.workflow_of(&item)?;
            if !workflow.holds().iter().any(|h| h == hold) {
                return Err(Error::UnknownHold {
                    workflow: workflow.name().to_owned(),
                    name: hold.to_owned(),
                    help: did_you_mean(hold, workflow.holds().iter().map(String::as_str)),
                });
            }
            let mut reasons = Vec::new();
            if item.holds().contains_key(hold) {
                reasons.push(Reason::new(
                    "already_held",
                    ReasonKind::State,
                    format!("hold `{hold}` is already on"),
                ));
            }
            if let Some(outcome) = item.outcome() {
                reasons.push(closed_reason(&item, outcome));
            }
            if !reasons.is_empty() {
                return Err(refused(item, "hold", reasons));
            }
            let change = Change::Held {
                hold: hold.to_owned(),
            };
            self.record(
                tx,
                item,
                actor,
                change,
                Some(reason.to_owned()),
                Value::Null,
                now,
            )
        })
    }

    /// Releases a hold. Refused when that hold is not on.
    pub fn release(&self, id: ItemId, actor: &Actor, hold: &str) -> Result<Item> {
        let now = self.clock.now();
        self.store.write(|tx| {
            let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
            self.workflow_of(&item)?;
            if !item.holds().contains_key(hold) {
                let reason = Reason::new(
                    "not_held",
                    ReasonKind::State,
                    format!("hold `{hold}` is not on"),
                );
                return Err(refused(item, "release", vec![reason]));
            }
            let change = Change::Released {
                hold: hold.to_owned(),
            };
            self.record(tx, item, actor, change, None, Value::Null, now)
        })
    }

    /// Makes `id` depend on `on` (items of any workflow). Refused when the dependency is
    /// already there or would close a cycle; the reason names the cycle.
    pub fn add_dependency(&self, id: ItemId, on: ItemId, actor: &Actor) -> Result<Item> {
        let now = self.clock.now();
        self.store.write(|tx| {
            let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
            self.workflow_of(&item)?;
            if tx.item(on)?.is_none() {
                return Err(Error::NotFound(on));
            }
            let mut reasons = Vec::new();
            if item.deps().contains(&on) {
                reasons.push(Reason::new(
                    "already_depends",
                    ReasonKind::State,
                    format!("item {id} already depends on {on}"),
                ));
            } else if let Some(cycle) = dag::find_path(&*tx, on, id)? {
                // `cycle` runs from `on` to `id`; the new edge closes it.
                let mut path = vec![id];
                path.extend(cycle);
                let shown: Vec<String> = path.iter().map(ToString::to_string).collect();
                reasons.push(
                    Reason::new(
                        "cycle",
                        ReasonKind::Cycle,
                        format!(
                            "item {id} cannot depend on {on}: that would close the cycle {}",
                            shown.join(" -> ")
                        ),
                    )
                    .with_details(json!({ "cycle": path }))
                    .with_items(path),
                );
            }
            if !reasons.is_empty() {
                return Err(refused(item, "add_dependency", reasons));
            }
            let change = Change::DependencyAdded { on };
            self.record(tx, item, actor, change, None, Value::Null, now)
        })
    }

    /// Removes a dependency. Refused when it is not there.
    pub fn remove_dependency(&self, id: ItemId, on: ItemId, actor: &Actor) -> Result<Item> {
        let now = self.clock.now();
        self.store.write(|tx| {
            let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
            self.workflow_of(&item)?;
            if !item.deps().contains(&on) {
                let reason = Reason::new(
                    "no_dependency",
                    ReasonKind::State,
                    format!("item {id} does not depend on {on}"),
                );
                return Err(refused(item, "remove_dependency", vec![reason]));
            }
            let change = Change::DependencyRemoved { on };
            self.record(tx, item, actor, change, None, Value::Null, now)
        })
    }

    /// Sets or clears an item's parent. Refused when it would make an item its own
    /// ancestor.
    pub fn set_parent(&self, id: ItemId, parent: Option<ItemId>, actor: &Actor) -> Result<Item> {
        let now = self.clock.now();
        self.store.write(|tx| {
            let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
            self.workflow_of(&item)?;
            if let Some(parent) = parent {
                // Walk up from the new parent; meeting `id` would make a loop.
                let mut at = Some(parent);
                let mut steps = 0usize;
                while let Some(current) = at {
                    if current == id {
                        let reason = Reason::new(
                            "cycle",
                            ReasonKind::Cycle,
                            format!("item {parent} is {id} or one of its descendants"),
                        )
                        .with_items(vec![id, parent]);
                        return Err(refused(item, "set_parent", vec![reason]));
                    }
                    let up = tx.item(current)?.ok_or(Error::NotFound(current))?;
                    at = up.parent();
                    steps += 1;
                    if steps > 1_000_000 {
                        return Err(StoreError::Corrupt("the parent chain loops".into()).into());
                    }
                }
            }
            let change = Change::ParentSet { parent };
            self.record(tx, item, actor, change, None, Value::Null, now)
        })
    }

    /// Where an item is and, for each transition out of its workstation, whether `actor`
    /// could fire it now and every reason why not.
    pub fn explain(&self, id: ItemId, actor: &Actor) -> Result<Explanation> {
        let now = self.clock.now();
        self.store.read(|tx| {
            let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
            let workflow = self.workflow_of(&item)?;
            let from = self.current(workflow, &item)?;
            let mut transitions = Vec::new();
            for &t in workflow.outgoing(from) {
                let a = self.assess(tx, workflow, &item, actor, from, t, now)?;
                let def = workflow.transition(t);
                transitions.push(NextMove {
                    transition: def.name().to_owned(),
                    to: workflow.workstation(def.to()).name().to_owned(),
                    reasons: a.reasons,
                    warnings: a.warnings,
                });
            }
            let signals = signals::compute(&item, workflow, tx, &self.checks, now)?;
            Ok(Explanation {
                item,
                transitions,
                signals,
            })
        })
    }

    /// Verifies one item: its chain as stored (sequence numbers, links, the hash of every
    /// event over the bytes the store keeps, the key each event is filed under) and that its
    /// stored state equals the replay of its events. Returns the number of events; fails
    /// with [`Error::NotFound`] when the store holds nothing for `id`, and with
    /// [`Error::Verify`] naming every problem of the item otherwise.
    pub fn verify(&self, id: ItemId) -> Result<usize> {
        let report = self
            .store
            .read(|tx| audit::audit_item(tx, id))?
            .ok_or(Error::NotFound(id))?;
        Ok(into_verified(report)?.events)
    }

    /// Verifies everything in the store, in one read transaction: every item's chain and
    /// state as [`verify`](Self::verify) does, and what the store keeps beside them (its
    /// indexes and columns, dependency rows, id counter; see [`Reader::check_storage`]).
    /// Returns what was checked when all of it checks out, and otherwise fails with
    /// [`Error::Verify`], whose [`Report`] names **every** problem found, not only the
    /// first. [`audit`](Self::audit) returns the report either way.
    pub fn verify_all(&self) -> Result<Verified> {
        into_verified(self.audit()?)
    }

    /// Audits the whole store, as [`verify_all`](Self::verify_all) does, and returns the
    /// report whether or not it found problems; it fails only when the store cannot be
    /// read at all.
    pub fn audit(&self) -> Result<Report> {
        Ok(self.store.read(|tx| audit::audit(tx))?)
    }

    /// An item's signals now (see [`signals`](mod@crate::signals) for their definitions).
    pub fn signals(&self, id: ItemId) -> Result<Signals> {
        let now = self.clock.now();
        self.store.read(|tx| {
            let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
            let workflow = self.workflow_of(&item)?;
            Ok(signals::compute(&item, workflow, tx, &self.checks, now)?)
        })
    }

    /// The items that meet `query` and have `signal` on now, with all their signals.
    pub fn with_signal(&self, signal: Signal, query: &Query) -> Result<Vec<(Item, Signals)>> {
        let now = self.clock.now();
        self.store.read(|tx| {
            let mut found = Vec::new();
            for item in tx.items(query)? {
                let workflow = self.workflow_of(&item)?;
                let signals = signals::compute(&item, workflow, tx, &self.checks, now)?;
                if signals.has(signal) {
                    found.push((item, signals));
                }
            }
            Ok(found)
        })
    }

    /// The open items that meet `query` whose dependencies are all closed `done` (items
    /// without dependencies included), in id order.
    pub fn ready(&self, query: &Query) -> Result<Vec<Item>> {
        self.store.read(|tx| {
            let mut ready = Vec::new();
            let mut done: HashMap<ItemId, bool> = HashMap::new();
            for item in tx.items(query)? {
                if item.is_closed() {
                    continue;
                }
                let mut all_done = true;
                for &dep in item.deps() {
                    let is_done = match done.get(&dep) {
                        Some(&d) => d,
                        None => {
                            let d = tx
                                .item(dep)?
                                .is_some_and(|d| d.outcome() == Some(crate::Outcome::Done));
                            done.insert(dep, d);
                            d
                        }
                    };
                    if !is_done {
                        all_done = false;
                        break;
                    }
                }
                if all_done {
                    ready.push(item);
                }
            }
            Ok(ready)
        })
    }

    /// The items that meet `query`, each after the items (among them) it depends on.
    pub fn topological_order(&self, query: &Query) -> Result<Vec<ItemId>> {
        let items = self.items(query)?;
        Ok(dag::topological_order(&items)?)
    }

    /// The chain of dependencies among the items that meet `query` whose weights, the number
    /// in each item's field `field` (0 when absent), sum highest.
    pub fn critical_path(&self, query: &Query, field: &str) -> Result<CriticalPath> {
        let items = self.items(query)?;
        Ok(dag::critical_path(&items, field)?)
    }

    /// An item's flow metrics now, from its ledger (see [`metrics`](crate::metrics)).
    pub fn metrics(&self, id: ItemId) -> Result<ItemMetrics> {
        let now = self.clock.now();
        self.store.read(|tx| self.item_metrics(tx, id, now))
    }

    fn item_metrics(
        &self,
        reader: &dyn Reader,
        id: ItemId,
        now: DateTime<Utc>,
    ) -> Result<ItemMetrics> {
        let item = reader.item(id)?.ok_or(Error::NotFound(id))?;
        let workflow = self.workflow_of(&item)?;
        let events = reader.events(id, 1)?;
        item_metrics(&events, workflow, now).ok_or_else(|| {
            Error::Store(StoreError::Corrupt(format!(
                "item {id}: its chain does not start with its creation"
            )))
        })
    }

    /// Flow over the items that meet `query` during `window`, with rates per `period`
    /// (see [`FlowReport`]). Items still open are measured up to the window's end.
    pub fn flow(
        &self,
        query: &Query,
        window: Window,
        period: chrono::TimeDelta,
    ) -> Result<FlowReport> {
        self.store.read(|tx| {
            let mut metrics = Vec::new();
            for item in tx.items(query)? {
                if item.created() >= window.end {
                    continue;
                }
                metrics.push(self.item_metrics(tx, item.id(), window.end)?);
            }
            Ok(FlowReport::from_metrics(&metrics, window, period))
        })
    }

    /// How many of the items that meet `query` were open at `at`, from their ledgers.
    pub fn wip_at(&self, query: &Query, at: DateTime<Utc>) -> Result<usize> {
        self.store.read(|tx| {
            let mut open = 0;
            for item in tx.items(query)? {
                if item.created() > at {
                    continue;
                }
                if self.item_metrics(tx, item.id(), at)?.open_at(at) {
                    open += 1;
                }
            }
            Ok(open)
        })
    }

    fn transition_id(&self, workflow: &Workflow, name: &str) -> Result<TransitionId> {
        workflow
            .transition_id(name)
            .ok_or_else(|| Error::UnknownTransition {
                workflow: workflow.name().to_owned(),
                name: name.to_owned(),
                help: did_you_mean(name, workflow.transitions().iter().map(|t| t.name())),
            })
    }

    fn current(&self, workflow: &Workflow, item: &Item) -> Result<WorkstationId> {
        workflow.workstation_id(item.workstation()).ok_or_else(|| {
            Error::Store(StoreError::Corrupt(format!(
                "item {} is in `{}`, which its definition does not have",
                item.id(),
                item.workstation()
            )))
        })
    }

    /// Every reason `t` may not fire for `item` (already patched) and `actor`, given that
    /// it may fire from `from`.
    #[allow(clippy::too_many_arguments)]
    fn assess(
        &self,
        reader: &dyn Reader,
        workflow: &Workflow,
        item: &Item,
        actor: &Actor,
        from: WorkstationId,
        t: TransitionId,
        now: DateTime<Utc>,
    ) -> Result<Assessment> {
        let def = workflow.transition(t);
        let to = def.to();
        let target = workflow.workstation(to);
        let mut reasons = Vec::new();
        let mut warnings = Vec::new();
        if let Some(by) = def.by()
            && !by.iter().any(|role| actor.has_role(role))
        {
            reasons.push(
                Reason::new(
                    "role",
                    ReasonKind::Role,
                    format!(
                        "`{}` may be fired by {}; {} has {}",
                        def.name(),
                        list_or_nobody(by),
                        actor.id(),
                        list_or_nobody(actor.roles())
                    ),
                )
                .with_details(json!({ "allowed": by, "actor_roles": actor.roles() })),
            );
        }
        if item.is_held() && !def.allows_held() {
            let kinds: Vec<&str> = item.holds().keys().map(String::as_str).collect();
            let shown: Vec<String> = item
                .holds()
                .iter()
                .map(|(k, h)| match &h.reason {
                    Some(r) => format!("`{k}` ({r})"),
                    None => format!("`{k}`"),
                })
                .collect();
            reasons.push(
                Reason::new(
                    "held",
                    ReasonKind::Held,
                    format!("the item is held: {}", shown.join(", ")),
                )
                .with_details(json!({ "holds": kinds })),
            );
        }
        let subject = Subject::new(
            item,
            actor,
            workflow,
            Some(def.name()),
            target.name(),
            now,
            reader,
            &self.checks,
        );
        let moves = from != to;
        if moves {
            subject.collect(
                workflow.workstation(from).exit(),
                ReasonKind::Exit,
                &mut reasons,
            )?;
        }
        subject.collect(def.requires(), ReasonKind::Requires, &mut reasons)?;
        if moves {
            subject.collect(target.entry(), ReasonKind::Entry, &mut reasons)?;
            self.check_wip(reader, workflow, to, item, &mut reasons, &mut warnings)?;
        }
        Ok(Assessment { reasons, warnings })
    }

    /// Whether `item` may enter `to` under its WIP limit.
    fn check_wip(
        &self,
        reader: &dyn Reader,
        workflow: &Workflow,
        to: WorkstationId,
        item: &Item,
        reasons: &mut Vec<Reason>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let target = workflow.workstation(to);
        let Some(wip) = target.wip() else {
            return Ok(());
        };
        let (count, key) = match wip.per() {
            None => (reader.count(workflow.name(), target.name())?, None),
            Some(per) => {
                let key = field_at(item.fields(), per.steps());
                let here = reader.items(
                    &Query::new()
                        .workflow(workflow.name())
                        .workstation(target.name()),
                )?;
                let count = here
                    .iter()
                    .filter(|other| other.id() != item.id())
                    .filter(|other| json_eq(&field_at(other.fields(), per.steps()), &key))
                    .count();
                (count, Some((per.as_str(), key)))
            }
        };
        if count < wip.max() as usize {
            return Ok(());
        }
        let scope = match &key {
            Some((per, key)) => format!(" for {per} = {}", crate::canonical_json(key)),
            None => String::new(),
        };
        let message = format!(
            "`{}` is at its WIP limit of {}{scope} ({count} items)",
            target.name(),
            wip.max()
        );
        if wip.soft() {
            warnings.push(message);
        } else {
            reasons.push(
                Reason::new("wip", ReasonKind::Wip, message).with_details(json!({
                    "workstation": target.name(),
                    "max": wip.max(),
                    "count": count,
                    "per": key.as_ref().map(|(p, _)| *p),
                    "key": key.map(|(_, k)| k),
                })),
            );
        }
        Ok(())
    }

    /// Makes the next event of `item`'s chain, applies it, and appends both.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        tx: &mut S::Tx<'_>,
        mut item: Item,
        actor: &Actor,
        change: Change,
        reason: Option<String>,
        payload: Value,
        now: DateTime<Utc>,
    ) -> Result<Item> {
        let mut event = Event::after(&item, now, actor.id(), change);
        event.reason = reason;
        event.payload = payload;
        let event = event.seal();
        item.apply(&event)?;
        tx.append(event, item.clone())?;
        Ok(item)
    }
}

/// Refuses a value deeper than [`MAX_VALUE_DEPTH`], taking it apart without recursion (its
/// place is left `null`), since dropping it the ordinary way could overflow the stack.
fn within_depth(what: &'static str, value: &mut Value) -> Result<()> {
    if deeper_than(value, MAX_VALUE_DEPTH) {
        dismantle(std::mem::take(value));
        return Err(Error::TooDeep {
            what,
            limit: MAX_VALUE_DEPTH,
        });
    }
    Ok(())
}

/// A clean report as what was verified; any problem as [`Error::Verify`].
fn into_verified(report: Report) -> Result<Verified> {
    if report.is_clean() {
        Ok(Verified {
            items: report.items,
            events: report.events,
        })
    } else {
        Err(Error::Verify(Box::new(report)))
    }
}

fn field_at(fields: &Value, steps: &[Step]) -> Value {
    let mut at = fields;
    for step in steps {
        match (step, at) {
            (Step::Key(k), Value::Object(map)) => match map.get(k) {
                Some(v) => at = v,
                None => return Value::Null,
            },
            _ => return Value::Null,
        }
    }
    at.clone()
}

fn refused(item: Item, action: &str, reasons: Vec<Reason>) -> Error {
    Error::Refused(Box::new(Refused {
        item,
        action: action.to_owned(),
        reasons,
    }))
}

fn not_allowed(workflow: &Workflow, t: TransitionId, from: WorkstationId) -> Reason {
    let def = workflow.transition(t);
    let sources: Vec<String> = def
        .from()
        .iter()
        .map(|&w| format!("`{}`", workflow.workstation(w).name()))
        .collect();
    let here = workflow.workstation(from).name();
    Reason::new(
        "not_allowed",
        ReasonKind::NotAllowed,
        format!(
            "`{}` cannot fire from `{here}`; it fires from {}",
            def.name(),
            sources.join(", ")
        ),
    )
    .with_details(json!({ "workstation": here, "from": sources }))
}

fn closed_reason(item: &Item, outcome: crate::Outcome) -> Reason {
    Reason::new(
        "closed",
        ReasonKind::State,
        format!("the item is closed in `{}` ({outcome})", item.workstation()),
    )
}

fn list_or_nobody(list: &[String]) -> String {
    if list.is_empty() {
        "no role".to_owned()
    } else {
        list.iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}
