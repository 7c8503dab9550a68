//! The engine: moves items along their workflows' transitions, refuses moves with every
//! reason that blocks them, and records each change as an event in a store.
//!
//! Every write runs in one store transaction ([`Store::write`]): the engine reads the item
//! (and whatever its assertions need), checks the rules, makes the event, applies it to the
//! item with [`Item::apply`] and appends both. A refused change writes nothing.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::check::Checks;
use crate::clock::Clock;
use crate::item::Item;
use crate::name::did_you_mean;
use crate::store::Store;
use crate::workflow::Workflow;

mod assess;
mod batch;
mod builder;
mod error;
mod explain;
mod query;
mod request;
mod trace;
mod write;

pub use batch::{Batch, BatchRefused};
pub use builder::EngineBuilder;
pub use error::{BuildError, Error, MissingCheck, Result};
pub use explain::{Explanation, MigrationReport, NextMove, Standing, Verified};
pub use query::UnknownPlace;
pub use request::{Move, NewItem, With};

/// Moves items through their workflows and records every change in a store.
///
/// Build one with [`Engine::builder`]: a [`Store`], the workflows it serves, the checks they
/// name and a [`Clock`]. All operations take `&self`; the store serializes writers, so an
/// engine can be shared between threads (`Arc<Engine<_>>`). The `workstream` crate's
/// documentation has a complete example on the in-memory store.
///
/// Every write runs in one store transaction ([`Store::write`]): the engine reads the item
/// (and whatever its assertions need), checks the rules, makes the event, applies it to the
/// item with [`Item::apply`](crate::Item::apply) and appends both. A refused change writes
/// nothing.
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
        if !workflow.is_definition(item.definition()) {
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
}
