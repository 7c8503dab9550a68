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

/// The current submission packet: `packets[submission.version]`.
pub fn current_packet(fields: &Value) -> Option<&Value> {
    let version = fields.get("submission")?.get("version")?.as_u64()?;
    fields.get("packets")?.get(version.to_string())
}

/// The artifact hashes of the current packet, as written.
pub fn submitted_hashes(fields: &Value) -> BTreeSet<String> {
    current_packet(fields)
        .and_then(|p| p.get("artifacts"))
        .and_then(Value::as_array)
        .map(|artifacts| {
            artifacts
                .iter()
                .filter_map(|a| a.get("hash").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn string_set(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The failures of a checker run that block review: any `high` failure, and a `medium`
/// failure of a required checker.
pub fn blocking_failures(run: &Value) -> Vec<Value> {
    let Some(results) = run.get("results").and_then(Value::as_array) else {
        return Vec::new();
    };
    results
        .iter()
        .filter(|r| r.get("passed").and_then(Value::as_bool) == Some(false))
        .filter(|r| {
            let required = r.get("required").and_then(Value::as_bool) == Some(true);
            match r.get("severity").and_then(Value::as_str) {
                Some("high") => true,
                Some("medium") => required,
                _ => false,
            }
        })
        .cloned()
        .collect()
}

/// `artifacts_hashed`: the current packet lists at least one artifact, and each has a
/// `sha256:` hash that matches its bytes.
fn artifacts_hashed(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "artifacts_hashed";
    let Some(packet) = current_packet(cx.item().fields()) else {
        return fail(CHECK, "no submission packet is recorded", Value::Null);
    };
    let artifacts = match packet.get("artifacts").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list,
        _ => {
            return fail(
                CHECK,
                "the submission packet lists no artifacts",
                Value::Null,
            );
        }
    };
    let mut bad = Vec::new();
    for artifact in artifacts {
        let name = artifact.get("name").and_then(Value::as_str).unwrap_or("?");
        let content = artifact.get("content").and_then(Value::as_str);
        let hash = artifact
            .get("hash")
            .and_then(Value::as_str)
            .map(str::parse::<Sha256Hash>);
        let problem = match (content, hash) {
            (_, None) => "it has no hash",
            (_, Some(Err(_))) => "its hash is not of the form sha256:<hex>",
            (None, _) => "its bytes are missing",
            (Some(bytes), Some(Ok(hash))) if artifact_hash(bytes.as_bytes()) != hash => {
                "its hash does not match its bytes"
            }
            _ => continue,
        };
        bad.push(json!({ "artifact": name, "problem": problem }));
    }
    if bad.is_empty() {
        Verdict::Pass
    } else {
        let names: Vec<&str> = bad
            .iter()
            .filter_map(|b| b.get("artifact").and_then(Value::as_str))
            .collect();
        let message = format!("artifacts not bound by their hash: {}", names.join(", "));
        fail(CHECK, message, json!({ "artifacts": bad }))
    }
}

/// `attestation_signed`: the contributor who claimed the task signed the hash of exactly the
/// current packet, and the submission points at that packet.
fn attestation_signed(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "attestation_signed";
    let fields = cx.item().fields();
    let Some(packet) = current_packet(fields) else {
        return fail(CHECK, "no submission packet is recorded", Value::Null);
    };
    let computed = packet_hash(packet);
    let Some(attestation) = fields.get("attestation") else {
        return fail(CHECK, "the packet has no attestation", Value::Null);
    };
    let by = attestation.get("by").and_then(Value::as_str);
    let contributor = fields.get("contributor").and_then(Value::as_str);
    let hash_at = |value: &Value, key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .and_then(|h| h.parse::<Sha256Hash>().ok())
    };
    let mut problems = Vec::new();
    if by.is_none() || by != contributor {
        problems.push("it is not signed by the contributor who claimed the task");
    }
    if hash_at(attestation, "packet") != Some(computed) {
        problems.push("it does not attest the submitted packet");
    }
    if fields.get("submission").and_then(|s| hash_at(s, "packet")) != Some(computed) {
        problems.push("the submission does not point at the packet's hash");
    }
    match (by, hash_at(attestation, "signature")) {
        (Some(by), Some(sig)) if sig == signature(by, &computed) => {}
        _ => problems.push("its signature does not verify"),
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
    blocking: Vec<Value>,
}

fn run_verdict(fields: &Value) -> Option<RunVerdict> {
    let run = fields.get("checker_run")?;
    let admits = string_set(run.get("hashes"));
    let submitted = submitted_hashes(fields);
    Some(RunVerdict {
        id: run
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned(),
        exact: !submitted.is_empty() && admits == submitted,
        admits,
        submitted,
        blocking: blocking_failures(run),
    })
}

/// `checker_allows_review`: the checker run recorded on the task covers exactly the
/// submitted artifact hashes and has no blocking failure.
fn checker_allows_review(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "checker_allows_review";
    let Some(run) = run_verdict(cx.item().fields()) else {
        return fail(CHECK, "no checker run is recorded", Value::Null);
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
    let Some(run) = run_verdict(cx.item().fields()) else {
        return fail(CHECK, "no checker run is recorded", Value::Null);
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

/// The ids of the findings still `open`, sorted.
pub fn open_findings(fields: &Value) -> Vec<String> {
    let mut open: Vec<String> = fields
        .get("findings")
        .and_then(Value::as_object)
        .map(|findings| {
            findings
                .iter()
                .filter(|(_, f)| f.get("status").and_then(Value::as_str) == Some("open"))
                .map(|(id, _)| id.clone())
                .collect()
        })
        .unwrap_or_default();
    open.sort();
    open
}

/// `findings_answered`: the current packet, newer than every open finding, answers each of
/// them. The failure names the findings left unanswered.
fn findings_answered(cx: &CheckContext<'_>) -> Verdict {
    const CHECK: &str = "findings_answered";
    let fields = cx.item().fields();
    let Some(packet) = current_packet(fields) else {
        return fail(CHECK, "no submission packet is recorded", Value::Null);
    };
    let version = packet.get("version").and_then(Value::as_u64).unwrap_or(0);
    let answers = packet.get("answers");
    let mut unanswered = Vec::new();
    for id in open_findings(fields) {
        let raised_in = fields
            .pointer(&format!("/findings/{id}/raised_in"))
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX);
        let answered = answers
            .and_then(|a| a.get(&id))
            .and_then(Value::as_str)
            .is_some_and(|text| !text.trim().is_empty());
        if !answered || version <= raised_in {
            unanswered.push(id);
        }
    }
    if unanswered.is_empty() {
        Verdict::Pass
    } else {
        fail(
            CHECK,
            format!("open findings not answered: {}", unanswered.join(", ")),
            json!({ "unanswered": unanswered, "packet_version": version }),
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
    let used = stored
        .field("revision_rounds")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let Some(max) = stored.field("max_revision_rounds").and_then(Value::as_u64) else {
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
    let fields = cx.item().fields();
    let Some(review) = fields.get("review") else {
        return fail(CHECK, "no review decision is recorded", Value::Null);
    };
    let mut problems = Vec::new();
    if review.get("by").and_then(Value::as_str) != Some(cx.actor().id()) {
        problems.push("the recorded decision is not the reviewer's own".to_owned());
    }
    let expected = match cx.transition() {
        Some("accept") => Some("accepted"),
        Some("reject") => Some("rejected"),
        _ => None,
    };
    if expected.is_some() && review.get("decision").and_then(Value::as_str) != expected {
        problems.push("the recorded decision is not the one being made".to_owned());
    }
    let cited = string_set(review.get("evidence"));
    if cited.is_empty() {
        problems.push("it cites no evidence".to_owned());
    }
    let mut known = submitted_hashes(fields);
    if let Some(run) = fields
        .get("checker_run")
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
    {
        known.insert(run.to_owned());
    }
    let unknown: Vec<&String> = cited.difference(&known).collect();
    if !unknown.is_empty() {
        problems.push(format!(
            "it cites evidence that is not part of the submission: {}",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
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
