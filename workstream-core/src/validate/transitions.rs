//! Transitions: names, sources (`"*"` for every non-terminal workstation), target, roles,
//! outcome and `requires`. Returns `None` when there are too many.

use std::collections::HashMap;

use super::{MAX_TRANSITIONS, Validator};
use crate::diagnostic::{Code, Span};
use crate::read::{RawFrom, RawWorkflow, RawWorkstation};
use crate::workflow::{Transition, TransitionId, Workstation, WorkstationId};

/// The methods the typed API gives every item whatever its workstation, which no transition's
/// methods (`x` and `x_with`) may take.
const ITEM_METHODS: &[&str] = &["put_on_hold", "release_hold", "update_fields", "refresh"];

impl Validator<'_, '_> {
    /// The transitions, and their index by name.
    pub(super) fn transitions(
        &mut self,
        raw: &RawWorkflow,
        workstations: &[Workstation],
        kept_ws: &[&RawWorkstation],
    ) -> Option<(Vec<Transition>, HashMap<String, TransitionId>)> {
        // Transitions.
        let mut transitions: Vec<Transition> = Vec::new();
        let mut transition_index: HashMap<String, TransitionId> = HashMap::new();
        let mut transition_spans: Vec<Span> = Vec::new();
        // Whether each workstation read as terminal or not; when not, rules that need to know
        // are skipped for it.
        let terminal_known: Vec<bool> = kept_ws.iter().map(|ws| ws.terminal.is_some()).collect();
        // An edge that does not resolve leaves the graph unknown (`self.gaps.edges`): graph rules on
        // it would only repeat the error.
        for tr in &raw.transitions {
            // An invalid name is reported, but the transition is still declared.
            self.check_name(&tr.name, "transition name");
            if let Some(first) = transition_index.get(&tr.name.value) {
                let at = transition_spans[first.index()];
                self.duplicate(&tr.name, "transition", at);
                // Which of the two is meant is unknown, and so are the edges and uses of this one.
                self.gaps.edges = true;
                self.gaps.uses = true;
                continue;
            }
            if transitions.len() == MAX_TRANSITIONS {
                self.sink.push(
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
                            self.sink.push(
                                Code::InvalidName,
                                name.span,
                                "`\"*\"` stands alone: write `from: \"*\"` for every non-terminal \
                             workstation",
                            );
                            self.gaps.edges = true;
                            continue;
                        }
                        let Some(id) = self.workstation(name) else {
                            self.gaps.edges = true;
                            continue;
                        };
                        if from.contains(&id) {
                            self.sink.push(
                                Code::DuplicateName,
                                name.span,
                                format!("`{}` is listed twice in `from`", name.value),
                            );
                            continue;
                        }
                        if workstations[id.index()].terminal {
                            self.gaps.edges = true;
                            self.sink.push(
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
            let to = tr.to.as_ref().and_then(|t| self.workstation(t));
            let by = tr.by.as_ref().map(|names| {
                let mut roles: Vec<String> = Vec::new();
                for name in names {
                    if roles.contains(&name.value) {
                        self.sink.push(
                            Code::DuplicateName,
                            name.span,
                            format!("role `{}` is listed twice in `by`", name.value),
                        );
                    } else if self.role(name) {
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
                self.sink.push(
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
                let outcome = self.outcome(o)?;
                if let Some(to) = to
                    && !workstations[to.index()].terminal
                    && terminal_known[to.index()]
                {
                    self.sink.push(
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
            let requires = self.assertions(&tr.requires, &format!("{}.requires", tr.name.value));
            let Some(to) = to else {
                self.gaps.edges = true;
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
        self.method_clashes(&transitions, workstations);
        Some((transitions, transition_index))
    }

    /// Transitions `x` and `x_with` that fire from one workstation: the typed API gives `x` a
    /// method `x_with` too (the move with a patch, a reason or a payload), so the two clash.
    fn method_clashes(&mut self, transitions: &[Transition], workstations: &[Workstation]) {
        let by_name: HashMap<&str, &Transition> =
            transitions.iter().map(|t| (t.name.as_str(), t)).collect();
        for t in transitions {
            let name = t.name.as_str();
            if let Some(&reserved) = ITEM_METHODS
                .iter()
                .find(|&&m| name == m || name.strip_suffix("_with") == Some(m))
            {
                self.sink.push(
                    Code::RustNameClash,
                    t.span,
                    format!(
                        "the typed API gives every item a method `{reserved}`, so transition \
                         `{name}` cannot have a method of its name; rename the transition"
                    ),
                );
            }
            let Some(base) = t.name.strip_suffix("_with") else {
                continue;
            };
            let Some(other) = by_name.get(base) else {
                continue;
            };
            if let Some(&shared) = t.from.iter().find(|w| other.from.contains(w)) {
                self.sink.push(
                    Code::RustNameClash,
                    t.span,
                    format!(
                        "transitions `{base}` and `{}` both fire from `{}`, and the typed API \
                         gives both a method `{}` there; rename one of them",
                        t.name,
                        workstations[shared.index()].name,
                        t.name
                    ),
                );
            }
        }
    }
}
