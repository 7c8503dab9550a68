//! The canonical JSON form of a workflow definition, which its definition hash is computed
//! over.
//!
//! The form is what **decides moves**, not the text: the workflow's name and version, its
//! roles, checks and holds, its initial workstation, each workstation's `initial`,
//! `terminal`, `outcome`, `entry` and `exit` assertions, `wip` and `sla`, each transition's
//! `from`, `to`, `by`, `requires`, `rework`, `outcome` and `allow_held`, and the signal
//! thresholds. Defaults are written out, `"*"` is resolved to the workstations it stands
//! for, sets (roles, checks, holds, `from`, `by`) are sorted, durations are whole seconds.
//! Assertions are written by what they test (`check`, or `assert`/`op`/`value`/`value_from`,
//! or `all`/`any`/`not`), in their order.
//!
//! Texts for people are left out: descriptions (of the workflow, its workstations and
//! transitions), assertion `message`s and assertion `id`s (which name refusals, and decide
//! nothing), as are comments, key order, quoting and layout. Editing them keeps the hash, so
//! items keep moving; the exact text an event was written under is named by the event's
//! `source` hash.
//!
//! [`format1_json`] is the form workstream 0.1 hashed, which covered the texts too; items
//! created by 0.1 carry its hash, so a workflow knows it as well
//! ([`Workflow::format1_hash`](crate::Workflow::format1_hash)). It must never change.

use serde_json::{Map, Value, json};

use crate::assertion::{Assertion, AssertionKind, Operand};
use crate::workflow::Workflow;

/// The format version written into the canonical form.
pub const FORMAT_VERSION: u32 = 1;

/// Which canonical form: 2 is the form of decisions only.
const FORM: u32 = 2;

pub(crate) fn definition_json(wf: &Workflow) -> Value {
    let name_of = |id: crate::WorkstationId| wf.workstations[id.index()].name.clone();
    let workstations: Map<String, Value> = wf
        .workstations
        .iter()
        .map(|w| {
            let value = json!({
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
    let mut migrations: Vec<Value> = wf
        .migrations
        .iter()
        .map(|m| {
            let renames = |pairs: &[(String, String)]| -> Map<String, Value> {
                pairs
                    .iter()
                    .map(|(a, b)| (a.clone(), Value::from(b.clone())))
                    .collect()
            };
            json!({
                "from": m.from,
                "by": m.by.as_ref().map(|b| sorted(b.iter().cloned())),
                "workstations": renames(&m.workstations),
                "holds": renames(&m.holds),
                "reopen": m.reopen,
                "restart": m.restart,
            })
        })
        .collect();
    migrations.sort_by_key(|m| m["from"].as_u64());
    let mut form = json!({
        "format": FORMAT_VERSION,
        "form": FORM,
        "workflow": wf.name,
        "version": wf.version,
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
    });
    // Written only when there are some: a version that declares none has no key for them.
    if !migrations.is_empty() {
        form["migrations"] = Value::Array(migrations);
    }
    form
}

fn sorted(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.collect();
    names.sort();
    names
}

fn assertions(list: &[Assertion]) -> Vec<Value> {
    list.iter().map(assertion).collect()
}

/// What an assertion tests, without its id and message.
fn assertion(a: &Assertion) -> Value {
    let mut map = Map::new();
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

// ---------------------------------------------------------------------------------------------
// The form of workstream 0.1, frozen.

/// The canonical form workstream 0.1 hashed: the form above with the texts (descriptions,
/// messages, assertion ids, an unnamed check hashed under its place). Items created by 0.1
/// carry its hash.
pub(crate) fn format1_json(wf: &Workflow) -> Value {
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
                "entry": assertions1(&w.entry),
                "exit": assertions1(&w.exit),
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
                "from": sorted1(t.from.iter().map(|&f| name_of(f))),
                "to": name_of(t.to),
                "by": t.by.as_ref().map(|b| sorted1(b.iter().cloned())),
                "requires": assertions1(&t.requires),
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
        "roles": sorted1(wf.roles.iter().cloned()),
        "checks": sorted1(wf.checks.iter().cloned()),
        "holds": sorted1(wf.holds.iter().cloned()),
        "initial": name_of(wf.initial),
        "workstations": workstations,
        "transitions": transitions,
        "signals": {
            "stalled_idle_for_seconds": wf.signals.stalled_idle_for.as_secs(),
            "oldies_age_seconds": wf.signals.oldies_age.as_secs(),
        },
    })
}

fn sorted1(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.collect();
    names.sort();
    names
}

fn assertions1(list: &[Assertion]) -> Vec<Value> {
    list.iter().map(assertion1).collect()
}

fn assertion1(a: &Assertion) -> Value {
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
            map.insert("all".into(), Value::Array(assertions1(members)));
        }
        AssertionKind::Any(members) => {
            map.insert("any".into(), Value::Array(assertions1(members)));
        }
        AssertionKind::Not(member) => {
            map.insert("not".into(), assertion1(member));
        }
    }
    Value::Object(map)
}
