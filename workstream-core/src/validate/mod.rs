//! The third stage: resolve names, check the rules of format v1 and build the [`Workflow`].
//!
//! One stage per file, run in order by [`validate`]: the declared names (here), the
//! workstations (`workstations.rs`), the transitions (`transitions.rs`), the assertions they
//! hold (`assertions.rs`), the graph rules (`graph.rs`) and the warnings (`lint.rs`); then
//! [`Workflow::from_parts`] builds the tables.
//!
//! Every rule is checked and every violation reported; a file is refused when any error was
//! found. Graph rules (reachability, a path to a terminal workstation) use petgraph.
//!
//! One mistake gives one diagnostic. What failed to read or resolve is unknown, never empty
//! or absent: [`Gaps`] records it, and the rules that depend on it are skipped. A name that
//! is declared but invalid still counts as declared, so references to it resolve.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Code, Sink, Span};
use crate::name::{closest, did_you_mean, name_problem};
use crate::read::{Gaps, Named, RawWorkflow, RawWorkstation};
use crate::workflow::{Outcome, Parts, SignalConfig, Workflow, WorkstationId};

mod assertions;
mod graph;
mod lint;
mod migrations;
mod transitions;
mod workstations;

/// The most workstations a workflow may have.
pub const MAX_WORKSTATIONS: usize = 1024;
/// The most transitions a workflow may have.
pub const MAX_TRANSITIONS: usize = 4096;

struct Validator<'s, 'a> {
    sink: &'s mut Sink<'a>,
    workstation_index: HashMap<String, WorkstationId>,
    workstation_names: Vec<String>,
    /// Workstations whose declaration was dropped because its Rust type clashes with an
    /// earlier one: references to them are neither resolved nor reported.
    dropped_workstations: HashSet<String>,
    /// What is unknown: from reading, then from names that did not resolve.
    gaps: Gaps,
    roles: Vec<String>,
    checks: Vec<String>,
    holds: Vec<String>,
    used_roles: HashSet<String>,
    used_checks: HashSet<String>,
    /// The ids given in the file, where they are given.
    assertion_ids: HashMap<String, Span>,
    /// Given ids that name the check they are given on (`{ check: x, id: x }`).
    ids_of_checks: HashSet<String>,
    /// Checks asserted without an id, which are named after the check, and where first.
    unnamed_checks: HashMap<String, Span>,
}
pub(crate) fn validate(raw: RawWorkflow, sink: &mut Sink<'_>, origin: &str) -> Option<Workflow> {
    let mut v = Validator {
        sink,
        workstation_index: HashMap::new(),
        workstation_names: Vec::new(),
        dropped_workstations: HashSet::new(),
        gaps: raw.gaps,
        roles: Vec::new(),
        checks: Vec::new(),
        holds: Vec::new(),
        used_roles: HashSet::new(),
        used_checks: HashSet::new(),
        assertion_ids: HashMap::new(),
        ids_of_checks: HashSet::new(),
        unnamed_checks: HashMap::new(),
    };
    if let Some(name) = &raw.name {
        v.check_name(name, "workflow name");
    }
    v.roles = v.declared(&raw.roles, "role");
    v.checks = v.declared(&raw.checks, "check");
    for check in raw.checks.iter().filter(|c| c.value == "new") {
        v.sink.push(
            Code::RustNameClash,
            check.span,
            "the typed API registers checks with `Checks::new().<check>(…)`, so no check may be \
             named `new`; rename the check",
        );
    }
    v.holds = v.declared(&raw.holds, "hold");

    let kept_ws = v.declare_workstations(&raw)?;
    let (workstations, initials) = v.workstation_bodies(&raw, &kept_ws);
    let (transitions, transition_index) = v.transitions(&raw, &workstations, &kept_ws)?;
    v.check_ids_are_distinct();
    let migrations = v.migrations(&raw.migrations, raw.version);

    if !initials.is_empty() && v.gaps.graph_known() {
        let roots: Vec<WorkstationId> = initials.iter().map(|&(id, _)| id).collect();
        v.graph_rules(&workstations, &transitions, &roots);
    }
    if !v.gaps.uses {
        v.warn_unused(&raw);
    }
    v.warn_contradictions(&workstations, &transitions);

    if v.sink.has_errors() {
        return None;
    }
    // The initial workstation's id, before `raw` gives up its name.
    let initial = initials.first().map(|&(id, _)| id);
    drop(kept_ws);
    let (Some(name), Some(version), Some(initial)) = (raw.name, raw.version, initial) else {
        return None;
    };
    Some(Workflow::from_parts(
        Parts {
            name: name.value,
            version,
            description: raw.description,
            roles: v.roles,
            checks: v.checks,
            holds: v.holds,
            workstations,
            transitions,
            initial,
            migrations,
            signals: SignalConfig {
                stalled_idle_for: raw
                    .signals
                    .stalled_idle_for
                    .unwrap_or(SignalConfig::DEFAULT_THRESHOLD),
                oldies_age: raw
                    .signals
                    .oldies_age
                    .unwrap_or(SignalConfig::DEFAULT_THRESHOLD),
            },
            workstation_index: v.workstation_index,
            transition_index,
        },
        origin,
    ))
}

impl Validator<'_, '_> {
    /// Reports a name that is not a valid identifier; returns whether it is valid.
    pub(super) fn check_name(&mut self, name: &Named, what: &str) -> bool {
        match name_problem(&name.value) {
            None => true,
            Some(problem) => {
                let suggestion = snake_suggestion(&name.value);
                self.sink.push_help(
                    Code::InvalidName,
                    name.span,
                    format!("{what} `{}` is not valid: {problem}", name.value),
                    suggestion.map(|s| format!("try `{s}`")),
                );
                false
            }
        }
    }

    pub(super) fn duplicate(&mut self, name: &Named, what: &str, first: Span) {
        self.sink.push(
            Code::DuplicateName,
            name.span,
            format!(
                "{what} `{}` is declared twice (first at line {}, column {})",
                name.value, first.line, first.column
            ),
        );
    }

    /// Checks a declared list of names (`roles`, `checks`, `holds`). An invalid name is
    /// reported but still declared, so that its uses are not reported too.
    pub(super) fn declared(&mut self, names: &[Named], what: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut spans: Vec<Span> = Vec::new();
        for name in names {
            self.check_name(name, &format!("{what} name"));
            if let Some(i) = out.iter().position(|n| *n == name.value) {
                self.duplicate(name, what, spans[i]);
                continue;
            }
            out.push(name.value.clone());
            spans.push(name.span);
        }
        out
    }

    /// Notes what a dropped workstation declaration (a repeat, or a clash of Rust types)
    /// would have said: its flags and assertions are unknown, not absent.
    pub(super) fn drop_workstation(&mut self, ws: &RawWorkstation) {
        self.gaps.initial |= ws.initial.is_some();
        self.gaps.terminal |= ws.terminal != Some(false);
        self.gaps.uses |= !ws.entry.is_empty() || !ws.exit.is_empty();
    }

    /// Resolves a reference to a workstation; reports it unless it is declared but dropped,
    /// or the workstations did not read (then what is declared is unknown).
    pub(super) fn workstation(&mut self, name: &Named) -> Option<WorkstationId> {
        let found = self.workstation_index.get(&name.value).copied();
        if found.is_none()
            && !self.gaps.workstations
            && !self.dropped_workstations.contains(&name.value)
        {
            self.sink.push_help(
                Code::UnknownWorkstation,
                name.span,
                format!("there is no workstation `{}`", name.value),
                did_you_mean(
                    &name.value,
                    self.workstation_names.iter().map(String::as_str),
                ),
            );
        }
        found
    }

    /// Records the use of a role; reports it if it is not declared (and `roles` read in full).
    pub(super) fn role(&mut self, name: &Named) -> bool {
        self.used_roles.insert(name.value.clone());
        if self.roles.contains(&name.value) {
            return true;
        }
        if self.gaps.roles {
            return false;
        }
        // A misspelling counts as a use of the role it was meant to be: no follow-on warning.
        let meant = closest(&name.value, self.roles.iter().map(String::as_str)).map(str::to_owned);
        self.sink.push_help(
            Code::UnknownRole,
            name.span,
            format!("role `{}` is not listed under `roles`", name.value),
            meant.as_ref().map(|m| format!("did you mean `{m}`?")),
        );
        self.used_roles.extend(meant);
        false
    }

    pub(super) fn outcome(&mut self, name: &Named) -> Option<Outcome> {
        let found = Outcome::from_name(&name.value);
        if found.is_none() {
            self.sink.push_help(
                Code::InvalidOutcome,
                name.span,
                format!(
                    "`{}` is not an outcome: an outcome is done, rejected, cancelled or failed",
                    name.value
                ),
                did_you_mean(&name.value, Outcome::ALL.iter().map(|o| o.name())),
            );
        }
        found
    }
}

/// A snake_case spelling of an invalid name, when one is easy to derive.
fn snake_suggestion(name: &str) -> Option<String> {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '-' || c == ' ' || c == '_' {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        } else {
            out.push(c);
        }
    }
    let out = out.trim_end_matches('_').to_owned();
    (out != name && name_problem(&out).is_none()).then_some(out)
}
