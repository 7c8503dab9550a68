//! S3, a stream of AI workers with gates and pauses (seed 001), on
//! `examples/workflows/ai_job.yaml` (a job runs the steps implement, verify, review for one
//! task) and `examples/workflows/stream_task.yaml` (the tasks of a stream, whose children
//! are their jobs). The runner's, the gate's and the reviewers' steps are
//! `workstream_seeds::ai_stream`'s, which the narrated example takes too; this file checks
//! each. Times are hours after Tuesday 3 March 2026, 09:00 UTC.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use workstream::prelude::*;
use workstream::{Signal, Verified};
use workstream_seeds::ai_stream::{self, gatekeeper, operator, reviewer, runner};

use crate::common::{Scenario, h};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).unwrap()
}

fn engine<S: Store>(store: S, clock: &ManualClock, jobs: &[&Workflow]) -> Engine<S> {
    ai_stream::engine(store, clock, jobs).unwrap_or_else(|e| panic!("{e}"))
}

fn text<'a>(item: &'a Item, field: &str) -> &'a str {
    item.field(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Creates a task of `stream`, depending on the task before it.
fn task<S: Store>(sc: &Scenario<S>, stream: &str, role: &str, after: Option<ItemId>) -> ItemId {
    let id = sc.create(&runner(), ai_stream::new_task(stream, role)).id();
    if let Some(previous) = after {
        sc.depend(id, previous, &runner());
    }
    id
}

/// Queues a job for a task (its parent), with the task's input, after the job before it.
fn queue<S: Store>(sc: &Scenario<S>, task: ItemId, input: Value, after: Option<ItemId>) -> ItemId {
    let job = sc.create(&runner(), ai_stream::new_job(&sc.item(task), input));
    assert_eq!(job.workstation(), "queued");
    if let Some(previous) = after {
        sc.depend(job.id(), previous, &runner());
    }
    job.id()
}

/// The implement step hands its output to the gate.
fn produce<S: Store>(sc: &Scenario<S>, job: ItemId, output: &str) {
    sc.go(job, &runner(), ai_stream::submit(output), "verify");
}

/// The gate records its verdict on the job's current output.
fn gate<S: Store>(sc: &Scenario<S>, job: ItemId, passed: bool, feedback: &str) {
    sc.update(
        job,
        &gatekeeper(),
        ai_stream::verdict(&sc.item(job), passed, feedback),
    );
}

/// The jump-back after a failed gate, carrying the gate's feedback and counting itself.
fn jump_back<S: Store>(sc: &Scenario<S>, job: ItemId) -> Item {
    sc.go(
        job,
        &runner(),
        ai_stream::jump_back(&sc.item(job)).unwrap_or_else(|e| panic!("{e}")),
        "implement",
    )
}

/// An approved job's output becomes its task's output, and the task is done.
fn complete<S: Store>(sc: &Scenario<S>, task: ItemId, job: ItemId) -> Item {
    let mv = ai_stream::complete(&sc.item(job)).unwrap_or_else(|e| panic!("{e}"));
    sc.go(task, &runner(), mv, "done")
}

pub(crate) fn run<S: Store + 'static>(store: S) -> Verified {
    let store = Arc::new(store);
    let clock = ManualClock::new(t0());
    let v1 = ai_stream::ai_job().unwrap_or_else(|d| panic!("{d}"));
    let sc = Scenario::new(engine(store.clone(), &clock, &[&v1]), clock.clone());
    let at = |hour: i64| clock.set(t0() + h(hour));

    // 1. A stream of three tasks, each depending on the one before.
    let designer = task(&sc, "landing", "designer", None);
    let copywriter = task(&sc, "landing", "copywriter", Some(designer));
    let developer = task(&sc, "landing", "developer", Some(copywriter));
    // A task of another stream, which runs at the same time.
    let billing = task(&sc, "billing", "developer", None);

    // 2. Task 1 runs; its job starts.
    sc.go(designer, &runner(), Move::transition("run"), "running");
    let j1 = queue(&sc, designer, json!("a layout from the screenshot"), None);
    sc.go(j1, &runner(), Move::transition("start"), "implement");
    // Task 2 cannot run before task 1 is done, and a job queued for it by hand cannot
    // start: the job before it is not done, and the stream has its one active job.
    sc.refuse(
        copywriter,
        &runner(),
        Move::transition("run"),
        &["previous_task_done"],
    );
    let early = queue(&sc, copywriter, json!("by hand"), Some(j1));
    let r = sc.refuse(
        early,
        &operator(),
        Move::transition("start"),
        &["previous_job_done", "wip"],
    );
    assert_eq!(r.reasons[1].details["key"], json!("landing"));
    assert_eq!(r.reasons[0].items, [j1]);
    let cancelled = sc.go(early, &operator(), Move::transition("cancel"), "cancelled");
    assert_eq!(cancelled.outcome(), Some(Outcome::Cancelled));
    // The limit is per stream: the billing stream's job starts meanwhile.
    sc.go(billing, &runner(), Move::transition("run"), "running");
    let b1 = queue(&sc, billing, json!("invoice export"), None);
    sc.go(b1, &runner(), Move::transition("start"), "implement");

    // Verify fails: the job jumps back to implement with the gate's feedback.
    at(1);
    produce(&sc, j1, "layout v1");
    gate(&sc, j1, false, "the header overlaps the hero image");
    sc.refuse(
        j1,
        &runner(),
        Move::transition("pass_verify"),
        &["gate_passed"],
    );
    let back = jump_back(&sc, j1);
    assert_eq!(
        (text(&back, "feedback"), back.field("jump_backs")),
        ("the header overlaps the hero image", Some(&json!(1)))
    );
    // The second verify passes.
    at(2);
    produce(&sc, j1, "layout v2");
    gate(&sc, j1, true, "ok");
    sc.refuse(
        j1,
        &runner(),
        Move::transition("fail_verify"),
        &["gate_failed"],
    );
    sc.go(j1, &runner(), Move::transition("pass_verify"), "review");
    // Review passes: the job is done, and the next task is queued with this output.
    at(3);
    sc.refuse(j1, &runner(), Move::transition("approve"), &["role"]);
    let done = sc.go(j1, &reviewer(), Move::transition("approve"), "done");
    assert_eq!(done.outcome(), Some(Outcome::Done));
    let m = sc.engine.metrics(j1).unwrap();
    assert_eq!((m.lead, m.rework_moves), (h(3), 1));
    let t1 = complete(&sc, designer, j1);
    assert_eq!(t1.field("output"), Some(&json!("layout v2")));
    sc.go(copywriter, &runner(), Move::transition("run"), "running");
    let j2 = queue(
        &sc,
        copywriter,
        t1.field("output").cloned().unwrap(),
        Some(j1),
    );
    assert_eq!(sc.item(j2).field("input"), Some(&json!("layout v2")));
    sc.go(j2, &runner(), Move::transition("start"), "implement");

    // 3. The flow is edited while task 2 runs. The runner restarts with both versions; the
    // running job keeps version 1, new jobs get version 2.
    let v2 = ai_stream::ai_job_v2().unwrap_or_else(|e| panic!("{e}"));
    let written = sc.written();
    drop(sc);
    let sc = Scenario::resume(
        engine(store.clone(), &clock, &[&v1, &v2]),
        clock.clone(),
        written,
    );
    let running = sc.item(j2);
    assert_eq!(
        (running.version(), running.definition()),
        (1, v1.definition_hash())
    );
    // A runner that loaded only version 2 refuses to touch it, and writes nothing.
    let only_v2 = engine(store.clone(), &clock, &[&v2]);
    let err = only_v2
        .advance(j2, &runner(), Move::transition("submit_for_verify"))
        .unwrap_err();
    assert!(
        matches!(err, Error::VersionNotLoaded { version: 1, .. }),
        "{err}"
    );
    drop(only_v2);
    assert_eq!(sc.item(j2), running);

    // 4. Task 2 asks a question: its job is paused, and nothing moves it on.
    at(4);
    sc.hold(j2, &runner(), "paused", "question: formal or casual tone?");
    sc.refuse(
        j2,
        &runner(),
        Move::transition("submit_for_verify"),
        &["held"],
    );
    let s = sc.engine.signals(j2).unwrap();
    assert_eq!(s.active(), [Signal::Blocked]);
    assert_eq!(
        s.blocked[0].message,
        "held `paused` by runner: question: formal or casual tone?"
    );
    // The reply releases it, and it resumes at the step where it paused.
    at(7);
    sc.update(j2, &reviewer(), json!({"answer": "casual"}));
    let resumed = sc.release(j2, &reviewer(), "paused");
    assert_eq!(resumed.workstation(), "implement");
    at(8);
    produce(&sc, j2, "casual copy");
    gate(&sc, j2, true, "ok");
    sc.go(j2, &runner(), Move::transition("pass_verify"), "review");
    // Version 1 approves without a note.
    at(9);
    sc.go(j2, &reviewer(), Move::transition("approve"), "done");
    let m = sc.engine.metrics(j2).unwrap();
    assert_eq!((m.lead, m.per_hold["paused"], m.active), (h(6), h(3), h(3)));
    assert_eq!(m.per_workstation["implement"], h(5), "paused time included");
    let t2 = complete(&sc, copywriter, j2);

    // 5. Task 3's job (version 2) waits in review until approved.
    sc.go(developer, &runner(), Move::transition("run"), "running");
    let j3 = queue(
        &sc,
        developer,
        t2.field("output").cloned().unwrap(),
        Some(j2),
    );
    assert_eq!(sc.item(j3).version(), 2);
    assert_eq!(sc.item(j3).field("input"), Some(&json!("casual copy")));
    sc.go(j3, &runner(), Move::transition("start"), "implement");
    produce(&sc, j3, "the page, built");
    gate(&sc, j3, true, "ok");
    sc.go(j3, &runner(), Move::transition("pass_verify"), "review");
    sc.refuse(
        developer,
        &runner(),
        Move::transition("complete"),
        &["job_approved", "output_recorded"],
    );
    at(39);
    sc.refuse(
        j3,
        &runner(),
        Move::transition("approve"),
        &["role", "review_note_given"],
    );
    sc.refuse(
        j3,
        &reviewer(),
        Move::transition("approve"),
        &["review_note_given"],
    );
    let note = Move::transition("approve").patch(json!({"review_note": "ship it"}));
    sc.go(j3, &reviewer(), note, "done");
    assert_eq!(
        sc.engine.metrics(j3).unwrap().per_workstation["review"],
        h(30)
    );
    complete(&sc, developer, j3);
    let landing = sc
        .engine
        .items(&Query::new().workflow("stream_task"))
        .unwrap();
    let states: Vec<(&str, &str)> = landing
        .iter()
        .map(|t| (text(t, "role"), t.workstation()))
        .collect();
    assert_eq!(
        states,
        [
            ("designer", "done"),
            ("copywriter", "done"),
            ("developer", "done"),
            ("developer", "running")
        ]
    );

    // The reject variant sends the task back to todo.
    at(40);
    let promo = task(&sc, "promo", "copywriter", None);
    sc.go(promo, &runner(), Move::transition("run"), "running");
    let k1 = queue(&sc, promo, json!("a promo banner"), None);
    sc.go(k1, &runner(), Move::transition("start"), "implement");
    produce(&sc, k1, "banner, red");
    gate(&sc, k1, true, "ok");
    sc.go(k1, &runner(), Move::transition("pass_verify"), "review");
    sc.refuse(
        promo,
        &runner(),
        Move::transition("send_back"),
        &["job_rejected"],
    );
    let reject = Move::transition("reject")
        .patch(json!({"review_note": "use the brand palette"}))
        .reason("off-brand");
    let rejected = sc.go(k1, &reviewer(), reject, "cancelled");
    assert_eq!(rejected.outcome(), Some(Outcome::Rejected));
    sc.go(promo, &runner(), Move::transition("send_back"), "todo");
    // The rework variant: the task runs again, with a new job that carries the
    // reviewer's note; that job's own review sends it back to implement with another note.
    at(41);
    sc.go(promo, &runner(), Move::transition("run"), "running");
    let input = json!({"brief": "a promo banner", "note": rejected.field("review_note")});
    let k2 = queue(&sc, promo, input, None);
    assert_eq!(
        sc.item(k2).field("input").unwrap()["note"],
        "use the brand palette"
    );
    sc.go(k2, &runner(), Move::transition("start"), "implement");
    produce(&sc, k2, "banner, brand blue, long headline");
    gate(&sc, k2, true, "ok");
    sc.go(k2, &runner(), Move::transition("pass_verify"), "review");
    let rework =
        Move::transition("request_rework").patch(json!({"review_note": "shorter headline"}));
    let reworked = sc.go(k2, &reviewer(), rework, "implement");
    assert_eq!(text(&reworked, "review_note"), "shorter headline");
    produce(&sc, k2, "banner, brand blue, short headline");
    // The gate's last verdict passed, but on the output before: it does not count.
    sc.refuse(
        k2,
        &runner(),
        Move::transition("pass_verify"),
        &["gate_passed"],
    );
    gate(&sc, k2, true, "ok");
    sc.go(k2, &runner(), Move::transition("pass_verify"), "review");
    let approve = Move::transition("approve").patch(json!({"review_note": "good"}));
    sc.go(k2, &reviewer(), approve, "done");
    assert_eq!(sc.engine.metrics(k2).unwrap().rework_moves, 1);
    complete(&sc, promo, k2);
    assert_eq!(sc.engine.metrics(promo).unwrap().rework_moves, 1);

    // 6. More jump-backs than the gate allows: the billing job fails, its task is held.
    at(50);
    for round in 1..=4 {
        produce(&sc, b1, &format!("export v{round}"));
        gate(&sc, b1, false, "totals do not add up");
        if round == 3 {
            // Two jump-backs so far: giving up is not allowed yet.
            sc.refuse(
                b1,
                &runner(),
                Move::transition("give_up"),
                &["jump_back_limit_reached"],
            );
        }
        if round <= 3 {
            let back = jump_back(&sc, b1);
            assert_eq!(back.field("jump_backs"), Some(&json!(round)));
        }
    }
    let fourth = Move::transition("fail_verify").patch(json!({"jump_backs": 4}));
    sc.refuse(b1, &runner(), fourth, &["jump_backs_left"]);
    let failed = sc.go(b1, &runner(), Move::transition("give_up"), "failed");
    assert_eq!(failed.outcome(), Some(Outcome::Failed));
    assert_eq!(
        failed.version(),
        1,
        "the billing job kept version 1 throughout"
    );
    assert_eq!(sc.engine.metrics(b1).unwrap().rework_moves, 3);
    sc.hold(
        billing,
        &runner(),
        "blocked",
        "its job failed the gate 4 times",
    );
    // Blocked by the hold; and `finished` in the signals' sense: no job of it is open.
    let s = sc.engine.signals(billing).unwrap();
    assert_eq!(s.active(), [Signal::Finished, Signal::Blocked]);
    assert_eq!(s.blocked[0].id, "held");
    sc.refuse(
        billing,
        &runner(),
        Move::transition("complete"),
        &["held", "job_approved", "output_recorded"],
    );

    let verified = sc.verified();
    // Tasks: 3 landing, billing, promo; jobs: j1, early, j2, j3, b1, k1, k2.
    assert_eq!(verified.items, 12);
    verified
}
