//! The AI-worker stream (scenario S3): what the runner, the gate and the reviewers do, as
//! the changes they ask the engine for. The narrated example (`cargo run --example
//! ai_stream`) and the scenario test drive the same steps, one printing them, the other
//! checking each.
//!
//! Jobs are items of `examples/workflows/ai_job.yaml` (the steps implement, verify, review
//! for one task); the tasks of a stream are items of `examples/workflows/stream_task.yaml`,
//! each the parent of its jobs.

use serde_json::{Value, json};
use workstream::prelude::*;
use workstream::{CheckContext, artifact_hash};

/// The job workflow, version 1.
pub const AI_JOB: &str = include_str!("../../workflows/ai_job.yaml");
/// The task workflow of a stream.
pub const STREAM_TASK: &str = include_str!("../../workflows/stream_task.yaml");

/// The job workflow as written.
pub fn ai_job() -> Result<Workflow, Diagnostics> {
    parse("ai_job.yaml", AI_JOB)
}

/// Version 2 of the job workflow, as edited while a job runs: approvals need a reviewer's
/// note (`review_note_given`), and jobs of version 1 may migrate to it (every workstation
/// keeps its name).
pub fn ai_job_v2() -> Result<Workflow, String> {
    let approve = "    to: done\n    by: [reviewer]\n";
    if AI_JOB.matches("version: 1\n").count() != 1 || AI_JOB.matches(approve).count() != 1 {
        return Err("ai_job.yaml no longer has the lines version 2 edits".to_owned());
    }
    let text = AI_JOB.replace("version: 1\n", "version: 2\n").replace(
        approve,
        "    to: done
    by: [reviewer]
    requires:
      - assert: fields.review_note
        op: exists
        id: review_note_given
        message: an approval needs the reviewer's note
",
    );
    let text = format!(
        "{}\nmigrations:\n  - from: 1\n    description: jobs keep their step; approvals now \
         need a note\n",
        text.trim_end()
    );
    parse("ai_job.yaml (v2)", &text).map_err(|d| d.to_string())
}

/// The check `gate_passed`: the gate passed, on exactly the job's current output.
pub fn gate_passed(cx: &CheckContext<'_>) -> Verdict {
    let item = cx.item();
    let (Some(gate), Some(output)) = (item.field("gate"), item.field("output")) else {
        return Verdict::fail("the gate has not run");
    };
    let hash = artifact_hash(output.as_str().unwrap_or_default().as_bytes()).to_string();
    if gate["output"] != json!(hash) {
        return Verdict::fail("the gate ran on another output");
    }
    Verdict::require(gate["passed"] == json!(true), "the gate failed")
}

/// An engine over `store` with the given versions of the job workflow, the task workflow,
/// and the check `gate_passed`.
pub fn engine<S: Store>(
    store: S,
    clock: &ManualClock,
    jobs: &[&Workflow],
) -> Result<Engine<S>, Box<dyn std::error::Error>> {
    Ok(Engine::builder()
        .store(store)
        .workflows(jobs.iter().map(|&w| w.clone()))
        .workflow(parse("stream_task.yaml", STREAM_TASK)?)
        .check("gate_passed", gate_passed)
        .clock(clock.clone())
        .build()?)
}

/// The runner: it creates tasks and jobs and moves jobs through their steps.
pub fn runner() -> Actor {
    Actor::new("runner", ["runner", "worker"])
}

/// The gate, which records its verdict on a job's output.
pub fn gatekeeper() -> Actor {
    Actor::new("gate", ["worker"])
}

/// The reviewer who approves, rejects or sends back a job.
pub fn reviewer() -> Actor {
    Actor::new("rita", ["reviewer"])
}

/// An operator, who may cancel a job.
pub fn operator() -> Actor {
    Actor::new("olga", ["operator"])
}

/// A task of `stream` for `role`.
pub fn new_task(stream: &str, role: &str) -> NewItem<'static> {
    NewItem::of("stream_task")
        .fields(json!({"stream": stream, "role": role, "brief": format!("{role} work")}))
}

/// A job for `task` (its parent), with `input`.
pub fn new_job(task: &Item, input: Value) -> NewItem<'static> {
    let fields = json!({
        "stream": task.field("stream"), "role": task.field("role"), "input": input,
        "jump_backs": 0,
    });
    NewItem::of("ai_job").parent(task.id()).fields(fields)
}

/// The implement step hands `output` to the gate.
pub fn submit(output: &str) -> Move<'static> {
    Move::transition("submit_for_verify").patch(json!({ "output": output }))
}

/// The gate's verdict on `job`'s current output, as a field patch.
pub fn verdict(job: &Item, passed: bool, feedback: &str) -> Value {
    let output = job
        .field("output")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let hash = artifact_hash(output.as_bytes()).to_string();
    json!({"gate": {"passed": passed, "feedback": feedback, "output": hash}})
}

/// The jump-back after a failed gate: back to implement, carrying the gate's feedback and
/// counting itself. `Err` when the job has no gate feedback or no jump-back count, which a
/// job the runner queued always has.
pub fn jump_back(job: &Item) -> Result<Move<'static>, String> {
    let count = job
        .field("jump_backs")
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("job {} counts no jump-backs", job.id()))?;
    let feedback = job
        .field("gate")
        .and_then(|g| g.get("feedback"))
        .filter(|f| !f.is_null())
        .ok_or_else(|| format!("job {} has no gate feedback", job.id()))?;
    let patch = json!({"feedback": feedback, "jump_backs": count + 1});
    Ok(Move::transition("fail_verify").patch(patch))
}

/// An approved job's output becomes its task's output, and the task is done. `Err` when the
/// job recorded no output.
pub fn complete(job: &Item) -> Result<Move<'static>, String> {
    let output = job
        .field("output")
        .filter(|o| !o.is_null())
        .ok_or_else(|| format!("job {} recorded no output", job.id()))?;
    Ok(Move::transition("complete").patch(json!({ "output": output })))
}
