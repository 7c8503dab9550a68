#![doc = include_str!("../README.md")]

pub use workstream_core::*;

/// Generates typestate types from a workflow file.
///
/// ```
/// workstream::workflow!(pub mod task = "examples/workflows/evaluation_task.yaml");
///
/// assert_eq!(task::NAME, "evaluation_task");
/// let _: task::Item<task::Draft>; // one type per workstation
/// ```
///
/// The path is relative to the calling crate's directory (`CARGO_MANIFEST_DIR`); absolute
/// paths are refused. The file is checked by the same validator the engine uses: a mistake
/// in it is a compile error naming `file:line:col`, every mistake at once. Editing the file
/// makes cargo rebuild the crate. The module holds:
///
/// - `SOURCE`, `PATH`, `NAME`, `VERSION`, `DEFINITION_HASH`, and `workflow()`, which parses
///   the embedded file for the engine;
/// - one zero-sized type per workstation (`Draft`, `InProgress`, …);
/// - `Item<W>`, an item in workstation `W`, with one method per transition that may fire
///   from `W` (and a `…_with` variant that records a patch, a reason, a payload). A
///   transition the file does not allow from `W` is not a method, so calling it does not
///   compile. Terminal workstations have no methods;
/// - `create` and `create_with`, which return the item in the initial workstation;
/// - `AnyItem`, an enum over the workstations, to load an item whose workstation is known
///   only at run time and `match` on it.
///
/// Typed moves are the engine's moves: `item.accept(&engine, &actor)` is
/// `engine.advance(id, actor, Move::transition("accept").from("review_pending"))`, with the
/// same checks, refusals and ledger events.
pub use workstream_macros::workflow;

/// What generated code names; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json::Value;
    pub use workstream_core::typed::{
        Workstation, adopt, advance, create, definition, load, unknown_workstation,
    };
    pub use workstream_core::{
        Actor, Engine, Error, Item, ItemId, MoveError, NewItem, Store, Typed, With, Workflow,
    };
}

/// The SQLite store, the embedded default (feature `sqlite`, on by default): durable,
/// safe under concurrent writers and processes, tamper-evident.
#[cfg(feature = "sqlite")]
pub use workstream_store_sqlite as sqlite;
#[cfg(feature = "sqlite")]
pub use workstream_store_sqlite::SqliteStore;

/// The in-memory reference store (feature `memory`, on by default).
#[cfg(feature = "memory")]
pub use workstream_store_memory::{MemoryStore, MemoryTx};

/// The names most programs need, for `use workstream::prelude::*`.
pub mod prelude {
    pub use workstream_core::{
        Actor, Clock, Code, Diagnostics, Engine, Error, Explanation, Item, ItemId, ManualClock,
        Move, MoveError, NewItem, Outcome, Query, Reason, ReasonKind, Refused, Store, SystemClock,
        TransitionId, Typed, Verdict, With, Workflow, WorkstationId, parse, parse_bytes,
    };
    #[cfg(feature = "memory")]
    pub use workstream_store_memory::MemoryStore;
}
