//! What the tests share: a store on a fresh schema of the test server.

#![allow(dead_code, unreachable_pub)]

use workstream_store_postgres::testing::{Server, server};
use workstream_store_postgres::{Options, PostgresStore};

/// The test server, or `None` (said loudly, a failure under `CI=true`).
pub fn test_server(test: &str) -> Option<&'static Server> {
    server(test)
}

/// Whether the server is there; says so loudly when it is not.
pub fn available() -> bool {
    test_server("the conformance suite on PostgreSQL").is_some()
}

/// A store on a schema no other test uses.
pub fn fresh(prefix: &str) -> PostgresStore {
    let server = test_server(prefix).unwrap_or_else(|| panic!("no PostgreSQL server"));
    open(server, &server.fresh_schema(prefix))
}

/// A store on `schema`.
pub fn open(server: &Server, schema: &str) -> PostgresStore {
    PostgresStore::open_with(&server.url(), Options::builder().schema(schema).build())
        .unwrap_or_else(|e| panic!("open the store on schema {schema}: {e}"))
}
