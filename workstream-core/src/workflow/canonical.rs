//! The canonical JSON form of a workflow definition, which its definition hash is computed
//! over.
//!
//! The form is the *meaning* of the file, not its text: defaults are written out, `"*"` is
//! resolved to the workstations it stands for, sets (roles, checks, holds, `from`, `by`) are
//! sorted, durations are whole seconds. Comments, key order, quoting and layout therefore do
//! not change the hash; any change of meaning does. Assertion lists keep their order, because
//! the order names derived assertion ids. An unnamed check is hashed under its place
//! (`approve.requires.1`), though refusals name it after its check.

use serde_json::{Map, Value, json};

use crate::assertion::{Assertion, AssertionKind, Operand};
use crate::workflow::Workflow;

/// The format version written into the canonical form.
pub const FORMAT_VERSION: u32 = 1;

pub(crate) fn definition_json(wf: &Workflow) -> Value {
    let name_of = |id: crate::WorkstationId| wf.workstations[id.index()].name.clone();
    let workstations: Map<String, Value> = wf
        .workstations
        .iter()
        .map(|w| {
            let value = json!({
                "description": w.description,
                "initial": w.initial,
                "terminal": w.terminal,
                "outcome": w.outcome.map(|o| o.name()),
                "entry": assertions(&w.entry),
                "exit": assertions(&w.exit),
                "wip": w.wip.as_ref().map(|wip| json!({
                    "max": wip.max,
                    "per": wip.per.as_ref().map(|p| p.as_str()),
                    "soft": wip.soft,
                })),
                "sla_seconds": w.sla.map(|d| d.as_secs()),
            });
            (w.name.clone(), value)
        })
        .collect();
    let transitions: Map<String, Value> = wf
        .transitions
        .iter()
        .map(|t| {
            let value = json!({
                "description": t.description,
                "from": sorted(t.from.iter().map(|&f| name_of(f))),
                "to": name_of(t.to),
                "by": t.by.as_ref().map(|b| sorted(b.iter().cloned())),
                "requires": assertions(&t.requires),
                "rework": t.rework,
                "outcome": t.outcome.map(|o| o.name()),
                "allow_held": t.allow_held,
            });
            (t.name.clone(), value)
        })
        .collect();
    json!({
        "format": FORMAT_VERSION,
        "workflow": wf.name,
        "version": wf.version,
        "description": wf.description,
        "roles": sorted(wf.roles.iter().cloned()),
        "checks": sorted(wf.checks.iter().cloned()),
        "holds": sorted(wf.holds.iter().cloned()),
        "initial": name_of(wf.initial),
        "workstations": workstations,
        "transitions": transitions,
        "signals": {
            "stalled_idle_for_seconds": wf.signals.stalled_idle_for.as_secs(),
            "oldies_age_seconds": wf.signals.oldies_age.as_secs(),
        },
    })
}

fn sorted(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.collect();
    names.sort();
    names
}

fn assertions(list: &[Assertion]) -> Vec<Value> {
    list.iter().map(assertion).collect()
}

fn assertion(a: &Assertion) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), Value::from(a.hashed_id.clone()));
    map.insert("message".into(), json!(a.message));
    match &a.kind {
        AssertionKind::Check(name) => {
            map.insert("check".into(), Value::from(name.clone()));
        }
        AssertionKind::Compare { path, op, operand } => {
            map.insert("assert".into(), Value::from(path.as_str()));
            map.insert("op".into(), Value::from(op.name()));
            match operand {
                Operand::None => {}
                Operand::Value(v) => {
                    map.insert("value".into(), v.clone());
                }
                Operand::From(p) => {
                    map.insert("value_from".into(), Value::from(p.as_str()));
                }
            }
        }
        AssertionKind::All(members) => {
            map.insert("all".into(), Value::Array(assertions(members)));
        }
        AssertionKind::Any(members) => {
            map.insert("any".into(), Value::Array(assertions(members)));
        }
        AssertionKind::Not(member) => {
            map.insert("not".into(), assertion(member));
        }
    }
    Value::Object(map)
}
