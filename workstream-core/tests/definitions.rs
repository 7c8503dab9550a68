//! The seed workflows: they validate, their hashes are stable under reformatting and change
//! with meaning, they round-trip through `to_yaml`, and their diagrams match the snapshots.

use std::fs;
use std::path::{Path, PathBuf};

use workstream_core::{Workflow, parse};

const SEEDS: &[&str] = &[
    "evaluation_task",
    "ai_job",
    "flowos_task",
    "state_hub_workstream",
];

fn seed_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/workflows")
        .join(format!("{name}.yaml"))
}

fn seed_text(name: &str) -> String {
    fs::read_to_string(seed_path(name)).unwrap()
}

fn load(name: &str, text: &str) -> Workflow {
    parse(name, text).unwrap_or_else(|d| panic!("{d}"))
}

#[test]
fn seed_workflows_validate_without_errors() {
    for seed in SEEDS {
        let wf = load(seed, &seed_text(seed));
        assert!(wf.warnings().is_empty(), "{seed}: {:?}", wf.warnings());
        for w in wf.workstations() {
            assert!(
                w.description().is_some(),
                "{seed}: {} has no description",
                w.name()
            );
        }
    }
}

#[test]
fn evaluation_task_has_exactly_the_s1_lifecycle() {
    let wf = load("evaluation_task", &seed_text("evaluation_task"));
    let names: Vec<&str> = wf.workstations().iter().map(|w| w.name()).collect();
    assert_eq!(
        names,
        [
            "draft",
            "screening",
            "ready",
            "claimed",
            "in_progress",
            "submitted",
            "evaluation_pending",
            "review_pending",
            "needs_revision",
            "accepted",
            "rejected",
            "cancelled"
        ]
    );
    let mut edges: Vec<(String, String)> = Vec::new();
    for t in wf.transitions() {
        for &f in t.from() {
            edges.push((
                wf.workstation(f).name().to_owned(),
                wf.workstation(t.to()).name().to_owned(),
            ));
        }
    }
    edges.sort();
    let mut want: Vec<(String, String)> = [
        ("draft", "screening"),
        ("screening", "ready"),
        ("screening", "draft"),
        ("ready", "claimed"),
        ("claimed", "in_progress"),
        ("in_progress", "submitted"),
        ("submitted", "evaluation_pending"),
        ("evaluation_pending", "review_pending"),
        ("evaluation_pending", "needs_revision"),
        ("review_pending", "evaluation_pending"),
        ("review_pending", "accepted"),
        ("review_pending", "needs_revision"),
        ("review_pending", "rejected"),
        ("needs_revision", "submitted"),
        ("needs_revision", "cancelled"),
        ("draft", "cancelled"),
        ("screening", "cancelled"),
        ("ready", "cancelled"),
        ("claimed", "cancelled"),
        ("in_progress", "cancelled"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    want.sort();
    assert_eq!(edges, want);

    // The explicitly impossible moves: no transition leads to `accepted` from there.
    let accepted = wf.workstation_id("accepted").unwrap();
    for from in ["needs_revision", "submitted"] {
        let from = wf.workstation_id(from).unwrap();
        assert_eq!(wf.transitions_between(from, accepted).count(), 0);
        let accept = wf.transition_id("accept").unwrap();
        assert_eq!(wf.target(from, accept), None);
    }
    let review_pending = wf.workstation_id("review_pending").unwrap();
    let accept = wf.transition_id("accept").unwrap();
    assert_eq!(wf.target(review_pending, accept), Some(accepted));
}

#[test]
fn lookups_agree_with_the_transition_list() {
    for seed in SEEDS {
        let wf = load(seed, &seed_text(seed));
        for (t_index, t) in wf.transitions().iter().enumerate() {
            let t_id = wf.transition_id(t.name()).unwrap();
            assert_eq!(t_id.index(), t_index);
            for w in wf.workstations() {
                let w_id = wf.workstation_id(w.name()).unwrap();
                let expected = t.from().contains(&w_id).then_some(t.to());
                assert_eq!(
                    wf.target(w_id, t_id),
                    expected,
                    "{seed}: {} from {}",
                    t.name(),
                    w.name()
                );
                assert_eq!(wf.outgoing(w_id).contains(&t_id), expected.is_some());
            }
        }
    }
}

#[test]
fn valid_files_round_trip_to_the_same_hash() {
    for seed in SEEDS {
        let wf = load(seed, &seed_text(seed));
        let again = load(seed, &wf.to_yaml());
        assert_eq!(wf.canonical_json(), again.canonical_json(), "{seed}");
        assert_eq!(wf.definition_hash(), again.definition_hash(), "{seed}");
        // And the normalized form is a fixed point.
        assert_eq!(wf.to_yaml(), again.to_yaml(), "{seed}");
    }
}

const SMALL: &str = r#"
workflow: review   # a comment
version: 1
roles: [author, reviewer]
workstations:
  open:   { initial: true, sla: 24h }
  merged: { terminal: true }
  closed: { terminal: true, outcome: cancelled }
transitions:
  merge:
    from: open
    to: merged
    by: [reviewer]
    requires:
      - { assert: actor.id, op: ne, value_from: fields.author, id: no_self_merge }
  close: { from: "*", to: closed, by: [author, reviewer] }
"#;

/// The same meaning as `SMALL`, written differently: comments, key order, flow vs block
/// style, quoting, list order of sets, `"*"` spelled out, a default written out, 1d for 24h.
const SMALL_REFORMATTED: &str = r#"
# Reformatted.
version: 1
workflow: "review"
workstations:
  open:
    sla: 1d
    initial: true
  merged:
    terminal: true
    outcome: done
  closed: {outcome: 'cancelled', terminal: true}
roles:
  - author
  - reviewer
signals: { stalled: { idle_for: 7d } }
transitions:
  merge: {to: merged, from: [open], requires: [{op: ne, id: no_self_merge, assert: actor.id, value_from: fields.author}], by: [reviewer]}
  close:
    by: [reviewer, author]
    to: closed
    from: [open]
"#;

#[test]
fn formatting_does_not_change_the_hash() {
    let a = load("a", SMALL);
    let b = load("b", SMALL_REFORMATTED);
    assert_eq!(a.canonical_json(), b.canonical_json());
    assert_eq!(a.definition_hash(), b.definition_hash());
}

const DECIDING: &str = r#"
workflow: review
version: 1
description: Code review.
roles: [author, reviewer]
checks: [ci_green]
holds: [blocked]
workstations:
  open:
    initial: true
    description: Being written.
    sla: 24h
    exit: [ { check: ci_green, message: CI must be green } ]
  review:
    wip: { max: 3, per: fields.team }
    entry: [ { assert: fields.title, op: exists, id: has_title, message: a title } ]
  merged: { terminal: true }
  closed: { terminal: true, outcome: cancelled }
transitions:
  submit: { from: open, to: review, by: [author], description: Ask for review. }
  send_back: { from: review, to: open, rework: true }
  merge:
    from: review
    to: merged
    by: [reviewer]
    requires:
      - { assert: actor.id, op: ne, value_from: fields.author, id: no_self_merge }
      - all: [ { check: ci_green }, { assert: fields.size, op: lt, value: 500 } ]
  close: { from: "*", to: closed, by: [author, reviewer] }
"#;

/// Edits of what decides moves: each changes the definition hash (and the 0.1 hash).
#[test]
fn every_decision_edit_changes_the_hash() {
    let base = load("base", DECIDING);
    let changes: &[(&str, &str)] = &[
        ("version: 1", "version: 2"),
        ("workflow: review", "workflow: review_two"),
        (
            "roles: [author, reviewer]",
            "roles: [author, reviewer, admin]",
        ),
        ("checks: [ci_green]", "checks: [ci_green, lint]"),
        ("holds: [blocked]", "holds: [blocked, waiting]"),
        ("sla: 24h", "sla: 25h"),
        ("wip: { max: 3,", "wip: { max: 4,"),
        ("per: fields.team }", "per: fields.team, soft: true }"),
        ("op: exists, id: has_title", "op: not_exists, id: has_title"),
        (
            "  merged: { terminal: true }",
            "  merged: { terminal: true, outcome: rejected }",
        ),
        ("outcome: cancelled", "outcome: rejected"),
        (
            "by: [author], description",
            "by: [author, reviewer], description",
        ),
        ("to: open, rework: true", "to: open, rework: false"),
        ("to: open, rework: true", "to: closed, rework: true"),
        ("op: ne", "op: eq"),
        ("value_from: fields.author", "value_from: fields.owner"),
        ("op: lt, value: 500", "op: lt, value: 501"),
        ("all: [", "any: ["),
        ("{ check: ci_green }, ", ""),
        (
            "close: { from: \"*\"",
            "close: { allow_held: true, from: \"*\"",
        ),
        (
            "version: 1\n",
            "version: 1\nsignals: { oldies: { age: 3d } }\n",
        ),
        (
            "version: 1\n",
            "version: 1\nsignals: { stalled: { idle_for: 3d } }\n",
        ),
    ];
    for (from, to) in changes {
        assert!(DECIDING.contains(from), "{from}");
        let changed = load("changed", &DECIDING.replacen(from, to, 1));
        assert_ne!(
            base.definition_hash(),
            changed.definition_hash(),
            "changing `{from}` to `{to}` kept the hash"
        );
        assert_ne!(base.format1_hash(), changed.format1_hash(), "{from}");
    }
}

/// Edits of texts for people: each keeps the definition hash, so items keep moving; the
/// source hash, which names the exact text, changes with each (and so did 0.1's hash).
#[test]
fn every_text_edit_keeps_the_hash() {
    let base = load("base", DECIDING);
    let changes: &[(&str, &str)] = &[
        (
            "description: Code review.",
            "description: Code review, in two steps.",
        ),
        (
            "description: Being written.",
            "description: Still being written.",
        ),
        ("description: Ask for review. }", "description: Ask. }"),
        ("message: CI must be green", "message: wait for CI"),
        ("message: a title", "message: every change needs a title"),
        ("id: has_title", "id: titled"),
        ("id: no_self_merge", "id: not_self"),
        (
            "{ check: ci_green, message",
            "{ check: ci_green, id: green, message",
        ),
        (
            "workflow: review\n",
            "workflow: review   # the review flow\n",
        ),
    ];
    for (from, to) in changes {
        assert!(DECIDING.contains(from), "{from}");
        let changed = load("changed", &DECIDING.replacen(from, to, 1));
        assert_eq!(
            base.definition_hash(),
            changed.definition_hash(),
            "changing `{from}` to `{to}` changed the hash"
        );
        assert_ne!(base.source_hash(), changed.source_hash(), "{from}");
    }
    // Descriptions, messages and given ids were in 0.1's hash.
    let described = load("d", &DECIDING.replacen("Code review.", "Reviews.", 1));
    assert_ne!(base.format1_hash(), described.format1_hash());
}

/// Compares `actual` with the snapshot file; `UPDATE_SNAPSHOTS=1` rewrites it instead.
fn snapshot(file: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(file);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing snapshot {file}; run with UPDATE_SNAPSHOTS=1"));
    assert_eq!(
        actual, expected,
        "{file} differs; review and run with UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn exports_match_their_snapshots() {
    for seed in SEEDS {
        let wf = load(seed, &seed_text(seed));
        snapshot(&format!("{seed}.mmd"), &wf.to_mermaid());
        snapshot(&format!("{seed}.dot"), &wf.to_dot());
    }
}

#[test]
fn exports_mark_initial_terminal_guards_roles_and_rework() {
    let wf = load("small", SMALL);
    let mermaid = wf.to_mermaid();
    assert!(mermaid.starts_with("stateDiagram-v2\n"));
    assert!(mermaid.contains("[*] --> open\n"));
    assert!(mermaid.contains("merged --> [*]\n"));
    assert!(mermaid.contains("open --> merged : merge [no_self_merge] by reviewer\n"));
    let dot = wf.to_dot();
    assert!(dot.contains("__start -> open;"));
    assert!(dot.contains("merged [shape=doublecircle"));
    assert!(dot.contains(
        "open -> merged [label=\"merge [no_self_merge] by reviewer\", color=darkorange];"
    ));
    let eval = load("evaluation_task", &seed_text("evaluation_task"));
    assert!(eval.to_mermaid().contains("(rework)"));
    assert!(eval.to_dot().contains("style=dashed"));
}
