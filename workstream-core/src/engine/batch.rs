//! Batches: many changes in one store transaction, written all together or not at all.

use std::fmt;

use serde_json::Value;

use super::{Engine, Error, Move, NewItem, Result};
use crate::item::{Actor, Item, ItemId};
use crate::refusal::Refused;
use crate::store::Store;

/// The changes of a [`batch`](Engine::batch) that were refused, each with every reason.
/// Nothing of the batch was written.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BatchRefused {
    /// Each refused change: its place in the batch (0 for the first change asked for) and
    /// its refusal.
    pub refused: Vec<(usize, Refused)>,
    /// How many changes the batch asked for.
    pub changes: usize,
}

impl fmt::Display for BatchRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of the {} changes of the batch were refused, so none was written:",
            self.refused.len(),
            self.changes
        )?;
        for (i, refused) in &self.refused {
            let text = refused.to_string().replace('\n', "\n  ");
            write!(f, "\n  change {i}: {text}")?;
        }
        Ok(())
    }
}

/// Many changes made in one store transaction: see [`Engine::batch`]. Each method does what
/// the engine's method of the same name does, inside the batch's transaction, and sees what
/// the changes before it in the batch did.
pub struct Batch<'b, 't, S: Store + 't> {
    engine: &'b Engine<S>,
    tx: &'b mut S::Tx<'t>,
    changes: usize,
    refused: Vec<(usize, Refused)>,
}

impl<S: Store> fmt::Debug for Batch<'_, '_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("changes", &self.changes)
            .field("refused", &self.refused.len())
            .finish_non_exhaustive()
    }
}

impl<S: Store> Engine<S> {
    /// Makes many changes in one store transaction: every change `f` asks of its [`Batch`]
    /// is written, or none is. On a database over a network this saves a round trip and a
    /// commit per change; on SQLite, a disk sync per change.
    ///
    /// A change the rules refuse returns its refusal to `f` and is noted; `f` may go on
    /// (the changes after it see the store as if it had not been asked) so that one call
    /// reports every refused change. When any change was refused, nothing is written and
    /// the batch fails with [`Error::BatchRefused`], which lists each refusal with every
    /// reason and its place in the batch. Any other error `f` returns ends the batch with
    /// that error, and nothing is written either.
    ///
    /// `f` may run more than once, like every [`Store::write`] closure: keep it to asking
    /// the batch for changes.
    ///
    /// The `workstream` crate's README shows a batch of a hundred items, and one refused.
    pub fn batch<R>(&self, mut f: impl FnMut(&mut Batch<'_, '_, S>) -> Result<R>) -> Result<R> {
        self.write_traced("batch", None, None, |tx| {
            let mut batch = Batch {
                engine: self,
                tx,
                changes: 0,
                refused: Vec::new(),
            };
            let result = f(&mut batch);
            match result {
                Ok(_) | Err(Error::Refused(_)) if !batch.refused.is_empty() => {
                    Err(Error::BatchRefused(Box::new(BatchRefused {
                        refused: batch.refused,
                        changes: batch.changes,
                    })))
                }
                other => other,
            }
        })
    }
}

impl<S: Store> Batch<'_, '_, S> {
    /// How many changes the batch has asked for so far.
    pub fn changes(&self) -> usize {
        self.changes
    }

    /// The changes refused so far, each with its place in the batch.
    pub fn refused(&self) -> &[(usize, Refused)] {
        &self.refused
    }

    /// Notes a refusal of the change just asked for.
    fn note(&mut self, result: Result<Item>) -> Result<Item> {
        let place = self.changes;
        self.changes += 1;
        if let Err(Error::Refused(refused)) = &result {
            self.refused.push((place, (**refused).clone()));
        }
        result
    }

    /// Reads these items ahead in one go, for the changes of the batch about to read them
    /// one at a time ([`Reader::prefetch`](crate::Reader::prefetch)): on a store over a
    /// network, such as PostgreSQL, a batch that changes many known items saves a round
    /// trip per item. It changes nothing else; unknown ids are left out.
    pub fn prefetch(&mut self, ids: &[ItemId]) -> Result<()> {
        Ok(crate::store::Reader::prefetch(&*self.tx, ids)?)
    }

    /// [`Engine::create`], in the batch.
    pub fn create(&mut self, actor: &Actor, new: NewItem<'_>) -> Result<Item> {
        let result = self
            .engine
            .prepare_create(new)
            .and_then(|new| self.engine.create_tx(self.tx, actor, &new));
        self.note(result)
    }

    /// [`Engine::advance`], in the batch.
    pub fn advance(&mut self, id: ItemId, actor: &Actor, mut mv: Move<'_>) -> Result<Item> {
        let result = super::write::check_move(&mut mv)
            .and_then(|()| self.engine.advance_tx(self.tx, id, actor, &mv));
        self.note(result)
    }

    /// [`Engine::update_fields`], in the batch.
    pub fn update_fields(&mut self, id: ItemId, actor: &Actor, mut patch: Value) -> Result<Item> {
        let result = super::write::check_patch(&mut patch).and_then(|()| {
            self.engine
                .update_fields_tx(self.tx, id, None, actor, &patch)
        });
        self.note(result)
    }

    /// [`Engine::hold`], in the batch.
    pub fn hold(&mut self, id: ItemId, actor: &Actor, hold: &str, reason: &str) -> Result<Item> {
        let result = self.engine.hold_tx(self.tx, id, None, actor, hold, reason);
        self.note(result)
    }

    /// [`Engine::release`], in the batch.
    pub fn release(&mut self, id: ItemId, actor: &Actor, hold: &str) -> Result<Item> {
        let result = self.engine.release_tx(self.tx, id, None, actor, hold);
        self.note(result)
    }

    /// [`Engine::add_dependency`], in the batch.
    pub fn add_dependency(&mut self, id: ItemId, on: ItemId, actor: &Actor) -> Result<Item> {
        let result = self.engine.add_dependency_tx(self.tx, id, on, actor);
        self.note(result)
    }

    /// [`Engine::remove_dependency`], in the batch.
    pub fn remove_dependency(&mut self, id: ItemId, on: ItemId, actor: &Actor) -> Result<Item> {
        let result = self.engine.remove_dependency_tx(self.tx, id, on, actor);
        self.note(result)
    }

    /// [`Engine::set_parent`], in the batch.
    pub fn set_parent(
        &mut self,
        id: ItemId,
        parent: Option<ItemId>,
        actor: &Actor,
    ) -> Result<Item> {
        let result = self.engine.set_parent_tx(self.tx, id, parent, actor);
        self.note(result)
    }

    /// [`Engine::migrate`], in the batch.
    pub fn migrate(
        &mut self,
        id: ItemId,
        actor: &Actor,
        to_version: u32,
        reason: Option<&str>,
    ) -> Result<Item> {
        let result = self
            .engine
            .migrate_tx(self.tx, id, actor, to_version, reason);
        self.note(result)
    }
}
