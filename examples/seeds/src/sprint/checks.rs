//! The checks the sprint's workflow files name, written in Rust.
//!
//! Each check reads the item as it would be after the move (the move's field patch applied),
//! so a move and the record it carries are judged together. Every failure's details name
//! the check (`"check": NAME`) and what failed, so a report can group refusals by check even
//! where the workflow file gives the reason its own message.
//!
//! The records they read, all in the task's fields:
//!
//! - `packets`: every submission packet by version (`"1"`, `"2"`, …), each
//!   `{version, artifacts: [{name, media_type, content, hash}], answers: {finding: text},
//!   supersedes?}`; `submission`: `{version, packet, supersedes?}` points at the current one,
//!   and `packet` is the sha256 of the packet's canonical JSON;
//! - `attestation`: `{by, packet, signature}`, the contributor's signature over that hash;
//! - `checker_run`: the latest run, `{id, checker, hashes, results: [{checker, required,
//!   passed, severity}]}`;
//! - `findings`: `{id: {text, by, raised_in, status}}` with status `open` or `resolved`;
//! - `review`: the latest decision, `{by, decision, round, evidence: [...]}`;
//! - `revision_rounds` (revision requests so far) and `max_revision_rounds` (locked in from
//!   the policy when the task was published).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use workstream::{CheckContext, Checks, Sha256Hash, Sha256Hasher, Verdict, artifact_hash};

use super::records::{CheckerResult, TaskRecords};

/// Every check of the evaluation task and of the payment workflow.
pub fn checks() -> Checks {
    Checks::new()
        .add("artifacts_hashed", artifacts_hashed)
        .add("attestation_signed", attestation_signed)
        .add("checker_allows_review", checker_allows_review)
        .add("checker_blocks_review", checker_blocks_review)
        .add("findings_answered", findings_answered)
        .add("revision_rounds_left", revision_rounds_left)
        .add("evidence_cited", evidence_cited)
        .add("receipt_matches", receipt_matches)
}

fn fail(check: &str, message: impl Into<String>, details: Value) -> Verdict {
    let mut details = match details {
        Value::Object(map) => map,
        Value::Null => serde_json::Map::new(),
        other => {
            let mut map = serde_json::Map::new();
            map.insert("detail".to_owned(), other);
            map
        }
    };
    details.insert("check".to_owned(), Value::from(check));
    Verdict::fail_with(message, Value::Object(details))
}

/// The signature a contributor's key makes over a packet hash.
///
/// A keyed sha256 over the signer's platform key and the packet hash stands in for a real
/// signature scheme: the platform holds every contributor's key, so it can check an
/// attestation, and an attestation over another packet does not verify.
pub fn signature(signer: &str, packet: &Sha256Hash) -> Sha256Hash {
    let mut key = Sha256Hasher::new();
    key.update(b"workstream sprint signing key\0");
    key.update(signer.as_bytes());
    let key = key.finish();
    let mut mac = Sha256Hasher::new();
    mac.update(key.as_bytes());
    mac.update(packet.to_string().as_bytes());
    mac.finish()
}

/// The hash a packet is bound by: sha256 over its canonical JSON.
pub fn packet_hash(packet: &Value) -> Sha256Hash {
    Sha256Hash::of(workstream::canonical_json(packet).as_bytes())
}

/// The current submission packet as stored, `packets[submission.version]`: the JSON its
/// hash is computed over.
pub fn current_packet(fields: &Value) -> Option<&Value> {
    let version = fields.get("submission")?.get("version")?.as_u64()?;
    fields.get("packets")?.get(version.to_string())
}

/// The task's records, or the failure of `check` naming why they do not read.
fn records(check: &str, fields: &Value) -> Result<TaskRecords, Verdict> {
    TaskRecords::of(fields).map_err(|e| {
        fail(
            check,
            format!("the task's records do not read: {e}"),
            Value::Null,
        )
    })
}

/// `artifacts_hashed`: the current packet lists at least one artifact, and each has a
/// `sha256:` hash that matches its bytes.
fn artifacts_hashed(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "artifacts_hashed";
    let records = match records(CHECK, cx.item().fields()) {
        Ok(records) => records,
        Err(failed) => return failed,
    };
    let Some(packet) = records.current_packet() else {
        return fail(CHECK, "no submission packet is recorded", Value::Null);
    };
    if packet.artifacts.is_empty() {
        return fail(
            CHECK,
            "the submission packet lists no artifacts",
            Value::Null,
        );
    }
    let mut bad = Vec::new();
    for artifact in &packet.artifacts {
        let hash = artifact.hash.as_deref().map(str::parse::<Sha256Hash>);
        let problem = match (&artifact.content, hash) {
            (_, None) => "it has no hash",
            (_, Some(Err(_))) => "its hash is not of the form sha256:<hex>",
            (None, _) => "its bytes are missing",
            (Some(bytes), Some(Ok(hash))) if artifact_hash(bytes.as_bytes()) != hash => {
                "its hash does not match its bytes"
            }
            _ => continue,
        };
        bad.push((artifact.name.as_str(), problem));
    }
    if bad.is_empty() {
        return Verdict::Pass;
    }
    let names: Vec<&str> = bad.iter().map(|&(name, _)| name).collect();
    let message = format!("artifacts not bound by their hash: {}", names.join(", "));
    let details: Vec<Value> = bad
        .iter()
        .map(|(name, problem)| json!({ "artifact": name, "problem": problem }))
        .collect();
    fail(CHECK, message, json!({ "artifacts": details }))
}

/// `attestation_signed`: the contributor who claimed the task signed the hash of exactly the
/// current packet, and the submission points at that packet.
fn attestation_signed(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "attestation_signed";
    let fields = cx.item().fields();
    let records = match records(CHECK, fields) {
        Ok(records) => records,
        Err(failed) => return failed,
    };
    let Some(packet) = current_packet(fields) else {
        return fail(CHECK, "no submission packet is recorded", Value::Null);
    };
    let computed = packet_hash(packet);
    let Some(attestation) = &records.attestation else {
        return fail(CHECK, "the packet has no attestation", Value::Null);
    };
    let hash = |text: &str| text.parse::<Sha256Hash>().ok();
    let mut problems = Vec::new();
    if records.contributor.as_deref() != Some(attestation.by.as_str()) {
        problems.push("it is not signed by the contributor who claimed the task");
    }
    if hash(&attestation.packet) != Some(computed) {
        problems.push("it does not attest the submitted packet");
    }
    if records.submission.as_ref().and_then(|s| hash(&s.packet)) != Some(computed) {
        problems.push("the submission does not point at the packet's hash");
    }
    if hash(&attestation.signature) != Some(signature(&attestation.by, &computed)) {
        problems.push("its signature does not verify");
    }
    if problems.is_empty() {
        Verdict::Pass
    } else {
        fail(
            CHECK,
            format!("the attestation does not hold: {}", problems.join("; ")),
            json!({ "problems": problems, "packet": computed.to_string() }),
        )
    }
}

/// What a checker run says about the current packet: its id, whether it covers exactly the
/// submitted hashes, and its blocking failures.
struct RunVerdict {
    id: String,
    exact: bool,
    admits: BTreeSet<String>,
    submitted: BTreeSet<String>,
    blocking: Vec<CheckerResult>,
}

fn run_verdict(check: &str, fields: &Value) -> Result<RunVerdict, Verdict> {
    let records = records(check, fields)?;
    let Some(run) = records.checker_run.as_ref() else {
        return Err(fail(check, "no checker run is recorded", Value::Null));
    };
    let submitted = records.submitted_hashes();
    Ok(RunVerdict {
        id: run.id.clone(),
        exact: !submitted.is_empty() && run.hashes == submitted,
        admits: run.hashes.clone(),
        submitted,
        blocking: run.results.iter().filter(|r| r.blocks()).cloned().collect(),
    })
}

/// `checker_allows_review`: the checker run recorded on the task covers exactly the
/// submitted artifact hashes and has no blocking failure.
fn checker_allows_review(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "checker_allows_review";
    let run = match run_verdict(CHECK, cx.item().fields()) {
        Ok(run) => run,
        Err(failed) => return failed,
    };
    if !run.exact {
        return fail(
            CHECK,
            format!(
                "checker run {} admits other artifacts than the submitted ones",
                run.id
            ),
            json!({ "run": run.id, "admits": run.admits, "submitted": run.submitted }),
        );
    }
    if !run.blocking.is_empty() {
        return fail(
            CHECK,
            format!("checker run {} has blocking failures", run.id),
            json!({ "run": run.id, "failures": run.blocking }),
        );
    }
    Verdict::Pass
}

/// `checker_blocks_review`: a checker run over exactly the submitted hashes failed with
/// severity `high`, or a required checker failed with severity `medium`.
fn checker_blocks_review(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "checker_blocks_review";
    let run = match run_verdict(CHECK, cx.item().fields()) {
        Ok(run) => run,
        Err(failed) => return failed,
    };
    if !run.exact {
        return fail(
            CHECK,
            format!(
                "checker run {} is not a run over the submitted artifacts",
                run.id
            ),
            json!({ "run": run.id, "admits": run.admits, "submitted": run.submitted }),
        );
    }
    if run.blocking.is_empty() {
        return fail(
            CHECK,
            format!("checker run {} has no blocking failure", run.id),
            json!({ "run": run.id }),
        );
    }
    Verdict::Pass
}

/// `findings_answered`: the current packet, newer than every open finding, answers each of
/// them. The failure names the findings left unanswered.
fn findings_answered(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "findings_answered";
    let records = match records(CHECK, cx.item().fields()) {
        Ok(records) => records,
        Err(failed) => return failed,
    };
    let Some(packet) = records.current_packet() else {
        return fail(CHECK, "no submission packet is recorded", Value::Null);
    };
    let unanswered: Vec<String> = records
        .open_findings()
        .into_iter()
        .filter(|id| {
            let raised_in = records.findings[id].raised_in;
            let answered = packet
                .answers
                .get(id)
                .is_some_and(|text| !text.trim().is_empty());
            !answered || packet.version <= raised_in
        })
        .collect();
    if unanswered.is_empty() {
        Verdict::Pass
    } else {
        fail(
            CHECK,
            format!("open findings not answered: {}", unanswered.join(", ")),
            json!({ "unanswered": unanswered, "packet_version": packet.version }),
        )
    }
}

/// `revision_rounds_left`: the revision requests the task received, as stored (a
/// resubmission's own patch cannot lower them), are within the limit locked into it.
fn revision_rounds_left(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "revision_rounds_left";
    let stored = match cx.reader().item(cx.item().id()) {
        Ok(Some(item)) => item,
        Ok(None) => return fail(CHECK, "the task is not stored", Value::Null),
        Err(e) => {
            return fail(
                CHECK,
                format!("the task could not be read: {e}"),
                Value::Null,
            );
        }
    };
    let records = match records(CHECK, stored.fields()) {
        Ok(records) => records,
        Err(failed) => return failed,
    };
    let used = records.revision_rounds.unwrap_or(0);
    let Some(max) = records.max_revision_rounds else {
        return fail(
            CHECK,
            "no revision limit is locked into the task",
            Value::Null,
        );
    };
    if used > max {
        fail(
            CHECK,
            format!("{used} revision rounds were requested; the policy allows {max}"),
            json!({ "rounds": used, "max": max }),
        )
    } else {
        Verdict::Pass
    }
}

/// `evidence_cited`: the decision recorded with the move is the actor's own, is the one the
/// transition makes, and cites at least one piece of evidence, each a submitted artifact's
/// hash or the id of the checker run over them.
fn evidence_cited(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "evidence_cited";
    let records = match records(CHECK, cx.item().fields()) {
        Ok(records) => records,
        Err(failed) => return failed,
    };
    let Some(review) = &records.review else {
        return fail(CHECK, "no review decision is recorded", Value::Null);
    };
    let mut problems = Vec::new();
    if review.by != cx.actor().id() {
        problems.push("the recorded decision is not the reviewer's own".to_owned());
    }
    let expected = match cx.transition() {
        Some("accept") => Some("accepted"),
        Some("reject") => Some("rejected"),
        _ => None,
    };
    if expected.is_some_and(|e| review.decision != e) {
        problems.push("the recorded decision is not the one being made".to_owned());
    }
    let cited: BTreeSet<&String> = review.evidence.iter().collect();
    if cited.is_empty() {
        problems.push("it cites no evidence".to_owned());
    }
    let mut known = records.submitted_hashes();
    if let Some(run) = &records.checker_run {
        known.insert(run.id.clone());
    }
    let unknown: Vec<&str> = cited
        .into_iter()
        .filter(|c| !known.contains(*c))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        problems.push(format!(
            "it cites evidence that is not part of the submission: {}",
            unknown.join(", ")
        ));
    }
    if problems.is_empty() {
        Verdict::Pass
    } else {
        fail(
            CHECK,
            format!(
                "the decision does not cite its evidence: {}",
                problems.join("; ")
            ),
            json!({ "problems": problems }),
        )
    }
}

/// `receipt_matches` (payment): the receipt carries an external reference and names this
/// payment, its payee, its exact amount and its currency.
fn receipt_matches(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "receipt_matches";
    let item = cx.item();
    let fields = item.fields();
    let Some(receipt) = fields.get("receipt") else {
        return fail(CHECK, "no receipt is recorded", Value::Null);
    };
    let mut conflicts = Vec::new();
    if receipt
        .get("external_ref")
        .and_then(Value::as_str)
        .is_none_or(|r| r.trim().is_empty())
    {
        conflicts.push("external_ref");
    }
    if receipt.get("payment").and_then(Value::as_u64) != Some(item.id().0) {
        conflicts.push("payment");
    }
    for key in ["payee", "currency"] {
        if receipt.get(key).is_none() || receipt.get(key) != fields.get(key) {
            conflicts.push(key);
        }
    }
    let amount = |v: &Value| {
        v.get("amount")
            .and_then(Value::as_str)
            .and_then(crate::sprint::money::parse_cents)
    };
    if amount(receipt).is_none() || amount(receipt) != amount(fields) {
        conflicts.push("amount");
    }
    if conflicts.is_empty() {
        Verdict::Pass
    } else {
        fail(
            CHECK,
            format!(
                "the receipt conflicts with the payment on: {}",
                conflicts.join(", ")
            ),
            json!({ "conflicts": conflicts }),
        )
    }
}
