#![doc = include_str!("../README.md")]

pub use workstream_core::*;

/// The names most programs need, for `use workstream::prelude::*`.
pub mod prelude {
    pub use workstream_core::{
        Code, Diagnostics, Outcome, TransitionId, Workflow, WorkstationId, parse, parse_bytes,
    };
}
