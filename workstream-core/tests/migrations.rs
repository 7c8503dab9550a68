//! Migrations declared in a newer version, checked against the older one: every problem at
//! its place in the newer file, all at once.

use workstream_core::{Code, Workflow, parse};

const V1: &str = "\
workflow: task
version: 1
holds: [blocked]
workstations:
  draft: { initial: true }
  review: {}
  needs_revision: {}
  accepted: { terminal: true }
  rejected: { terminal: true, outcome: rejected }
transitions:
  submit: { from: [draft, needs_revision], to: review }
  send_back: { from: review, to: needs_revision }
  accept: { from: review, to: accepted }
  reject: { from: review, to: rejected }
";

fn load(origin: &str, text: &str) -> Workflow {
    parse(origin, text).unwrap_or_else(|d| panic!("{d}"))
}

fn v2(migration: &str) -> Workflow {
    let text = format!(
        "\
workflow: task
version: 2
holds: [waiting]
workstations:
  draft: {{ initial: true }}
  review: {{}}
  security_review: {{}}
  revision_requested: {{}}
  accepted: {{ terminal: true }}
  rejected: {{ terminal: true, outcome: rejected }}
transitions:
  submit: {{ from: [draft, revision_requested], to: review }}
  send_back: {{ from: [review, security_review], to: revision_requested }}
  pass: {{ from: review, to: security_review }}
  accept: {{ from: security_review, to: accepted }}
  reject: {{ from: [review, security_review], to: rejected }}
migrations:
{migration}"
    );
    load("task.v2.yaml", &text)
}

#[test]
fn a_migration_that_maps_everything_checks_out() {
    let v1 = load("task.v1.yaml", V1);
    let v2 = v2("  - from: 1
    workstations: { needs_revision: revision_requested }
    holds: { blocked: waiting }
");
    assert_eq!(v2.check_migration(&v1), Ok(()));
    let m = v2.migration_from(1).unwrap();
    assert_eq!(m.workstation("needs_revision"), "revision_requested");
    assert_eq!(
        m.workstation("review"),
        "review",
        "unnamed ones keep their name"
    );
    assert_eq!(m.hold("blocked"), "waiting");
    assert!(v2.migration_from(3).is_none());
}

#[test]
fn every_problem_with_the_older_version_is_named_at_its_place() {
    let v1 = load("task.v1.yaml", V1);
    let v2 = v2("  - from: 1
    workstations: { draft_old: draft, accepted: review, review: draft }
");
    let diagnostics = v2.check_migration(&v1).unwrap_err();
    let found: Vec<(Code, u32, u32)> = diagnostics
        .all()
        .iter()
        .map(|d| (d.code, d.span.line, d.span.column))
        .collect();
    let text = diagnostics.to_string();
    assert!(
        text.contains("version 1 has no workstation `draft_old`"),
        "{text}"
    );
    assert!(
        text.contains("items in `needs_revision` of version 1 map to nothing"),
        "{text}"
    );
    assert!(
        text.contains("terminal in version 1, would leave a terminal"),
        "{text}"
    );
    assert!(
        text.contains("would enter `draft`, the initial workstation"),
        "{text}"
    );
    assert!(
        text.contains("the hold `blocked` of version 1 maps to nothing"),
        "{text}"
    );
    assert!(
        text.contains("task.v2.yaml:19:"),
        "positions in the newer file: {text}"
    );
    assert!(
        found
            .iter()
            .all(|&(code, ..)| code == Code::InvalidMigration),
        "{found:?}"
    );
    assert_eq!(found.len(), 5, "{text}");
}

#[test]
fn reopen_and_restart_allow_what_they_say() {
    let v1 = load("task.v1.yaml", V1);
    let v2 = v2("  - from: 1
    workstations: { needs_revision: revision_requested, accepted: review, review: draft }
    holds: { blocked: waiting }
    reopen: true
    restart: true
");
    assert_eq!(v2.check_migration(&v1), Ok(()));
}

#[test]
fn migrations_are_part_of_the_definition() {
    let a = v2("  - from: 1
    workstations: { needs_revision: revision_requested }
    holds: { blocked: waiting }
");
    let b = v2("  - from: 1
    workstations: { needs_revision: draft }
    holds: { blocked: waiting }
");
    assert_ne!(a.definition_hash(), b.definition_hash());
}

#[test]
fn two_older_holds_may_not_become_one() {
    let v1 = load(
        "task.v1.yaml",
        &V1.replace("holds: [blocked]", "holds: [blocked, paused]"),
    );
    let v2 = v2("  - from: 1
    workstations: { needs_revision: revision_requested }
    holds: { blocked: waiting, paused: waiting }
");
    let text = v2.check_migration(&v1).unwrap_err().to_string();
    assert!(
        text.contains("the holds `blocked` and `paused` of version 1 would both become `waiting`"),
        "{text}"
    );
}
