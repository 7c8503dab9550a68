#![doc = include_str!("../README.md")]

pub use workstream_core as core;
pub use workstream_core::{
    Assertion, AssertionKind, Code, DefinitionHash, Diagnostic, Diagnostics, Op, Operand, Outcome,
    Path, Severity, Sha256Hash, Span, Transition, TransitionId, Workflow, Workstation,
    WorkstationId, canonical_json, parse, parse_bytes,
};

/// The names most programs need, for `use workstream::prelude::*`.
pub mod prelude {
    pub use workstream_core::{
        Diagnostics, Outcome, TransitionId, Workflow, WorkstationId, parse, parse_bytes,
    };
}
