//! Workstations: their names (unique, and unique as Rust types), then their bodies (initial
//! and terminal flags, outcomes, WIP limits, entry and exit assertions).

use std::collections::HashMap;

use super::{MAX_WORKSTATIONS, Validator};
use crate::assertion::{Path, Root};
use crate::diagnostic::Code;
use crate::name::camel_case;
use crate::read::{Named, RawWorkflow, RawWorkstation};
use crate::workflow::{Outcome, Wip, Workstation, WorkstationId};

/// The names a generated module defines itself, which no workstation's type may take (a
/// workstation's type is a unit struct, a value too: `s_o_u_r_c_e` would be `SOURCE`).
const RESERVED_TYPES: &[&str] = &[
    "Item", "AnyItem", "Checks", "SOURCE", "PATH", "NAME", "VERSION", "COMPILED",
];

impl Validator<'_, '_> {
    /// Declares the workstations by name, first: transitions and assertions refer to them.
    /// Returns those kept, in the order of their ids; `None` when there are too many.
    pub(super) fn declare_workstations<'r>(
        &mut self,
        raw: &'r RawWorkflow,
    ) -> Option<Vec<&'r RawWorkstation>> {
        // Workstation names first: transitions and assertions refer to them. `kept_ws` holds the
        // index in `raw.workstations` of each workstation kept, in the order of their ids.
        let mut kept_ws: Vec<usize> = Vec::new();
        let mut camel: HashMap<String, &Named> = HashMap::new();
        for (i, ws) in raw.workstations.iter().enumerate() {
            // An invalid name is reported, but the workstation is still declared.
            let valid = self.check_name(&ws.name, "workstation name");
            if let Some(&first) = self.workstation_index.get(&ws.name.value) {
                let at = raw.workstations[kept_ws[first.index()]].name.span;
                self.duplicate(&ws.name, "workstation", at);
                self.drop_workstation(ws);
                continue;
            }
            if valid {
                let type_name = camel_case(&ws.name.value);
                if let Some(other) = camel.get(&type_name) {
                    self.sink.push(
                        Code::DuplicateName,
                        ws.name.span,
                        format!(
                            "workstations `{}` and `{}` both become the Rust type `{type_name}`",
                            other.value, ws.name.value
                        ),
                    );
                    self.drop_workstation(ws);
                    self.dropped_workstations.insert(ws.name.value.clone());
                    continue;
                }
                if RESERVED_TYPES.contains(&type_name.as_str()) {
                    self.sink.push(
                        Code::RustNameClash,
                        ws.name.span,
                        format!(
                            "workstation `{}` would become the Rust type `{type_name}`, which the \
                             typed API generates itself; rename the workstation",
                            ws.name.value
                        ),
                    );
                }
                camel.insert(type_name, &ws.name);
            }
            let id = WorkstationId(kept_ws.len() as u16);
            if kept_ws.len() == MAX_WORKSTATIONS {
                self.sink.push(
                    Code::TooLarge,
                    ws.name.span,
                    format!("a workflow has at most {MAX_WORKSTATIONS} workstations"),
                );
                return None;
            }
            self.workstation_index.insert(ws.name.value.clone(), id);
            self.workstation_names.push(ws.name.value.clone());
            kept_ws.push(i);
        }
        let kept_ws: Vec<_> = kept_ws.into_iter().map(|i| &raw.workstations[i]).collect();
        if raw.workstations.is_empty() && raw.workstations_span.line > 0 && !self.gaps.workstations
        {
            self.sink.push(
                Code::NoInitial,
                raw.workstations_span,
                "`workstations` is empty: a workflow needs an initial and a terminal workstation",
            );
        }
        Some(kept_ws)
    }

    /// The bodies of the kept workstations, and every one marked initial: with more than
    /// one, graph rules start from all of them, as any could be the one meant.
    pub(super) fn workstation_bodies<'r>(
        &mut self,
        raw: &RawWorkflow,
        kept_ws: &[&'r RawWorkstation],
    ) -> (Vec<Workstation>, Vec<(WorkstationId, &'r Named)>) {
        // Workstation bodies. Every workstation marked initial is kept in `initials`: with more
        // than one, graph rules start from all of them, as any could be the one meant.
        let mut workstations = Vec::with_capacity(kept_ws.len());
        let mut initials: Vec<(WorkstationId, &Named)> = Vec::new();
        for (i, ws) in kept_ws.iter().enumerate() {
            let id = WorkstationId(i as u16);
            if let Some(span) = ws.initial {
                if let Some((_, first)) = initials.first() {
                    self.sink.push(
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
                        .and_then(|o| self.outcome(o))
                        .unwrap_or(Outcome::Done),
                )
            } else {
                // Whether a workstation that did not read as terminal may have an outcome is
                // unknown.
                if let Some(o) = &ws.outcome
                    && ws.terminal.is_some()
                {
                    self.sink.push(
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
                        self.sink.push(
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
            let entry = self.assertions(&ws.entry, &format!("{}.entry", ws.name.value));
            let exit = self.assertions(&ws.exit, &format!("{}.exit", ws.name.value));
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
        if initials.is_empty() && !kept_ws.is_empty() && !self.gaps.initial {
            self.sink.push(
                Code::NoInitial,
                raw.workstations_span,
                "no workstation is marked `initial: true`: exactly one must be",
            );
        }
        if !kept_ws.is_empty() && !workstations.iter().any(|w| w.terminal) && !self.gaps.terminal {
            self.sink.push(
                Code::NoTerminal,
                raw.workstations_span,
                "no workstation is marked `terminal: true`: work could never end",
            );
        }
        (workstations, initials)
    }
}
