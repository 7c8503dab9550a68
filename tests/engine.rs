//! The engine's rules, one behaviour at a time, on the memory store.

use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};
use workstream::prelude::*;
use workstream::{BuildError, Change, Checks, ReasonKind, Signal};

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
}

fn workflow(text: &str) -> Workflow {
    parse("test.yaml", text).unwrap_or_else(|d| panic!("{d}"))
}

fn engine_for(text: &str) -> (Engine<MemoryStore>, ManualClock) {
    engine(text, Checks::new())
}

fn engine(text: &str, checks: Checks) -> (Engine<MemoryStore>, ManualClock) {
    let clock = ManualClock::new(t0());
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(workflow(text))
        .checks(checks)
        .clock(clock.clone())
        .build()
        .unwrap();
    (engine, clock)
}

fn anyone() -> Actor {
    Actor::new("ann", ["author"])
}

fn refusal(result: Result<Item, Error>) -> Refused {
    match result {
        Err(Error::Refused(r)) => *r,
        Err(other) => panic!("expected a refusal, got the error: {other}"),
        Ok(item) => panic!(
            "expected a refusal, but the item moved to {}",
            item.workstation()
        ),
    }
}

/// Runs one assertion (as the `requires` of `go: a -> b`) against an item with `fields`.
fn holds(assertion: &str, fields: Value) -> Result<(), Vec<Reason>> {
    let text = format!(
        "workflow: t\nversion: 1\nholds: [paused]\nroles: [author]\nworkstations:\n  a: {{ initial: true }}\n  b: {{ terminal: true }}\ntransitions:\n  go:\n    from: a\n    to: b\n    requires:\n      - {assertion}\n"
    );
    let (engine, clock) = engine(&text, Checks::new());
    let item = engine
        .create(&anyone(), NewItem::of("t").fields(fields))
        .unwrap();
    clock.advance(TimeDelta::hours(30));
    match engine.advance(item.id(), &anyone(), Move::transition("go")) {
        Ok(_) => Ok(()),
        Err(Error::Refused(r)) => Err(r.reasons),
        Err(e) => panic!("{assertion}: {e}"),
    }
}

#[test]
fn every_op_evaluates_as_documented() {
    let f = json!({
        "n": 3, "x": 2.5, "s": "beta", "name": "ann", "none": null,
        "tags": ["a", "b"], "list": [{"k": 1}, {"k": 2}, {"k": 2}],
        "nested": {"deep": {"v": true}},
    });
    #[rustfmt::skip]
    let table: &[(&str, bool)] = &[
        ("{ assert: fields.n, op: exists }", true),
        ("{ assert: fields.missing, op: exists }", false),
        ("{ assert: fields.none, op: exists }", false),
        ("{ assert: fields.none, op: not_exists }", true),
        ("{ assert: fields.n, op: not_exists }", false),
        ("{ assert: fields.n, op: eq, value: 3 }", true),
        ("{ assert: fields.n, op: eq, value: 3.0 }", true),
        ("{ assert: fields.n, op: eq, value: '3' }", false),
        ("{ assert: fields.n, op: ne, value: 4 }", true),
        ("{ assert: fields.missing, op: ne, value: 4 }", true),
        ("{ assert: fields.n, op: lt, value: 4 }", true),
        ("{ assert: fields.n, op: lt, value: 3 }", false),
        ("{ assert: fields.n, op: lte, value: 3 }", true),
        ("{ assert: fields.x, op: gt, value: 2 }", true),
        ("{ assert: fields.x, op: gte, value: 2.6 }", false),
        ("{ assert: fields.s, op: gt, value: alpha }", true),
        ("{ assert: fields.s, op: lt, value: 5 }", false),
        ("{ assert: fields.missing, op: lt, value: 5 }", false),
        ("{ assert: fields.s, op: in, value: [alpha, beta] }", true),
        ("{ assert: fields.s, op: in, value: [alpha] }", false),
        ("{ assert: fields.s, op: not_in, value: [alpha] }", true),
        ("{ assert: fields.nested.deep.v, op: eq, value: true }", true),
        ("{ assert: fields.list.1.k, op: eq, value: 2 }", true),
        ("{ assert: fields.list.*.k, op: all_eq, value: 2 }", false),
        ("{ assert: fields.list.*.k, op: any_eq, value: 1 }", true),
        ("{ assert: fields.list.*.k, op: none_eq, value: 3 }", true),
        ("{ assert: fields.list.*.k, op: none_eq, value: 1 }", false),
        ("{ assert: fields.list.*.k, op: all_in, value: [1, 2] }", true),
        ("{ assert: fields.list.*.k, op: count_eq, value: 3 }", true),
        ("{ assert: fields.list.*.k, op: count_gte, value: 4 }", false),
        ("{ assert: fields.list.*.k, op: count_lte, value: 3 }", true),
        ("{ assert: fields.missing.*.k, op: all_eq, value: 1 }", true),
        ("{ assert: fields.missing.*.k, op: count_eq, value: 0 }", true),
        ("{ assert: fields.tags.*, op: any_eq, value: b }", true),
        ("{ assert: actor.id, op: eq, value_from: fields.name }", true),
        ("{ assert: actor.id, op: ne, value_from: fields.name }", false),
        ("{ assert: actor.roles, op: any_eq, value: author }", true),
        ("{ assert: actor.roles, op: count_eq, value: 2 }", false),
        ("{ assert: item.workstation, op: eq, value: a }", true),
        ("{ assert: item.age, op: gte, value: 1d }", true),
        ("{ assert: item.age, op: gte, value: 2d }", false),
        ("{ assert: item.idle, op: lt, value: 31h }", true),
        ("{ assert: item.holds, op: count_eq, value: 0 }", true),
        ("{ assert: item.id, op: eq, value: 1 }", true),
        ("{ assert: item.version, op: eq, value: 1 }", true),
        ("{ assert: item.outcome, op: not_exists }", true),
        ("{ all: [ { assert: fields.n, op: eq, value: 3 }, { assert: fields.s, op: eq, value: beta } ] }", true),
        ("{ all: [ { assert: fields.n, op: eq, value: 3 }, { assert: fields.s, op: eq, value: gamma } ] }", false),
        ("{ any: [ { assert: fields.n, op: eq, value: 4 }, { assert: fields.s, op: eq, value: beta } ] }", true),
        ("{ any: [ { assert: fields.n, op: eq, value: 4 }, { assert: fields.s, op: eq, value: gamma } ] }", false),
        ("{ not: { assert: fields.n, op: eq, value: 4 } }", true),
        ("{ not: { assert: fields.n, op: eq, value: 3 } }", false),
    ];
    let mut wrong = Vec::new();
    for (assertion, expected) in table {
        let got = holds(assertion, f.clone());
        if got.is_ok() != *expected {
            wrong.push(format!("{assertion}: expected {expected}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn failures_carry_ids_messages_and_details() {
    let reasons = holds(
        "{ assert: fields.list.*.k, op: all_eq, value: 1, id: all_ones }",
        json!({"list": [{"k": 1}, {"k": 2}, {"k": 3}]}),
    )
    .unwrap_err();
    assert_eq!(reasons.len(), 1);
    let r = &reasons[0];
    assert_eq!(r.id, "all_ones");
    assert_eq!(r.kind, ReasonKind::Requires);
    assert_eq!(
        r.message,
        "`fields.list.*.k`: every value must equal 1; 2 of 3 do not: 2, 3"
    );
    assert_eq!(r.details["failing"], json!([{"value": 2}, {"value": 3}]));

    let reasons = holds(
        "{ assert: actor.id, op: ne, value_from: fields.author, message: no self review }",
        json!({"author": "ann"}),
    )
    .unwrap_err();
    assert_eq!(reasons[0].id, "go.requires.0", "ids derive from the place");
    assert_eq!(
        reasons[0].message, "no self review",
        "the file's message wins"
    );
    assert_eq!(reasons[0].details["actual"], json!("ann"));

    let reasons = holds("{ assert: item.age, op: gte, value: 2d }", json!({})).unwrap_err();
    assert_eq!(
        reasons[0].message, "`item.age` must be at least 2d, but it is 1d6h",
        "durations read as durations"
    );

    // The members of a failing `all` are reported one by one, with their own ids.
    let reasons = holds(
        "{ all: [ { assert: fields.a, op: exists, id: has_a }, { assert: fields.b, op: exists, id: has_b } ] }",
        json!({}),
    )
    .unwrap_err();
    let ids: Vec<&str> = reasons.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["has_a", "has_b"]);
}

const BOARD: &str = r#"
workflow: board
version: 1
roles: [author, reviewer, lead]
checks: [tests_pass]
holds: [blocked, paused]
workstations:
  open: { initial: true }
  coding:
    exit:
      - { check: tests_pass }
  review:
    wip: { max: 1 }
    entry:
      - { assert: fields.summary, op: exists, id: has_summary, message: write a summary first }
  merged: { terminal: true }
  closed: { terminal: true, outcome: cancelled }
transitions:
  start: { from: open, to: coding }
  submit:
    from: coding
    to: review
    by: [author]
    requires:
      - { assert: fields.lines, op: lte, value: 400, id: small_change }
  merge:
    from: review
    to: merged
    by: [reviewer]
    requires:
      - { assert: actor.id, op: ne, value_from: fields.author, id: no_self_merge }
  close: { from: "*", to: closed, by: [lead], allow_held: true }
"#;

fn board_checks() -> Checks {
    Checks::new().add("tests_pass", |cx| {
        Verdict::require(
            cx.item().field("tests") == Some(&json!("green")),
            "the tests must be green",
        )
    })
}

#[test]
fn a_refusal_names_every_reason_and_writes_nothing() {
    let (engine, _) = engine(BOARD, board_checks());
    let ann = Actor::new("ann", ["author"]);
    let ben = Actor::new("ben", ["author"]);
    // Fill review to its WIP limit with another item.
    let other = engine
        .create(
            &ann,
            NewItem::of("board").fields(json!({"tests": "green", "summary": "x", "lines": 1})),
        )
        .unwrap();
    engine
        .advance(other.id(), &ann, Move::transition("start"))
        .unwrap();
    engine
        .advance(other.id(), &ann, Move::transition("submit"))
        .unwrap();

    let item = engine
        .create(
            &ann,
            NewItem::of("board").fields(json!({"tests": "red", "lines": 900})),
        )
        .unwrap();
    let item = engine
        .advance(item.id(), &ann, Move::transition("start"))
        .unwrap();
    let item = engine
        .hold(item.id(), &ann, "paused", "waiting on design")
        .unwrap();
    let before = engine.history(item.id()).unwrap();

    let reviewer = Actor::new("rae", ["reviewer"]);
    let refused = refusal(engine.advance(item.id(), &reviewer, Move::transition("submit")));
    assert_eq!(
        refused.ids(),
        [
            "role",
            "held",
            "tests_pass",
            "small_change",
            "has_summary",
            "wip"
        ],
        "{refused}"
    );
    let kinds: Vec<ReasonKind> = refused.reasons.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            ReasonKind::Role,
            ReasonKind::Held,
            ReasonKind::Exit,
            ReasonKind::Requires,
            ReasonKind::Entry,
            ReasonKind::Wip
        ]
    );
    assert_eq!(refused.reasons[2].message, "the tests must be green");
    assert_eq!(refused.reasons[4].message, "write a summary first");
    assert_eq!(refused.item, item, "the item comes back unchanged");
    assert_eq!(
        engine.history(item.id()).unwrap(),
        before,
        "nothing was written"
    );
    assert_eq!(engine.item(item.id()).unwrap(), item);

    // Fix everything but the WIP limit: only `wip` is left.
    engine.release(item.id(), &ann, "paused").unwrap();
    let refused = refusal(engine.advance(
        item.id(),
        &ben,
        Move::transition("submit").patch(json!({"tests": "green", "lines": 10, "summary": "y"})),
    ));
    assert_eq!(refused.ids(), ["wip"]);
    assert!(
        refused.item.field("summary").is_none(),
        "a refused patch is not applied"
    );

    // Free the slot; the same move goes through, patch and all.
    engine
        .advance(
            other.id(),
            &Actor::new("lee", ["lead"]),
            Move::transition("close"),
        )
        .unwrap();
    let moved = engine
        .advance(
            item.id(),
            &ben,
            Move::transition("submit")
                .patch(json!({"tests": "green", "lines": 10, "summary": "y"})),
        )
        .unwrap();
    assert_eq!(moved.workstation(), "review");
    assert_eq!(moved.field("summary"), Some(&json!("y")));
}

#[test]
fn transitions_that_cannot_fire_from_here_are_refused_with_where_they_fire_from() {
    let (engine, _) = engine(BOARD, board_checks());
    let item = engine.create(&anyone(), NewItem::of("board")).unwrap();
    let refused = refusal(engine.advance(
        item.id(),
        &Actor::new("r", ["reviewer"]),
        Move::transition("merge"),
    ));
    assert_eq!(refused.ids(), ["not_allowed"]);
    assert_eq!(
        refused.reasons[0].message,
        "`merge` cannot fire from `open`; it fires from `review`"
    );
    let err = engine
        .advance(item.id(), &anyone(), Move::transition("strat"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "workflow `board` has no transition `strat`; did you mean `start`?"
    );
    let err = engine.create(&anyone(), NewItem::of("bord")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no workflow `bord` is loaded; did you mean `board`?"
    );
}

#[test]
fn closed_items_cannot_move_or_be_held() {
    let (engine, _) = engine(BOARD, board_checks());
    let lead = Actor::new("lee", ["lead"]);
    let item = engine.create(&lead, NewItem::of("board")).unwrap();
    let closed = engine
        .advance(item.id(), &lead, Move::transition("close"))
        .unwrap();
    assert_eq!(closed.outcome(), Some(Outcome::Cancelled));
    let refused = refusal(engine.advance(item.id(), &lead, Move::transition("close")));
    assert_eq!(refused.ids(), ["not_allowed"]);
    let refused = refusal(engine.hold(item.id(), &lead, "blocked", "late"));
    assert_eq!(refused.ids(), ["closed"]);
}

#[test]
fn moving_by_target_workstation_and_expecting_a_source() {
    let (engine, _) = engine(BOARD, board_checks());
    let item = engine.create(&anyone(), NewItem::of("board")).unwrap();
    let moved = engine
        .advance(item.id(), &anyone(), Move::to("coding"))
        .unwrap();
    assert_eq!(moved.workstation(), "coding");
    let events = engine.history(item.id()).unwrap();
    assert!(
        matches!(&events[1].change(), &Change::Transitioned { transition, .. } if transition == "start")
    );

    let err = engine
        .advance(
            item.id(),
            &anyone(),
            Move::transition("close").only_from("open"),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Conflict { ref actual, .. } if actual == "coding"),
        "{err}"
    );
    let refused = refusal(engine.advance(item.id(), &anyone(), Move::to("open")));
    assert_eq!(refused.ids(), ["not_allowed"]);
    let err = engine
        .advance(item.id(), &anyone(), Move::to("mreged"))
        .unwrap_err();
    assert!(err.to_string().ends_with("did you mean `merged`?"), "{err}");
}

#[test]
fn holds_block_moves_unless_the_transition_allows_held_items() {
    let (engine, _) = engine(BOARD, board_checks());
    let ann = anyone();
    let item = engine.create(&ann, NewItem::of("board")).unwrap();
    let held = engine
        .hold(item.id(), &ann, "blocked", "waiting for the API key")
        .unwrap();
    assert_eq!(
        held.holds()["blocked"].reason.as_deref(),
        Some("waiting for the API key")
    );
    assert_eq!(held.holds()["blocked"].by, "ann");
    let refused = refusal(engine.advance(item.id(), &ann, Move::transition("start")));
    assert_eq!(refused.ids(), ["held"]);
    assert_eq!(
        refused.reasons[0].message,
        "the item is held: `blocked` (waiting for the API key)"
    );
    assert_eq!(
        refusal(engine.hold(item.id(), &ann, "blocked", "again")).ids(),
        ["already_held"]
    );
    assert_eq!(
        refusal(engine.release(item.id(), &ann, "paused")).ids(),
        ["not_held"]
    );
    let err = engine.hold(item.id(), &ann, "paused_", "x").unwrap_err();
    assert!(matches!(err, Error::UnknownHold { .. }), "{err}");
    // `close` allows held items.
    let closed = engine
        .advance(
            item.id(),
            &Actor::new("lee", ["lead"]),
            Move::transition("close"),
        )
        .unwrap();
    assert_eq!(closed.workstation(), "closed");
}

#[test]
fn wip_limits_hard_soft_and_per_key() {
    let text = r#"
workflow: wip
version: 1
workstations:
  queue: { initial: true }
  hard: { wip: { max: 2 } }
  soft: { wip: { max: 1, soft: true } }
  mine: { wip: { max: 1, per: fields.owner } }
  done: { terminal: true }
transitions:
  to_hard: { from: queue, to: hard }
  to_soft: { from: queue, to: soft }
  to_mine: { from: queue, to: mine }
  finish: { from: [hard, soft, mine], to: done }
"#;
    let (engine, _) = engine(text, Checks::new());
    let a = anyone();
    let new = |owner: &str| {
        engine
            .create(&a, NewItem::of("wip").fields(json!({"owner": owner})))
            .unwrap()
            .id()
    };
    let ids: Vec<ItemId> = (0..3).map(|_| new("x")).collect();
    engine
        .advance(ids[0], &a, Move::transition("to_hard"))
        .unwrap();
    engine
        .advance(ids[1], &a, Move::transition("to_hard"))
        .unwrap();
    let refused = refusal(engine.advance(ids[2], &a, Move::transition("to_hard")));
    assert_eq!(refused.ids(), ["wip"]);
    assert_eq!(refused.reasons[0].details["count"], json!(2));

    // Soft: the move goes through and the event records the warning.
    let s1 = new("x");
    let s2 = new("x");
    engine.advance(s1, &a, Move::transition("to_soft")).unwrap();
    engine.advance(s2, &a, Move::transition("to_soft")).unwrap();
    let events = engine.history(s2).unwrap();
    let Change::Transitioned { warnings, .. } = &events[1].change() else {
        panic!("a move");
    };
    assert_eq!(warnings, &["`soft` is at its WIP limit of 1 (1 items)"]);

    // Per key: one per owner.
    let (ann1, ann2, bob) = (new("ann"), new("ann"), new("bob"));
    engine
        .advance(ann1, &a, Move::transition("to_mine"))
        .unwrap();
    let refused = refusal(engine.advance(ann2, &a, Move::transition("to_mine")));
    assert_eq!(refused.ids(), ["wip"]);
    assert!(
        refused.reasons[0]
            .message
            .contains("for fields.owner = \"ann\"")
    );
    engine
        .advance(bob, &a, Move::transition("to_mine"))
        .unwrap();
    // A patch that changes the key is counted under the new key.
    let refused = refusal(engine.advance(
        ann2,
        &a,
        Move::transition("to_mine").patch(json!({"owner": "bob"})),
    ));
    assert!(refused.reasons[0].message.contains("\"bob\""));
    engine
        .advance(
            ann2,
            &a,
            Move::transition("to_mine").patch(json!({"owner": "cy"})),
        )
        .unwrap();
}

#[test]
fn roles_gate_transitions() {
    let (engine, _) = engine(BOARD, board_checks());
    let item = engine
        .create(
            &anyone(),
            NewItem::of("board").fields(json!({"tests": "green", "lines": 5, "summary": "s"})),
        )
        .unwrap();
    engine
        .advance(item.id(), &anyone(), Move::transition("start"))
        .unwrap();
    let nobody = Actor::new("guest", []);
    let refused = refusal(engine.advance(item.id(), &nobody, Move::transition("submit")));
    assert_eq!(refused.ids(), ["role"]);
    assert_eq!(
        refused.reasons[0].message,
        "`submit` may be fired by `author`; guest has no role"
    );
    engine
        .advance(item.id(), &anyone(), Move::transition("submit"))
        .unwrap();
}

#[test]
fn children_and_dependency_assertions_name_the_items_that_fail() {
    let text = r#"
workflow: stream
version: 1
workstations:
  active: { initial: true, exit: [ { assert: children.*.workstation, op: all_in, value: [done, cancel], id: children_closed } ] }
  waiting: { entry: [ { assert: deps.*.outcome, op: all_eq, value: done, id: deps_done } ] }
  completed: { terminal: true }
  done: { terminal: true }
  cancel: { terminal: true, outcome: cancelled }
transitions:
  complete: { from: active, to: completed }
  park: { from: active, to: waiting }
  finish: { from: [active, waiting], to: done }
  drop: { from: [active, waiting], to: cancel }
"#;
    let (engine, _) = engine(text, Checks::new());
    let a = anyone();
    let stream = engine.create(&a, NewItem::of("stream")).unwrap();
    let kids: Vec<ItemId> = (0..3)
        .map(|_| {
            engine
                .create(&a, NewItem::of("stream").parent(stream.id()))
                .unwrap()
                .id()
        })
        .collect();
    engine
        .advance(kids[0], &a, Move::transition("finish"))
        .unwrap();
    let refused = refusal(engine.advance(stream.id(), &a, Move::transition("complete")));
    assert_eq!(refused.ids(), ["children_closed"]);
    assert_eq!(refused.reasons[0].items, kids[1..]);
    assert_eq!(
        refused.reasons[0].message,
        format!(
            "`children.*.workstation`: every value must be one of [\"done\",\"cancel\"]; 2 of 3 do not: {} (\"active\"), {} (\"active\")",
            kids[1], kids[2]
        )
    );
    // A file message replaces the engine's, but the printed reason still names the items.
    let with_message = text.replace(
        "id: children_closed }",
        "id: children_closed, message: close every child first }",
    );
    let (other, _) = engine_for(&with_message);
    let s = other.create(&a, NewItem::of("stream")).unwrap();
    let kid = other
        .create(&a, NewItem::of("stream").parent(s.id()))
        .unwrap();
    let refused = refusal(other.advance(s.id(), &a, Move::transition("complete")));
    assert_eq!(
        refused.reasons[0].to_string(),
        format!(
            "[children_closed] close every child first (items {})",
            kid.id()
        )
    );
    for &k in &kids[1..] {
        engine.advance(k, &a, Move::transition("drop")).unwrap();
    }
    engine
        .advance(stream.id(), &a, Move::transition("complete"))
        .unwrap();

    // deps.*: entering `waiting` needs every dependency done.
    let dependent = engine.create(&a, NewItem::of("stream")).unwrap();
    engine.add_dependency(dependent.id(), kids[0], &a).unwrap();
    engine.add_dependency(dependent.id(), kids[1], &a).unwrap();
    let refused = refusal(engine.advance(dependent.id(), &a, Move::transition("park")));
    assert_eq!(refused.ids(), ["deps_done"]);
    assert_eq!(refused.reasons[0].items, [kids[1]]);
    engine
        .remove_dependency(dependent.id(), kids[1], &a)
        .unwrap();
    engine
        .advance(dependent.id(), &a, Move::transition("park"))
        .unwrap();
}

#[test]
fn dependency_cycles_are_refused_with_the_cycle() {
    let (engine, _) = engine(BOARD, board_checks());
    let a = anyone();
    let ids: Vec<ItemId> = (0..3)
        .map(|_| engine.create(&a, NewItem::of("board")).unwrap().id())
        .collect();
    engine.add_dependency(ids[1], ids[0], &a).unwrap();
    engine.add_dependency(ids[2], ids[1], &a).unwrap();
    let refused = refusal(engine.add_dependency(ids[0], ids[2], &a));
    assert_eq!(refused.ids(), ["cycle"]);
    assert_eq!(refused.reasons[0].items, [ids[0], ids[2], ids[1], ids[0]]);
    assert_eq!(
        refused.reasons[0].message,
        format!(
            "item {} cannot depend on {}: that would close the cycle {} -> {} -> {} -> {}",
            ids[0], ids[2], ids[0], ids[2], ids[1], ids[0]
        )
    );
    assert_eq!(
        refusal(engine.add_dependency(ids[0], ids[0], &a)).ids(),
        ["cycle"]
    );
    assert_eq!(
        refusal(engine.add_dependency(ids[1], ids[0], &a)).ids(),
        ["already_depends"]
    );
    assert!(matches!(
        engine.add_dependency(ids[0], ItemId(999), &a),
        Err(Error::NotFound(ItemId(999)))
    ));
    assert_eq!(
        engine.history(ids[0]).unwrap().len(),
        1,
        "nothing was written"
    );
}

#[test]
fn an_unnamed_check_is_named_after_the_check_wherever_it_is_asserted() {
    let text = "workflow: t\nversion: 1\nchecks: [signed]\nworkstations:\n  a: { initial: true, exit: [ { check: signed } ] }\n  b: { terminal: true, entry: [ { check: signed, id: signed } ] }\ntransitions:\n  go: { from: a, to: b, requires: [ { check: signed, message: sign it first } ] }\n";
    let (engine, _) = engine(
        text,
        Checks::new().add("signed", |_| Verdict::fail("not signed")),
    );
    let item = engine.create(&anyone(), NewItem::of("t")).unwrap();
    let refused = refusal(engine.advance(item.id(), &anyone(), Move::transition("go")));
    assert_eq!(refused.ids(), ["signed", "signed", "signed"]);
    let kinds: Vec<ReasonKind> = refused.reasons.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [ReasonKind::Exit, ReasonKind::Requires, ReasonKind::Entry],
        "the kind tells the places apart"
    );
    assert_eq!(refused.reasons[1].message, "sign it first");
}

#[test]
fn checks_see_the_patched_item_the_actor_the_target_and_the_store() {
    let text = r#"
workflow: pay
version: 1
checks: [receipt_matches]
workstations:
  pending: { initial: true }
  paid: { terminal: true, entry: [ { check: receipt_matches } ] }
transitions:
  fulfil: { from: pending, to: paid }
"#;
    let checks = Checks::new().add("receipt_matches", |cx| {
        assert_eq!(cx.transition(), Some("fulfil"));
        assert_eq!(cx.target(), "paid");
        assert_eq!(cx.item().workstation(), "pending");
        let Some(invoice) = cx.item().field("invoice").and_then(Value::as_u64) else {
            return Verdict::fail("no invoice");
        };
        let invoice = cx.reader().item(ItemId(invoice)).ok().flatten();
        let amount = invoice.as_ref().and_then(|i| i.field("amount").cloned());
        if amount.as_ref() == cx.item().field("received") {
            Verdict::Pass
        } else {
            Verdict::fail_with(
                format!(
                    "{} received, {} invoiced",
                    cx.actor().id(),
                    amount.unwrap_or(Value::Null)
                ),
                json!({"invoice": invoice.map(|i| i.id())}),
            )
        }
    });
    let (engine, _) = engine(text, checks);
    let a = anyone();
    let invoice = engine
        .create(&a, NewItem::of("pay").fields(json!({"amount": "10.00"})))
        .unwrap();
    let payment = engine
        .create(
            &a,
            NewItem::of("pay").fields(json!({"invoice": invoice.id().0})),
        )
        .unwrap();
    let refused = refusal(engine.advance(
        payment.id(),
        &a,
        Move::transition("fulfil").patch(json!({"received": "9.99"})),
    ));
    assert_eq!(refused.ids(), ["receipt_matches"]);
    assert_eq!(
        refused.reasons[0].message,
        "ann received, \"10.00\" invoiced"
    );
    assert_eq!(refused.reasons[0].details, json!({"invoice": invoice.id()}));
    engine
        .advance(
            payment.id(),
            &a,
            Move::transition("fulfil").patch(json!({"received": "10.00"})),
        )
        .unwrap();
}

#[test]
fn building_fails_on_every_missing_check_and_on_conflicting_versions() {
    let err = Engine::builder()
        .store(MemoryStore::new())
        .workflow(workflow(BOARD))
        .workflow(workflow(
            &BOARD
                .replace("checks: [tests_pass]", "checks: [tests_pass, lint_clean]")
                .replace("version: 1", "version: 2")
                .replace(
                    "- { check: tests_pass }",
                    "- { check: tests_pass }\n      - { check: lint_clean }",
                ),
        ))
        .build()
        .unwrap_err();
    let BuildError::MissingChecks(missing) = &err else {
        panic!("{err}");
    };
    let names: Vec<(u32, &str)> = missing
        .iter()
        .map(|m| (m.version, m.check.as_str()))
        .collect();
    assert_eq!(
        names,
        [(1, "tests_pass"), (2, "lint_clean"), (2, "tests_pass")]
    );
    assert_eq!(
        err.to_string(),
        "3 check(s) named by the workflows are not registered: `tests_pass` (workflow `board` v1), `lint_clean` (workflow `board` v2), `tests_pass` (workflow `board` v2)"
    );

    let err = Engine::builder()
        .store(MemoryStore::new())
        .workflow(workflow(BOARD))
        .workflow(workflow(&BOARD.replace("max: 1", "max: 2")))
        .checks(board_checks())
        .build()
        .unwrap_err();
    assert!(
        matches!(err, BuildError::ConflictingVersions { version: 1, .. }),
        "{err}"
    );
}

#[test]
fn items_keep_their_version_and_are_never_moved_under_another() {
    let v1 = workflow(BOARD);
    let v2 = workflow(
        &BOARD
            .replace("version: 1", "version: 2")
            .replace("max: 1", "max: 5"),
    );
    let store = std::sync::Arc::new(MemoryStore::new());
    let both = Engine::builder()
        .store(store.clone())
        .workflow(v1.clone())
        .workflow(v2.clone())
        .checks(board_checks())
        .build()
        .unwrap();
    let a = anyone();
    let new = both.create(&a, NewItem::of("board")).unwrap();
    assert_eq!(new.version(), 2, "new items use the newest version");
    assert_eq!(new.definition(), v2.definition_hash());
    let old = both.create(&a, NewItem::of("board").version(1)).unwrap();
    assert_eq!(old.version(), 1);
    both.advance(old.id(), &a, Move::transition("start"))
        .unwrap();

    // An engine that only knows v2 refuses to touch the v1 item.
    let only_v2 = Engine::builder()
        .store(store.clone())
        .workflow(v2)
        .checks(board_checks())
        .build()
        .unwrap();
    let err = only_v2
        .advance(old.id(), &a, Move::transition("close"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "item {} keeps `board` version 1, which this engine has not loaded (loaded: 2); load that version to work on it",
            old.id()
        )
    );
    // Creating under a version it has not loaded names the versions it has, not a
    // placeholder item.
    let err = only_v2
        .create(&a, NewItem::of("board").version(1))
        .unwrap_err();
    assert!(
        matches!(&err, Error::VersionNotLoaded { item: None, version: 1, loaded, .. } if loaded == &[2]),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "a new item asks for `board` version 1, which this engine has not loaded (loaded: 2); load that version to work on it"
    );
    // An engine whose v1 is a different definition refuses too.
    let edited_v1 = workflow(&BOARD.replace("max: 1", "max: 9"));
    let edited = Engine::builder()
        .store(store)
        .workflow(edited_v1)
        .checks(board_checks())
        .build()
        .unwrap();
    let err = edited
        .advance(old.id(), &a, Move::transition("close"))
        .unwrap_err();
    assert!(
        matches!(err, Error::DefinitionMismatch { version: 1, .. }),
        "{err}"
    );
    assert_eq!(
        both.history(old.id()).unwrap().len(),
        2,
        "nothing was written"
    );
}

#[test]
fn explain_lists_each_transition_with_all_its_reasons() {
    let (engine, _) = engine(BOARD, board_checks());
    let ann = anyone();
    let item = engine
        .create(
            &ann,
            NewItem::of("board").fields(json!({"tests": "red", "lines": 900, "author": "ann"})),
        )
        .unwrap();
    engine
        .advance(item.id(), &ann, Move::transition("start"))
        .unwrap();
    engine.hold(item.id(), &ann, "blocked", "flaky CI").unwrap();
    let explanation = engine.explain(item.id(), &ann).unwrap();
    assert!(!explanation.transition("submit").unwrap().allowed());
    // Programs can hand an explanation, a refusal and an audit out as JSON.
    let json = serde_json::to_value(&explanation).unwrap();
    assert_eq!(json["item"]["workstation"], "coding");
    assert_eq!(json["transitions"][0]["reasons"][0]["id"], "held");
    let refused = engine
        .advance(item.id(), &ann, Move::transition("submit"))
        .unwrap_err();
    let json = serde_json::to_value(refused.refused().unwrap()).unwrap();
    assert_eq!(json["reasons"][1]["id"], "tests_pass", "{json}");
    let report = serde_json::to_value(engine.audit().unwrap()).unwrap();
    assert_eq!(report["problems"], json!([]), "{report}");
    let problem = serde_json::to_value(workstream::Problem::Gap {
        expected: 2,
        found: 3,
    })
    .unwrap();
    assert_eq!(
        problem,
        json!({"kind": "gap", "detail": {"expected": 2, "found": 3}})
    );
    let problem = serde_json::to_value(workstream::Problem::Unreadable("x".into())).unwrap();
    assert_eq!(problem, json!({"kind": "unreadable", "detail": "x"}));
    assert_eq!(
        explanation.to_string(),
        format!(
            "item {} (board v1) is in `coding`
  held `blocked` by ann: flaky CI
  signals: blocked
    blocked: [tests_pass] the tests must be green
  submit -> review: blocked
    - [held] the item is held: `blocked` (flaky CI)
    - [tests_pass] the tests must be green
    - [small_change] `fields.lines` must be at most 400, but it is 900
    - [has_summary] write a summary first
  close -> closed: blocked
    - [role] `close` may be fired by `lead`; ann has `author`
    - [tests_pass] the tests must be green",
            item.id()
        )
    );
    // Exit assertions hold every transition out, `close` too; a lead with green tests may.
    engine
        .update_fields(item.id(), &ann, json!({"tests": "green"}))
        .unwrap();
    let lead = Actor::new("lee", ["lead"]);
    assert!(
        engine
            .explain(item.id(), &lead)
            .unwrap()
            .transition("close")
            .unwrap()
            .allowed()
    );
}

#[test]
fn bad_fields_and_patches_are_refused_with_a_clear_error() {
    let (engine, _) = engine(BOARD, board_checks());
    let a = anyone();
    let err = engine
        .create(&a, NewItem::of("board").fields(json!([1])))
        .unwrap_err();
    assert_eq!(err.to_string(), "fields must be a JSON object, not a list");
    let item = engine.create(&a, NewItem::of("board")).unwrap();
    let err = engine.update_fields(item.id(), &a, json!("x")).unwrap_err();
    assert!(matches!(err, Error::InvalidFields(_)));
    let err = engine
        .advance(item.id(), &a, Move::transition("start").patch(json!(3)))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidFields(_)));
    assert!(matches!(engine.item(ItemId(42)), Err(Error::NotFound(_))));
    assert_eq!(engine.history(item.id()).unwrap().len(), 1);
}

#[test]
fn every_change_is_one_event_with_actor_reason_payload_and_hashes() {
    let (engine, clock) = engine(BOARD, board_checks());
    let ann = anyone();
    let item = engine
        .create(
            &ann,
            NewItem::of("board")
                .reason("from the backlog")
                .payload(json!({"ticket": 7})),
        )
        .unwrap();
    clock.advance(TimeDelta::minutes(3));
    engine
        .advance(
            item.id(),
            &ann,
            Move::transition("start")
                .reason("picked up")
                .payload(json!({"branch": "b"})),
        )
        .unwrap();
    let events = engine.history(item.id()).unwrap();
    assert_eq!(events.len(), 2);
    let e = &events[1];
    assert_eq!(
        (e.seq(), e.actor(), e.reason()),
        (2, "ann", Some("picked up"))
    );
    assert_eq!(e.payload(), &json!({"branch": "b"}));
    assert_eq!(e.at(), t0() + TimeDelta::minutes(3));
    assert_eq!(
        e.definition(),
        engine.workflow("board").unwrap().definition_hash()
    );
    assert_eq!(e.prev(), events[0].hash());
    assert_eq!(*e.hash(), e.compute_hash());
    // Each event names the exact text its engine had loaded.
    let source = engine.workflow("board").unwrap().source_hash();
    assert!(events.iter().all(|e| e.source() == Some(source)));
    assert!(
        e.canonical_json()
            .contains(&format!("\"source\":\"{source}\""))
    );
    assert_eq!(events[0].payload(), &json!({"ticket": 7}));
    let Change::Transitioned {
        transition,
        from,
        to,
        outcome,
        ..
    } = &e.change()
    else {
        panic!("a move");
    };
    assert_eq!(
        (transition.as_str(), from.as_str(), to.as_str(), *outcome),
        ("start", "open", "coding", None)
    );
    assert_eq!(engine.verify_all().unwrap().events, 2);
}

#[test]
fn the_evaluation_task_refuses_its_impossible_moves() {
    let text = include_str!("../examples/workflows/evaluation_task.yaml");
    let wf = workflow(text);
    let checks = wf.checks().iter().fold(Checks::new(), |c, name| {
        c.add(name.clone(), |_| Verdict::Pass)
    });
    let clock = ManualClock::new(t0());
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(wf)
        .checks(checks)
        .clock(clock)
        .build()
        .unwrap();
    let reviewer = Actor::new("rae", ["reviewer"]);
    for from in ["needs_revision", "submitted"] {
        // Walk an item to `from` through the engine's own moves would need the whole loop;
        // what matters here is the table: `accept` cannot fire from either.
        let wf = engine.workflow("evaluation_task").unwrap();
        let w = wf.workstation_id(from).unwrap();
        let accept = wf.transition_id("accept").unwrap();
        assert_eq!(wf.target(w, accept), None, "accept from {from}");
    }
    let item = engine
        .create(
            &Actor::new("op", ["operator"]),
            NewItem::of("evaluation_task"),
        )
        .unwrap();
    let refused = refusal(engine.advance(item.id(), &reviewer, Move::transition("accept")));
    assert_eq!(refused.ids(), ["not_allowed"]);
}

const GATED: &str = r#"
workflow: gated
version: 1
checks: [signed, gate_passed]
workstations:
  open:
    initial: true
    exit:
      - { check: signed }
  checked: {}
  done: { terminal: true }
transitions:
  check:
    from: open
    to: checked
  pass:
    from: checked
    to: done
    requires:
      - { not: { check: gate_passed }, id: not_gated }
      - { any: [ { check: gate_passed }, { assert: fields.waived, op: eq, value: true } ], id: passed_or_waived }
      - { all: [ { check: signed }, { assert: fields.n, op: gte, value: 1 } ], id: signed_and_counted }
      - { not: { all: [ { check: signed }, { assert: fields.n, op: gte, value: 1 } ] }, id: not_both }
      - { any: [ { check: gate_passed }, { assert: fields.n, op: eq, value: 5 } ], id: unknown_or_false }
      - { not: { all: [ { check: gate_passed }, { check: signed } ] }, id: not_all_unknown }
"#;

#[test]
fn without_the_program_s_checks_an_assertion_on_them_is_unknown_not_guessed() {
    // Without the flag the engine still refuses to start.
    let err = Engine::builder()
        .store(MemoryStore::new())
        .workflow(workflow(GATED))
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::MissingChecks(_)), "{err}");

    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(workflow(GATED))
        .allow_missing_checks()
        .build()
        .unwrap();
    let item = engine
        .create(
            &anyone(),
            NewItem::of("gated").fields(json!({"waived": true, "n": 0})),
        )
        .unwrap();
    // The exit assertion is unknown: not counted as blocking, set apart.
    let signals = engine.signals(item.id()).unwrap();
    assert!(!signals.has(Signal::Blocked), "{signals:?}");
    assert_eq!(signals.unevaluable.len(), 1);
    assert_eq!(signals.unevaluable[0].kind, ReasonKind::Unevaluable);
    assert!(
        signals.unevaluable[0]
            .message
            .contains("not evaluable outside the program"),
        "{}",
        signals.unevaluable[0].message
    );
    // A move that needs it is refused, with the unknown named.
    let refused = refusal(engine.advance(item.id(), &anyone(), Move::transition("check")));
    let kinds: Vec<ReasonKind> = refused.reasons.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [ReasonKind::Unevaluable]);

    // Three-valued: `not` of unknown is unknown, `any` with a true member holds, `all` with
    // a false member is false (so `not_both` holds), `any` of unknown and false is unknown,
    // `not` of an `all` of unknowns is unknown; the members of a top-level `all` are reasons
    // one by one.
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(workflow(
            &GATED.replace("      - { check: signed }\n  checked", "  checked"),
        ))
        .allow_missing_checks()
        .build()
        .unwrap();
    let item = engine
        .create(
            &anyone(),
            NewItem::of("gated").fields(json!({"waived": true, "n": 0})),
        )
        .unwrap();
    engine
        .advance(item.id(), &anyone(), Move::transition("check"))
        .unwrap();
    let explained = engine.explain(item.id(), &anyone()).unwrap();
    let pass = explained.transition("pass").unwrap();
    let reasons: Vec<(&str, ReasonKind)> = pass
        .reasons
        .iter()
        .map(|r| (r.id.as_str(), r.kind))
        .collect();
    assert_eq!(
        reasons,
        [
            ("not_gated", ReasonKind::Unevaluable),
            ("signed", ReasonKind::Unevaluable),
            ("signed_and_counted.1", ReasonKind::Requires),
            ("unknown_or_false", ReasonKind::Unevaluable),
            ("not_all_unknown", ReasonKind::Unevaluable),
        ]
    );
    assert!(!pass.allowed());
}
