//! Versions of a workflow side by side in one engine, and the migrations between them.

use workstream::prelude::*;
use workstream::{BuildError, Change, MemoryStore};

const V1: &str = include_str!("workflows/task.v1.yaml");

const V2: &str = include_str!("workflows/task.v2.yaml");

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

fn engine_with(texts: &[(&str, &str)]) -> (Engine<MemoryStore>, ManualClock) {
    let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH + chrono::TimeDelta::days(20_000));
    let mut builder = Engine::builder()
        .store(MemoryStore::new())
        .clock(clock.clone());
    for (origin, text) in texts {
        builder = builder.workflow(load(origin, text));
    }
    (builder.build().unwrap_or_else(|e| panic!("{e}")), clock)
}

fn anyone() -> Actor {
    Actor::new("ann", [])
}

#[test]
fn migrate_moves_an_item_to_the_newer_version_in_one_event() {
    let (engine, clock) = engine_with(&[("v1", V1), ("v2", V2)]);
    let v1 = engine.workflow_version("task", 1).unwrap().clone();
    let v2 = engine.workflow_version("task", 2).unwrap().clone();
    let create_v1 = || {
        engine
            .create(&anyone(), NewItem::of("task").version(1))
            .unwrap()
    };
    let item = create_v1();
    engine
        .advance(item.id(), &anyone(), Move::transition("submit"))
        .unwrap();
    engine
        .advance(item.id(), &anyone(), Move::transition("send_back"))
        .unwrap();
    engine
        .hold(item.id(), &anyone(), "blocked", "waiting on legal")
        .unwrap();
    clock.advance(chrono::TimeDelta::hours(2));

    let migrated = engine
        .migrate(
            item.id(),
            &anyone(),
            2,
            Some("v2 renames the revision step"),
        )
        .unwrap();
    assert_eq!(
        (
            migrated.version(),
            migrated.workstation(),
            migrated.definition()
        ),
        (2, "revision_requested", v2.definition_hash())
    );
    assert!(migrated.holds().contains_key("waiting"));
    assert!(!migrated.holds().contains_key("blocked"));
    let history = engine.history(item.id()).unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.definition(), v2.definition_hash());
    assert_eq!(last.source(), Some(v2.source_hash()));
    assert_eq!(last.reason(), Some("v2 renames the revision step"));
    let Change::Migrated {
        from_version,
        from_definition,
        to_version,
        from_workstation,
        to_workstation,
        holds,
        outcome,
    } = last.change()
    else {
        panic!("a migrated event: {last:?}");
    };
    assert_eq!((*from_version, *to_version), (1, 2));
    assert_eq!(from_definition, v1.definition_hash());
    assert_eq!(
        (from_workstation.as_str(), to_workstation.as_str()),
        ("needs_revision", "revision_requested")
    );
    assert_eq!(holds, &[("blocked".to_owned(), "waiting".to_owned())]);
    assert_eq!(*outcome, None);

    // Replay and verification follow the chain across the versions; the item moves on
    // under version 2, with its transitions.
    assert!(engine.verify_all().unwrap().events == history.len());
    assert_eq!(Item::replay(&history).unwrap(), migrated);
    engine.release(item.id(), &anyone(), "waiting").unwrap();
    let moved = engine
        .advance(item.id(), &anyone(), Move::transition("submit"))
        .unwrap();
    assert_eq!((moved.version(), moved.workstation()), (2, "review"));
    let metrics = engine.metrics(item.id()).unwrap();
    assert!(metrics.per_workstation.contains_key("needs_revision"));
    assert!(metrics.per_workstation.contains_key("revision_requested"));
    assert_eq!(metrics.per_hold["waiting"], chrono::TimeDelta::hours(2));

    // Items not migrated stay on version 1 and keep moving there.
    let other = create_v1();
    let moved = engine
        .advance(other.id(), &anyone(), Move::transition("submit"))
        .unwrap();
    assert_eq!((moved.version(), moved.workstation()), (1, "review"));
}

#[test]
fn a_migration_is_refused_with_every_reason_and_writes_nothing() {
    let strict = V2
        .replace(
            "  revision_requested: {}\n",
            "  revision_requested:\n    entry: [ { assert: fields.reviewer, op: exists, id: reviewer_named } ]\n",
        )
        .replace("  - from: 1\n", "  - from: 1\n    by: [lead]\n")
        .replace("holds: [waiting]\n", "holds: [waiting]\nroles: [lead]\n");
    let (engine, _) = engine_with(&[("v1", V1), ("v2", &strict)]);
    let item = engine
        .create(&anyone(), NewItem::of("task").version(1))
        .unwrap();
    engine
        .advance(item.id(), &anyone(), Move::transition("submit"))
        .unwrap();
    let before = engine
        .advance(item.id(), &anyone(), Move::transition("send_back"))
        .unwrap();
    let err = engine.migrate(item.id(), &anyone(), 2, None).unwrap_err();
    let refused = err.refused().unwrap_or_else(|| panic!("{err}"));
    assert_eq!(refused.ids(), ["role", "reviewer_named"]);
    assert_eq!(engine.item(item.id()).unwrap(), before, "nothing written");

    let lead = Actor::new("lee", ["lead"]);
    engine
        .update_fields(item.id(), &lead, serde_json::json!({"reviewer": "rita"}))
        .unwrap();
    let migrated = engine.migrate(item.id(), &lead, 2, None).unwrap();
    assert_eq!(migrated.version(), 2);
    assert!(matches!(
        engine.migrate(item.id(), &lead, 2, None),
        Err(Error::NotNewer {
            version: 2,
            to: 2,
            ..
        })
    ));
}

#[test]
fn an_item_on_a_version_the_engine_has_not_loaded_is_never_moved_under_another() {
    let store = std::sync::Arc::new(MemoryStore::new());
    let both = Engine::builder()
        .store(store.clone())
        .workflow(load("v1", V1))
        .workflow(load("v2", V2))
        .build()
        .unwrap();
    let item = both
        .create(&anyone(), NewItem::of("task").version(1))
        .unwrap();
    let only_v2 = Engine::builder()
        .store(store.clone())
        .workflow(load("v2", V2))
        .build()
        .unwrap();
    assert!(matches!(
        only_v2.migrate(item.id(), &anyone(), 2, None),
        Err(Error::VersionNotLoaded { version: 1, .. })
    ));
    assert!(matches!(
        only_v2.advance(item.id(), &anyone(), Move::transition("submit")),
        Err(Error::VersionNotLoaded { version: 1, .. })
    ));
    let only_v1 = Engine::builder()
        .store(store)
        .workflow(load("v1", V1))
        .build()
        .unwrap();
    assert!(matches!(
        only_v1.migrate(item.id(), &anyone(), 2, None),
        Err(Error::VersionNotLoaded { version: 2, .. })
    ));
    // A version without a migration from the item's.
    let v3 = V2
        .replace("version: 2", "version: 3")
        .replace("migrations:\n  - from: 1\n", "migrations:\n  - from: 2\n");
    let (engine, _) = engine_with(&[("v1", V1), ("v3", &v3)]);
    let item = engine
        .create(&anyone(), NewItem::of("task").version(1))
        .unwrap();
    assert!(matches!(
        engine.migrate(item.id(), &anyone(), 3, None),
        Err(Error::NoMigration { from: 1, to: 3, .. })
    ));
}

#[test]
fn migrate_all_reports_what_happened_to_each_item() {
    let strict = V2.replace(
        "  revision_requested: {}\n",
        "  revision_requested:\n    entry: [ { assert: fields.reviewer, op: exists, id: reviewer_named } ]\n",
    );
    let (engine, _) = engine_with(&[("v1", V1), ("v2", &strict)]);
    let mut ids = Vec::new();
    for i in 0..6 {
        let item = engine
            .create(
                &anyone(),
                NewItem::of("task")
                    .version(1)
                    .fields(serde_json::json!({ "n": i })),
            )
            .unwrap();
        if i % 2 == 1 {
            // In `needs_revision`, without a reviewer: refused on entering
            // `revision_requested`.
            engine
                .advance(item.id(), &anyone(), Move::transition("submit"))
                .unwrap();
            engine
                .advance(item.id(), &anyone(), Move::transition("send_back"))
                .unwrap();
        }
        ids.push(item.id());
    }
    let already = engine
        .create(&anyone(), NewItem::of("task").version(2))
        .unwrap();
    let report = engine
        .migrate_all(&Query::new().workflow("task"), &anyone(), 2, None)
        .unwrap();
    assert_eq!(report.migrated, [ids[0], ids[2], ids[4]]);
    let refused: Vec<ItemId> = report.refused.iter().map(|r| r.item.id()).collect();
    assert_eq!(refused, [ids[1], ids[3], ids[5]]);
    assert!(report.refused.iter().all(|r| r.ids() == ["reviewer_named"]));
    assert_eq!(report.already_current, [already.id()]);
    assert!(!report.is_complete());
    assert!(report.to_string().starts_with(
        "migrated to version 2: 3 migrated, 3 refused, 1 already current, 0 not loaded, 0 failed"
    ));
    // The refused ones stay on version 1 and still move there.
    let moved = engine
        .advance(ids[1], &anyone(), Move::transition("submit"))
        .unwrap();
    assert_eq!((moved.version(), moved.workstation()), (1, "review"));
    assert!(engine.verify_all().is_ok());
}

workstream::workflow!(
    /// Version 1 of the task workflow.
    mod task_v1 = "tests/workflows/task.v1.yaml"
);
workstream::workflow!(
    /// Version 2, whose migration from version 1 is checked at compile time.
    mod task_v2 = "tests/workflows/task.v2.yaml", previous = ["tests/workflows/task.v1.yaml"]
);

#[test]
fn the_typed_api_names_the_migration_and_types_the_migrated_item() {
    let (engine, _) = engine_with(&[("v1", V1), ("v2", V2)]);
    assert_eq!(
        engine
            .workflow_version("task", 2)
            .unwrap()
            .definition_hash()
            .to_string(),
        task_v2::DEFINITION_HASH
    );
    let draft = task_v1::create(&engine, &anyone(), serde_json::json!({})).unwrap();
    let review = draft.submit(&engine, &anyone()).unwrap();
    let revision = review.send_back(&engine, &anyone()).unwrap();
    let err = task_v2::AnyItem::load(&engine, revision.id()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::OlderVersion {
                version: 1,
                compiled: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("migrate it to version 2 first"),
        "{err}"
    );

    engine.migrate(revision.id(), &anyone(), 2, None).unwrap();
    let task_v2::AnyItem::RevisionRequested(item) =
        task_v2::AnyItem::load(&engine, revision.id()).unwrap()
    else {
        panic!("the migrated item is in revision_requested");
    };
    let review = item.submit(&engine, &anyone()).unwrap();
    let accepted = review.accept(&engine, &anyone()).unwrap();
    assert_eq!(
        (accepted.version(), accepted.workstation()),
        (2, "accepted")
    );
    // The version-1 module no longer types the item.
    assert!(task_v1::AnyItem::load(&engine, revision.id()).is_err());
}

#[test]
fn holds_are_renamed_all_at_once() {
    let v1 = V1.replace("holds: [blocked]", "holds: [blocked, paused]");
    let v2 = V2
        .replace("holds: [waiting]", "holds: [blocked, paused]")
        .replace(
            "    holds: { blocked: waiting }\n",
            "    holds: { blocked: paused, paused: blocked }\n",
        );
    let (engine, _) = engine_with(&[("v1", &v1), ("v2", &v2)]);
    let item = engine
        .create(&anyone(), NewItem::of("task").version(1))
        .unwrap();
    engine
        .hold(item.id(), &anyone(), "blocked", "legal")
        .unwrap();
    engine
        .hold(item.id(), &anyone(), "paused", "holiday")
        .unwrap();
    let migrated = engine.migrate(item.id(), &anyone(), 2, None).unwrap();
    let reasons: Vec<(&str, Option<&str>)> = migrated
        .holds()
        .iter()
        .map(|(k, h)| (k.as_str(), h.reason.as_deref()))
        .collect();
    assert_eq!(
        reasons,
        [("blocked", Some("holiday")), ("paused", Some("legal"))]
    );
    assert_eq!(
        workstream::Item::replay(&engine.history(item.id()).unwrap()).unwrap(),
        migrated
    );
}
