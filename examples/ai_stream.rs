//! An AI-worker stream (scenario S3): tasks run top to bottom by jobs of steps (implement,
//! verify, review) with a gate, jump-backs with the gate's feedback, a pause on a question,
//! human review, each task's output passed to the next, and a flow edited while a job runs
//! (one job migrated to the new version mid-run, the others kept on theirs).
//!
//! ```sh
//! cargo run --example ai_stream
//! ```
//!
//! Jobs are items of `examples/workflows/ai_job.yaml`; the tasks of a stream are items of
//! `examples/workflows/stream_task.yaml`, each the parent of its jobs. The runner's, the gate's
//! and the reviewers' steps are `workstream_seeds::ai_stream`'s (the scenario test takes the
//! same ones); the engine decides what each may do. It runs on the in-memory store with a
//! manual clock and prints every step.

mod narrate;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};
use workstream::prelude::*;
use workstream_seeds::ai_stream;

use narrate::{Narrator, hours};

/// The runner's side of a stream: it creates tasks and jobs, hands outputs to the gate,
/// jumps back with feedback, and completes tasks with their job's output. Each step is one
/// of `workstream_seeds::ai_stream`'s, which the scenario test takes too.
struct Runner {
    me: Actor,
    gate: Actor,
}

impl Runner {
    fn task<S: Store>(
        &self,
        n: &Narrator<S>,
        stream: &str,
        role: &str,
        after: Option<ItemId>,
    ) -> ItemId {
        let name = format!("{stream}/{role}");
        let id = n.create(&self.me, ai_stream::new_task(stream, role), &name);
        if let Some(previous) = after {
            n.depend(id, previous, &self.me);
        }
        id
    }

    fn queue<S: Store>(
        &self,
        n: &Narrator<S>,
        task: ItemId,
        input: Value,
        after: Option<ItemId>,
        name: &str,
    ) -> ItemId {
        let job = n.create(&self.me, ai_stream::new_job(&n.item(task), input), name);
        if let Some(previous) = after {
            n.depend(job, previous, &self.me);
        }
        job
    }

    /// Implement hands its output to verify, and the gate records its verdict on it.
    fn produce<S: Store>(
        &self,
        n: &Narrator<S>,
        job: ItemId,
        output: &str,
        passed: bool,
        feedback: &str,
    ) {
        let submitted = n.take(
            job,
            &self.me,
            "submit_for_verify",
            ai_stream::submit(output),
        );
        let verdict = ai_stream::verdict(&submitted, passed, feedback);
        let what = if passed { "passed" } else { "failed" };
        let what = format!("the gate {what} on {output:?}: {feedback}");
        n.update(job, &self.gate, verdict, &what);
    }

    fn jump_back<S: Store>(&self, n: &Narrator<S>, job: ItemId) -> Item {
        let back = n.take(
            job,
            &self.me,
            "fail_verify",
            ai_stream::jump_back(&n.item(job)).unwrap_or_else(|e| panic!("{e}")),
        );
        let count = back.field("jump_backs").unwrap_or(&Value::Null);
        let feedback = back.field("feedback").unwrap_or(&Value::Null);
        n.note(format!(
            "jump-back {count}, carrying the gate's feedback {feedback}"
        ));
        back
    }

    fn complete<S: Store>(&self, n: &Narrator<S>, task: ItemId, job: ItemId) -> Item {
        let done = n.take(
            task,
            &self.me,
            "complete",
            ai_stream::complete(&n.item(job)).unwrap_or_else(|e| panic!("{e}")),
        );
        n.note(format!(
            "output of {}: {}",
            n.name(task),
            done.field("output").unwrap_or(&Value::Null)
        ));
        done
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).unwrap();
    let clock = ManualClock::new(t0);
    let store = Arc::new(MemoryStore::new());
    let v1 = ai_stream::ai_job()?;
    let n = Narrator::new(
        ai_stream::engine(store.clone(), &clock, &[&v1])?,
        clock.clone(),
    );
    let at = |hour: i64| clock.set(t0 + TimeDelta::hours(hour));
    let r = Runner {
        me: ai_stream::runner(),
        gate: ai_stream::gatekeeper(),
    };
    let rita = ai_stream::reviewer();
    let olga = ai_stream::operator();
    let none = With::new;

    n.section("1. A stream of three tasks: designer -> copywriter -> developer");
    let designer = r.task(&n, "landing", "designer", None);
    let copywriter = r.task(&n, "landing", "copywriter", Some(designer));
    let developer = r.task(&n, "landing", "developer", Some(copywriter));
    let billing = r.task(&n, "billing", "developer", None);

    n.section("2. Task 1: a failed gate jumps back with its feedback; review passes");
    n.go(designer, &r.me, "run", none());
    let j1 = r.queue(
        &n,
        designer,
        json!("a layout from the screenshot"),
        None,
        "job 1",
    );
    n.go(j1, &r.me, "start", none());
    n.refused(copywriter, &r.me, "run", none(), &["previous_task_done"]);
    let early = r.queue(
        &n,
        copywriter,
        json!("queued by hand"),
        Some(j1),
        "job 2 (by hand)",
    );
    n.refused(early, &olga, "start", none(), &["previous_job_done", "wip"]);
    n.go(
        early,
        &olga,
        "cancel",
        With::new().reason("queued by mistake"),
    );
    n.note("one active job per stream: another stream's job starts meanwhile");
    n.go(billing, &r.me, "run", none());
    let b1 = r.queue(&n, billing, json!("invoice export"), None, "billing job");
    n.go(b1, &r.me, "start", none());
    at(1);
    r.produce(
        &n,
        j1,
        "layout v1",
        false,
        "the header overlaps the hero image",
    );
    n.refused(j1, &r.me, "pass_verify", none(), &["gate_passed"]);
    r.jump_back(&n, j1);
    at(2);
    r.produce(&n, j1, "layout v2", true, "ok");
    n.go(j1, &r.me, "pass_verify", none());
    at(3);
    n.refused(j1, &r.me, "approve", none(), &["role"]);
    n.go(j1, &rita, "approve", none());
    r.complete(&n, designer, j1);
    n.note("the runner queues the next task's job with this output");
    n.go(copywriter, &r.me, "run", none());
    let input = n
        .item(designer)
        .field("output")
        .cloned()
        .unwrap_or_default();
    let j2 = r.queue(&n, copywriter, input, Some(j1), "job 2");
    n.go(j2, &r.me, "start", none());

    n.section("3. The flow is edited while job 2 runs");
    let v2 = ai_stream::ai_job_v2()?;
    n.note(format!("ai_job v1 {}", v1.definition_hash()));
    n.note(format!(
        "ai_job v2 {} (approvals need a note)",
        v2.definition_hash()
    ));
    let only_v2 = ai_stream::engine(store.clone(), &clock, &[&v2])?;
    let err = only_v2
        .advance(j2, &r.me, Move::transition("submit_for_verify"))
        .expect_err("job 2 keeps version 1");
    n.note(format!("a runner with only v2 loaded: {err}"));
    let n = n.with_engine(ai_stream::engine(store.clone(), &clock, &[&v1, &v2])?);
    n.note(format!(
        "restarted with both versions: job 2 keeps v{}",
        n.item(j2).version()
    ));
    let migrated = n.engine.migrate(
        b1,
        &olga,
        2,
        Some("the billing stream follows the new review rules"),
    )?;
    n.note(format!(
        "the billing job is migrated to v{} in `{}`, in one `migrated` event of its chain; \
         job 2 stays on v1",
        migrated.version(),
        migrated.workstation()
    ));

    n.section("4. Job 2 asks a question: paused, then resumed where it paused");
    at(4);
    n.hold(j2, &r.me, "paused", "question: formal or casual tone?");
    n.refused(j2, &r.me, "submit_for_verify", none(), &["held"]);
    n.signals(j2);
    at(7);
    n.update(j2, &rita, json!({"answer": "casual"}), "the answer: casual");
    n.release(j2, &rita, "paused");
    at(8);
    r.produce(&n, j2, "casual copy", true, "ok");
    n.go(j2, &r.me, "pass_verify", none());
    at(9);
    n.go(j2, &rita, "approve", none());
    n.note("version 1: approved without a note");
    n.metrics(j2);
    r.complete(&n, copywriter, j2);

    n.section("5. Job 3 (version 2) waits in review until approved");
    n.go(developer, &r.me, "run", none());
    let input = n
        .item(copywriter)
        .field("output")
        .cloned()
        .unwrap_or_default();
    let j3 = r.queue(&n, developer, input, Some(j2), "job 3");
    n.go(j3, &r.me, "start", none());
    r.produce(&n, j3, "the page, built", true, "ok");
    n.go(j3, &r.me, "pass_verify", none());
    at(39);
    n.refused(j3, &rita, "approve", none(), &["review_note_given"]);
    n.go(
        j3,
        &rita,
        "approve",
        With::new().patch(json!({"review_note": "ship it"})),
    );
    let review = n.engine.metrics(j3)?.per_workstation["review"];
    n.note(format!("job 3 waited {} in review", hours(review)));
    r.complete(&n, developer, j3);

    n.section("5b. Reject sends the task back to todo; the rerun's job carries the note");
    at(40);
    let promo = r.task(&n, "promo", "copywriter", None);
    n.go(promo, &r.me, "run", none());
    let k1 = r.queue(&n, promo, json!("a promo banner"), None, "promo job 1");
    n.go(k1, &r.me, "start", none());
    r.produce(&n, k1, "banner, red", true, "ok");
    n.go(k1, &r.me, "pass_verify", none());
    let rejected = n.go(
        k1,
        &rita,
        "reject",
        With::new()
            .patch(json!({"review_note": "use the brand palette"}))
            .reason("off-brand"),
    );
    n.go(promo, &r.me, "send_back", none());
    at(41);
    n.go(promo, &r.me, "run", none());
    let input = json!({"brief": "a promo banner", "note": rejected.field("review_note")});
    let k2 = r.queue(&n, promo, input, None, "promo job 2");
    n.go(k2, &r.me, "start", none());
    r.produce(&n, k2, "banner, brand blue, long headline", true, "ok");
    n.go(k2, &r.me, "pass_verify", none());
    n.go(
        k2,
        &rita,
        "request_rework",
        With::new().patch(json!({"review_note": "shorter headline"})),
    );
    r.produce(&n, k2, "banner, brand blue, short headline", true, "ok");
    n.go(k2, &r.me, "pass_verify", none());
    n.go(
        k2,
        &rita,
        "approve",
        With::new().patch(json!({"review_note": "good"})),
    );
    r.complete(&n, promo, k2);

    n.section("6. More jump-backs than the gate allows: the job fails, its task is held");
    at(50);
    for round in 1..=4 {
        r.produce(
            &n,
            b1,
            &format!("export v{round}"),
            false,
            "totals do not add up",
        );
        if round <= 3 {
            r.jump_back(&n, b1);
        }
    }
    n.refused(
        b1,
        &r.me,
        "fail_verify",
        With::new().patch(json!({"jump_backs": 4})),
        &["jump_backs_left"],
    );
    n.go(b1, &r.me, "give_up", none());
    n.hold(billing, &r.me, "blocked", "its job failed the gate 4 times");
    n.signals(billing);

    n.verify();
    Ok(())
}
