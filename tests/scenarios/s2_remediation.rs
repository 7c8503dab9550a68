//! S2, checker remediation, a locked guide version and the revision limit (seed 000), on
//! `examples/workflows/evaluation_task.yaml`; see `evaluation.rs` for the checks and records.
//! Times are hours after Thursday 2 April 2026, 09:00 UTC.

use serde_json::{Value, json};
use workstream::prelude::*;
use workstream::{Change, Verified};

use crate::common::{Scenario, h};
use crate::evaluation::{
    artifact, checker, checker_run, contributor, engine, guide, in_progress, manager, operator,
    records, submission, t0,
};

/// The task's fields without its checker run.
fn context(item: &Item) -> Value {
    let mut fields = item.fields().clone();
    fields.as_object_mut().unwrap().remove("checker_run");
    fields
}

pub(crate) fn run<S: Store>(store: S) -> Verified {
    let clock = ManualClock::new(t0());
    let sc = Scenario::new(engine(store, &clock), clock.clone());
    let at = |hour: i64| clock.set(t0() + h(hour));
    let (ola, cai, chk, max) = (operator(), contributor(), checker(), manager());
    let rey = Actor::new("rey", ["reviewer"]);

    let g1 = guide(&sc, "atlas", 1, "Guide v1: label every image.");
    sc.go(g1, &ola, Move::transition("activate"), "active");
    let task = in_progress(&sc, "atlas", "transcribe 50 clips");

    // 2. Guide v2 is activated while the task is in progress (one active guide per
    // project: v1 is retired first). The task still holds v1; a task published now gets v2.
    at(1);
    let g2 = guide(
        &sc,
        "atlas",
        2,
        "Guide v2: label every image, cite every source.",
    );
    let r = sc.refuse(g2, &ola, Move::transition("activate"), &["wip"]);
    assert_eq!(r.reasons[0].details["key"], "atlas");
    sc.go(g1, &ola, Move::transition("retire"), "retired");
    sc.go(g2, &ola, Move::transition("activate"), "active");
    let held = sc.item(task);
    assert_eq!(held.workstation(), "in_progress");
    assert_eq!(held.field("guide_version"), Some(&json!(1)));
    assert_eq!(held.field("guide_hash"), sc.item(g1).field("hash"));
    assert_ne!(sc.item(g1).field("hash"), sc.item(g2).field("hash"));
    let later = in_progress(&sc, "atlas", "transcribe 10 more clips");
    assert_eq!(sc.item(later).field("guide_version"), Some(&json!(2)));

    // 1. A high-severity checker failure sends the task from evaluation_pending to
    // needs_revision with no review, its context unchanged.
    at(2);
    let files = |round: u8| [artifact("clips.txt", format!("round {round}").as_bytes())];
    let mv = Move::transition("submit").patch(submission(1, "cai", &files(1), json!({})));
    sc.go(task, &cai, mv, "submitted");
    sc.go(
        task,
        &chk,
        Move::transition("evaluate"),
        "evaluation_pending",
    );
    let before = context(&sc.item(task));
    let high = json!([
        {"checker": "schema", "required": true, "severity": "high", "passed": true},
        {"checker": "plagiarism", "required": false, "severity": "high", "passed": false},
    ]);
    sc.update(task, &chk, checker_run("run-1", &sc.item(task), high));
    sc.refuse(
        task,
        &chk,
        Move::transition("route_to_review"),
        &["checker_allows_review"],
    );
    let failed = sc.go(
        task,
        &chk,
        Move::transition("fail_checks"),
        "needs_revision",
    );
    assert_eq!(context(&failed), before, "its context is unchanged");
    assert_eq!(failed.field("review"), None);
    assert_eq!(
        records(&sc, task),
        [] as [Value; 0],
        "no review was recorded"
    );

    // A medium failure of a required checker blocks too (revision round 1).
    at(3);
    let mv = Move::transition("resubmit").patch(submission(2, "cai", &files(2), json!({})));
    sc.go(task, &cai, mv, "submitted");
    sc.go(
        task,
        &chk,
        Move::transition("evaluate"),
        "evaluation_pending",
    );
    let medium_required = json!([
        {"checker": "schema", "required": true, "severity": "medium", "passed": false},
    ]);
    sc.update(
        task,
        &chk,
        checker_run("run-2", &sc.item(task), medium_required),
    );
    sc.go(
        task,
        &chk,
        Move::transition("fail_checks"),
        "needs_revision",
    );

    // A medium failure of an optional checker does not (round 2): the task goes to review,
    // and the reviewer asks for changes with a blocking finding.
    at(4);
    let mv = Move::transition("resubmit").patch(submission(3, "cai", &files(3), json!({})));
    sc.go(task, &cai, mv, "submitted");
    sc.go(
        task,
        &chk,
        Move::transition("evaluate"),
        "evaluation_pending",
    );
    let medium_optional = json!([
        {"checker": "style", "required": false, "severity": "medium", "passed": false},
    ]);
    sc.update(
        task,
        &chk,
        checker_run("run-3", &sc.item(task), medium_optional),
    );
    sc.refuse(
        task,
        &chk,
        Move::transition("fail_checks"),
        &["checker_blocks_review"],
    );
    sc.go(
        task,
        &chk,
        Move::transition("route_to_review"),
        "review_pending",
    );
    let finding = json!({"findings": {"C": {"blocking": true, "status": "open", "text": "clip 7 is cut short"}}});
    sc.go(
        task,
        &rey,
        Move::transition("request_changes").patch(finding),
        "needs_revision",
    );

    // 3. Past max_revision_rounds (2) submitting is refused with the reason, even with
    // every finding answered; only a manager can move the task, to cancelled.
    at(5);
    let answered = json!({"C": "clip 7 re-cut"});
    let mv = Move::transition("resubmit").patch(submission(4, "cai", &files(4), answered));
    let r = sc.refuse(task, &cai, mv, &["revision_rounds_left"]);
    assert_eq!(r.reasons[0].details["round"], json!(3));
    assert_eq!(r.reasons[0].details["max"], json!(2));
    assert_eq!(
        r.reasons[0].message,
        "the maximum number of revision rounds has been reached"
    );
    sc.refuse(task, &cai, Move::transition("cancel_revision"), &["role"]);
    sc.refuse(task, &ola, Move::transition("cancel_revision"), &["role"]);
    sc.refuse(task, &ola, Move::transition("cancel"), &["not_allowed"]);
    let allowed: Vec<String> = sc
        .engine
        .explain(task, &max)
        .unwrap()
        .transitions
        .into_iter()
        .filter(|t| t.allowed())
        .map(|t| t.transition)
        .collect();
    assert_eq!(allowed, ["cancel_revision"]);
    let cancel = Move::transition("cancel_revision").reason("no revision rounds left");
    let cancelled = sc.go(task, &max, cancel, "cancelled");
    assert_eq!(cancelled.outcome(), Some(Outcome::Cancelled));
    let history = sc.history(task);
    let moves: Vec<&str> = history
        .iter()
        .filter_map(|e| match &e.change() {
            Change::Transitioned { transition, .. } if transition != "evaluate" => {
                Some(transition.as_str())
            }
            _ => None,
        })
        .skip(4)
        .collect();
    assert_eq!(
        moves,
        [
            "submit",
            "fail_checks",
            "resubmit",
            "fail_checks",
            "resubmit",
            "route_to_review",
            "request_changes",
            "cancel_revision"
        ]
    );
    assert_eq!(sc.engine.metrics(task).unwrap().rework_moves, 3);

    let verified = sc.verified();
    assert_eq!(verified.items, 4, "two guides, two tasks");
    verified
}
