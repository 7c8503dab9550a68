//! The store conformance suite of `workstream-core`, unchanged, three times.
//!
//! On a database file with `Durability::Full` (the default) and 8 × 200 racing moves, on a
//! file with `Durability::Normal` and 8 × 1,000, and in memory with 8 × 1,000. Under `Full`
//! every winning move waits for an fsync, so thousands of them would make the check a disk
//! benchmark; durability does not change what a transaction sees or refuses. The crash test
//! in `processes.rs` covers what `Full` promises.

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

mod memory {
    fn open() -> workstream_store_sqlite::SqliteStore {
        workstream_store_sqlite::SqliteStore::open_in_memory()
            .unwrap_or_else(|e| panic!("open in memory: {e}"))
    }
    workstream_core::conformance_tests!(make: open, race_attempts: 1_000);
}
