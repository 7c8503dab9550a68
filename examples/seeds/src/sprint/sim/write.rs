//! What the simulation writes into fields: packets, checker runs, submissions and reviews, and the texts they are made of.

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
        answers: BTreeMap<String, String>,
        supersedes: Option<String>,
    ) -> Packet {
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
            Artifact::new("answer.md", "text/markdown", answer),
            Artifact::new("evidence.json", "application/json", evidence),
        ];
        if self.rng.chance(200) {
            let notes = format!("Notes for version {version}: {}", self.rng.pick(ANSWERS));
            artifacts.push(Artifact::new("notes.txt", "text/plain", notes));
        }
        Packet {
            version,
            artifacts,
            answers,
            supersedes,
        }
    }

    pub(super) fn checker_run(
        &mut self,
        i: usize,
        hashes: &BTreeSet<String>,
        blocking: bool,
    ) -> CheckerRun {
        const CHECKERS: [(&str, bool); 4] = [
            ("format", true),
            ("completeness", true),
            ("provenance", true),
            ("style", false),
        ];
        self.tasks[i].runs += 1;
        let mut results: Vec<CheckerResult> = CHECKERS
            .iter()
            .map(|&(name, required)| CheckerResult {
                checker: name.to_owned(),
                required,
                passed: true,
                severity: "none".to_owned(),
            })
            .collect();
        if blocking {
            let k = self.rng.below(CHECKERS.len());
            let severity = if CHECKERS[k].1 && self.rng.chance(500) {
                "medium"
            } else {
                "high"
            };
            results[k].passed = false;
            results[k].severity = severity.to_owned();
        } else if self.rng.chance(150) {
            // A failure that does not block: low severity, or medium on the optional checker.
            let k = self.rng.below(CHECKERS.len());
            let severity = if !CHECKERS[k].1 && self.rng.chance(500) {
                "medium"
            } else {
                "low"
            };
            results[k].passed = false;
            results[k].severity = severity.to_owned();
        }
        CheckerRun {
            id: format!(
                "run-s{}-{}-{}",
                self.number, self.tasks[i].number, self.tasks[i].runs
            ),
            checker: self.cast.checker.id().to_owned(),
            hashes: hashes.clone(),
            results,
        }
    }

    // -- Payments -------------------------------------------------------------------------
}

/// The records of an item of the simulation's own making; they always read.
pub(super) fn task_records(item: &Item) -> Result<TaskRecords, SimError> {
    TaskRecords::of_item(item).map_err(|e| {
        SimError::Unexpected(format!(
            "task {} has records that do not read: {e}",
            item.id()
        ))
    })
}

/// The patch that records a packet: the packet under its version, the submission pointing
/// at its hash, and the contributor's attestation (signed over another hash when
/// `wrong_signature`).
pub(super) fn submission_patch(contributor: &str, packet: &Packet, wrong_signature: bool) -> Value {
    let packet = json!(packet);
    let version = packet["version"].as_u64().unwrap_or(0);
    let hash = packet_hash(&packet);
    let signed = if wrong_signature {
        Sha256Hash::of(b"an earlier draft of the packet")
    } else {
        hash
    };
    let submission = Submission {
        version,
        packet: hash.to_string(),
        supersedes: packet["supersedes"].as_str().map(str::to_owned),
    };
    let attestation = Attestation {
        by: contributor.to_owned(),
        packet: hash.to_string(),
        signature: signature(contributor, &signed).to_string(),
    };
    let mut packets = Map::new();
    packets.insert(version.to_string(), packet);
    json!({ "packets": packets, "submission": submission, "attestation": attestation })
}

/// What a reviewer cites: the first artifact's hash and the checker run's id.
pub(super) fn evidence(records: &TaskRecords) -> Vec<String> {
    let mut cited: Vec<String> = records.submitted_hashes().into_iter().take(1).collect();
    cited.extend(records.checker_run.as_ref().map(|run| run.id.clone()));
    cited
}

/// A reviewer's decision, citing `evidence`.
pub(super) fn review_of(by: &str, decision: &str, round: u32, evidence: &[String]) -> Review {
    Review {
        by: by.to_owned(),
        decision: decision.to_owned(),
        round,
        evidence: evidence.to_vec(),
    }
}
