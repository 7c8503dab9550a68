//! The core of workstream: workflow files and their one parser and validator, the engine,
//! the hash-chained ledger and the `Store` trait.
//!
//! A workflow file declares a lifecycle: workstations, transitions between them, and the
//! assertions that must hold before work moves. [`parse`] turns its text into a validated
//! [`Workflow`] or into [`Diagnostics`] naming every problem at `origin:line:col`. The
//! `workflow!` macro and the runtime loader both call it, so they accept and reject exactly
//! the same files.
//!
//! ```
//! let text = r#"
//! workflow: review
//! version: 1
//! workstations:
//!   open:   { initial: true }
//!   merged: { terminal: true }
//! transitions:
//!   merge: { from: open, to: merged }
//! "#;
//! let workflow = workstream_core::parse("review.yaml", text)?;
//! let open = workflow.workstation_id("open").unwrap();
//! let merge = workflow.transition_id("merge").unwrap();
//! let merged = workflow.target(open, merge).unwrap();
//! assert_eq!(workflow.workstation(merged).name(), "merged");
//! assert!(workflow.definition_hash().to_string().starts_with("sha256:"));
//! # Ok::<(), workstream_core::Diagnostics>(())
//! ```
//!
//! The file format is described in [`format`](mod@format).

#![cfg_attr(docsrs, feature(doc_cfg))]

mod assertion;
mod audit;
mod chain;
mod check;
mod clock;
mod dag;
mod definition;
mod diagnostic;
mod digest;
mod duration;
mod engine;
mod evaluate;
mod export;
mod feed;
mod hash;
mod id;
mod item;
mod ledger;
mod metrics;
mod name;
mod read;
mod refusal;
mod signals;
mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod typed;
mod validate;
mod value;
mod window;
mod workflow;
mod yaml;

#[doc = include_str!("../docs/workflow-format.md")]
pub mod format {}

pub use assertion::{Assertion, AssertionKind, Op, Operand, Path, Root, Step};
pub use audit::{Finding, Report, audit, audit_against, audit_item};
pub use chain::{Problem, StoredEvent, VerifyError, verify_chain, verify_stored_chain};
pub use check::{CheckContext, CheckFn, Checks, Verdict};
pub use clock::{Clock, ManualClock, SystemClock};
pub use dag::CriticalPath;
pub use definition::StoredDefinition;
pub use diagnostic::{Code, Diagnostic, Diagnostics, Severity, Span};
pub use digest::{DigestError, DigestSummary, Leaf, LedgerDigest};
pub use engine::{
    Batch, BatchRefused, BuildError, Engine, EngineBuilder, Error, Explanation, MigrationReport,
    MissingCheck, Move, NewItem, NextMove, Result, Standing, UnknownPlace, Verified, With,
};
pub use feed::{FeedEvent, ParsePositionError, Position};
pub use hash::{
    DefinitionHash, ParseHashError, Sha256Hash, Sha256Hasher, canonical_json, chain_hash,
};
pub use item::{Actor, Hold, IdHasher, IntoRoles, Item, ItemId, ReplayError};
pub use ledger::{Change, Event, EventDraft, artifact_hash};
pub use metrics::{FlowReport, ItemMetrics, Summary, item_metrics};
pub use refusal::{Reason, ReasonKind, Refused};
pub use signals::{Overdue, Signal, Signals};
pub use store::{
    Entered, Query, Reader, Store, StoreError, StoreId, Tx, check_append, check_definition,
};
pub use typed::{MoveError, Typed, WorkstationType};
pub use validate::{MAX_TRANSITIONS, MAX_WORKSTATIONS};
pub use value::{MAX_VALUE_DEPTH, dismantle_value, is_deeper_than, merge_patch};
pub use window::{Window, parse_span};
pub use workflow::FORMAT_VERSION;
pub use workflow::{
    Migration, Outcome, SignalConfig, Transition, TransitionId, Wip, Workflow, Workstation,
    WorkstationId,
};
pub use yaml::{MAX_DEPTH, MAX_INPUT_BYTES, MAX_NODES};

/// Parses and validates a workflow file.
///
/// `origin` names the file in diagnostics (a path, or any label). On success the workflow
/// carries the warnings found ([`Workflow::warnings`]); on failure [`Diagnostics`] holds every
/// error and warning, each with its code, message, `origin:line:col` and offending line.
///
/// This is the only parser and validator of workflow files in workstream.
pub fn parse(origin: &str, text: &str) -> Result<Workflow, Diagnostics> {
    let mut sink = diagnostic::Sink::new(origin, text);
    let workflow = yaml::load(text, &mut sink).and_then(|root| {
        let raw = read::TreeReader::new(&mut sink).workflow(&root);
        validate::validate(raw, &mut sink, origin)
    });
    match workflow {
        Some(workflow) if !sink.has_errors() => {
            let warnings = Diagnostics::new(sink.into_items()).into_iter().collect();
            Ok(workflow.with_warnings(warnings).with_source(text))
        }
        _ => Err(Diagnostics::new(sink.into_items())),
    }
}

/// Parses and validates a workflow file given as bytes; bytes that are not UTF-8 are refused
/// with a diagnostic that points at the first invalid byte.
pub fn parse_bytes(origin: &str, bytes: &[u8]) -> Result<Workflow, Diagnostics> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(origin, text),
        Err(error) => {
            let valid = &bytes[..error.valid_up_to()];
            // The prefix is valid UTF-8 by construction.
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            let (line, column) = diagnostic::end_position(prefix);
            let mut sink = diagnostic::Sink::new(origin, prefix);
            sink.push(
                Code::InputLimit,
                Span::new(line, column, 1),
                format!(
                    "the file is not UTF-8: invalid byte at offset {}",
                    error.valid_up_to()
                ),
            );
            Err(Diagnostics::new(sink.into_items()))
        }
    }
}

/// What the `workflow!` macro and the benches use of core's insides; not part of the public
/// API, and it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::dag::dependency_path;
    pub use crate::name::camel_case;
    pub use crate::typed::docs::{module_doc, transition_doc, workstation_doc};
    pub use crate::typed::{
        Compiled, Stay, adopt, advance, create, definition_once, load, stay, unknown_workstation,
    };
}
