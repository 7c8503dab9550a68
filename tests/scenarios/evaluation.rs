//! The evaluation loop of seed 000, shared by S1 and S2: the checks that
//! `examples/workflows/evaluation_task.yaml` names, written against the task's fields; the
//! project guide and the payment as items of small workflows of their own; and the
//! records (reviews, contributions, acceptance, awards) as payloads of the task's events.
//!
//! A task's fields, as the scenarios fill them in:
//! - `project`, `title`; at publishing, `guide_version`, `guide_hash`, `policy_hash` and
//!   `max_revision_rounds` (locked in); at claiming, `contributor` and `award`;
//! - `submission`: `version`, `supersedes`, `artifacts` (`name`, `sha256`), `attestation`
//!   (`by`, `signature`), `answers` (finding id to answer);
//! - `checker_run`: `run`, `artifacts` (the hashes it checked), `results` (`checker`,
//!   `required`, `severity`, `passed`), `verdict`;
//! - `findings`: finding id to `blocking`, `status` (`open`, `resolved`), `text`;
//! - `review`: the last review, `by`, `outcome`, `evidence`.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use workstream::prelude::*;
use workstream::{Change, CheckContext, Checks, artifact_hash, canonical_json};

use crate::common::{Scenario, workflow};

const TASK: &str = include_str!("../../examples/workflows/evaluation_task.yaml");

/// A version of a project's guide; one version is active per project at a time.
const GUIDE: &str = r#"
workflow: guide
version: 1
description: One version of a project's guide. At most one version of a project is active.
roles: [operator]
workstations:
  draft: { initial: true }
  active: { wip: { max: 1, per: fields.project } }
  retired: { terminal: true }
transitions:
  activate: { from: draft, to: active, by: [operator] }
  retire: { from: active, to: retired, by: [operator] }
"#;

/// The payment of an award, recorded apart from its task: pending until a receipt comes.
const PAYMENT: &str = r#"
workflow: payment
version: 1
description: The payment of an award. It is pending until a receipt says it was fulfilled.
roles: [treasurer]
workstations:
  pending: { initial: true }
  fulfilled: { terminal: true }
  voided: { terminal: true, outcome: cancelled }
transitions:
  fulfil:
    from: pending
    to: fulfilled
    by: [treasurer]
    requires:
      - { assert: fields.receipt.status, op: eq, value: fulfilled, id: receipt_fulfilled,
          message: the receipt must say the payment was fulfilled }
      - { assert: fields.receipt.external_ref, op: exists, id: receipt_referenced,
          message: the receipt must carry the payment provider's reference }
  void: { from: pending, to: voided, by: [treasurer] }
"#;

/// Thursday 2 April 2026, 09:00 UTC.
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 2, 9, 0, 0).unwrap()
}

pub(crate) fn engine<S: Store>(store: S, clock: &ManualClock) -> Engine<S> {
    Engine::builder()
        .store(store)
        .workflow(workflow("evaluation_task.yaml", TASK))
        .workflow(workflow("guide.yaml", GUIDE))
        .workflow(workflow("payment.yaml", PAYMENT))
        .checks(checks())
        .clock(clock.clone())
        .build()
        .unwrap()
}

pub(crate) fn operator() -> Actor {
    Actor::new("ola", ["operator"])
}
pub(crate) fn contributor() -> Actor {
    Actor::new("cai", ["contributor"])
}
pub(crate) fn checker() -> Actor {
    Actor::new("chk", ["checker"])
}
pub(crate) fn manager() -> Actor {
    Actor::new("max", ["manager"])
}

/// The payment policy: an award in an exact decimal amount, and the revision limit.
pub(crate) fn policy() -> Value {
    json!({"award": {"amount": "10.00", "currency": "USD"}, "max_revision_rounds": 2})
}

pub(crate) fn policy_hash() -> String {
    artifact_hash(canonical_json(&policy()).as_bytes()).to_string()
}

/// An amount such as `"10.00"` in cents, read as text (no floating point).
pub(crate) fn cents(amount: &Value) -> i64 {
    let (units, fraction) = amount.as_str().unwrap().split_once('.').unwrap();
    assert_eq!(fraction.len(), 2, "two decimals");
    units.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap()
}

fn checks() -> Checks {
    Checks::new()
        .add("artifacts_hashed", artifacts_hashed)
        .add("attestation_signed", attestation_signed)
        .add("checker_allows_review", checker_allows_review)
        .add("checker_blocks_review", checker_blocks_review)
        .add("findings_answered", findings_answered)
        .add("revision_rounds_left", revision_rounds_left)
        .add("evidence_cited", evidence_cited)
}

fn is_sha256(value: &Value) -> bool {
    value
        .as_str()
        .and_then(|s| s.strip_prefix("sha256:"))
        .is_some_and(|hex| {
            hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

/// The artifact hashes of the task's submission, sorted.
fn submitted(fields: &Value) -> Vec<String> {
    let mut hashes: Vec<String> = fields["submission"]["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["sha256"].as_str().map(str::to_owned))
        .collect();
    hashes.sort();
    hashes
}

fn artifacts_hashed(cx: &CheckContext<'_>) -> Verdict {
    let artifacts = cx.item().fields()["submission"]["artifacts"].as_array();
    let Some(artifacts) = artifacts.filter(|a| !a.is_empty()) else {
        return Verdict::fail("the submission has no artifacts");
    };
    let unbound: Vec<&Value> = artifacts
        .iter()
        .filter(|a| !is_sha256(&a["sha256"]))
        .map(|a| &a["name"])
        .collect();
    if unbound.is_empty() {
        Verdict::Pass
    } else {
        Verdict::fail_with("artifacts without a hash", json!({ "unbound": unbound }))
    }
}

/// What a contributor signs: who, and exactly which artifacts.
fn signature(by: &str, fields: &Value) -> String {
    let signed = format!("{by}|{}", submitted(fields).join(","));
    artifact_hash(signed.as_bytes()).to_string()
}

fn attestation_signed(cx: &CheckContext<'_>) -> Verdict {
    let fields = cx.item().fields();
    let attestation = &fields["submission"]["attestation"];
    let by = attestation["by"].as_str().unwrap_or_default();
    Verdict::require(
        fields["contributor"] == json!(by)
            && attestation["signature"] == json!(signature(by, fields)),
        "no attestation signed by the contributor over these artifacts",
    )
}

/// The failures that keep a submission from review: high severity, or medium severity
/// from a required checker.
pub(crate) fn blocking(results: &Value) -> Vec<Value> {
    results
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["passed"] == json!(false))
        .filter(|r| r["severity"] == "high" || (r["severity"] == "medium" && r["required"] == true))
        .map(|r| r["checker"].clone())
        .collect()
}

/// The checker run recorded on the task, if it checked exactly the submitted artifacts.
fn run_over_submission(fields: &Value) -> Result<&Value, Verdict> {
    let run = &fields["checker_run"];
    if run.is_null() {
        return Err(Verdict::fail("no checker run is recorded"));
    }
    let mut checked: Vec<String> =
        serde_json::from_value(run["artifacts"].clone()).unwrap_or_default();
    checked.sort();
    let submitted = submitted(fields);
    if checked != submitted {
        return Err(Verdict::fail_with(
            "the checker run checked other artifacts than the submission's",
            json!({"run": run["run"], "checked": checked, "submitted": submitted}),
        ));
    }
    Ok(run)
}

fn checker_allows_review(cx: &CheckContext<'_>) -> Verdict {
    match run_over_submission(cx.item().fields()) {
        Err(verdict) => verdict,
        Ok(run) => {
            let blocking = blocking(&run["results"]);
            Verdict::require(blocking.is_empty(), "a blocking checker failed")
        }
    }
}

fn checker_blocks_review(cx: &CheckContext<'_>) -> Verdict {
    match run_over_submission(cx.item().fields()) {
        Err(verdict) => verdict,
        Ok(run) => Verdict::require(!blocking(&run["results"]).is_empty(), "no blocking failure"),
    }
}

fn findings_answered(cx: &CheckContext<'_>) -> Verdict {
    let fields = cx.item().fields();
    let answers = &fields["submission"]["answers"];
    let unanswered: Vec<&String> = fields["findings"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, f)| f["status"] == "open" && f["blocking"] == true)
        .filter(|(id, _)| answers[id.as_str()].as_str().is_none_or(str::is_empty))
        .map(|(id, _)| id)
        .collect();
    if unanswered.is_empty() {
        Verdict::Pass
    } else {
        Verdict::fail_with(
            "open findings are not answered",
            json!({ "unanswered": unanswered }),
        )
    }
}

fn revision_rounds_left(cx: &CheckContext<'_>) -> Verdict {
    let fields = cx.item().fields();
    let round = fields["submission"]["version"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(1);
    let max = fields["max_revision_rounds"].as_u64().unwrap_or(0);
    if round <= max {
        Verdict::Pass
    } else {
        Verdict::fail_with(
            "no revision rounds left",
            json!({"round": round, "max": max}),
        )
    }
}

fn evidence_cited(cx: &CheckContext<'_>) -> Verdict {
    let review = &cx.item().fields()["review"];
    let cited = review["evidence"].as_array().is_some_and(|e| !e.is_empty());
    Verdict::require(
        review["by"] == cx.actor().id() && cited,
        "this review cites no evidence",
    )
}

/// An artifact bound by the hash of its bytes.
pub(crate) fn artifact(name: &str, bytes: &[u8]) -> Value {
    json!({"name": name, "sha256": artifact_hash(bytes).to_string()})
}

/// A submission packet, signed by `by` over its artifacts.
pub(crate) fn submission(version: u64, by: &str, artifacts: &[Value], answers: Value) -> Value {
    let mut packet = json!({"version": version, "artifacts": artifacts, "answers": answers});
    if version > 1 {
        packet["supersedes"] = json!(version - 1);
    }
    let signed = signature(by, &json!({ "submission": packet }));
    packet["attestation"] = json!({"by": by, "signature": signed});
    json!({ "submission": packet })
}

/// A checker run over the task's current submission, with its verdict.
pub(crate) fn checker_run(run: &str, task: &Item, results: Value) -> Value {
    let verdict = if blocking(&results).is_empty() {
        "allow_review"
    } else {
        "block_review"
    };
    json!({"checker_run": {
        "run": run, "artifacts": submitted(task.fields()), "results": results, "verdict": verdict,
    }})
}

/// A new guide version for `project`, in draft.
pub(crate) fn guide<S: Store>(sc: &Scenario<S>, project: &str, version: u64, text: &str) -> ItemId {
    let fields = json!({
        "project": project, "version": version, "hash": artifact_hash(text.as_bytes()).to_string(),
    });
    sc.create(&operator(), NewItem::of("guide").fields(fields))
        .id()
}

/// What publishing locks into a task: the project's active guide and the policy.
pub(crate) fn locks<S: Store>(sc: &Scenario<S>, project: &str) -> Value {
    let active = sc
        .engine
        .items(&Query::new().workflow("guide").workstation("active"))
        .unwrap();
    let guide = active
        .iter()
        .find(|g| g.field("project") == Some(&json!(project)))
        .expect("an active guide");
    json!({
        "guide_version": guide.field("version"), "guide_hash": guide.field("hash"),
        "policy_hash": policy_hash(), "max_revision_rounds": policy()["max_revision_rounds"],
    })
}

/// A task of `project` taken from draft to in_progress by the usual people.
pub(crate) fn in_progress<S: Store>(sc: &Scenario<S>, project: &str, title: &str) -> ItemId {
    let (ola, cai) = (operator(), contributor());
    let fields = json!({"project": project, "title": title});
    let task = sc
        .create(&ola, NewItem::of("evaluation_task").fields(fields))
        .id();
    sc.go(task, &ola, Move::transition("screen"), "screening");
    sc.go(
        task,
        &ola,
        Move::transition("publish").patch(locks(sc, project)),
        "ready",
    );
    let claim = json!({"contributor": cai.id(), "award": policy()["award"]});
    sc.go(
        task,
        &cai,
        Move::transition("claim").patch(claim),
        "claimed",
    );
    sc.go(task, &cai, Move::transition("start"), "in_progress");
    task
}

/// The records the task's events carry (`payload.records`), in order.
pub(crate) fn records<S: Store>(sc: &Scenario<S>, task: ItemId) -> Vec<Value> {
    sc.history(task)
        .into_iter()
        .flat_map(|e| {
            e.payload()["records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// Reputation from review outcomes in the tasks' ledgers: an acceptance +3 for the
/// contributor, a revision request −1; every review decision +2 for its reviewer.
pub(crate) fn reputation<S: Store>(sc: &Scenario<S>, tasks: &[ItemId]) -> BTreeMap<String, i64> {
    let mut scores = BTreeMap::new();
    for &task in tasks {
        let contributor = sc
            .item(task)
            .field("contributor")
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        for event in sc.history(task) {
            let Change::Transitioned { transition, .. } = &event.change() else {
                continue;
            };
            let delta = match transition.as_str() {
                "accept" => 3,
                "request_changes" => -1,
                "reject" => 0,
                _ => continue,
            };
            *scores.entry(contributor.clone()).or_default() += delta;
            *scores.entry(event.actor().to_owned()).or_default() += 2;
        }
    }
    scores
}
