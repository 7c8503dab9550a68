//! Checks: predicates written in Rust that workflow files name with `{ check: NAME }`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::item::{Actor, Item};
use crate::store::Reader;
use crate::workflow::Workflow;

/// What a check says.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Verdict {
    /// The check holds.
    Pass,
    /// The check fails.
    Fail {
        /// Why, for people.
        message: String,
        /// Why, for programs (`null` when there is nothing more to say).
        details: Value,
    },
}

impl Verdict {
    /// A failure with a message.
    pub fn fail(message: impl Into<String>) -> Self {
        Verdict::Fail {
            message: message.into(),
            details: Value::Null,
        }
    }

    /// A failure with a message and details.
    pub fn fail_with(message: impl Into<String>, details: Value) -> Self {
        Verdict::Fail {
            message: message.into(),
            details,
        }
    }

    /// `Pass` when `ok`, otherwise a failure with `message`.
    pub fn require(ok: bool, message: impl Into<String>) -> Self {
        if ok {
            Verdict::Pass
        } else {
            Verdict::fail(message)
        }
    }
}

/// What a check sees: the item as it would be after the change, who asks, the workflow, and
/// a read-only view of the store (inside the change's transaction).
///
/// A check runs inside the store transaction of the change it guards, so it must not call
/// the engine; it reads related items through [`reader`](Self::reader).
#[derive(Clone, Copy)]
pub struct CheckContext<'a> {
    pub(crate) item: &'a Item,
    pub(crate) actor: &'a Actor,
    pub(crate) workflow: &'a Workflow,
    pub(crate) transition: Option<&'a str>,
    pub(crate) target: &'a str,
    pub(crate) now: DateTime<Utc>,
    pub(crate) reader: &'a dyn Reader,
}

impl std::fmt::Debug for CheckContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckContext")
            .field("item", &self.item.id())
            .field("actor", &self.actor.id())
            .field("workflow", &self.workflow.name())
            .field("transition", &self.transition)
            .field("target", &self.target)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<'a> CheckContext<'a> {
    /// What a check sees of `item` (as the change would leave its fields) moving along
    /// `transition` (none when the item is being created or looked at) into `target`.
    pub(crate) fn new(
        item: &'a Item,
        actor: &'a Actor,
        workflow: &'a Workflow,
        transition: Option<&'a str>,
        target: &'a str,
        now: DateTime<Utc>,
        reader: &'a dyn Reader,
    ) -> Self {
        Self {
            item,
            actor,
            workflow,
            transition,
            target,
            now,
            reader,
        }
    }

    /// The item, with the change's field patch already applied; its workstation is still the
    /// one it is in.
    pub fn item(&self) -> &'a Item {
        self.item
    }
    /// Who asks for the change.
    pub fn actor(&self) -> &'a Actor {
        self.actor
    }
    /// The item's workflow (the version it is locked to).
    pub fn workflow(&self) -> &'a Workflow {
        self.workflow
    }
    /// The transition being tried, or `None` when the item is being created.
    pub fn transition(&self) -> Option<&'a str> {
        self.transition
    }
    /// The workstation the item would be in after the change.
    pub fn target(&self) -> &'a str {
        self.target
    }
    /// The engine clock's instant for this change.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }
    /// Reads other items and events, in the same transaction.
    pub fn reader(&self) -> &'a dyn Reader {
        self.reader
    }
}

/// The signature of a check.
pub type CheckFn = dyn Fn(&CheckContext<'_>) -> Verdict + Send + Sync;

/// The checks an engine knows, by name.
///
/// ```
/// use workstream_core::{Checks, Verdict};
/// let checks = Checks::new()
///     .add("has_title", |cx| Verdict::require(cx.item().field("title").is_some(), "no title"));
/// assert!(checks.contains("has_title"));
/// ```
#[derive(Clone, Default)]
pub struct Checks {
    map: HashMap<String, Arc<CheckFn>>,
}

impl Checks {
    /// No checks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `check` under `name`, replacing any check of that name.
    pub fn add(
        mut self,
        name: impl Into<String>,
        check: impl Fn(&CheckContext<'_>) -> Verdict + Send + Sync + 'static,
    ) -> Self {
        self.map.insert(name.into(), Arc::new(check));
        self
    }

    /// Registers every check of `other`, replacing checks of the same names.
    pub fn extend(&mut self, other: Checks) {
        self.map.extend(other.map);
    }

    /// Whether a check of that name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&CheckFn> {
        self.map.get(name).map(|f| &**f)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.map.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

impl fmt::Debug for Checks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}
