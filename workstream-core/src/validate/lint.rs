//! Warnings: declared roles and checks never used, and transitions that can never fire
//! because their assertions contradict each other.

use serde_json::Value;

use super::Validator;
use crate::assertion::{Assertion, AssertionKind, Op, Operand, Path, Root};
use crate::diagnostic::Code;
use crate::read::RawWorkflow;
use crate::workflow::{Transition, Workstation};

impl Validator<'_, '_> {
    pub(super) fn warn_unused(&mut self, raw: &RawWorkflow) {
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
    pub(super) fn warn_contradictions(
        &mut self,
        workstations: &[Workstation],
        transitions: &[Transition],
    ) {
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
