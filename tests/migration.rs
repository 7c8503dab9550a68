//! Versions of a workflow side by side in one engine, and the migrations between them.

use workstream::prelude::*;
use workstream::{BuildError, MemoryStore};

const V1: &str = "\
workflow: task
version: 1
holds: [blocked]
workstations:
  draft: { initial: true }
  review: {}
  needs_revision: {}
  accepted: { terminal: true }
transitions:
  submit: { from: [draft, needs_revision], to: review }
  send_back: { from: review, to: needs_revision }
  accept: { from: review, to: accepted }
";

const V2: &str = "\
workflow: task
version: 2
holds: [waiting]
workstations:
  draft: { initial: true }
  review: {}
  revision_requested: {}
  accepted: { terminal: true }
transitions:
  submit: { from: [draft, revision_requested], to: review }
  send_back: { from: review, to: revision_requested }
  accept: { from: review, to: accepted }
migrations:
  - from: 1
    workstations: { needs_revision: revision_requested }
    holds: { blocked: waiting }
";

fn load(origin: &str, text: &str) -> Workflow {
    parse(origin, text).unwrap_or_else(|d| panic!("{d}"))
}

#[test]
fn an_engine_is_built_over_versions_whose_migration_fits() {
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(load("v1", V1))
        .workflow(load("v2", V2))
        .build();
    assert!(engine.is_ok(), "{:?}", engine.err());
}

#[test]
fn an_engine_is_not_built_over_versions_whose_migration_does_not_fit() {
    let bad = V2.replace(
        "    workstations: { needs_revision: revision_requested }\n",
        "",
    );
    let err = Engine::builder()
        .store(MemoryStore::new())
        .workflow(load("v1", V1))
        .workflow(load("task.v2.yaml", &bad))
        .build()
        .expect_err("refused");
    let text = err.to_string();
    assert!(matches!(err, BuildError::Migrations(_)), "{text}");
    assert!(
        text.contains("items in `needs_revision` of version 1 map to nothing"),
        "{text}"
    );
    assert!(text.contains("task.v2.yaml:"), "{text}");
}
