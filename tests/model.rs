//! Property test: random sequences of operations against a small reference model of one
//! lifecycle. The engine must accept exactly the moves the model accepts, refuse the others
//! with exactly the reasons the model names, and its stored state must equal both the model
//! and the replay of its ledger after every sequence.

use chrono::{TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::json;
use workstream::prelude::*;

const WORKFLOW: &str = r#"
workflow: model
version: 1
roles: [worker, lead]
holds: [blocked]
workstations:
  todo: { initial: true }
  doing:
    wip: { max: 2 }
    entry: [ { assert: fields.owner, op: exists, id: owned } ]
  review:
    exit: [ { assert: fields.score, op: gte, value: 3, id: good_enough } ]
  done: { terminal: true }
  dropped: { terminal: true, outcome: cancelled }
transitions:
  start: { from: todo, to: doing, by: [worker] }
  submit: { from: doing, to: review, by: [worker] }
  approve: { from: review, to: done, by: [lead] }
  rework: { from: review, to: doing, by: [lead], rework: true }
  drop: { from: "*", to: dropped, by: [lead], allow_held: true }
"#;

const TRANSITIONS: [&str; 5] = ["start", "submit", "approve", "rework", "drop"];

#[derive(Clone, Debug)]
enum Op {
    Create {
        owner: bool,
    },
    Advance {
        item: usize,
        transition: usize,
        role: usize,
    },
    Set {
        item: usize,
        owner: bool,
        score: i64,
    },
    Hold {
        item: usize,
    },
    Release {
        item: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => any::<bool>().prop_map(|owner| Op::Create { owner }),
        6 => (0..8usize, 0..TRANSITIONS.len(), 0..3usize)
            .prop_map(|(item, transition, role)| Op::Advance { item, transition, role }),
        2 => (0..8usize, any::<bool>(), 0..6i64)
            .prop_map(|(item, owner, score)| Op::Set { item, owner, score }),
        1 => (0..8usize).prop_map(|item| Op::Hold { item }),
        1 => (0..8usize).prop_map(|item| Op::Release { item }),
    ]
}

/// The reference: what the lifecycle says, written out by hand.
#[derive(Clone, Debug, PartialEq)]
struct Model {
    workstation: &'static str,
    owner: bool,
    score: Option<i64>,
    held: bool,
}

impl Model {
    fn closed(&self) -> bool {
        matches!(self.workstation, "done" | "dropped")
    }
}

fn actor(role: usize) -> Actor {
    match role {
        0 => Actor::new("wes", ["worker"]),
        1 => Actor::new("lea", ["lead"]),
        _ => Actor::new("guest", []),
    }
}

/// The reasons the model gives for refusing `transition` (empty: it fires), and the
/// workstation it leads to.
fn model_move(
    items: &[Model],
    i: usize,
    transition: &str,
    role: usize,
) -> (Vec<&'static str>, &'static str) {
    let m = &items[i];
    let (sources, to, by): (&[&str], &str, &str) = match transition {
        "start" => (&["todo"], "doing", "worker"),
        "submit" => (&["doing"], "review", "worker"),
        "approve" => (&["review"], "done", "lead"),
        "rework" => (&["review"], "doing", "lead"),
        _ => (&["todo", "doing", "review"], "dropped", "lead"),
    };
    if !sources.contains(&m.workstation) {
        return (vec!["not_allowed"], to);
    }
    let mut reasons = Vec::new();
    let has_role = matches!((role, by), (0, "worker") | (1, "lead"));
    if !has_role {
        reasons.push("role");
    }
    if m.held && transition != "drop" {
        reasons.push("held");
    }
    if m.workstation == "review" && m.score.is_none_or(|s| s < 3) {
        reasons.push("good_enough");
    }
    if to == "doing" {
        if !m.owner {
            reasons.push("owned");
        }
        let here = items.iter().filter(|o| o.workstation == "doing").count();
        if here >= 2 {
            reasons.push("wip");
        }
    }
    (reasons, to)
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 2, 2, 8, 0, 0).unwrap());
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(parse("model.yaml", WORKFLOW).unwrap())
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut ids: Vec<ItemId> = Vec::new();
    let mut models: Vec<Model> = Vec::new();
    for op in ops {
        clock.advance(TimeDelta::minutes(1));
        match *op {
            Op::Create { owner } => {
                let fields = if owner {
                    json!({"owner": "wes"})
                } else {
                    json!({})
                };
                let item = engine
                    .create(&actor(0), NewItem::of("model").fields(fields))
                    .unwrap();
                ids.push(item.id());
                models.push(Model {
                    workstation: "todo",
                    owner,
                    score: None,
                    held: false,
                });
            }
            Op::Advance {
                item,
                transition,
                role,
            } => {
                if ids.is_empty() {
                    continue;
                }
                let i = item % ids.len();
                let name = TRANSITIONS[transition];
                let (expected, to) = model_move(&models, i, name, role);
                let result = engine.advance(ids[i], &actor(role), Move::transition(name));
                match result {
                    Ok(moved) => {
                        prop_assert!(
                            expected.is_empty(),
                            "{name} on {:?} fired, model refuses: {expected:?}",
                            models[i]
                        );
                        prop_assert_eq!(moved.workstation(), to);
                        models[i].workstation = to;
                    }
                    Err(Error::Refused(refused)) => {
                        prop_assert_eq!(refused.ids(), expected, "{} on {:?}", name, models[i]);
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("{name}: {e}"))),
                }
            }
            Op::Set { item, owner, score } => {
                if ids.is_empty() {
                    continue;
                }
                let i = item % ids.len();
                let owner_value = if owner { json!("wes") } else { json!(null) };
                engine
                    .update_fields(
                        ids[i],
                        &actor(0),
                        json!({"owner": owner_value, "score": score}),
                    )
                    .unwrap();
                models[i].owner = owner;
                models[i].score = Some(score);
            }
            Op::Hold { item } => {
                if ids.is_empty() {
                    continue;
                }
                let i = item % ids.len();
                let mut expected = Vec::new();
                if models[i].held {
                    expected.push("already_held");
                }
                if models[i].closed() {
                    expected.push("closed");
                }
                match engine.hold(ids[i], &actor(1), "blocked", "model says so") {
                    Ok(_) => {
                        prop_assert!(expected.is_empty());
                        models[i].held = true;
                    }
                    Err(Error::Refused(r)) => prop_assert_eq!(r.ids(), expected),
                    Err(e) => return Err(TestCaseError::fail(e.to_string())),
                }
            }
            Op::Release { item } => {
                if ids.is_empty() {
                    continue;
                }
                let i = item % ids.len();
                match engine.release(ids[i], &actor(1), "blocked") {
                    Ok(_) => {
                        prop_assert!(models[i].held);
                        models[i].held = false;
                    }
                    Err(Error::Refused(r)) => {
                        prop_assert!(!models[i].held);
                        prop_assert_eq!(r.ids(), ["not_held"]);
                    }
                    Err(e) => return Err(TestCaseError::fail(e.to_string())),
                }
            }
        }
    }
    for (id, model) in ids.iter().zip(&models) {
        let item = engine.item(*id).unwrap();
        prop_assert_eq!(item.workstation(), model.workstation);
        prop_assert_eq!(item.is_held(), model.held);
        prop_assert_eq!(item.field("owner").is_some(), model.owner);
        prop_assert_eq!(item.field("score").and_then(|s| s.as_i64()), model.score);
        prop_assert_eq!(item.is_closed(), model.closed());
        let events = engine.history(*id).unwrap();
        prop_assert_eq!(
            &Item::replay(&events).unwrap(),
            &item,
            "replay equals state"
        );
    }
    let verified = engine.verify_all().unwrap();
    prop_assert_eq!(verified.items, ids.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_accepts_exactly_what_the_model_accepts(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops)?;
    }
}
