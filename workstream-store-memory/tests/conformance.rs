//! The store conformance suite of `workstream-core`, run against the memory store.

use workstream_store_memory::MemoryStore;

workstream_core::conformance_tests!(make: MemoryStore::new, race_attempts: 10_000);
