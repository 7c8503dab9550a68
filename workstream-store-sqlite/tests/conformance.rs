//! The store conformance suite of `workstream-core`, on a database file.
//!
//! The suite runs twice: with `Durability::Full` (the default) and 8 × 200 racing moves,
//! and with `Durability::Normal` and 8 × 1,000. Under `Full` every winning move waits for
//! an fsync, so thousands of them would make the check a disk benchmark; durability does not
//! change what a transaction sees or refuses. The crash test in `processes.rs` covers what
//! `Full` promises.

mod common;

use common::TempStore;
use workstream_store_sqlite::{Durability, Options};

fn full() -> TempStore {
    TempStore::new(Options::default())
}

fn normal() -> TempStore {
    TempStore::new(Options::builder().durability(Durability::Normal).build())
}

workstream_core::conformance_tests!(make: full, race_attempts: 200);

mod normal {
    workstream_core::conformance_tests!(make: super::normal, race_attempts: 1_000);
}
