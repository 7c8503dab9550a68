//! What is particular to the PostgreSQL store: opening (and refusing to open) a schema, and
//! finding what was changed from outside.

mod common;

use postgres::{Client, NoTls};
use serde_json::json;
use workstream_core::testing::workflow;
use workstream_core::{Actor, Engine, Error, ItemId, Move, NewItem, Problem, StoreError};
use workstream_store_postgres::testing::Server;
use workstream_store_postgres::{OpenError, Options, PostgresStore};

fn server() -> Option<&'static Server> {
    common::test_server("the PostgreSQL store's own tests")
}

fn client(server: &Server) -> Client {
    Client::connect(&server.url(), NoTls).unwrap_or_else(|e| panic!("connect: {e}"))
}

fn options(schema: &str) -> Options {
    Options::builder().schema(schema).build()
}

fn engine(store: PostgresStore) -> Engine<PostgresStore> {
    Engine::builder()
        .store(store)
        .workflow(workflow())
        .build()
        .unwrap_or_else(|e| panic!("engine: {e}"))
}

/// An engine on a fresh schema with three items, the first moved once.
fn populated(server: &Server, prefix: &str) -> (Engine<PostgresStore>, String, Vec<ItemId>) {
    let schema = server.fresh_schema(prefix);
    let engine = engine(common::open(server, &schema));
    let me = Actor::new("wes", ["worker"]);
    let mut ids = Vec::new();
    for n in 0..3 {
        let item = engine
            .create(
                &me,
                NewItem::of("conformance").fields(json!({"n": n, "owner": "wes"})),
            )
            .unwrap_or_else(|e| panic!("create: {e}"));
        ids.push(item.id());
    }
    engine
        .advance(ids[0], &me, Move::transition("start"))
        .unwrap_or_else(|e| panic!("start: {e}"));
    (engine, schema, ids)
}

fn open_error(url: &str, options: Options) -> OpenError {
    match PostgresStore::open_with(url, options) {
        Ok(store) => panic!("the store opened: {store:?}"),
        Err(e) => e,
    }
}

#[test]
fn a_store_reopens_with_what_it_was_given() {
    let Some(server) = server() else { return };
    let (engine, schema, ids) = populated(server, "reopen");
    let before: Vec<_> = ids.iter().map(|id| engine.item(*id).unwrap()).collect();
    drop(engine);
    let again = engine_of(server, &schema);
    for (id, item) in ids.iter().zip(&before) {
        assert_eq!(
            &again.item(*id).unwrap(),
            item,
            "item {id} reads back as it was"
        );
    }
    assert_eq!(again.verify_all().unwrap().events, 4);
}

fn engine_of(server: &Server, schema: &str) -> Engine<PostgresStore> {
    engine(common::open(server, schema))
}

#[test]
fn bad_urls_and_schema_names_are_refused_before_connecting() {
    let e = open_error("postgres://[::1", Options::default());
    assert!(matches!(e, OpenError::BadUrl { .. }), "{e}");
    for name in ["", "Has-Caps", "1abc", "a b", &"x".repeat(64), "x\"; DROP"] {
        let e = open_error("postgres://u@127.0.0.1:1/db", options(name));
        assert!(matches!(e, OpenError::BadSchemaName { .. }), "{name}: {e}");
    }
}

#[test]
fn a_wrong_password_is_an_authentication_error() {
    let Some(server) = server() else { return };
    let Some(cluster) = server.cluster() else {
        workstream_store_postgres::testing::unavailable(
            "a_wrong_password_is_an_authentication_error",
            "it needs the harness's own cluster, whose password it knows",
        );
        return;
    };
    let url = server.url().replace(cluster.password(), "not-the-password");
    let e = open_error(&url, Options::default());
    assert!(matches!(e, OpenError::Authentication { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("127.0.0.1"),
        "the message names the server: {text}"
    );
    assert!(
        !text.contains("not-the-password"),
        "the message never shows a password: {text}"
    );
}

#[test]
fn an_unreachable_server_is_said_to_be_unreachable() {
    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1);
    let started = std::time::Instant::now();
    let e = open_error(
        &format!("postgres://u:p@127.0.0.1:{port}/db?connect_timeout=2"),
        Options::default(),
    );
    assert!(matches!(e, OpenError::Unreachable { .. }), "{e}");
    assert!(
        e.to_string().contains(&format!("127.0.0.1:{port}/db")),
        "{e}"
    );
    assert!(started.elapsed().as_secs() < 10, "it does not hang");
}

#[test]
fn a_missing_database_is_named() {
    let Some(server) = server() else { return };
    let url = server.url().replace("/postgres?", "/no_such_database?");
    let e = open_error(&url, Options::default());
    match &e {
        OpenError::NoDatabase { database, .. } => assert_eq!(database, "no_such_database"),
        other => panic!("expected NoDatabase, got: {other}"),
    }
}

#[test]
fn a_missing_schema_is_created_unless_the_options_say_not_to() {
    let Some(server) = server() else { return };
    let schema = server.fresh_schema("missing");
    let e = open_error(
        &server.url(),
        Options::builder()
            .schema(&schema)
            .create_schema(false)
            .build(),
    );
    assert!(matches!(e, OpenError::NoSchema { .. }), "{e}");
    let mut c = client(server);
    let exists: bool = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .unwrap()
        .get(0);
    assert!(!exists, "a refused open creates nothing");
    // In an empty schema that exists, the tables are made even with `create_schema(false)`.
    c.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
    PostgresStore::open_with(
        &server.url(),
        Options::builder()
            .schema(&schema)
            .create_schema(false)
            .build(),
    )
    .unwrap_or_else(|e| panic!("open an empty schema: {e}"));
}

#[test]
fn another_programs_schema_is_left_untouched() {
    let Some(server) = server() else { return };
    let mut c = client(server);
    let schema = server.fresh_schema("theirs");
    c.batch_execute(&format!(
        "CREATE SCHEMA {schema}; CREATE TABLE {schema}.orders (id int); \
         INSERT INTO {schema}.orders VALUES (7)"
    ))
    .unwrap();
    let e = open_error(&server.url(), options(&schema));
    assert!(matches!(e, OpenError::NotWorkstream { .. }), "{e}");
    assert!(e.to_string().contains("orders"), "{e}");
    let tables: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = $1",
            &[&schema],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "nothing was added to their schema");

    // A `meta` table naming another application.
    let other = server.fresh_schema("other_meta");
    c.batch_execute(&format!(
        "CREATE SCHEMA {other}; CREATE TABLE {other}.meta (key text PRIMARY KEY, value text); \
         INSERT INTO {other}.meta VALUES ('application', 'billing')"
    ))
    .unwrap();
    let e = open_error(&server.url(), options(&other));
    assert!(
        matches!(e, OpenError::NotWorkstream { .. }) && e.to_string().contains("billing"),
        "{e}"
    );
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let Some(server) = server() else { return };
    let (engine, schema, _) = populated(server, "newer");
    drop(engine);
    let mut c = client(server);
    c.batch_execute(&format!(
        "UPDATE {schema}.meta SET value = '99' WHERE key = 'schema_version'"
    ))
    .unwrap();
    let e = open_error(&server.url(), options(&schema));
    match e {
        OpenError::NewerSchema {
            found, supported, ..
        } => {
            assert_eq!(found, 99);
            assert_eq!(supported, workstream_store_postgres::SCHEMA_VERSION);
        }
        other => panic!("expected NewerSchema, got: {other}"),
    }
    let version: String = c
        .query_one(
            &format!("SELECT value FROM {schema}.meta WHERE key = 'schema_version'"),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(version, "99");
}

#[test]
fn two_programs_opening_one_new_schema_at_once_both_succeed() {
    let Some(server) = server() else { return };
    let schema = server.fresh_schema("together");
    let url = server.url();
    let opened: Vec<Result<PostgresStore, OpenError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| PostgresStore::open_with(&url, options(&schema))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for result in opened {
        result.unwrap_or_else(|e| panic!("a concurrent open failed: {e}"));
    }
}

#[test]
fn a_row_changed_through_another_connection_is_found_by_item_and_sequence() {
    let Some(server) = server() else { return };
    let (engine, schema, ids) = populated(server, "tamper");
    let mut c = client(server);
    // The body of item 1's second event, edited in place (the hash left as it was).
    c.execute(
        &format!(
            "UPDATE {schema}.events SET body = replace(body, '\"start\"', '\"start \"') \
             WHERE item = $1 AND seq = 2"
        ),
        &[&(ids[0].0 as i64)],
    )
    .unwrap();
    let report = engine.audit().unwrap_or_else(|e| panic!("audit: {e}"));
    let found = report
        .problems
        .iter()
        .find(|f| f.item == Some(ids[0]) && f.seq == Some(2))
        .unwrap_or_else(|| panic!("the edit is found at item {} event 2: {report}", ids[0]));
    assert!(!format!("{found}").is_empty());
    match engine.verify_all() {
        Err(Error::Verify(report)) => {
            assert!(
                report
                    .problems
                    .iter()
                    .any(|f| f.item == Some(ids[0]) && f.seq == Some(2))
            )
        }
        other => panic!("verify_all fails on a changed row, got {other:?}"),
    }
    // An append onto the changed chain is refused, and writes nothing.
    let me = Actor::new("wes", ["worker"]);
    let refused = engine.advance(ids[0], &me, Move::transition("ping"));
    assert!(
        matches!(refused, Err(Error::Store(StoreError::Corrupt(_)))),
        "{refused:?}"
    );

    // A row appended to a chain from outside (a copy of its head, filed one further on):
    // the engine's append onto it is refused.
    c.execute(
        &format!(
            "INSERT INTO {schema}.events (item, seq, body, prev, hash) \
             SELECT item, seq + 1, body, hash, hash FROM {schema}.events \
             WHERE item = $1 AND seq = 1"
        ),
        &[&(ids[2].0 as i64)],
    )
    .unwrap();
    let refused = engine.advance(ids[2], &me, Move::transition("start"));
    assert!(
        matches!(&refused, Err(Error::Store(StoreError::Corrupt(m))) if m.contains("outside")),
        "{refused:?}"
    );

    // A projection column changed: named by item and column.
    c.execute(
        &format!("UPDATE {schema}.items SET workstation = 'done' WHERE id = $1"),
        &[&(ids[1].0 as i64)],
    )
    .unwrap();
    // A trigger that would rewrite what is written, and the id sequence set back.
    c.batch_execute(&format!(
        "CREATE FUNCTION {schema}.sneaky() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RETURN NEW; END $$; \
         CREATE TRIGGER sneaky BEFORE INSERT ON {schema}.events FOR EACH ROW \
         EXECUTE FUNCTION {schema}.sneaky(); \
         SELECT setval('{schema}.item_ids', 1)"
    ))
    .unwrap();
    let report = engine.audit().unwrap();
    let text = report.to_string();
    assert!(
        report.problems.iter().any(|f| f.item == Some(ids[1])
            && matches!(&f.problem, Problem::Disagrees { what, .. } if what.contains("workstation"))),
        "the changed column is found: {text}"
    );
    assert!(text.contains("sneaky"), "the trigger is found: {text}");
    assert!(
        text.contains("item_ids"),
        "the sequence set back is found: {text}"
    );
    // A create with an id handed out twice is refused, not written over an item.
    let reused = engine.create(&me, NewItem::of("conformance"));
    assert!(
        reused.is_err(),
        "an id handed out twice is refused: {reused:?}"
    );
}

#[test]
fn stats_count_writes() {
    let Some(server) = server() else { return };
    let (engine, _, _) = populated(server, "stats");
    let stats = engine.store().stats();
    assert_eq!(stats.writes, 4);
    assert_eq!(stats.reconnects, 0);
}

#[test]
fn a_schema_of_version_1_is_given_a_feed_in_the_order_of_its_events() {
    let Some(server) = server() else { return };
    let (first, schema, ids) = populated(server, "feed_upgrade");
    let before = first
        .events_since(workstream_core::Position::START, usize::MAX)
        .unwrap_or_else(|e| panic!("feed: {e}"));
    drop(first);
    // Back to version 1, as a store of the first release left it.
    let mut c = client(server);
    c.batch_execute(&format!(
        "DROP INDEX \"{schema}\".events_feed; \
         ALTER TABLE \"{schema}\".events DROP COLUMN txid, DROP COLUMN n; \
         DROP SEQUENCE \"{schema}\".event_order; \
         UPDATE \"{schema}\".meta SET value = '1' WHERE key = 'schema_version';"
    ))
    .unwrap_or_else(|e| panic!("downgrade: {e}"));
    let engine = engine(common::open(server, &schema));
    let verified = engine
        .verify_all()
        .unwrap_or_else(|e| panic!("the upgraded schema verifies: {e}"));
    assert_eq!(verified.events, before.len());
    let after = engine
        .events_since(workstream_core::Position::START, usize::MAX)
        .unwrap_or_else(|e| panic!("feed: {e}"));
    let keys = |fed: &[workstream_core::FeedEvent]| -> Vec<(ItemId, u64)> {
        fed.iter()
            .map(|f| (f.event.item(), f.event.seq()))
            .collect()
    };
    // Every event, each chain in order, in the order of the instants (then item, then seq).
    let mut expected = keys(&before);
    expected.sort_by_key(|&(item, seq)| {
        let at = before
            .iter()
            .find(|f| (f.event.item(), f.event.seq()) == (item, seq))
            .map(|f| f.event.at());
        (at, item, seq)
    });
    assert_eq!(keys(&after), expected);
    // New events come after them.
    let me = Actor::new("wes", ["worker"]);
    engine
        .advance(ids[1], &me, Move::transition("start"))
        .unwrap_or_else(|e| panic!("start: {e}"));
    let last = after[after.len() - 1].position;
    let next = engine
        .events_since(last, 10)
        .unwrap_or_else(|e| panic!("feed: {e}"));
    assert_eq!(keys(&next), [(ids[1], 2)]);
}
