//! Refusals as data: a refused change hands the item back with every reason that blocks it.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::item::{Item, ItemId};

/// Which rule a reason comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReasonKind {
    /// The transition may not fire from the item's workstation.
    NotAllowed,
    /// The actor has none of the roles the transition's `by` lists.
    Role,
    /// A hold is on the item and the transition does not allow held items.
    Held,
    /// An `exit` assertion of the workstation the item would leave fails.
    Exit,
    /// A `requires` assertion of the transition fails.
    Requires,
    /// An `entry` assertion of the workstation the item would enter fails.
    Entry,
    /// The target workstation is at its WIP limit.
    Wip,
    /// The change would close a cycle of dependencies.
    Cycle,
    /// A dependency ended other than `done` (a `blocked` signal, not a refusal).
    Dependency,
    /// The change does not fit the item's state (a hold already on, a dependency already
    /// there, a closed item, …).
    State,
    /// Whether an assertion holds is not known here: it depends on a Rust check the engine
    /// has no function for, as in an engine built with
    /// [`allow_missing_checks`](crate::EngineBuilder::allow_missing_checks) to inspect a
    /// store without the program that writes it. A move with such a reason is refused: the
    /// engine does not guess.
    Unevaluable,
}

/// One reason a change is refused.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Reason {
    /// A stable id: the assertion's id for assertions (`no_self_review`, `within_budget`,
    /// `submitted.exit.0`), otherwise the rule's name (`not_allowed`, `role`, `held`, `wip`,
    /// `cycle`, …).
    pub id: String,
    /// The rule it comes from.
    pub kind: ReasonKind,
    /// What is wrong, for people: the file's `message` when it gives one.
    pub message: String,
    /// What is wrong, for programs: the values compared, the failing elements, …
    pub details: Value,
    /// Related items the reason is about (failing children, blocking dependencies, the
    /// items of a cycle).
    pub items: Vec<ItemId>,
}

impl Reason {
    pub(crate) fn new(id: impl Into<String>, kind: ReasonKind, message: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind,
            message: message.into(),
            details: Value::Null,
            items: Vec::new(),
        }
    }

    pub(crate) fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub(crate) fn with_items(mut self, items: Vec<ItemId>) -> Self {
        self.items = items;
        self
    }
}

impl fmt::Display for Reason {
    /// `[id] message`, followed by the related items when there are any:
    /// `[open_tasks] every task must be done or cancelled (items #4, #7)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.id, self.message)?;
        if !self.items.is_empty()
            && !self
                .items
                .iter()
                .all(|i| self.message.contains(&i.to_string()))
        {
            let items: Vec<String> = self.items.iter().map(ToString::to_string).collect();
            write!(f, " (items {})", items.join(", "))?;
        }
        Ok(())
    }
}

/// A refused change: the item as it was (nothing was written) and every reason.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Refused {
    /// The item, unchanged.
    pub item: Item,
    /// What was asked: the transition's name, or the change's kind (`hold`, `dependency`, …).
    pub action: String,
    /// Every reason the change is refused, in the order the rules are checked: the
    /// transition, roles, holds, exit, requires, entry, WIP.
    pub reasons: Vec<Reason>,
}

impl Refused {
    /// Whether a reason with this id is among the reasons.
    pub fn has(&self, id: &str) -> bool {
        self.reasons.iter().any(|r| r.id == id)
    }

    /// The reasons' ids, in order.
    pub fn ids(&self) -> Vec<&str> {
        self.reasons.iter().map(|r| r.id.as_str()).collect()
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` refused for item {} in `{}`:",
            self.action,
            self.item.id(),
            self.item.workstation()
        )?;
        for reason in &self.reasons {
            write!(f, "\n  - {reason}")?;
        }
        Ok(())
    }
}
