//! The records the sprint keeps in its items' fields and its events' payloads, as types.
//!
//! The simulation writes them (serialized into field patches and payloads), the checks and
//! the report read them back. Reading is lenient where a check must say what is missing
//! (an artifact without a hash is a refusal reason, not a parse error): such fields are
//! `Option`s, and absent options are not written.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use workstream::{Item, artifact_hash};

/// One file of a submission: its bytes and the `sha256:` hash that binds them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// The file's name (`answer.md`).
    pub name: String,
    /// Its media type (`text/markdown`).
    pub media_type: String,
    /// Its bytes, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `sha256:<hex>` of the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

impl Artifact {
    /// An artifact of `content`, bound by its hash.
    pub fn new(name: &str, media_type: &str, content: String) -> Self {
        Artifact {
            name: name.to_owned(),
            media_type: media_type.to_owned(),
            hash: Some(artifact_hash(content.as_bytes()).to_string()),
            content: Some(content),
        }
    }
}

/// A submission packet: the artifacts, the answers to open findings, and the hash of the
/// packet it supersedes. It is bound by the sha256 of its canonical JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Packet {
    /// 1 for the first submission, then 2, 3, ….
    pub version: u64,
    /// The files submitted.
    pub artifacts: Vec<Artifact>,
    /// Answers to open findings, by finding id.
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    /// The hash of the packet this one replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
}

/// Which packet is the current submission.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The packet's version (its key under `packets`).
    pub version: u64,
    /// The packet's hash.
    pub packet: String,
    /// The hash of the packet it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
}

/// The contributor's signature over a packet hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attestation {
    /// Who signed.
    pub by: String,
    /// The packet hash signed.
    pub packet: String,
    /// The signature.
    pub signature: String,
}

/// One automated checker's result in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckerResult {
    /// The checker's name.
    pub checker: String,
    /// Whether its failure at `medium` blocks review.
    pub required: bool,
    /// Whether it passed.
    pub passed: bool,
    /// `none`, `low`, `medium` or `high`.
    pub severity: String,
}

impl CheckerResult {
    /// Whether this result blocks review: a `high` failure, or a `medium` failure of a
    /// required checker.
    pub fn blocks(&self) -> bool {
        !self.passed
            && match self.severity.as_str() {
                "high" => true,
                "medium" => self.required,
                _ => false,
            }
    }
}

/// A run of the automated checkers over a set of artifact hashes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckerRun {
    /// The run's id (`run-s1-17-2`).
    pub id: String,
    /// The actor who ran it.
    pub checker: String,
    /// The artifact hashes it covers.
    pub hashes: BTreeSet<String>,
    /// One result per checker.
    pub results: Vec<CheckerResult>,
}

/// A finding raised on a task, by a reviewer (`F1`…) or a blocking checker (`C1`…).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// What is wrong.
    pub text: String,
    /// Who raised it.
    pub by: String,
    /// The packet version it was raised on.
    pub raised_in: u64,
    /// `open` or `resolved`.
    pub status: String,
}

/// A reviewer's decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// The reviewer.
    pub by: String,
    /// `accepted`, `needs_revision` or `rejected`.
    pub decision: String,
    /// The review round.
    pub round: u32,
    /// What the decision cites: artifact hashes and checker run ids.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// The award frozen onto a task when it is claimed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Award {
    /// The exact amount, a decimal string with two decimals.
    pub amount: String,
    /// The currency (`USD`).
    pub currency: String,
}

/// A payment provider's receipt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// The provider's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    /// The payment it is for.
    pub payment: u64,
    /// Who was paid.
    pub payee: String,
    /// How much, a decimal string with two decimals.
    pub amount: String,
    /// The currency.
    pub currency: String,
}

/// A contribution recorded in a decision's payload: a submission (with its award) or a
/// review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// `submission` or `review`.
    pub kind: String,
    /// Who contributed.
    pub by: String,
    /// The award of a submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub award: Option<Award>,
}

/// The payload of a decision: the contributions it records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Contributions {
    /// The contributions, in order.
    pub contributions: Vec<Contribution>,
}

/// What a task's fields hold, as the checks read them. Every record is optional: a check
/// says which one is missing.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct TaskRecords {
    /// Who claimed the task.
    pub contributor: Option<String>,
    /// Every packet submitted, by version.
    #[serde(default)]
    pub packets: BTreeMap<String, Packet>,
    /// The current submission.
    pub submission: Option<Submission>,
    /// The contributor's attestation of it.
    pub attestation: Option<Attestation>,
    /// The latest checker run.
    pub checker_run: Option<CheckerRun>,
    /// Findings by id.
    #[serde(default)]
    pub findings: BTreeMap<String, Finding>,
    /// The latest review decision.
    pub review: Option<Review>,
    /// Revision requests so far.
    pub revision_rounds: Option<u64>,
    /// The revision limit locked in at publishing.
    pub max_revision_rounds: Option<u64>,
    /// The award frozen at claiming.
    pub award: Option<Award>,
    /// Answers drafted one by one before a resubmission, by finding id.
    #[serde(default)]
    pub draft_answers: BTreeMap<String, String>,
}

impl TaskRecords {
    /// The records of `fields`; `Err` names the first record that does not read.
    pub fn of(fields: &Value) -> Result<Self, serde_json::Error> {
        TaskRecords::deserialize(fields)
    }

    /// The records of `item`'s fields.
    pub fn of_item(item: &Item) -> Result<Self, serde_json::Error> {
        Self::of(item.fields())
    }

    /// The current submission packet: `packets[submission.version]`.
    pub fn current_packet(&self) -> Option<&Packet> {
        let version = self.submission.as_ref()?.version;
        self.packets.get(&version.to_string())
    }

    /// The artifact hashes of the current packet, as written.
    pub fn submitted_hashes(&self) -> BTreeSet<String> {
        self.current_packet()
            .map(|p| p.artifacts.iter().filter_map(|a| a.hash.clone()).collect())
            .unwrap_or_default()
    }

    /// The ids of the findings still `open`, sorted.
    pub fn open_findings(&self) -> Vec<String> {
        self.findings
            .iter()
            .filter(|(_, f)| f.status == "open")
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The current submission's version (0 before the first).
    pub fn submission_version(&self) -> u64 {
        self.submission.as_ref().map_or(0, |s| s.version)
    }
}
