//! The third stage: resolve names, check the rules of format v1 and build the [`Workflow`].
//!
//! Every rule is checked and every violation reported; a file is refused when any error was
//! found. Graph rules (reachability, a path to a terminal workstation) use petgraph.
//!
//! One mistake gives one diagnostic. What failed to read or resolve is unknown, never empty
//! or absent: [`Gaps`] records it, and the rules that depend on it are skipped. A name that
//! is declared but invalid still counts as declared, so references to it resolve.

use std::collections::{HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};
use serde_json::Value;

use crate::assertion::{Assertion, AssertionKind, Op, Operand, Path, Root, Wants};
use crate::diagnostic::{Code, Sink, Span};
use crate::hash::{Sha256Hash, canonical_json};
use crate::name::{camel_case, closest, did_you_mean, name_problem};
use crate::read::{Gaps, Named, RawAssertion, RawFrom, RawKind, RawWorkflow, RawWorkstation};
use crate::workflow::{
    Outcome, SignalConfig, Transition, TransitionId, Wip, Workflow, Workstation, WorkstationId,
};
use crate::yaml::{Kind, Node};

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
    assertion_ids: HashMap<String, Span>,
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
    };
    if let Some(name) = &raw.name {
        v.check_name(name, "workflow name");
    }
    v.roles = v.declared(&raw.roles, "role");
    v.checks = v.declared(&raw.checks, "check");
    v.holds = v.declared(&raw.holds, "hold");

    // Workstation names first: transitions and assertions refer to them. `kept_ws` holds the
    // index in `raw.workstations` of each workstation kept, in the order of their ids.
    let mut kept_ws: Vec<usize> = Vec::new();
    let mut camel: HashMap<String, &Named> = HashMap::new();
    for (i, ws) in raw.workstations.iter().enumerate() {
        // An invalid name is reported, but the workstation is still declared.
        let valid = v.check_name(&ws.name, "workstation name");
        if let Some(&first) = v.workstation_index.get(&ws.name.value) {
            let at = raw.workstations[kept_ws[first.index()]].name.span;
            v.duplicate(&ws.name, "workstation", at);
            v.drop_workstation(ws);
            continue;
        }
        if valid {
            let type_name = camel_case(&ws.name.value);
            if let Some(other) = camel.get(&type_name) {
                v.sink.push(
                    Code::DuplicateName,
                    ws.name.span,
                    format!(
                        "workstations `{}` and `{}` both become the Rust type `{type_name}`",
                        other.value, ws.name.value
                    ),
                );
                v.drop_workstation(ws);
                v.dropped_workstations.insert(ws.name.value.clone());
                continue;
            }
            camel.insert(type_name, &ws.name);
        }
        let id = WorkstationId(kept_ws.len() as u16);
        if kept_ws.len() == MAX_WORKSTATIONS {
            v.sink.push(
                Code::TooLarge,
                ws.name.span,
                format!("a workflow has at most {MAX_WORKSTATIONS} workstations"),
            );
            return None;
        }
        v.workstation_index.insert(ws.name.value.clone(), id);
        v.workstation_names.push(ws.name.value.clone());
        kept_ws.push(i);
    }
    let kept_ws: Vec<_> = kept_ws.into_iter().map(|i| &raw.workstations[i]).collect();
    if raw.workstations.is_empty() && raw.workstations_span.line > 0 && !v.gaps.workstations {
        v.sink.push(
            Code::NoInitial,
            raw.workstations_span,
            "`workstations` is empty: a workflow needs an initial and a terminal workstation",
        );
    }

    // Workstation bodies. Every workstation marked initial is kept in `initials`: with more
    // than one, graph rules start from all of them, as any could be the one meant.
    let mut workstations = Vec::with_capacity(kept_ws.len());
    let mut initials: Vec<(WorkstationId, &Named)> = Vec::new();
    for (i, ws) in kept_ws.iter().enumerate() {
        let id = WorkstationId(i as u16);
        if let Some(span) = ws.initial {
            if let Some((_, first)) = initials.first() {
                v.sink.push(
                    Code::MultipleInitial,
                    span,
                    format!(
                        "`{}` is marked initial, but `{}` already is: exactly one workstation \
                         is initial",
                        ws.name.value, first.value
                    ),
                );
            }
            initials.push((id, &ws.name));
        }
        let terminal = ws.terminal.unwrap_or(false);
        let outcome = if terminal {
            Some(
                ws.outcome
                    .as_ref()
                    .and_then(|o| v.outcome(o))
                    .unwrap_or(Outcome::Done),
            )
        } else {
            // Whether a workstation that did not read as terminal may have an outcome is
            // unknown.
            if let Some(o) = &ws.outcome
                && ws.terminal.is_some()
            {
                v.sink.push(
                    Code::InvalidOutcome,
                    o.span,
                    format!(
                        "`{}` is not terminal, so it has no outcome (add `terminal: true`)",
                        ws.name.value
                    ),
                );
            }
            None
        };
        let wip = ws.wip.as_ref().and_then(|w| {
            let per = w.per.as_ref().and_then(|p| match Path::parse(&p.value) {
                Ok(path) if path.root() == Root::Fields && !path.is_expansion() => Some(path),
                _ => {
                    v.sink.push(
                        Code::InvalidWip,
                        p.span,
                        format!(
                            "`wip.per` names one field of the item (`fields.…`, without `*`), \
                             not `{}`",
                            p.value
                        ),
                    );
                    None
                }
            });
            w.max.map(|max| Wip {
                max,
                per,
                soft: w.soft,
            })
        });
        let entry = v.assertions(&ws.entry, &format!("{}.entry", ws.name.value));
        let exit = v.assertions(&ws.exit, &format!("{}.exit", ws.name.value));
        workstations.push(Workstation {
            name: ws.name.value.clone(),
            description: ws.description.clone(),
            initial: ws.initial.is_some(),
            terminal,
            outcome,
            entry,
            exit,
            wip,
            sla: ws.sla,
            span: ws.name.span,
        });
    }
    if initials.is_empty() && !kept_ws.is_empty() && !v.gaps.initial {
        v.sink.push(
            Code::NoInitial,
            raw.workstations_span,
            "no workstation is marked `initial: true`: exactly one must be",
        );
    }
    if !kept_ws.is_empty() && !workstations.iter().any(|w| w.terminal) && !v.gaps.terminal {
        v.sink.push(
            Code::NoTerminal,
            raw.workstations_span,
            "no workstation is marked `terminal: true`: work could never end",
        );
    }

    // Transitions.
    let mut transitions: Vec<Transition> = Vec::new();
    let mut transition_index: HashMap<String, TransitionId> = HashMap::new();
    let mut transition_spans: Vec<Span> = Vec::new();
    // Whether each workstation read as terminal or not; when not, rules that need to know
    // are skipped for it.
    let terminal_known: Vec<bool> = kept_ws.iter().map(|ws| ws.terminal.is_some()).collect();
    // An edge that does not resolve leaves the graph unknown (`v.gaps.edges`): graph rules on
    // it would only repeat the error.
    for tr in &raw.transitions {
        // An invalid name is reported, but the transition is still declared.
        v.check_name(&tr.name, "transition name");
        if let Some(first) = transition_index.get(&tr.name.value) {
            let at = transition_spans[first.index()];
            v.duplicate(&tr.name, "transition", at);
            // Which of the two is meant is unknown, and so are the edges and uses of this one.
            v.gaps.edges = true;
            v.gaps.uses = true;
            continue;
        }
        if transitions.len() == MAX_TRANSITIONS {
            v.sink.push(
                Code::TooLarge,
                tr.name.span,
                format!("a workflow has at most {MAX_TRANSITIONS} transitions"),
            );
            return None;
        }
        let mut from: Vec<WorkstationId> = Vec::new();
        match &tr.from {
            RawFrom::Every => {
                from = (0..workstations.len())
                    .filter(|&i| !workstations[i].terminal)
                    .map(|i| WorkstationId(i as u16))
                    .collect();
            }
            RawFrom::Names(names) => {
                for name in names {
                    if name.value == "*" {
                        v.sink.push(
                            Code::InvalidName,
                            name.span,
                            "`\"*\"` stands alone: write `from: \"*\"` for every non-terminal \
                             workstation",
                        );
                        v.gaps.edges = true;
                        continue;
                    }
                    let Some(id) = v.workstation(name) else {
                        v.gaps.edges = true;
                        continue;
                    };
                    if from.contains(&id) {
                        v.sink.push(
                            Code::DuplicateName,
                            name.span,
                            format!("`{}` is listed twice in `from`", name.value),
                        );
                        continue;
                    }
                    if workstations[id.index()].terminal {
                        v.gaps.edges = true;
                        v.sink.push(
                            Code::TerminalHasTransitions,
                            name.span,
                            format!(
                                "transition `{}` leaves `{}`, which is terminal: work ends \
                                 there",
                                tr.name.value, name.value
                            ),
                        );
                        continue;
                    }
                    from.push(id);
                }
            }
        }
        let to = tr.to.as_ref().and_then(|t| v.workstation(t));
        let by = tr.by.as_ref().map(|names| {
            let mut roles: Vec<String> = Vec::new();
            for name in names {
                if roles.contains(&name.value) {
                    v.sink.push(
                        Code::DuplicateName,
                        name.span,
                        format!("role `{}` is listed twice in `by`", name.value),
                    );
                } else if v.role(name) {
                    roles.push(name.value.clone());
                }
            }
            roles
        });
        // A `by` that did not read in full is not known to be empty.
        if tr.by_complete
            && by.as_ref().is_some_and(Vec::is_empty)
            && tr.by.as_ref().is_some_and(Vec::is_empty)
        {
            v.sink.push(
                Code::NeverFires,
                tr.by_span,
                format!(
                    "transition `{}` has an empty `by`: no actor may fire it (leave `by` out \
                     to let any actor fire it)",
                    tr.name.value
                ),
            );
        }
        let outcome = tr.outcome.as_ref().and_then(|o| {
            let outcome = v.outcome(o)?;
            if let Some(to) = to
                && !workstations[to.index()].terminal
                && terminal_known[to.index()]
            {
                v.sink.push(
                    Code::InvalidOutcome,
                    o.span,
                    format!(
                        "transition `{}` leads to `{}`, which is not terminal, so it gives \
                             no outcome",
                        tr.name.value,
                        workstations[to.index()].name
                    ),
                );
                return None;
            }
            Some(outcome)
        });
        let requires = v.assertions(&tr.requires, &format!("{}.requires", tr.name.value));
        let Some(to) = to else {
            v.gaps.edges = true;
            continue;
        };
        transition_index.insert(
            tr.name.value.clone(),
            TransitionId(transitions.len() as u16),
        );
        transition_spans.push(tr.name.span);
        transitions.push(Transition {
            name: tr.name.value.clone(),
            description: tr.description.clone(),
            from,
            to,
            by,
            requires,
            rework: tr.rework,
            outcome,
            allow_held: tr.allow_held,
            span: tr.name.span,
        });
    }

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
    let (Some(name), Some(version), Some(&(initial, _))) =
        (raw.name, raw.version, initials.first())
    else {
        return None;
    };
    Some(build(
        BuildParts {
            name: name.value,
            version,
            description: raw.description,
            roles: v.roles,
            checks: v.checks,
            holds: v.holds,
            workstations,
            transitions,
            initial,
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
    fn check_name(&mut self, name: &Named, what: &str) -> bool {
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

    fn duplicate(&mut self, name: &Named, what: &str, first: Span) {
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
    fn declared(&mut self, names: &[Named], what: &str) -> Vec<String> {
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
    fn drop_workstation(&mut self, ws: &RawWorkstation) {
        self.gaps.initial |= ws.initial.is_some();
        self.gaps.terminal |= ws.terminal != Some(false);
        self.gaps.uses |= !ws.entry.is_empty() || !ws.exit.is_empty();
    }

    /// Resolves a reference to a workstation; reports it unless it is declared but dropped,
    /// or the workstations did not read (then what is declared is unknown).
    fn workstation(&mut self, name: &Named) -> Option<WorkstationId> {
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
    fn role(&mut self, name: &Named) -> bool {
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

    fn outcome(&mut self, name: &Named) -> Option<Outcome> {
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

    fn assertions(&mut self, raw: &[RawAssertion], place: &str) -> Vec<Assertion> {
        raw.iter()
            .enumerate()
            .filter_map(|(i, a)| self.assertion(a, &format!("{place}.{i}")))
            .collect()
    }

    fn assertion(&mut self, raw: &RawAssertion, place: &str) -> Option<Assertion> {
        let id = match &raw.id {
            Some(id) => {
                if self.check_name(id, "assertion id") {
                    if let Some(first) = self.assertion_ids.get(&id.value).copied() {
                        self.duplicate(id, "assertion id", first);
                    } else {
                        self.assertion_ids.insert(id.value.clone(), id.span);
                    }
                }
                id.value.clone()
            }
            None => place.to_owned(),
        };
        let kind = match &raw.kind {
            RawKind::Invalid => return None,
            RawKind::Check(name) => {
                self.used_checks.insert(name.value.clone());
                if !self.checks.contains(&name.value) {
                    if self.gaps.checks {
                        return None;
                    }
                    let meant = closest(&name.value, self.checks.iter().map(String::as_str))
                        .map(str::to_owned);
                    self.sink.push_help(
                        Code::UnknownCheck,
                        name.span,
                        format!("check `{}` is not listed under `checks`", name.value),
                        meant.as_ref().map(|m| format!("did you mean `{m}`?")),
                    );
                    self.used_checks.extend(meant);
                    return None;
                }
                AssertionKind::Check(name.value.clone())
            }
            RawKind::Compare {
                path,
                op,
                value,
                value_from,
            } => {
                let compared = self.compare(raw, path, op, value.as_ref(), value_from.as_ref());
                // A comparison that failed may not have looked at its value, which can name
                // roles: which roles it uses is unknown.
                self.gaps.uses |= compared.is_none();
                compared?
            }
            RawKind::All(members) => AssertionKind::All(self.members(members, &id)?),
            RawKind::Any(members) => AssertionKind::Any(self.members(members, &id)?),
            RawKind::Not(member) => {
                AssertionKind::Not(Box::new(self.assertion(member, &format!("{id}.0"))?))
            }
        };
        Some(Assertion {
            id,
            message: raw.message.clone(),
            kind,
            span: raw.span,
        })
    }

    fn members(&mut self, raw: &[RawAssertion], parent: &str) -> Option<Vec<Assertion>> {
        let members: Vec<Option<Assertion>> = raw
            .iter()
            .enumerate()
            .map(|(i, a)| self.assertion(a, &format!("{parent}.{i}")))
            .collect();
        members.into_iter().collect()
    }

    fn compare(
        &mut self,
        raw: &RawAssertion,
        path_text: &Named,
        op_text: &Named,
        value: Option<&Node>,
        value_from: Option<&Named>,
    ) -> Option<AssertionKind> {
        let path = match Path::parse(&path_text.value) {
            Ok(p) => Some(p),
            Err((message, help)) => {
                self.sink
                    .push_help(Code::InvalidPath, path_text.span, message, help);
                None
            }
        };
        let op = Op::from_name(&op_text.value);
        if op.is_none() {
            self.sink.push_help(
                Code::UnknownOp,
                op_text.span,
                format!("`{}` is not an op", op_text.value),
                did_you_mean(&op_text.value, Op::ALL.iter().map(|o| o.name())),
            );
        }
        let (path, op) = (path?, op?);
        if op.over_expansion() != path.is_expansion() {
            let message = if op.over_expansion() {
                format!(
                    "`{op}` works on a list of values, but `{path}` is one value (expand a list \
                     with `*`, or use eq, ne, in, ...)"
                )
            } else {
                format!(
                    "`{op}` compares one value, but `{path}` yields a list (use all_eq, any_eq, \
                     none_eq, all_in or count_*)"
                )
            };
            self.sink.push(Code::OpMismatch, op_text.span, message);
            return None;
        }
        let operand = match (op.wants(), value, value_from) {
            (Wants::Nothing, None, None) => Operand::None,
            (Wants::Nothing, _, _) => {
                self.sink.push(
                    Code::InvalidValue,
                    value.map_or_else(|| value_from.map_or(raw.span, |f| f.span), |n| n.span),
                    format!("`{op}` takes no `value` or `value_from`"),
                );
                return None;
            }
            (_, None, None) => {
                self.sink.push(
                    Code::InvalidValue,
                    op_text.span,
                    format!("`{op}` needs a `value` or a `value_from`"),
                );
                return None;
            }
            (_, Some(node), Some(_)) => {
                self.sink.push(
                    Code::InvalidValue,
                    node.span,
                    "give `value` or `value_from`, not both",
                );
                return None;
            }
            (_, None, Some(from)) => match Path::parse(&from.value) {
                Ok(p) if !p.is_expansion() => Operand::From(p),
                Ok(_) => {
                    self.sink.push(
                        Code::UnresolvableValueFrom,
                        from.span,
                        format!(
                            "`value_from: {}` yields a list; it must name a single value",
                            from.value
                        ),
                    );
                    return None;
                }
                Err((message, help)) => {
                    self.sink.push_help(
                        Code::UnresolvableValueFrom,
                        from.span,
                        format!("`value_from` cannot resolve: {message}"),
                        help,
                    );
                    return None;
                }
            },
            (wants, Some(node), None) => Operand::Value(self.value(&path, op, wants, node)?),
        };
        Some(AssertionKind::Compare { path, op, operand })
    }

    /// Checks a literal `value` against what the op and the path need.
    fn value(&mut self, path: &Path, op: Op, wants: Wants, node: &Node) -> Option<Value> {
        let bad = |v: &mut Self, what: &str| {
            v.sink.push(
                Code::InvalidValue,
                node.span,
                format!(
                    "`{op}` needs {what}, not {}",
                    crate::read::describe_value(node)
                ),
            );
        };
        match (wants, &node.kind) {
            (Wants::List, Kind::Seq(_)) => {}
            (Wants::List, _) => {
                bad(self, "a list of values");
                return None;
            }
            (Wants::Count, Kind::Int(n)) if *n >= 0 => return Some(node.to_json()),
            (Wants::Count, _) => {
                bad(self, "a count (a non-negative integer)");
                return None;
            }
            (Wants::Ordered, Kind::Int(_) | Kind::Float(_) | Kind::Str(_)) => {}
            (Wants::Ordered, _) => {
                bad(self, "a number, a string or a duration");
                return None;
            }
            (Wants::Any, Kind::Map(_)) => {
                bad(self, "a value or a list");
                return None;
            }
            _ => {}
        }
        if path.is_duration() {
            let Kind::Str(text) = &node.kind else {
                bad(self, &format!("a duration for `{path}` (e.g. `7d`)"));
                return None;
            };
            return match crate::duration::parse_duration(text) {
                Ok(d) => Some(Value::from(d.as_secs())),
                Err(message) => {
                    self.sink.push(Code::InvalidDuration, node.span, message);
                    None
                }
            };
        }
        // Values that must name something the file declares.
        let items: Vec<&Node> = match &node.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut ok = true;
        match (path.root(), path.attr()) {
            (Root::Item, Some("workstation")) => {
                for item in items {
                    if let Kind::Str(s) = &item.kind {
                        let named = Named {
                            value: s.clone(),
                            span: item.span,
                        };
                        ok &= self.workstation(&named).is_some();
                    }
                }
            }
            (Root::Item, Some("holds")) => {
                for item in items {
                    if let Kind::Str(s) = &item.kind
                        && !self.holds.contains(s)
                        && !self.gaps.holds
                    {
                        self.sink.push_help(
                            Code::UnknownHold,
                            item.span,
                            format!("hold `{s}` is not listed under `holds`"),
                            did_you_mean(s, self.holds.iter().map(String::as_str)),
                        );
                        ok = false;
                    }
                }
            }
            (Root::Actor, Some("roles")) => {
                for item in items {
                    if let Kind::Str(s) = &item.kind {
                        let named = Named {
                            value: s.clone(),
                            span: item.span,
                        };
                        ok &= self.role(&named);
                    }
                }
            }
            (Root::Item, Some("outcome")) => {
                for item in items {
                    if let Kind::Str(s) = &item.kind {
                        let named = Named {
                            value: s.clone(),
                            span: item.span,
                        };
                        ok &= self.outcome(&named).is_some();
                    }
                }
            }
            _ => {}
        }
        ok.then(|| node.to_json())
    }

    /// Reachability from the initial workstation and a path to a terminal one. `initials` has
    /// more than one workstation only when several are marked initial (already reported);
    /// then a workstation is unreachable only if none of them reaches it.
    fn graph_rules(
        &mut self,
        workstations: &[Workstation],
        transitions: &[Transition],
        initials: &[WorkstationId],
    ) {
        let mut graph: DiGraph<(), ()> = DiGraph::with_capacity(workstations.len(), 0);
        for _ in workstations {
            graph.add_node(());
        }
        for t in transitions {
            for &f in &t.from {
                graph.add_edge(NodeIndex::new(f.index()), NodeIndex::new(t.to.index()), ());
            }
        }
        let mut reachable = vec![false; workstations.len()];
        let mut dfs = Dfs::empty(&graph);
        for initial in initials {
            dfs.move_to(NodeIndex::new(initial.index()));
            while let Some(n) = dfs.next(&graph) {
                reachable[n.index()] = true;
            }
        }
        let mut productive = vec![false; workstations.len()];
        let reversed = Reversed(&graph);
        let mut dfs = Dfs::empty(&graph);
        for (i, ws) in workstations.iter().enumerate() {
            if ws.terminal {
                dfs.move_to(NodeIndex::new(i));
                while let Some(n) = dfs.next(reversed) {
                    productive[n.index()] = true;
                }
            }
        }
        let initial_names = initials
            .iter()
            .map(|i| format!("`{}`", workstations[i.index()].name))
            .collect::<Vec<_>>()
            .join(" or ");
        let any_terminal = workstations.iter().any(|w| w.terminal);
        for (i, ws) in workstations.iter().enumerate() {
            if !reachable[i] {
                self.sink.push(
                    Code::UnreachableWorkstation,
                    ws.span,
                    format!(
                        "workstation `{}` cannot be reached from the initial workstation \
                         {initial_names}: no transition path leads to it",
                        ws.name
                    ),
                );
            } else if any_terminal && !productive[i] {
                self.sink.push(
                    Code::NoPathToTerminal,
                    ws.span,
                    format!(
                        "no terminal workstation can be reached from `{}`: work that enters it \
                         could never end",
                        ws.name
                    ),
                );
            }
        }
    }

    fn warn_unused(&mut self, raw: &RawWorkflow) {
        for (list, used, what) in [
            (&raw.roles, &self.used_roles, "role"),
            (&raw.checks, &self.used_checks, "check"),
        ] {
            for name in list {
                if !used.contains(&name.value) {
                    self.sink.push(
                        Code::Unused,
                        name.span,
                        format!("{what} `{}` is declared but never used", name.value),
                    );
                }
            }
        }
    }

    /// Warns about transitions whose assertions cannot all hold at once.
    fn warn_contradictions(&mut self, workstations: &[Workstation], transitions: &[Transition]) {
        for t in transitions {
            for &f in &t.from {
                let source = &workstations[f.index()];
                let target = &workstations[t.to.index()];
                let leaves: Vec<&Assertion> = source
                    .exit
                    .iter()
                    .chain(&target.entry)
                    .chain(&t.requires)
                    .flat_map(flatten_all)
                    .collect();
                if let Some(reason) = contradiction(&leaves, &source.name) {
                    self.sink.push(
                        Code::NeverFires,
                        t.span,
                        format!(
                            "transition `{}` can never fire from `{}`: {reason}",
                            t.name, source.name
                        ),
                    );
                }
            }
        }
    }
}

/// The leaves of an assertion, looking through `all` (which holds only if each member does).
fn flatten_all(a: &Assertion) -> Vec<&Assertion> {
    match &a.kind {
        AssertionKind::All(members) => members.iter().flat_map(flatten_all).collect(),
        _ => vec![a],
    }
}

/// A comparison with a literal operand (or none): path, op, value.
fn literal(a: &Assertion) -> Option<(&Path, Op, Option<&Value>)> {
    match &a.kind {
        AssertionKind::Compare {
            path,
            op,
            operand: Operand::Value(v),
        } => Some((path, *op, Some(v))),
        AssertionKind::Compare {
            path,
            op,
            operand: Operand::None,
        } => Some((path, *op, None)),
        _ => None,
    }
}

/// A reason why `leaves` (all evaluated on the item still in `source`) cannot all hold.
fn contradiction(leaves: &[&Assertion], source: &str) -> Option<String> {
    let here = Value::String(source.to_owned());
    for a in leaves {
        let Some((path, op, value)) = literal(a) else {
            continue;
        };
        if path.root() == Root::Item && path.attr() == Some("workstation") {
            let holds_here = match (op, value) {
                (Op::Eq, Some(v)) => *v == here,
                (Op::Ne, Some(v)) => *v != here,
                (Op::In, Some(Value::Array(l))) => l.contains(&here),
                (Op::NotIn, Some(Value::Array(l))) => !l.contains(&here),
                _ => true,
            };
            if !holds_here {
                return Some(format!(
                    "`{}` requires `item.workstation` {op} {} while the item is in `{source}`",
                    a.id,
                    value.map_or(String::new(), Value::to_string)
                ));
            }
        }
    }
    for (i, a) in leaves.iter().enumerate() {
        for b in &leaves[i + 1..] {
            let (Some((pa, oa, va)), Some((pb, ob, vb))) = (literal(a), literal(b)) else {
                continue;
            };
            if pa != pb || pa.is_expansion() {
                continue;
            }
            let clash = |x: Op, vx: Option<&Value>, y: Op, vy: Option<&Value>| match (x, y) {
                (Op::Eq, Op::Eq) => vx != vy,
                (Op::Eq, Op::Ne) => vx == vy,
                (Op::Exists, Op::NotExists) | (Op::Eq, Op::NotExists) => true,
                (Op::Eq, Op::In) => {
                    matches!(vy, Some(Value::Array(l)) if vx.is_some_and(|v| !l.contains(v)))
                }
                (Op::Eq, Op::NotIn) => {
                    matches!(vy, Some(Value::Array(l)) if vx.is_some_and(|v| l.contains(v)))
                }
                _ => false,
            };
            if clash(oa, va, ob, vb) || clash(ob, vb, oa, va) {
                return Some(format!(
                    "`{}` ({pa} {oa}{}) and `{}` ({pb} {ob}{}) cannot both hold",
                    a.id,
                    va.map_or(String::new(), |v| format!(" {v}")),
                    b.id,
                    vb.map_or(String::new(), |v| format!(" {v}")),
                ));
            }
        }
    }
    None
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

struct BuildParts {
    name: String,
    version: u32,
    description: Option<String>,
    roles: Vec<String>,
    checks: Vec<String>,
    holds: Vec<String>,
    workstations: Vec<Workstation>,
    transitions: Vec<Transition>,
    initial: WorkstationId,
    signals: SignalConfig,
    workstation_index: HashMap<String, WorkstationId>,
    transition_index: HashMap<String, TransitionId>,
}

/// Builds the lookup tables and the definition hash.
fn build(p: BuildParts, origin: &str) -> Workflow {
    let n = p.workstations.len();
    let words = n.div_ceil(64).max(1);
    let mut from_bits = vec![0u64; words * p.transitions.len()];
    let mut outgoing: Vec<Vec<TransitionId>> = vec![Vec::new(); n];
    for (t, tr) in p.transitions.iter().enumerate() {
        for &f in &tr.from {
            from_bits[t * words + f.index() / 64] |= 1 << (f.index() % 64);
            outgoing[f.index()].push(TransitionId(t as u16));
        }
    }
    let mut wf = Workflow {
        name: p.name,
        version: p.version,
        description: p.description,
        roles: p.roles,
        checks: p.checks,
        holds: p.holds,
        workstations: p.workstations,
        transitions: p.transitions,
        initial: p.initial,
        signals: p.signals,
        from_bits,
        words,
        outgoing,
        workstation_index: p.workstation_index,
        transition_index: p.transition_index,
        hash: Sha256Hash::from_bytes([0; 32]),
        canonical: String::new(),
        origin: origin.to_owned(),
        warnings: Vec::new(),
    };
    wf.canonical = canonical_json(&crate::canonical::definition_json(&wf));
    wf.hash = Sha256Hash::of(wf.canonical.as_bytes());
    wf
}
