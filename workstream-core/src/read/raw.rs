//! The raw definition: what the file says, still written in names, with the positions
//! names were written at and what could not be read.

use std::time::Duration;

use crate::yaml::Node;

use crate::diagnostic::Span;

/// A string with the position it was written at.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Named {
    pub(crate) value: String,
    pub(crate) span: Span,
}

/// What the file says that could not be read: a value of the wrong kind, a missing required
/// key, or a key misspelt so that it was not recognised. Each is reported where it is found;
/// validation then treats what it would have said as unknown (never as empty or absent) and
/// skips the rules that depend on it, so one mistake gives one diagnostic.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Gaps {
    /// `roles` did not read in full: any role may be declared.
    pub(crate) roles: bool,
    /// `checks` did not read in full: any check may be declared.
    pub(crate) checks: bool,
    /// `holds` did not read in full: any hold may be declared.
    pub(crate) holds: bool,
    /// `workstations` is missing or not a map: any workstation may be declared.
    pub(crate) workstations: bool,
    /// Some workstation's `initial` is unknown.
    pub(crate) initial: bool,
    /// Some workstation's `terminal` is unknown.
    pub(crate) terminal: bool,
    /// Some transition's sources or target are unknown: the graph is not known in full.
    pub(crate) edges: bool,
    /// Some `by` or assertion is unknown: a role or check may be used where it cannot be seen.
    pub(crate) uses: bool,
}

impl Gaps {
    /// Nothing is known: the file is not a map of keys.
    pub(super) const ALL: Gaps = Gaps {
        roles: true,
        checks: true,
        holds: true,
        workstations: true,
        initial: true,
        terminal: true,
        edges: true,
        uses: true,
    };

    /// Whether the graph of workstations and transitions is known in full, so that graph
    /// rules (reachability, a path to a terminal workstation) can be checked on it.
    pub(crate) fn graph_known(&self) -> bool {
        !(self.workstations || self.initial || self.terminal || self.edges)
    }
}

#[derive(Debug, Default)]
pub(crate) struct RawWorkflow {
    pub(crate) name: Option<Named>,
    pub(crate) version: Option<u32>,
    pub(crate) description: Option<String>,
    pub(crate) roles: Vec<Named>,
    pub(crate) checks: Vec<Named>,
    pub(crate) holds: Vec<Named>,
    pub(crate) workstations: Vec<RawWorkstation>,
    pub(crate) workstations_span: Span,
    pub(crate) transitions: Vec<RawTransition>,
    pub(crate) signals: RawSignals,
    pub(crate) migrations: Vec<RawMigration>,
    pub(crate) gaps: Gaps,
}

/// One entry of `migrations`: how items of an older version enter this one.
#[derive(Debug)]
pub(crate) struct RawMigration {
    /// The older version, and where it is written.
    pub(crate) from: Option<(u32, Span)>,
    pub(crate) description: Option<String>,
    /// The roles that may migrate (`None`: anyone).
    pub(crate) by: Option<Vec<Named>>,
    /// Older workstation → workstation here; older hold → hold here.
    pub(crate) workstations: Vec<(Named, Named)>,
    pub(crate) holds: Vec<(Named, Named)>,
    pub(crate) reopen: bool,
    pub(crate) restart: bool,
}

#[derive(Debug, Default)]
pub(crate) struct RawSignals {
    pub(crate) stalled_idle_for: Option<Duration>,
    pub(crate) oldies_age: Option<Duration>,
}

#[derive(Debug)]
pub(crate) struct RawWorkstation {
    pub(crate) name: Named,
    pub(crate) description: Option<String>,
    pub(crate) initial: Option<Span>,
    /// `None` when `terminal` did not read: whether the workstation is terminal is unknown.
    pub(crate) terminal: Option<bool>,
    pub(crate) outcome: Option<Named>,
    pub(crate) entry: Vec<RawAssertion>,
    pub(crate) exit: Vec<RawAssertion>,
    pub(crate) wip: Option<RawWip>,
    pub(crate) sla: Option<Duration>,
}

#[derive(Debug)]
pub(crate) struct RawWip {
    pub(crate) max: Option<u32>,
    pub(crate) per: Option<Named>,
    pub(crate) soft: bool,
}

#[derive(Debug)]
pub(crate) struct RawTransition {
    pub(crate) name: Named,
    pub(crate) description: Option<String>,
    pub(crate) from: RawFrom,
    pub(crate) to: Option<Named>,
    pub(crate) by: Option<Vec<Named>>,
    /// Whether every entry of `by` read; when not, an empty list is not an empty `by`.
    pub(crate) by_complete: bool,
    pub(crate) by_span: Span,
    pub(crate) requires: Vec<RawAssertion>,
    pub(crate) rework: bool,
    pub(crate) outcome: Option<Named>,
    pub(crate) allow_held: bool,
}

#[derive(Debug)]
pub(crate) enum RawFrom {
    /// `"*"`: every non-terminal workstation.
    Every,
    /// Named workstations (empty when `from` was missing or unreadable).
    Names(Vec<Named>),
}

#[derive(Debug)]
pub(crate) struct RawAssertion {
    pub(crate) id: Option<Named>,
    pub(crate) message: Option<String>,
    pub(crate) span: Span,
    pub(crate) kind: RawKind,
}

#[derive(Debug)]
pub(crate) enum RawKind {
    Check(Named),
    Compare {
        path: Named,
        op: Named,
        value: Option<Node>,
        value_from: Option<Named>,
    },
    All(Vec<RawAssertion>),
    Any(Vec<RawAssertion>),
    Not(Box<RawAssertion>),
    /// Already reported; validation skips it.
    Invalid,
}
