//! The engine's writes: each one store transaction that reads the item, checks the rules
//! ([`assess`](super::assess)), makes the next event, applies it and appends both.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::assess::{Resolved, Scene};
use super::{Engine, Error, MigrationReport, Move, NewItem, Result};
use crate::dag;
use crate::definition::StoredDefinition;
use crate::hash::Sha256Hash;
use crate::item::{Actor, Item, ItemId};
use crate::ledger::{Change, EventDraft};
use crate::name::did_you_mean;
use crate::refusal::{Reason, ReasonKind, Refused};
use crate::store::{Query, Reader, Store, StoreError, Tx};
use crate::value::{MAX_VALUE_DEPTH, dismantle_value, is_deeper_than, merge_patch};
use crate::workflow::Workflow;

/// A creation request, checked, with its workflow resolved: what a transaction (perhaps run
/// more than once) makes the `created` event from.
pub(super) struct Creating<'e> {
    workflow: &'e Workflow,
    fields: Arc<Value>,
    parent: Option<ItemId>,
    reason: Option<String>,
    payload: Value,
}

/// What an event records besides its change: the actor's reason and the caller's payload.
struct Entry {
    change: Change,
    reason: Option<String>,
    payload: Value,
}

impl Entry {
    /// A change with no reason and no payload.
    fn of(change: Change) -> Self {
        Self {
            change,
            reason: None,
            payload: Value::Null,
        }
    }
}

impl<S: Store> Engine<S> {
    /// Creates an item in its workflow's initial workstation. The initial workstation's
    /// entry assertions and WIP limit apply.
    pub fn create(&self, actor: &Actor, new: NewItem<'_>) -> Result<Item> {
        let new = self.prepare_create(new)?;
        self.write_traced("create", None, Some(actor), |tx| {
            self.create_tx(tx, actor, &new)
        })
    }

    /// Checks a creation request and resolves its workflow, once, before any transaction.
    pub(super) fn prepare_create(&self, mut new: NewItem<'_>) -> Result<Creating<'_>> {
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
        Ok(Creating {
            workflow,
            fields: Arc::new(fields),
            parent: new.parent,
            reason: new.reason,
            payload: new.payload,
        })
    }

    /// [`create`](Self::create) in `tx`.
    pub(super) fn create_tx(
        &self,
        tx: &mut S::Tx<'_>,
        actor: &Actor,
        new: &Creating<'_>,
    ) -> Result<Item> {
        let workflow = new.workflow;
        let initial = workflow.workstation(workflow.initial());
        {
            if let Some(parent) = new.parent
                && tx.item(parent)?.is_none()
            {
                return Err(Error::NotFound(parent));
            }
            let id = tx.next_id()?;
            // After the transaction's first read: see `advance_tx`.
            let now = self.clock.now();
            let event = EventDraft {
                item: id,
                seq: 1,
                at: now,
                actor: actor.id().to_owned(),
                change: Change::Created {
                    workflow: workflow.name().to_owned(),
                    version: workflow.version(),
                    workstation: initial.name().to_owned(),
                    fields: Arc::clone(&new.fields),
                    parent: new.parent,
                },
                reason: new.reason.clone(),
                payload: new.payload.clone(),
                definition: *workflow.definition_hash(),
                source: Some(*workflow.source_hash()),
                prev: Sha256Hash::ZERO,
            }
            .seal();
            let item = Item::from_created(&event)?;
            // The item as it would be: its entry assertions and WIP limit must allow it.
            let mut reasons = Vec::new();
            let scene = Scene {
                reader: &*tx,
                workflow,
                item: &item,
                actor,
                now,
            };
            scene.subject(None, initial.name(), &self.checks).collect(
                initial.entry(),
                ReasonKind::Entry,
                &mut reasons,
            )?;
            let mut warnings = Vec::new();
            self.check_wip(&scene, workflow.initial(), &mut reasons, &mut warnings)?;
            if !reasons.is_empty() {
                return Err(refused(item, "create", reasons));
            }
            keep_definition(tx, workflow)?;
            tx.append(event, item.clone())?;
            Ok(item)
        }
    }

    /// Moves an item. Every rule is checked: the transition may fire from the item's
    /// workstation, the actor has a role it lists, no hold is on (unless it allows held
    /// items), the source's exit assertions, the transition's requires, the target's entry
    /// assertions, and the target's WIP limit. A refusal ([`Error::Refused`]) carries every
    /// reason and the unchanged item.
    pub fn advance(&self, id: ItemId, actor: &Actor, mut mv: Move<'_>) -> Result<Item> {
        check_move(&mut mv)?;
        self.write_traced("advance", Some(id), Some(actor), |tx| {
            self.advance_tx(tx, id, actor, &mv)
        })
    }

    /// [`advance`](Self::advance) in `tx`, for a move whose values were checked.
    pub(super) fn advance_tx(
        &self,
        tx: &mut S::Tx<'_>,
        id: ItemId,
        actor: &Actor,
        mv: &Move<'_>,
    ) -> Result<Item> {
        {
            let item = read_in(&*tx, id, mv.expect.as_deref())?;
            // The instant is taken after the transaction's first read, so an event that
            // depends on another's effects (it read what the other committed) is never
            // stamped before it: replaying the ledger in the order of instants sees each
            // change after those it was decided on.
            let now = self.clock.now();
            let workflow = self.workflow_of(&item)?;
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
            let scene = Scene {
                reader: &*tx,
                workflow,
                item: &proposed,
                actor,
                now,
            };
            let (t, assessment) = match self.resolve(&scene, from, &mv.target)? {
                Resolved::Chosen(t, assessment) => (t, assessment),
                Resolved::Refused { action, reasons } => {
                    drop(proposed);
                    return Err(refused(item, &action, reasons));
                }
            };
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
                patch: mv.patch.clone(),
                warnings: assessment.warnings,
            };
            self.record(
                tx,
                workflow,
                item,
                actor,
                Entry {
                    change,
                    reason: mv.reason.clone(),
                    payload: mv.payload.clone(),
                },
                now,
            )
        }
    }

    /// Changes an item's fields by a merge patch (RFC 7386): keys in the patch replace,
    /// `null` removes. Recorded as a `fields_updated` event.
    pub fn update_fields(&self, id: ItemId, actor: &Actor, patch: Value) -> Result<Item> {
        self.update_fields_in(id, None, actor, patch)
    }

    /// [`update_fields`](Self::update_fields), refused with [`Error::Conflict`] unless the
    /// item is in `expect` (the typed API's guarantee that a handle is where its type says).
    pub(crate) fn update_fields_in(
        &self,
        id: ItemId,
        expect: Option<&str>,
        actor: &Actor,
        mut patch: Value,
    ) -> Result<Item> {
        check_patch(&mut patch)?;
        self.write_traced("update_fields", Some(id), Some(actor), |tx| {
            self.update_fields_tx(tx, id, expect, actor, &patch)
        })
    }

    /// [`update_fields`](Self::update_fields) in `tx`.
    pub(super) fn update_fields_tx(
        &self,
        tx: &mut S::Tx<'_>,
        id: ItemId,
        expect: Option<&str>,
        actor: &Actor,
        patch: &Value,
    ) -> Result<Item> {
        let item = read_in(&*tx, id, expect)?;
        let now = self.clock.now();
        let workflow = self.workflow_of(&item)?;
        let change = Change::FieldsUpdated {
            patch: patch.clone(),
        };
        self.record(tx, workflow, item, actor, Entry::of(change), now)
    }

    /// Puts a hold of kind `hold` (declared under `holds`) on an item, with a reason.
    /// Refused when that hold is already on or the item is closed.
    pub fn hold(&self, id: ItemId, actor: &Actor, hold: &str, reason: &str) -> Result<Item> {
        self.hold_in(id, None, actor, hold, reason)
    }

    /// [`hold`](Self::hold), refused with [`Error::Conflict`] unless the item is in `expect`.
    pub(crate) fn hold_in(
        &self,
        id: ItemId,
        expect: Option<&str>,
        actor: &Actor,
        hold: &str,
        reason: &str,
    ) -> Result<Item> {
        self.write_traced("hold", Some(id), Some(actor), |tx| {
            self.hold_tx(tx, id, expect, actor, hold, reason)
        })
    }

    /// [`hold`](Self::hold) in `tx`.
    pub(super) fn hold_tx(
        &self,
        tx: &mut S::Tx<'_>,
        id: ItemId,
        expect: Option<&str>,
        actor: &Actor,
        hold: &str,
        reason: &str,
    ) -> Result<Item> {
        let item = read_in(&*tx, id, expect)?;
        let now = self.clock.now();
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
        let entry = Entry {
            reason: Some(reason.to_owned()),
            ..Entry::of(change)
        };
        self.record(tx, workflow, item, actor, entry, now)
    }

    /// Releases a hold. Refused when that hold is not on.
    pub fn release(&self, id: ItemId, actor: &Actor, hold: &str) -> Result<Item> {
        self.release_in(id, None, actor, hold)
    }

    /// [`release`](Self::release), refused with [`Error::Conflict`] unless the item is in
    /// `expect`.
    pub(crate) fn release_in(
        &self,
        id: ItemId,
        expect: Option<&str>,
        actor: &Actor,
        hold: &str,
    ) -> Result<Item> {
        self.write_traced("release", Some(id), Some(actor), |tx| {
            self.release_tx(tx, id, expect, actor, hold)
        })
    }

    /// [`release`](Self::release) in `tx`.
    pub(super) fn release_tx(
        &self,
        tx: &mut S::Tx<'_>,
        id: ItemId,
        expect: Option<&str>,
        actor: &Actor,
        hold: &str,
    ) -> Result<Item> {
        let item = read_in(&*tx, id, expect)?;
        let now = self.clock.now();
        let workflow = self.workflow_of(&item)?;
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
        self.record(tx, workflow, item, actor, Entry::of(change), now)
    }

    /// Makes `id` depend on `on` (items of any workflow). Refused when the dependency is
    /// already there or would close a cycle; the reason names the cycle.
    pub fn add_dependency(&self, id: ItemId, on: ItemId, actor: &Actor) -> Result<Item> {
        self.write_traced("add_dependency", Some(id), Some(actor), |tx| {
            self.add_dependency_tx(tx, id, on, actor)
        })
    }

    /// [`add_dependency`](Self::add_dependency) in `tx`.
    pub(super) fn add_dependency_tx(
        &self,
        tx: &mut S::Tx<'_>,
        id: ItemId,
        on: ItemId,
        actor: &Actor,
    ) -> Result<Item> {
        let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
        let now = self.clock.now();
        let workflow = self.workflow_of(&item)?;
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
        self.record(tx, workflow, item, actor, Entry::of(change), now)
    }

    /// Removes a dependency. Refused when it is not there.
    pub fn remove_dependency(&self, id: ItemId, on: ItemId, actor: &Actor) -> Result<Item> {
        self.write_traced("remove_dependency", Some(id), Some(actor), |tx| {
            self.remove_dependency_tx(tx, id, on, actor)
        })
    }

    /// [`remove_dependency`](Self::remove_dependency) in `tx`.
    pub(super) fn remove_dependency_tx(
        &self,
        tx: &mut S::Tx<'_>,
        id: ItemId,
        on: ItemId,
        actor: &Actor,
    ) -> Result<Item> {
        let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
        let now = self.clock.now();
        let workflow = self.workflow_of(&item)?;
        if !item.deps().contains(&on) {
            let reason = Reason::new(
                "no_dependency",
                ReasonKind::State,
                format!("item {id} does not depend on {on}"),
            );
            return Err(refused(item, "remove_dependency", vec![reason]));
        }
        let change = Change::DependencyRemoved { on };
        self.record(tx, workflow, item, actor, Entry::of(change), now)
    }

    /// Sets or clears an item's parent. Refused when it would make an item its own
    /// ancestor.
    pub fn set_parent(&self, id: ItemId, parent: Option<ItemId>, actor: &Actor) -> Result<Item> {
        self.write_traced("set_parent", Some(id), Some(actor), |tx| {
            self.set_parent_tx(tx, id, parent, actor)
        })
    }

    /// [`set_parent`](Self::set_parent) in `tx`.
    pub(super) fn set_parent_tx(
        &self,
        tx: &mut S::Tx<'_>,
        id: ItemId,
        parent: Option<ItemId>,
        actor: &Actor,
    ) -> Result<Item> {
        let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
        let now = self.clock.now();
        let workflow = self.workflow_of(&item)?;
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
        self.record(tx, workflow, item, actor, Entry::of(change), now)
    }

    /// Moves an item to `to_version` of its workflow, along the migration that version
    /// declares from the item's version: one `migrated` event, with both versions and
    /// definition hashes, the workstations before and after, the holds renamed, and `reason`.
    ///
    /// Both versions must be loaded. The migration's `by` roles, the entry assertions of the
    /// workstation the item lands in (of the newer version, on the item as it would be) that
    /// the workstation it is in did not already have (those it passed on entering, with the
    /// actor who moved it there), and that workstation's WIP limit (when the item lands in a
    /// workstation of another name) apply; a refusal names every reason and writes nothing,
    /// and the item stays on its version, still movable there.
    pub fn migrate(
        &self,
        id: ItemId,
        actor: &Actor,
        to_version: u32,
        reason: Option<&str>,
    ) -> Result<Item> {
        self.write_traced("migrate", Some(id), Some(actor), |tx| {
            self.migrate_tx(tx, id, actor, to_version, reason)
        })
    }

    /// [`migrate`](Self::migrate) in `tx`.
    pub(super) fn migrate_tx(
        &self,
        tx: &mut S::Tx<'_>,
        id: ItemId,
        actor: &Actor,
        to_version: u32,
        reason: Option<&str>,
    ) -> Result<Item> {
        let item = read_in(&*tx, id, None)?;
        let now = self.clock.now();
        // The item's own version must be loaded (and its definition the loaded one).
        let older = self.workflow_of(&item)?;
        if to_version <= item.version() {
            return Err(Error::NotNewer {
                item: id,
                version: item.version(),
                to: to_version,
            });
        }
        let newer = self
            .workflow_version(item.workflow(), to_version)
            .ok_or_else(|| Error::VersionNotLoaded {
                item: Some(id),
                workflow: item.workflow().to_owned(),
                version: to_version,
                loaded: self
                    .versions(item.workflow())
                    .map(|v| v.iter().map(|w| w.version()).collect())
                    .unwrap_or_default(),
            })?;
        let Some(migration) = newer.migration_from(item.version()) else {
            return Err(Error::NoMigration {
                item: id,
                workflow: item.workflow().to_owned(),
                from: item.version(),
                to: to_version,
            });
        };
        let target = migration.workstation(item.workstation()).to_owned();
        let mut reasons = Vec::new();
        if let Some(by) = migration.by()
            && !actor.roles().iter().any(|r| by.contains(r))
        {
            reasons.push(Reason::new(
                "role",
                ReasonKind::Role,
                format!(
                    "migrating to version {to_version} is for {}; {} has none of these roles",
                    by.join(", "),
                    actor.id()
                ),
            ));
        }
        let Some(lands) = newer.workstation_id(&target) else {
            // The build checked the migration against the older version, so only a state
            // changed outside the engine (an item in a workstation its version lacks) gets here.
            return Err(Error::not_in_definition(&item));
        };
        let landing = newer.workstation(lands);
        let renamed: Vec<(String, String)> = item
            .holds()
            .keys()
            .filter(|h| migration.hold(h) != h.as_str())
            .map(|h| (h.clone(), migration.hold(h).to_owned()))
            .collect();
        let outcome = if landing.is_terminal() {
            item.outcome().or(landing.outcome())
        } else {
            None
        };
        let change = Change::Migrated {
            from_version: item.version(),
            from_definition: *item.definition(),
            to_version,
            from_workstation: item.workstation().to_owned(),
            to_workstation: target.clone(),
            holds: renamed,
            outcome,
        };
        let mut draft = item.next_event(now, actor.id(), change);
        draft.definition = *newer.definition_hash();
        draft.source = Some(*newer.source_hash());
        draft.reason = reason.map(str::to_owned);
        let event = draft.seal();
        let mut migrated = item.clone();
        migrated.apply(&event)?;
        // The item as it would be, in the newer version: its entry assertions and WIP.
        let scene = Scene {
            reader: &*tx,
            workflow: newer,
            item: &migrated,
            actor,
            now,
        };
        // What the newer version asks beyond what the item passed to enter where it is:
        // an entry assertion the older workstation had too was checked when the item
        // entered it (with the actor who moved it there), and is not asked again.
        let passed: &[crate::Assertion] = older
            .workstation_id(item.workstation())
            .map_or(&[], |w| older.workstation(w).entry());
        let asked: Vec<crate::Assertion> = landing
            .entry()
            .iter()
            .filter(|a| !passed.iter().any(|p| p.kind() == a.kind()))
            .cloned()
            .collect();
        scene.subject(None, landing.name(), &self.checks).collect(
            &asked,
            ReasonKind::Entry,
            &mut reasons,
        )?;
        if landing.name() != item.workstation() {
            let mut warnings = Vec::new();
            self.check_wip(&scene, lands, &mut reasons, &mut warnings)?;
        }
        if !reasons.is_empty() {
            return Err(refused(item, "migrate", reasons));
        }
        keep_definition(tx, newer)?;
        tx.append(event, migrated.clone())?;
        Ok(migrated)
    }

    /// Migrates every item `query` selects to `to_version`, each in a transaction of its own
    /// (as [`migrate`](Self::migrate) does), and reports what happened to each: migrated,
    /// refused (with every reason), already current, on a version not loaded, or failed.
    /// A store failure ends it with an error; what was migrated before stays migrated.
    pub fn migrate_all(
        &self,
        query: &Query,
        actor: &Actor,
        to_version: u32,
        reason: Option<&str>,
    ) -> Result<MigrationReport> {
        let mut report = MigrationReport {
            to_version,
            ..MigrationReport::default()
        };
        for item in self.items(query)? {
            let id = item.id();
            if item.version() >= to_version {
                report.already_current.push(id);
                continue;
            }
            match self.migrate(id, actor, to_version, reason) {
                Ok(_) => report.migrated.push(id),
                Err(Error::Refused(refused)) => report.refused.push(*refused),
                Err(Error::VersionNotLoaded { version, .. }) => {
                    report.not_loaded.push((id, version))
                }
                Err(Error::Store(e)) => return Err(Error::Store(e)),
                Err(other) => report.failed.push((id, other.to_string())),
            }
        }
        Ok(report)
    }

    /// Makes the next event of `item`'s chain under `workflow` (its loaded definition, which
    /// the caller looked up), applies it, and appends both with the text it names.
    fn record(
        &self,
        tx: &mut S::Tx<'_>,
        workflow: &Workflow,
        mut item: Item,
        actor: &Actor,
        entry: Entry,
        now: DateTime<Utc>,
    ) -> Result<Item> {
        keep_definition(tx, workflow)?;
        let source = *workflow.source_hash();
        let mut event = item.next_event(now, actor.id(), entry.change);
        // The same definition, by today's hash: an item of workstream 0.1 is re-keyed from the
        // hash 0.1 gave it (which covers texts too) on its first event here.
        event.definition = *workflow.definition_hash();
        event.reason = entry.reason;
        event.payload = entry.payload;
        event.source = Some(source);
        let event = event.seal();
        item.apply(&event)?;
        tx.append(event, item.clone())?;
        Ok(item)
    }
}

/// Keeps `workflow`'s text in the store, unless it is kept already: in the transaction of the
/// event written under it, so that every event's text is kept with the event.
fn keep_definition<T: Tx + ?Sized>(tx: &mut T, workflow: &Workflow) -> Result<()> {
    if !tx.has_definition_text(workflow.source_hash())? {
        tx.put_definition(&StoredDefinition::of(workflow))?;
    }
    Ok(())
}

/// Checks a move's values before any transaction: each within [`MAX_VALUE_DEPTH`].
pub(super) fn check_move(mv: &mut Move<'_>) -> Result<()> {
    let patch = mv
        .patch
        .as_mut()
        .map_or(Ok(()), |patch| within_depth("patch", patch));
    within_depth("payload", &mut mv.payload).and(patch)
}

/// Checks a field patch before any transaction: an object within [`MAX_VALUE_DEPTH`].
pub(super) fn check_patch(patch: &mut Value) -> Result<()> {
    within_depth("patch", patch)?;
    if !patch.is_object() {
        return Err(Error::InvalidFields(describe(patch)));
    }
    Ok(())
}

/// The item, which must be in `expect` when one is given.
fn read_in(reader: &dyn Reader, id: ItemId, expect: Option<&str>) -> Result<Item> {
    let item = reader.item(id)?.ok_or(Error::NotFound(id))?;
    if let Some(expected) = expect
        && expected != item.workstation()
    {
        return Err(Error::Conflict {
            item: id,
            expected: expected.to_owned(),
            actual: item.workstation().to_owned(),
        });
    }
    Ok(item)
}

/// Refuses a value deeper than [`MAX_VALUE_DEPTH`], taking it apart without recursion (its
/// place is left `null`), since dropping it the ordinary way could overflow the stack.
fn within_depth(what: &'static str, value: &mut Value) -> Result<()> {
    if is_deeper_than(value, MAX_VALUE_DEPTH) {
        dismantle_value(std::mem::take(value));
        return Err(Error::TooDeep {
            what,
            limit: MAX_VALUE_DEPTH,
        });
    }
    Ok(())
}

fn refused(item: Item, action: &str, reasons: Vec<Reason>) -> Error {
    Error::Refused(Box::new(Refused {
        item,
        action: action.to_owned(),
        reasons,
    }))
}

fn closed_reason(item: &Item, outcome: crate::Outcome) -> Reason {
    Reason::new(
        "closed",
        ReasonKind::State,
        format!("the item is closed in `{}` ({outcome})", item.workstation()),
    )
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
