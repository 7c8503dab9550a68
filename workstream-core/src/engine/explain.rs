//! What the engine says about an item: where it is and what it could do next.

use std::fmt;

use serde::Serialize;

use crate::item::{Item, ItemId};
use crate::refusal::{Reason, ReasonKind, Refused};
use crate::signals::Signals;

/// Where an item is and what it could do next.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Explanation {
    /// The item.
    pub item: Item,
    /// Each transition that may fire from its workstation, with what blocks it.
    pub transitions: Vec<NextMove>,
    /// Its signals at the instant of the explanation.
    pub signals: Signals,
}

/// One transition out of an item's workstation, as [`Engine::explain`](crate::Engine::explain) sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NextMove {
    /// The transition.
    pub transition: String,
    /// Where it leads.
    pub to: String,
    /// Every reason it is blocked; empty when it is allowed.
    pub reasons: Vec<Reason>,
    /// Soft limits it would go past.
    pub warnings: Vec<String>,
}

impl NextMove {
    /// Whether the transition would fire.
    pub fn allowed(&self) -> bool {
        self.reasons.is_empty()
    }

    /// How the way out stands: open, blocked, or unknown when only assertions on checks
    /// this engine has no function for stand in its way
    /// ([`allow_missing_checks`](crate::EngineBuilder::allow_missing_checks)).
    pub fn standing(&self) -> Standing {
        if self.allowed() {
            Standing::Open
        } else if self
            .reasons
            .iter()
            .all(|r| r.kind == ReasonKind::Unevaluable)
        {
            Standing::Unknown
        } else {
            Standing::Blocked
        }
    }
}

/// How a way out stands ([`NextMove::standing`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The transition would fire.
    Open,
    /// Something known blocks it.
    Blocked,
    /// Only checks this engine cannot evaluate stand in its way.
    Unknown,
}

impl Standing {
    /// `open`, `blocked` or `unknown`.
    pub const fn name(self) -> &'static str {
        match self {
            Standing::Open => "open",
            Standing::Blocked => "blocked",
            Standing::Unknown => "unknown",
        }
    }
}

impl Explanation {
    /// The explanation of one transition.
    pub fn transition(&self, name: &str) -> Option<&NextMove> {
        self.transitions.iter().find(|t| t.transition == name)
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let item = &self.item;
        write!(
            f,
            "item {} ({} v{}) is in `{}`",
            item.id(),
            item.workflow(),
            item.version(),
            item.workstation()
        )?;
        if let Some(outcome) = item.outcome() {
            write!(f, ", closed: {outcome}")?;
        }
        for (kind, hold) in item.holds() {
            write!(f, "\n  held `{kind}` by {}", hold.by)?;
            if let Some(reason) = &hold.reason {
                write!(f, ": {reason}")?;
            }
        }
        write!(f, "\n  signals: {}", self.signals)?;
        for reason in &self.signals.blocked {
            if reason.kind != ReasonKind::Held {
                write!(f, "\n    blocked: {reason}")?;
            }
        }
        for t in &self.transitions {
            let verdict = if t.allowed() { "allowed" } else { "blocked" };
            write!(f, "\n  {} -> {}: {verdict}", t.transition, t.to)?;
            for reason in &t.reasons {
                write!(f, "\n    - {reason}")?;
            }
            for warning in &t.warnings {
                write!(f, "\n    ! {warning}")?;
            }
        }
        Ok(())
    }
}

/// The result of verifying every chain in a store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Verified {
    /// Items whose chains were walked.
    pub items: usize,
    /// Events checked.
    pub events: usize,
}

/// What [`Engine::migrate_all`](crate::Engine::migrate_all) did with each item it was given.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MigrationReport {
    /// The version the items were migrated to.
    pub to_version: u32,
    /// Items now on that version.
    pub migrated: Vec<ItemId>,
    /// Items the engine refused to migrate, each with every reason; they stay on their
    /// version, still movable there.
    pub refused: Vec<Refused>,
    /// Items already on that version (or a newer one).
    pub already_current: Vec<ItemId>,
    /// Items on a version the engine has not loaded, with that version.
    pub not_loaded: Vec<(ItemId, u32)>,
    /// Items that could not be migrated for another reason (no migration declared from their
    /// version, a definition that does not match, …), with the error.
    pub failed: Vec<(ItemId, String)>,
}

impl MigrationReport {
    /// Whether every item given is on the version now.
    pub fn is_complete(&self) -> bool {
        self.refused.is_empty() && self.not_loaded.is_empty() && self.failed.is_empty()
    }
}

impl fmt::Display for MigrationReport {
    /// `migrated to version 2: 58 migrated, 2 refused, 0 already current, 0 not loaded, 0 failed`,
    /// then one line per refused or failed item.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "migrated to version {}: {} migrated, {} refused, {} already current, {} not loaded, \
             {} failed",
            self.to_version,
            self.migrated.len(),
            self.refused.len(),
            self.already_current.len(),
            self.not_loaded.len(),
            self.failed.len()
        )?;
        for refused in &self.refused {
            write!(f, "\n  {refused}")?;
        }
        for (id, error) in &self.failed {
            write!(f, "\n  item {id}: {error}")?;
        }
        Ok(())
    }
}
