//! The records the simulation writes into fields: packets, checker runs, artifacts, submissions and reviews.

use super::*;

pub(super) const TOPICS: &[&str] = &[
    "label agreement",
    "caption quality",
    "translation fidelity",
    "code review",
    "data provenance",
    "summary accuracy",
];
pub(super) const FINDINGS: &[&str] = &[
    "the evidence file does not cite the source of the second figure",
    "criterion 2 is answered only in part",
    "the answer contradicts the sample's metadata",
    "the rationale for the label is missing",
    "the edge case named in the acceptance criteria is not covered",
    "units are missing from the reported values",
];
pub(super) const ANSWERS: &[&str] = &[
    "cited the source in evidence.json",
    "answered criterion 2 in full",
    "corrected the answer against the metadata",
    "added the rationale",
    "covered the edge case",
    "added the units",
];
pub(super) const SENTENCES: &[&str] = &[
    "The sample meets criteria 1 and 2; criterion 3 holds with one caveat.",
    "Both annotators agree on the label; the disagreement on span 4 is resolved.",
    "The summary keeps every figure of the source and adds none.",
    "The translation keeps the register; two idioms are rendered literally.",
];

impl<S: Store> Sim<'_, S> {
    /// A submission packet: two or three artifacts, each with its bytes and hash, the
    /// answers to open findings, and the hash of the packet it supersedes.
    pub(super) fn packet(
        &mut self,
        i: usize,
        version: u64,
        answers: Map<String, Value>,
        supersedes: Option<String>,
    ) -> Value {
        let number = self.tasks[i].number;
        let answer = format!(
            "# Sample {number:05}, answer v{version}\n{}\nDraft {:016x}.\n",
            self.rng.pick(SENTENCES),
            self.rng.next_u64()
        );
        let evidence = canonical_json(&json!({
            "sample": number,
            "version": version,
            "sources": [format!("src-{:04}", self.rng.below(10_000))],
        }));
        let mut artifacts = vec![
            artifact("answer.md", "text/markdown", answer),
            artifact("evidence.json", "application/json", evidence),
        ];
        if self.rng.chance(200) {
            let notes = format!("Notes for version {version}: {}", self.rng.pick(ANSWERS));
            artifacts.push(artifact("notes.txt", "text/plain", notes));
        }
        let mut packet = json!({ "version": version, "artifacts": artifacts, "answers": answers });
        if let Some(previous) = supersedes {
            packet["supersedes"] = Value::from(previous);
        }
        packet
    }

    pub(super) fn checker_run(
        &mut self,
        i: usize,
        hashes: &BTreeSet<String>,
        blocking: bool,
    ) -> Value {
        const CHECKERS: [(&str, bool); 4] = [
            ("format", true),
            ("completeness", true),
            ("provenance", true),
            ("style", false),
        ];
        self.tasks[i].runs += 1;
        let mut results: Vec<Value> = CHECKERS
            .iter()
            .map(|(name, required)| {
                json!({ "checker": name, "required": required, "passed": true, "severity": "none" })
            })
            .collect();
        if blocking {
            let k = self.rng.below(CHECKERS.len());
            let severity = if CHECKERS[k].1 && self.rng.chance(500) {
                "medium"
            } else {
                "high"
            };
            results[k]["passed"] = Value::Bool(false);
            results[k]["severity"] = Value::from(severity);
        } else if self.rng.chance(150) {
            // A failure that does not block: low severity, or medium on the optional checker.
            let k = self.rng.below(CHECKERS.len());
            let severity = if !CHECKERS[k].1 && self.rng.chance(500) {
                "medium"
            } else {
                "low"
            };
            results[k]["passed"] = Value::Bool(false);
            results[k]["severity"] = Value::from(severity);
        }
        json!({
            "id": format!("run-s{}-{}-{}", self.number, self.tasks[i].number, self.tasks[i].runs),
            "checker": self.checker.id(),
            "hashes": hashes,
            "results": results,
        })
    }

    // -- Payments -------------------------------------------------------------------------
}

pub(super) fn artifact(name: &str, media_type: &str, content: String) -> Value {
    json!({
        "name": name,
        "media_type": media_type,
        "hash": artifact_hash(content.as_bytes()).to_string(),
        "content": content,
    })
}

pub(super) fn submission_version(fields: &Value) -> u64 {
    fields
        .get("submission")
        .and_then(|s| s.get("version"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The patch that records a packet: the packet under its version, the submission pointing
/// at its hash, and the contributor's attestation (signed over another hash when
/// `wrong_signature`).
pub(super) fn submission_patch(contributor: &str, packet: &Value, wrong_signature: bool) -> Value {
    let version = packet.get("version").and_then(Value::as_u64).unwrap_or(0);
    let hash = packet_hash(packet);
    let signed = if wrong_signature {
        Sha256Hash::of(b"an earlier draft of the packet")
    } else {
        hash
    };
    let mut pointer = json!({ "version": version, "packet": hash.to_string() });
    if let Some(previous) = packet.get("supersedes") {
        pointer["supersedes"] = previous.clone();
    }
    let mut packets = Map::new();
    packets.insert(version.to_string(), packet.clone());
    json!({
        "packets": packets,
        "submission": pointer,
        "attestation": {
            "by": contributor,
            "packet": hash.to_string(),
            "signature": signature(contributor, &signed).to_string(),
        },
    })
}

/// What a reviewer cites: the first artifact's hash and the checker run's id.
pub(super) fn evidence(fields: &Value) -> Vec<String> {
    let mut cited: Vec<String> = submitted_hashes(fields).into_iter().take(1).collect();
    if let Some(run) = fields
        .get("checker_run")
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
    {
        cited.push(run.to_owned());
    }
    cited
}

pub(super) fn review_record(by: &str, decision: &str, round: u32, evidence: &[String]) -> Value {
    json!({ "by": by, "decision": decision, "round": round, "evidence": evidence })
}
