#![doc = include_str!("../README.md")]

pub use workstream_core::*;

/// The in-memory reference store (feature `memory`, on by default).
#[cfg(feature = "memory")]
pub use workstream_store_memory::{MemoryStore, MemoryTx};

/// The names most programs need, for `use workstream::prelude::*`.
pub mod prelude {
    pub use workstream_core::{
        Actor, Clock, Code, Diagnostics, Engine, Error, Explanation, Item, ItemId, ManualClock,
        Move, NewItem, Outcome, Query, Reason, ReasonKind, Refused, Store, SystemClock,
        TransitionId, Verdict, Workflow, WorkstationId, parse, parse_bytes,
    };
    #[cfg(feature = "memory")]
    pub use workstream_store_memory::MemoryStore;
}
