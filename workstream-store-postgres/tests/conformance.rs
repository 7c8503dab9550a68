//! The store conformance suite of `workstream-core`, unchanged, on a real PostgreSQL server:
//! a throwaway cluster the harness starts, or the server `WORKSTREAM_POSTGRES_URL` names.
//! Each check runs on a schema of its own.

mod common;

fn store() -> workstream_store_postgres::PostgresStore {
    common::fresh("conformance")
}

workstream_core::conformance_tests!(make: store, race_attempts: 300, available: common::available);
