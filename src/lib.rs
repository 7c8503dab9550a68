//! Workflow-as-code for Rust: a lifecycle declared in a YAML file, checked at compile time
//! and at run time, and recorded in a hash-chained ledger.
//!
//! A workflow file declares **workstations** (states), the **transitions** between them, and
//! the **assertions** that must hold before work moves. [`parse`] validates it (every mistake
//! at once, at `file:line:col`); an [`Engine`] over a [`Store`] creates items, moves them,
//! refuses a move with *every* reason that blocks it, and appends each change to the item's
//! sha256 hash chain; [`workflow!`] turns the same file into typestate types, so a move the
//! file does not allow does not compile.
//!
//! ```
//! use workstream::prelude::*;
//! use workstream::serde_json::json;
//!
//! let workflow = parse("review.yaml", r#"
//! workflow: review
//! version: 1
//! roles: [author, reviewer]
//! workstations:
//!   open:   { initial: true }
//!   merged: { terminal: true }
//! transitions:
//!   merge:
//!     from: open
//!     to: merged
//!     by: [reviewer]
//!     requires:
//!       - { assert: actor.id, op: ne, value_from: fields.author, id: no_self_merge }
//! "#)?;
//! let engine = Engine::builder().store(MemoryStore::new()).workflow(workflow).build()?;
//!
//! let ann = Actor::new("ann", ["author", "reviewer"]);
//! let pr = engine.create(&ann, NewItem::of("review").fields(json!({ "author": "ann" })))?;
//! // Ann may not merge her own change; the refusal says why, and nothing is written.
//! let refused = engine.advance(pr.id(), &ann, Move::transition("merge")).unwrap_err();
//! assert_eq!(refused.refused().unwrap().ids(), ["no_self_merge"]);
//!
//! let bob = Actor::new("bob", ["reviewer"]);
//! let merged = engine.advance(pr.id(), &bob, Move::transition("merge"))?;
//! assert_eq!(merged.workstation(), "merged");
//! assert_eq!(engine.verify_all()?.events, 2); // created, merged: one chain, verified
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Where to go next:
//!
//! - [`format`](mod@format): the workflow file, key by key;
//! - [`Engine`]: every operation (moves, holds, dependencies, `explain`, signals, metrics,
//!   `verify_all` and `audit`);
//! - [`workflow!`]: the typestate module generated from a file;
//! - the stores: [`MemoryStore`] (feature `memory`) and [`SqliteStore`] (feature `sqlite`,
//!   the embedded default), both on by default, and `PostgresStore` (feature `postgres`,
//!   for many application instances over one database); `workstream_core::testing` (feature
//!   `testing` of `workstream-core`) holds the conformance suite a store of your own runs;
//! - `workstream::tokio` (feature `tokio`): the async face for tokio programs; the feature
//!   `tracing` traces every write (its span, each store transaction, how it ended);
//! - the repository's README, ARCHITECTURE.md and `examples/` (the `sprint` example runs a
//!   whole evaluation sprint on SQLite).
//!
//! [`serde_json`] and [`chrono`] are re-exported, since fields are JSON values and instants
//! are chrono's.
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use chrono;
pub use serde_json;

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
/// in it is a compile error naming `file:line:col`, every mistake at once, and each of its
/// warnings is a compiler warning (a `deprecated` note on the invocation, the one warning a
/// macro can raise on stable Rust). Editing the file
/// makes cargo rebuild the crate.
///
/// A newer version can be given its older versions' files, so that its migrations from them
/// are checked at compile time too (every older workstation and hold maps to one of this
/// file, …), each problem a compile error at its place in the newer file:
///
/// ```text
/// workstream::workflow!(pub mod task = "task.v2.yaml", previous = ["task.v1.yaml"]);
/// ```
///
/// An item on an older version is not an item of the newer module until it is migrated
/// (`Engine::migrate`); `AnyItem::load` names the migration to run. The module holds:
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
///   only at run time and `match` on it;
/// - on every `Item<W>`: `put_on_hold`, `release_hold` and `update_fields`, which keep it in
///   `W` (and are refused if another writer moved it), and `refresh`, which reads it again as
///   an `AnyItem`;
/// - `roles`, `holds` and `checks`: a constant per name the file declares;
/// - `Checks`, with one method per check the file names, so a misspelt check does not
///   compile: `Engine::builder().checks(task::Checks::new().within_budget(|cx| …))`.
///
/// Typed moves are the engine's moves: `item.accept(&engine, &actor)` is
/// `engine.advance(id, actor, Move::transition("accept").only_from("review_pending"))`, with the
/// same checks, refusals and ledger events.
pub use workstream_macros::workflow;

/// What generated code names; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json::Value;
    pub use std::sync::OnceLock;
    pub use workstream_core::__private::{
        Compiled, Stay, adopt, advance, create, definition_once, dependency_path, load, stay,
        unknown_workstation,
    };
    pub use workstream_core::{
        Actor, CheckContext, Checks, Engine, Error, Item, ItemId, MoveError, NewItem, Store, Typed,
        Verdict, With, Workflow, WorkstationType,
    };
}

/// The SQLite store, the embedded default (feature `sqlite`, on by default): durable,
/// safe under concurrent writers and processes, tamper-evident.
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use workstream_store_sqlite as sqlite;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use workstream_store_sqlite::SqliteStore;

/// The PostgreSQL store (feature `postgres`, off by default): one ledger shared by many
/// application instances, with the guarantees of a single writer.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use workstream_store_postgres as postgres;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use workstream_store_postgres::PostgresStore;

/// The in-memory reference store (feature `memory`, on by default).
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub use workstream_store_memory::{MemoryStore, MemoryTx};

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;

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
