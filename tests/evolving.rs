//! A workflow that changes while work is in flight (issue scenario): 60 evaluation tasks
//! spread over every workstation of `evaluation_task` version 1; version 2
//! (`examples/workflows/evaluation_task.v2.yaml`) adds a `security_review` between review
//! and acceptance and renames `needs_revision` to `revision_requested`, whose entry now
//! wants the findings recorded. Every task is migrated: those whose new entry assertion
//! fails are refused with their reasons and stay on version 1, still movable; the chains
//! verify across the versions, metrics run across them, and the typed version-2 module
//! moves the migrated tasks on. On the memory store and on SQLite.

use serde_json::json;
use workstream::prelude::*;
use workstream::{Checks, SqliteStore};

const V1: &str = include_str!("../examples/workflows/evaluation_task.yaml");
const V2: &str = include_str!("../examples/workflows/evaluation_task.v2.yaml");

workstream::workflow!(
    mod task_v2 = "examples/workflows/evaluation_task.v2.yaml",
    previous = ["examples/workflows/evaluation_task.yaml"]
);

/// The checks pass: this scenario is about versions, not about submissions (S1 has those).
fn checks() -> Checks {
    [
        "artifacts_hashed",
        "attestation_signed",
        "checker_allows_review",
        "checker_blocks_review",
        "findings_answered",
        "revision_rounds_left",
        "evidence_cited",
    ]
    .into_iter()
    .fold(Checks::new(), |c, name| c.add(name, |_| Verdict::Pass))
}

fn engine<S: Store>(store: S, clock: &ManualClock) -> Engine<S> {
    Engine::builder()
        .store(store)
        .workflow(parse("evaluation_task.yaml", V1).unwrap_or_else(|d| panic!("{d}")))
        .workflow(parse("evaluation_task.v2.yaml", V2).unwrap_or_else(|d| panic!("{d}")))
        .checks(checks())
        .clock(clock.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The way from `draft` to `accepted`; every other workstation of version 1 is reached by a
/// prefix of it, then at most one more move.
const MAIN_LINE: [&str; 8] = [
    "screen",
    "publish",
    "claim",
    "start",
    "submit",
    "evaluate",
    "route_to_review",
    "accept",
];

/// Each workstation of version 1, and the moves from `draft` that end there.
fn paths() -> [(&'static str, Vec<&'static str>); 12] {
    let line = |n: usize, last: Option<&'static str>| -> Vec<&'static str> {
        MAIN_LINE[..n].iter().copied().chain(last).collect()
    };
    [
        ("draft", line(0, None)),
        ("screening", line(1, None)),
        ("ready", line(2, None)),
        ("claimed", line(3, None)),
        ("in_progress", line(4, None)),
        ("submitted", line(5, None)),
        ("evaluation_pending", line(6, None)),
        ("review_pending", line(7, None)),
        ("needs_revision", line(7, Some("request_changes"))),
        ("accepted", line(8, None)),
        ("rejected", line(7, Some("reject"))),
        ("cancelled", vec!["cancel"]),
    ]
}

fn actor_for(transition: &str, contributor: &Actor) -> Actor {
    match transition {
        "screen" | "publish" | "cancel" => Actor::new("ola", ["operator"]),
        "claim" | "start" | "submit" => contributor.clone(),
        "evaluate" | "route_to_review" => Actor::new("checkbot", ["checker"]),
        _ => Actor::new("rita", ["reviewer"]),
    }
}

fn run<S: Store>(store: S) {
    let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH + chrono::TimeDelta::days(20_500));
    let engine = engine(store, &clock);
    let paths = paths();
    let mut tasks: Vec<(ItemId, &str)> = Vec::new();
    for i in 0..60usize {
        let (place, path) = &paths[i % paths.len()];
        let place = *place;
        let contributor = Actor::new(format!("c{:02}", i % 20), ["contributor"]);
        let operator = Actor::new("ola", ["operator"]);
        let item = engine
            .create(&operator, NewItem::of("evaluation_task").version(1))
            .unwrap();
        for &transition in path {
            clock.advance(chrono::TimeDelta::hours(1));
            // What each move records, as the sprint does; half of the revision requests
            // record no findings (version 2 wants them).
            let patch = match transition {
                "publish" => json!({"guide_version": 1, "policy_hash": "sha256:policy"}),
                "claim" => json!({"contributor": contributor.id(), "award": {"amount": "10.00"}}),
                "request_changes" if i % 24 < 12 => json!({"findings": {"F1": {"status": "open"}}}),
                _ => json!({}),
            };
            engine
                .advance(
                    item.id(),
                    &actor_for(transition, &contributor),
                    Move::transition(transition).patch(patch),
                )
                .unwrap_or_else(|e| panic!("task {i}, {transition}: {e}"));
        }
        assert_eq!(engine.item(item.id()).unwrap().workstation(), place);
        tasks.push((item.id(), place));
    }

    // Every task is migrated by a manager; the revision requests without findings are
    // refused, with the reason, and nothing is written for them. An entry assertion that
    // version 2 did not change (`submitted`'s `claimant_submits`, about who moved the task
    // there) was passed when the task entered, and is not asked again of the manager.
    clock.advance(chrono::TimeDelta::days(1));
    let manager = Actor::new("mina", ["manager"]);
    let report = engine
        .migrate_all(
            &Query::new().workflow("evaluation_task"),
            &manager,
            2,
            Some("version 2: security review"),
        )
        .unwrap();
    let without_findings: Vec<ItemId> = tasks
        .iter()
        .enumerate()
        .filter(|(i, (_, place))| *place == "needs_revision" && i % 24 >= 12)
        .map(|(_, (id, _))| *id)
        .collect();
    assert_eq!(without_findings.len(), 2);
    let refused: Vec<ItemId> = report.refused.iter().map(|r| r.item.id()).collect();
    assert_eq!(refused, without_findings, "{report}");
    assert!(
        report
            .refused
            .iter()
            .all(|r| r.ids() == ["findings_recorded"]),
        "{report}"
    );
    assert_eq!(report.migrated.len(), 58, "{report}");
    assert!(
        report.already_current.is_empty() && report.failed.is_empty(),
        "{report}"
    );

    // Where each task is now: renamed, or where it was.
    for (id, place) in &tasks {
        let item = engine.item(*id).unwrap();
        if without_findings.contains(id) {
            assert_eq!((item.version(), item.workstation()), (1, "needs_revision"));
            continue;
        }
        let expected = if *place == "needs_revision" {
            "revision_requested"
        } else {
            place
        };
        assert_eq!((item.version(), item.workstation()), (2, expected));
    }
    // A refused one is still movable on version 1, and migrates once it records findings.
    let stuck = without_findings[0];
    let rita = Actor::new("rita", ["reviewer"]);
    engine
        .update_fields(
            stuck,
            &rita,
            json!({"findings": {"F1": {"status": "open"}}}),
        )
        .unwrap();
    let migrated = engine.migrate(stuck, &manager, 2, None).unwrap();
    assert_eq!(migrated.workstation(), "revision_requested");

    assert_eq!(
        engine.verify_all().unwrap().items,
        60,
        "every chain and state verifies across the versions"
    );

    // The typed version-2 module moves the migrated tasks on: review, then security review,
    // then acceptance.
    let in_review: Vec<ItemId> = tasks
        .iter()
        .filter(|(_, place)| *place == "review_pending")
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(in_review.len(), 5);
    for id in &in_review {
        let task_v2::AnyItem::ReviewPending(item) = task_v2::AnyItem::load(&engine, *id).unwrap()
        else {
            panic!("task {id} is in review_pending");
        };
        let secured = item.pass_review(&engine, &rita).unwrap();
        let accepted = secured.accept(&engine, &rita).unwrap();
        assert_eq!(accepted.workstation(), "accepted");
        // Metrics run across the versions: the stay in review is split by the migration,
        // and the time in security review is counted.
        let m = engine.metrics(*id).unwrap();
        assert!(m.per_workstation.contains_key("review_pending"), "{m:?}");
        assert!(m.per_workstation.contains_key("security_review"), "{m:?}");
        assert_eq!(m.outcome, Some(Outcome::Done));
    }
    assert!(engine.verify_all().is_ok());
}

#[test]
fn sixty_tasks_move_to_version_2_on_the_memory_store() {
    run(workstream::MemoryStore::new());
}

#[test]
fn sixty_tasks_move_to_version_2_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("workstream-evolving-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    run(SqliteStore::open(dir.join("tasks.db")).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}
