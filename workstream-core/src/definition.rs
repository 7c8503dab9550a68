//! Definitions as a store keeps them: each workflow text an item was written under, by the
//! sha256 of the text, with the hashes of the definition it parses to.

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostics;
use crate::hash::{DefinitionHash, Sha256Hash};
use crate::workflow::Workflow;

/// A workflow text a store keeps, so that a program holding only the store can list the
/// definitions its items were written under, and replay and verify any item under its own.
///
/// It is kept once, under [`source`](Self::source) (the sha256 of [`text`](Self::text)), in
/// the same transaction as the first event that names it. Several texts may share one
/// [`definition`](Self::definition) hash (they differ only in descriptions, messages, ids or
/// layout, and decide the same moves).
///
/// Stores build it from what they read back; its fields are its whole meaning, so it is
/// not `#[non_exhaustive]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDefinition {
    /// The sha256 of `text`: what an event's `source` names.
    pub source: Sha256Hash,
    /// The definition hash the text parses to.
    pub definition: DefinitionHash,
    /// The hash workstream 0.1 gave the same text, which items it created carry.
    pub format1: DefinitionHash,
    /// The workflow's name.
    pub workflow: String,
    /// Its version.
    pub version: u32,
    /// The name the text was read from (a path, or a label).
    pub origin: String,
    /// The text, exactly as parsed.
    pub text: String,
}

impl StoredDefinition {
    /// The record of `workflow`'s text.
    pub fn of(workflow: &Workflow) -> Self {
        StoredDefinition {
            source: *workflow.source_hash(),
            definition: *workflow.definition_hash(),
            format1: *workflow.format1_hash(),
            workflow: workflow.name().to_owned(),
            version: workflow.version(),
            origin: workflow.origin().to_owned(),
            text: workflow.source().to_owned(),
        }
    }

    /// Parses the text again, with the one validator.
    pub fn parse(&self) -> Result<Workflow, Diagnostics> {
        crate::parse(&self.origin, &self.text)
    }

    /// What is wrong with the record, if anything: the text does not hash to `source`, does
    /// not parse, or parses to another workflow, version or definition than recorded.
    pub fn problem(&self) -> Option<String> {
        let actual = Sha256Hash::of(self.text.as_bytes());
        if actual != self.source {
            return Some(format!(
                "its text hashes to {actual}, not to the source {} it is kept under",
                self.source
            ));
        }
        let workflow = match self.parse() {
            Ok(workflow) => workflow,
            Err(diagnostics) => return Some(format!("its text does not parse: {diagnostics}")),
        };
        let parsed = (
            workflow.name(),
            workflow.version(),
            workflow.definition_hash(),
            workflow.format1_hash(),
        );
        let recorded = (
            self.workflow.as_str(),
            self.version,
            &self.definition,
            &self.format1,
        );
        (parsed != recorded).then(|| {
            format!(
                "its text is {} version {} with definition {} (0.1: {}), but it is recorded \
                 as {} version {} with definition {} (0.1: {})",
                parsed.0,
                parsed.1,
                parsed.2,
                parsed.3,
                recorded.0,
                recorded.1,
                recorded.2,
                recorded.3
            )
        })
    }
}
