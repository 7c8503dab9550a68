//! Opening files (ours, newer, another program's, not SQLite), tamper evidence, bulk import
//! and queries at the edges of time.

mod common;

use chrono::{TimeDelta, TimeZone, Utc};
use common::TempDir;
use rusqlite::Connection;
use serde_json::json;
use workstream_core::testing::{start, workflow};
use workstream_core::{
    Actor, Engine, Error, Event, EventDraft, Item, ItemId, ManualClock, Move, NewItem, Problem,
    Query, Reader, Report, Sha256Hasher, Store, StoreError, Window,
};
use workstream_store_sqlite::{APPLICATION_ID, OpenError, SCHEMA_VERSION, SqliteStore};

fn worker() -> Actor {
    Actor::new("wes", ["worker"])
}

fn engine(store: SqliteStore) -> (Engine<SqliteStore>, ManualClock) {
    let clock = ManualClock::new(start());
    let engine = Engine::builder()
        .store(store)
        .workflow(workflow())
        .clock(clock.clone())
        .build()
        .unwrap_or_else(|e| panic!("engine: {e}"));
    (engine, clock)
}

fn open(path: &std::path::Path) -> Engine<SqliteStore> {
    engine(SqliteStore::open(path).unwrap_or_else(|e| panic!("open: {e}"))).0
}

/// Two items with a few events each: item 1 has 4 events, item 2 has 2.
fn populate(engine: &Engine<SqliteStore>) -> (ItemId, ItemId) {
    let w = worker();
    let a = engine
        .create(
            &w,
            NewItem::of("conformance").fields(json!({"owner": "wes"})),
        )
        .unwrap();
    let b = engine.create(&w, NewItem::of("conformance")).unwrap();
    engine
        .advance(a.id(), &w, Move::transition("start"))
        .unwrap();
    engine
        .update_fields(a.id(), &w, json!({"note": "first"}))
        .unwrap();
    engine
        .advance(a.id(), &w, Move::transition("ping"))
        .unwrap();
    engine.update_fields(b.id(), &w, json!({"x": 1})).unwrap();
    (a.id(), b.id())
}

// ---------------------------------------------------------------------------------------
// Opening

#[test]
fn a_new_file_gets_the_schema_and_the_mark() {
    let dir = TempDir::new("new");
    let path = dir.join("new.db");
    {
        let engine = open(&path);
        populate(&engine);
    }
    let conn = Connection::open(&path).unwrap();
    let app: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    let version: i32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!((app, version), (APPLICATION_ID, SCHEMA_VERSION));
    assert_eq!(mode, "wal");
    drop(conn);
    // Reopened, everything is there.
    let engine = open(&path);
    assert_eq!(engine.verify_all().unwrap().events, 6);
}

#[test]
fn an_empty_existing_file_gets_the_schema() {
    let dir = TempDir::new("empty");
    let path = dir.join("empty.db");
    std::fs::write(&path, b"").unwrap();
    let engine = open(&path);
    populate(&engine);
    assert_eq!(engine.verify_all().unwrap().items, 2);
}

/// Opens `path`, expects an error, and checks the file's bytes did not change.
fn refused(path: &std::path::Path) -> OpenError {
    let before = std::fs::read(path).unwrap();
    let err = SqliteStore::open(path).expect_err("the file must be refused");
    let after = std::fs::read(path).unwrap();
    assert!(before == after, "the refused file was changed: {err}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("untouched"), "{text}");
    err
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = TempDir::new("newer");
    let path = dir.join("newer.db");
    populate(&open(&path));
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = refused(&path);
    assert!(
        matches!(err, OpenError::NewerSchema { found, supported, .. }
            if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err}"
    );
}

#[test]
fn another_programs_database_is_refused_and_left_untouched() {
    let dir = TempDir::new("other");
    // Tables, no mark.
    let path = dir.join("other.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('keep me');")
            .unwrap();
    }
    let err = refused(&path);
    assert!(matches!(err, OpenError::NotWorkstream { .. }), "{err}");
    assert!(err.to_string().contains("1 table"), "{err}");

    // Another program's mark, even without tables.
    let path = dir.join("marked.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "application_id", 0x1234_5678)
            .unwrap();
    }
    let err = refused(&path);
    assert!(matches!(err, OpenError::NotWorkstream { .. }), "{err}");
    assert!(err.to_string().contains("0x12345678"), "{err}");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_untouched() {
    let dir = TempDir::new("text");
    let path = dir.join("notes.txt");
    std::fs::write(&path, "these are my notes, not a database\n".repeat(200)).unwrap();
    let err = refused(&path);
    assert!(matches!(err, OpenError::NotSqlite { .. }), "{err}");

    // Bytes that start like nothing at all.
    let path = dir.join("noise.bin");
    let noise: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, noise).unwrap();
    let err = refused(&path);
    assert!(matches!(err, OpenError::NotSqlite { .. }), "{err}");
}

/// A closed database file holding a few items, and its bytes.
fn a_real_database(dir: &TempDir) -> Vec<u8> {
    let path = dir.join("real.db");
    populate(&open(&path));
    let bytes = std::fs::read(&path).unwrap();
    // Several pages: the header page and the tables' own.
    assert!(bytes.len() >= 4 * 4096, "{}", bytes.len());
    bytes
}

#[test]
fn a_truncated_or_damaged_database_is_refused_naming_the_file_and_sqlites_reason() {
    let dir = TempDir::new("damaged");
    let real = a_real_database(&dir);
    let mut schema_page = real.clone();
    // The rest of the first page after the 100-byte header: the catalogue of tables.
    schema_page[100..4096].fill(0xAB);
    let cases = [
        ("half.db", real[..real.len() / 2].to_vec()),
        ("header.db", real[..100].to_vec()),
        ("part_of_header.db", real[..50].to_vec()),
        ("first_page.db", real[..4096].to_vec()),
        ("schema_page.db", schema_page),
    ];
    for (name, bytes) in cases {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = refused(&path);
        let text = err.to_string();
        assert!(matches!(err, OpenError::Damaged { .. }), "{name}: {text}");
        // SQLite's own words, not only that it failed.
        assert!(text.contains("malformed"), "{name}: {text}");
        assert!(!text.contains("not a SQLite database"), "{name}: {text}");
    }
}

#[test]
fn garbage_is_refused_with_sqlites_reason() {
    let dir = TempDir::new("garbage");
    let noise: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let path = dir.join("noise.db");
    std::fs::write(&path, &noise).unwrap();
    let err = refused(&path);
    assert!(matches!(err, OpenError::NotSqlite { .. }), "{err}");
    assert!(err.to_string().contains("file is not a database"), "{err}");

    // SQLite's magic followed by garbage: it looks like a database that was overwritten.
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend_from_slice(&noise);
    let path = dir.join("overwritten.db");
    std::fs::write(&path, &bytes).unwrap();
    let err = refused(&path);
    let text = err.to_string();
    assert!(matches!(err, OpenError::Damaged { .. }), "{text}");
    assert!(text.contains("file is not a database"), "{text}");
}

#[test]
fn a_marked_file_at_schema_version_zero_with_tables_is_refused_untouched() {
    // The workstream mark, but the version of an empty file: creating the schema again
    // would fail on the tables it already has.
    let dir = TempDir::new("version-zero");
    let path = dir.join("zero.db");
    populate(&open(&path));
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 0).unwrap();
        let app: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(app, APPLICATION_ID);
    }
    let err = refused(&path);
    let text = err.to_string();
    assert!(matches!(err, OpenError::Damaged { .. }), "{text}");
    assert!(text.contains("schema version 0"), "{text}");
    assert!(text.contains("6 table"), "{text}");
    for sql in ["CREATE", "TABLE events", "already exists"] {
        assert!(!text.contains(sql), "{text}");
    }
}

#[test]
fn an_empty_path_is_refused_up_front() {
    let err = SqliteStore::open("").expect_err("an empty path must be refused");
    let text = err.to_string();
    assert!(matches!(err, OpenError::NoPath), "{text}");
    assert!(text.contains("no path given"), "{text}");
    assert!(!text.contains("WAL"), "{text}");
    let err = SqliteStore::open_with("", workstream_store_sqlite::Options::default())
        .expect_err("an empty path must be refused");
    assert!(matches!(err, OpenError::NoPath), "{err}");
}

#[test]
fn a_file_sqlite_cannot_open_is_named_with_sqlites_reason() {
    let dir = TempDir::new("cannot-open");
    let path = dir.join("missing").join("x.db");
    let err = SqliteStore::open(&path).expect_err("no such directory");
    let text = err.to_string();
    assert!(matches!(err, OpenError::Sqlite { .. }), "{text}");
    let shown = path.display().to_string();
    assert!(text.contains(&shown), "{text}");
    // Once, though SQLite's message names it too.
    assert_eq!(text.matches(&shown).count(), 1, "{text}");
    assert!(text.contains("unable to open"), "{text}");
    // A directory is no database file either.
    let err = SqliteStore::open(dir.path()).expect_err("a directory");
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// What the rows hold

#[test]
fn each_event_row_is_its_canonical_json_and_hashes_to_its_hash() {
    let dir = TempDir::new("rows");
    let path = dir.join("rows.db");
    let engine = open(&path);
    populate(&engine);
    let conn = Connection::open(&path).unwrap();
    let mut stmt = conn
        .prepare("SELECT item, seq, body, prev, hash FROM events ORDER BY item, seq")
        .unwrap();
    type Row = (i64, i64, String, Vec<u8>, Vec<u8>);
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 6);
    for (item, seq, body, prev, hash) in rows {
        let events = engine.history(ItemId(item as u64)).unwrap();
        let event = &events[seq as usize - 1];
        assert_eq!(body, event.canonical_json());
        let mut hasher = Sha256Hasher::new();
        hasher.update(&prev);
        hasher.update(body.as_bytes());
        assert_eq!(hasher.finish().as_bytes()[..], hash[..]);
    }
}

// ---------------------------------------------------------------------------------------
// Tamper evidence

/// A database with two items, changed by `tamper` through a plain connection while the
/// store is open; returns the engine and item 1's id.
fn tampered(what: &str, tamper: &str) -> (TempDir, Engine<SqliteStore>, ItemId) {
    let dir = TempDir::new(what);
    let path = dir.join("tampered.db");
    let engine = open(&path);
    let (a, _) = populate(&engine);
    assert_eq!(engine.verify_all().unwrap().events, 6);
    let conn = Connection::open(&path).unwrap();
    let changed = conn
        .execute(tamper, [])
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let schema_change = ["CREATE", "DROP"].iter().any(|k| tamper.starts_with(k));
    if !schema_change {
        assert_eq!(changed, 1, "{what}: one row changed");
    }
    (dir, engine, a)
}

/// The report of a verification that must fail.
fn broken(result: Result<impl std::fmt::Debug, Error>) -> Report {
    match result {
        Err(Error::Verify(report)) => *report,
        other => panic!("expected a verify error, got {other:?}"),
    }
}

/// What one tampering must be reported as: the item (if any), the event (if any), and the
/// problem.
struct Expect {
    item: Option<u64>,
    seq: Option<u64>,
    problem: fn(&Problem) -> bool,
}

fn at(item: u64, seq: u64, problem: fn(&Problem) -> bool) -> Expect {
    Expect {
        item: Some(item),
        seq: Some(seq),
        problem,
    }
}

fn of_item(item: u64, problem: fn(&Problem) -> bool) -> Expect {
    Expect {
        item: Some(item),
        seq: None,
        problem,
    }
}

fn finds(report: &Report, expect: &Expect) -> bool {
    report.problems.iter().any(|f| {
        f.item.map(|i| i.0) == expect.item && f.seq == expect.seq && (expect.problem)(&f.problem)
    })
}

fn disagrees(what: &'static str) -> impl Fn(&Problem) -> bool {
    move |p| matches!(p, Problem::Disagrees { what: w, .. } if w.contains(what))
}

#[test]
fn every_change_to_the_file_is_named_by_verify_all() {
    type Case<'a> = (&'a str, &'a str, Expect);
    let cases: Vec<Case<'_>> = vec![
        (
            "a middle body",
            "UPDATE events SET body = replace(body, '\"note\":\"first\"', '\"note\":\"forged\"') WHERE item = 1 AND seq = 3",
            at(1, 3, |p| matches!(p, Problem::HashMismatch { .. })),
        ),
        (
            "a space inside the last body",
            "UPDATE events SET body = replace(body, '\"actor\":', '\"actor\": ') WHERE item = 1 AND seq = 4",
            at(1, 4, |p| matches!(p, Problem::HashMismatch { .. })),
        ),
        (
            "a hash",
            "UPDATE events SET hash = zeroblob(32) WHERE item = 1 AND seq = 2",
            at(1, 2, |p| matches!(p, Problem::HashMismatch { .. })),
        ),
        (
            "a previous hash",
            "UPDATE events SET prev = zeroblob(32) WHERE item = 1 AND seq = 3",
            at(1, 3, |p| matches!(p, Problem::PrevMismatch { .. })),
        ),
        (
            "a middle event's seq column",
            "UPDATE events SET seq = 9 WHERE item = 1 AND seq = 2",
            at(1, 2, |p| {
                matches!(
                    p,
                    Problem::Gap {
                        expected: 2,
                        found: 3
                    }
                )
            }),
        ),
        (
            "only the last event's seq column",
            "UPDATE events SET seq = 5 WHERE item = 1 AND seq = 4",
            at(1, 5, |p| {
                matches!(
                    p,
                    Problem::Misfiled {
                        item: ItemId(1),
                        seq: 4
                    }
                )
            }),
        ),
        (
            "an event's item column",
            "UPDATE events SET item = 7 WHERE item = 1 AND seq = 2",
            of_item(7, |p| matches!(p, Problem::NoState { events: 1 })),
        ),
        (
            "a middle event deleted",
            "DELETE FROM events WHERE item = 1 AND seq = 2",
            at(1, 2, |p| matches!(p, Problem::Gap { .. })),
        ),
        (
            "the last event deleted",
            "DELETE FROM events WHERE item = 1 AND seq = 4",
            of_item(
                1,
                |p| matches!(p, Problem::ProjectionMismatch(d) if d.contains("seq: stored 4, replayed 3")),
            ),
        ),
        (
            "a copy of the last event inserted",
            "INSERT INTO events SELECT item, 5, body, prev, hash, (SELECT max(pos) + 1 FROM events) FROM events WHERE item = 1 AND seq = 4",
            at(1, 5, |p| {
                matches!(
                    p,
                    Problem::Misfiled {
                        item: ItemId(1),
                        seq: 4
                    }
                )
            }),
        ),
        (
            "the state",
            "UPDATE items SET state = replace(state, '\"review\"', '\"done\"') WHERE id = 1",
            of_item(
                1,
                |p| matches!(p, Problem::ProjectionMismatch(d) if d.contains("workstation: stored `done`, replayed `review`")),
            ),
        ),
        (
            "the item's row deleted, its events kept",
            "DELETE FROM items WHERE id = 1",
            of_item(1, |p| matches!(p, Problem::NoState { events: 4 })),
        ),
        (
            "the workstation column",
            "UPDATE items SET workstation = 'done' WHERE id = 1",
            of_item(1, |p| {
                matches!(p, Problem::Disagrees { what, stored, expected }
                    if what.contains("`workstation` column") && stored == "'done'" && expected == "'review'")
            }),
        ),
        (
            "the workflow column",
            "UPDATE items SET workflow = 'other' WHERE id = 1",
            of_item(1, |p| disagrees("`workflow` column")(p)),
        ),
        (
            "the parent column",
            "UPDATE items SET parent = 2 WHERE id = 1",
            of_item(1, |p| disagrees("`parent` column")(p)),
        ),
        (
            "the seq column of items",
            "UPDATE items SET seq = 3 WHERE id = 1",
            of_item(1, |p| disagrees("`seq` column")(p)),
        ),
        (
            "the created column",
            "UPDATE items SET created = created + 1 WHERE id = 1",
            of_item(1, |p| disagrees("`created` column")(p)),
        ),
        (
            "the updated column",
            "UPDATE items SET updated = 0 WHERE id = 1",
            of_item(1, |p| disagrees("`updated` column")(p)),
        ),
        (
            "the head column",
            "UPDATE items SET head = zeroblob(32) WHERE id = 1",
            of_item(1, |p| disagrees("`head` column")(p)),
        ),
        (
            "a seq column that is not a number",
            "UPDATE events SET seq = 'x' WHERE item = 1 AND seq = 2",
            of_item(
                1,
                |p| matches!(p, Problem::Unreadable(m) if m.contains("'x'")),
            ),
        ),
        (
            "an item column that is not a number",
            "UPDATE events SET item = 'x' WHERE item = 2 AND seq = 2",
            Expect {
                item: None,
                seq: None,
                problem: |p| {
                    matches!(p, Problem::Disagrees { what, stored, .. }
                        if what.contains("`events` row's key") && stored == "('x', 2)")
                },
            },
        ),
        (
            "a counter that is not an integer",
            "UPDATE meta SET value = 2.5 WHERE key = 'next_item'",
            Expect {
                item: None,
                seq: None,
                problem: |p| disagrees("next_item")(p),
            },
        ),
        (
            "a trigger added",
            "CREATE TRIGGER quietly AFTER INSERT ON events BEGIN SELECT 1; END",
            Expect {
                item: None,
                seq: None,
                problem: |p| matches!(p, Problem::Disagrees { stored, .. } if stored == "a trigger `quietly`"),
            },
        ),
        (
            "an index dropped",
            "DROP INDEX items_place",
            Expect {
                item: None,
                seq: None,
                problem: |p| matches!(p, Problem::Disagrees { stored, .. } if stored == "no index `items_place`"),
            },
        ),
        (
            "a dependency row added",
            "INSERT INTO deps (item, on_item) VALUES (1, 2)",
            of_item(1, |p| {
                matches!(p, Problem::Disagrees { what, stored, .. }
                    if what.contains("`deps` table") && stored.contains("#1 on #2"))
            }),
        ),
        (
            "the id counter set back",
            "UPDATE meta SET value = 1 WHERE key = 'next_item'",
            Expect {
                item: None,
                seq: None,
                problem: |p| {
                    matches!(p, Problem::Disagrees { what, stored, expected }
                        if what.contains("next_item") && stored == "1" && expected.contains("at least 2"))
                },
            },
        ),
    ];
    for (what, tamper, expect) in cases {
        let (_dir, engine, _) = tampered(what, tamper);
        let report = broken(engine.verify_all());
        assert!(finds(&report, &expect), "{what}: not named in\n{report}");
        let text = report.to_string();
        if let Some(item) = expect.item {
            let place = match expect.seq {
                Some(seq) => format!("item #{item}, event {seq}"),
                None => format!("item #{item}"),
            };
            assert!(text.contains(&place), "{what}: {place} not in\n{text}");
            // One item's verification names it too, unless it is the store's bookkeeping,
            // which only `verify_all` checks.
            let named = report.problems.iter().find(|f| {
                f.item.map(|i| i.0) == expect.item
                    && f.seq == expect.seq
                    && (expect.problem)(&f.problem)
            });
            if let Some(finding) = named.filter(|f| !matches!(f.problem, Problem::Disagrees { .. }))
            {
                let one = broken(engine.verify(ItemId(item)));
                assert!(
                    one.problems.contains(finding),
                    "{what}: verify(#{item}) does not name it:\n{one}"
                );
            }
        }
        // The other item checks out and still works, unless it was the one changed.
        if !report.broken_items().contains(&ItemId(2)) && !what.contains("counter") {
            engine
                .update_fields(ItemId(2), &worker(), json!({"y": 2}))
                .unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }
}

#[test]
fn a_deleted_dependency_row_is_named() {
    let dir = TempDir::new("deps");
    let path = dir.join("deps.db");
    let engine = open(&path);
    let (a, b) = populate(&engine);
    engine.add_dependency(b, a, &worker()).unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.execute("DELETE FROM deps WHERE item = 2 AND on_item = 1", [])
        .unwrap();
    let report = broken(engine.verify_all());
    assert!(
        finds(
            &report,
            &of_item(
                2,
                |p| matches!(p, Problem::Disagrees { what, stored, expected }
                if what.contains("`deps` table") && stored == "no dependency of #2 on #1"
                    && expected == "#2 depends on #1")
            )
        ),
        "{report}"
    );
}

#[test]
fn a_schema_version_no_release_writes_is_refused_as_damaged() {
    let dir = TempDir::new("negative");
    let path = dir.join("negative.db");
    populate(&open(&path));
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", -3).unwrap();
    }
    let err = refused(&path);
    assert!(matches!(err, OpenError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("schema version -3"), "{err}");
}

#[test]
fn verify_all_reports_every_problem_not_the_first() {
    let (_dir, engine, _) = tampered(
        "several",
        "UPDATE events SET body = replace(body, '\"note\":\"first\"', '\"note\":\"forged\"') WHERE item = 1 AND seq = 3",
    );
    let conn = Connection::open(engine.store().path().unwrap()).unwrap();
    conn.execute_batch(
        "UPDATE events SET hash = zeroblob(32) WHERE item = 2 AND seq = 2;
         UPDATE items SET workstation = 'done' WHERE id = 2;
         UPDATE meta SET value = 0 WHERE key = 'next_item';",
    )
    .unwrap();
    let report = broken(engine.verify_all());
    assert_eq!(report.broken_items(), [ItemId(1), ItemId(2)], "{report}");
    assert!(
        finds(
            &report,
            &at(1, 3, |p| matches!(p, Problem::HashMismatch { .. }))
        ),
        "{report}"
    );
    assert!(
        finds(
            &report,
            &at(2, 2, |p| matches!(p, Problem::HashMismatch { .. }))
        ),
        "{report}"
    );
    assert!(
        finds(
            &report,
            &of_item(2, |p| disagrees("`workstation` column")(p))
        ),
        "{report}"
    );
    assert!(
        report.problems.iter().any(|f| f.item.is_none()),
        "the counter: {report}"
    );
    assert_eq!((report.items, report.events), (2, 6), "{report}");
    // `audit` gives the same report without failing.
    assert_eq!(engine.audit().unwrap(), report);
}

#[test]
fn a_body_resealed_in_place_is_named_by_a_digest_taken_before() {
    // A body rewritten and its hash recomputed over it: only a digest kept from before can
    // tell the new bytes from the old (the stale head the state names is found as well).
    let (_dir, engine, a) = tampered(
        "resealed",
        "UPDATE meta SET value = value WHERE key = 'next_item'",
    );
    let digest = engine.digest().unwrap();
    let conn = Connection::open(engine.store().path().unwrap()).unwrap();
    let (body, prev): (String, Vec<u8>) = conn
        .query_row(
            "SELECT body, prev FROM events WHERE item = 1 AND seq = 4",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let spaced = body.replacen("\"actor\":", "\"actor\": ", 1);
    let mut hasher = Sha256Hasher::new();
    hasher.update(&prev);
    hasher.update(spaced.as_bytes());
    let hash = hasher.finish();
    conn.execute(
        "UPDATE events SET body = ?1, hash = ?2 WHERE item = 1 AND seq = 4",
        rusqlite::params![spaced, hash.as_bytes()],
    )
    .unwrap();
    let report = engine.audit_against(&digest).unwrap();
    assert!(
        finds(
            &report,
            &at(a.0, 4, |p| matches!(p, Problem::Rewritten { seq: 4, .. }))
        ),
        "{report}"
    );
    // Its state deleted too, its events kept: the digest still checks the events it covers,
    // and does not call the item removed.
    conn.execute("DELETE FROM items WHERE id = 1", []).unwrap();
    let report = engine.audit_against(&digest).unwrap();
    assert!(
        finds(
            &report,
            &of_item(a.0, |p| matches!(p, Problem::NoState { .. }))
        ),
        "{report}"
    );
    assert!(
        finds(
            &report,
            &at(a.0, 4, |p| matches!(p, Problem::Rewritten { seq: 4, .. }))
        ),
        "{report}"
    );
    assert!(
        !report
            .problems
            .iter()
            .any(|f| matches!(f.problem, Problem::Removed { .. })),
        "{report}"
    );
}

#[test]
fn verify_of_an_unknown_item_says_there_is_no_such_item() {
    let dir = TempDir::new("unknown");
    let engine = open(&dir.join("unknown.db"));
    populate(&engine);
    let result = engine.verify(ItemId(99));
    assert!(
        matches!(result, Err(Error::NotFound(ItemId(99)))),
        "{result:?}"
    );
    assert_eq!(result.unwrap_err().to_string(), "there is no item #99");
}

#[test]
fn a_counter_set_back_makes_create_fail_clearly_and_write_nothing() {
    let (_dir, engine, _) = tampered(
        "counter",
        "UPDATE meta SET value = 1 WHERE key = 'next_item'",
    );
    let result = engine.create(&worker(), NewItem::of("conformance"));
    let Err(Error::Store(StoreError::IdReused { item })) = result else {
        panic!("expected a reused id, got {result:?}");
    };
    assert_eq!(item, ItemId(2));
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("id counter behind"),
        "the message names the counter"
    );
    assert_eq!(
        engine.history(ItemId(2)).unwrap().len(),
        2,
        "item #2 is untouched"
    );
}

#[test]
fn an_inserted_event_that_hashes_correctly_is_found_by_the_projection() {
    let dir = TempDir::new("forged");
    let path = dir.join("forged.db");
    let engine = open(&path);
    let (a, _) = populate(&engine);
    let events = engine.history(a).unwrap();
    let last = events.last().unwrap();
    let forged = EventDraft {
        seq: last.seq() + 1,
        actor: "mallory".into(),
        change: workstream_core::Change::FieldsUpdated {
            patch: json!({"paid": true}),
        },
        prev: *last.hash(),
        ..last.clone().into_draft()
    }
    .seal();
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO events (item, seq, body, prev, hash, pos) VALUES (?1, ?2, ?3, ?4, ?5, (SELECT max(pos) + 1 FROM events))",
        rusqlite::params![
            a.0 as i64,
            forged.seq() as i64,
            forged.canonical_json(),
            forged.prev().as_bytes(),
            forged.hash().as_bytes()
        ],
    )
    .unwrap();
    let report = broken(engine.verify(a));
    assert!(
        finds(
            &report,
            &of_item(
                1,
                |p| matches!(p, Problem::ProjectionMismatch(d) if d.contains("seq: stored 4, replayed 5"))
            )
        ),
        "{report}"
    );
}

#[test]
fn appending_onto_a_chain_changed_from_outside_is_refused() {
    let cases = [
        (
            "the last event deleted",
            "DELETE FROM events WHERE item = 1 AND seq = 4",
        ),
        (
            "the last event changed",
            "UPDATE events SET body = replace(body, '\"wes\"', '\"eve\"') WHERE item = 1 AND seq = 4",
        ),
        (
            "the last hash changed",
            "UPDATE events SET hash = zeroblob(32) WHERE item = 1 AND seq = 4",
        ),
        (
            "an event added",
            "INSERT INTO events SELECT item, 5, body, prev, hash, (SELECT max(pos) + 1 FROM events) FROM events WHERE item = 1 AND seq = 4",
        ),
        ("the state removed", "DELETE FROM items WHERE id = 1"),
    ];
    for (what, tamper) in cases {
        let (_dir, engine, a) = tampered(what, tamper);
        let before = engine.store().read(|tx| tx.events(a, 1)).unwrap();
        let result = engine.advance(a, &worker(), Move::transition("pong"));
        assert!(
            matches!(
                result,
                Err(Error::Store(StoreError::Corrupt(_))) | Err(Error::NotFound(_))
            ),
            "{what}: the append must be refused, got {result:?}"
        );
        if let Err(Error::Store(StoreError::Corrupt(message))) = &result {
            assert!(message.contains(&a.to_string()), "{what}: {message}");
        }
        let after = engine.store().read(|tx| tx.events(a, 1)).unwrap();
        assert_eq!(before, after, "{what}: nothing was written");
        // The other item is untouched and still works.
        engine
            .update_fields(ItemId(2), &worker(), json!({"y": 2}))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

// ---------------------------------------------------------------------------------------
// Import

fn all_events(engine: &Engine<SqliteStore>) -> Vec<Event> {
    let ids = engine.store().read(|tx| tx.item_ids()).unwrap();
    ids.into_iter()
        .flat_map(|id| engine.history(id).unwrap())
        .collect()
}

#[test]
fn import_rebuilds_the_same_items_and_refuses_bad_events_whole() {
    let source = SqliteStore::open_in_memory().unwrap();
    let (source, _) = engine(source);
    let (a, b) = populate(&source);
    let events = all_events(&source);
    let kept = source.store().read(|tx| tx.definitions()).unwrap();
    assert_eq!(kept.len(), 1, "the one text the events were written under");

    // Without the workflow text they were written under, events are refused.
    let (bare, _) = engine(SqliteStore::open_in_memory().unwrap());
    let refused = bare.store().import([], events.clone()).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("neither the store nor the import keeps"),
        "{refused}"
    );
    assert!(bare.store().read(|tx| tx.item_ids()).unwrap().is_empty());

    let (target, _) = engine(SqliteStore::open_in_memory().unwrap());
    let imported = target.store().import(kept.clone(), events.clone()).unwrap();
    assert_eq!((imported.items, imported.events), (2, 6));
    for id in [a, b] {
        assert_eq!(target.item(id).unwrap(), source.item(id).unwrap());
    }
    assert_eq!(target.verify_all().unwrap().events, 6);
    // New ids come after the imported ones.
    let c = target
        .create(&worker(), NewItem::of("conformance"))
        .unwrap();
    assert!(c.id() > b, "{} after {b}", c.id());

    // A changed event, a gap, a repeat: refused, nothing written.
    let (fresh, _) = engine(SqliteStore::open_in_memory().unwrap());
    let mut changed = events.clone();
    // Changed after it was sealed, as a tampered file would have it: its hash no longer fits.
    let mut tampered = serde_json::to_value(&changed[2]).unwrap();
    tampered["actor"] = json!("mallory");
    changed[2] = serde_json::from_value(tampered).unwrap();
    let mut gap = events.clone();
    gap.remove(1);
    let mut again = events.clone();
    again.push(events[0].clone());
    for (what, bad) in [("changed", changed), ("gap", gap), ("repeat", again)] {
        let result = fresh.store().import(kept.clone(), bad);
        assert!(
            matches!(
                result,
                Err(StoreError::Corrupt(_))
                    | Err(StoreError::Conflict { .. })
                    | Err(StoreError::IdReused { .. })
            ),
            "{what}: {result:?}"
        );
        assert!(
            fresh.store().read(|tx| tx.item_ids()).unwrap().is_empty(),
            "{what}: nothing was written"
        );
    }

    // An event whose values nest deeper than the engine accepts would not read back.
    let mut deep = json!(1);
    for _ in 0..workstream_core::MAX_VALUE_DEPTH {
        deep = json!([deep]);
    }
    let mut too_deep = events[0].clone().into_draft();
    if let workstream_core::Change::Created { fields, .. } = &mut too_deep.change {
        *fields = std::sync::Arc::new(json!({ "deep": deep }));
    }
    let too_deep = vec![too_deep.seal()];
    let result = fresh.store().import(kept.clone(), too_deep);
    assert!(
        matches!(&result, Err(e @ StoreError::TooDeep { item: ItemId(1), seq: 1 })
            if e.to_string().contains("nested deeper than 64")),
        "{result:?}"
    );
    assert!(fresh.store().read(|tx| tx.item_ids()).unwrap().is_empty());

    // An import may continue a stored chain.
    let (half, _) = engine(SqliteStore::open_in_memory().unwrap());
    half.store()
        .import(kept.clone(), events[..3].to_vec())
        .unwrap();
    half.store().import([], events[3..].to_vec()).unwrap();
    assert_eq!(half.item(a).unwrap(), source.item(a).unwrap());
    assert_eq!(half.verify_all().unwrap().events, 6);
}

// ---------------------------------------------------------------------------------------
// Queries

#[test]
fn time_windows_hold_far_past_and_future_instants() {
    let (engine, clock) = engine(SqliteStore::open_in_memory().unwrap());
    let instants = [
        Utc.with_ymd_and_hms(1200, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
        start() + TimeDelta::nanoseconds(1),
        Utc.with_ymd_and_hms(2500, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(3000, 6, 1, 0, 0, 0).unwrap(),
    ];
    let mut ids = Vec::new();
    for at in instants {
        clock.set(at);
        ids.push(
            engine
                .create(&worker(), NewItem::of("conformance"))
                .unwrap()
                .id(),
        );
    }
    let created = |start, end| -> Vec<ItemId> {
        engine
            .items(&Query::new().created_in(Window::new(start, end)))
            .unwrap()
            .iter()
            .map(Item::id)
            .collect()
    };
    assert_eq!(created(instants[0], instants[1]), ids[..1]);
    assert_eq!(created(instants[2], instants[3]), ids[2..3]);
    assert_eq!(created(instants[3], instants[4]), ids[3..4]);
    assert_eq!(
        created(instants[3], instants[4] + TimeDelta::nanoseconds(1)),
        ids[3..]
    );
    assert_eq!(created(instants[0], instants[4]), ids[..4]);
    // Stored instants read back exactly.
    for (id, at) in ids.iter().zip(instants) {
        assert_eq!(engine.item(*id).unwrap().created(), at);
        assert_eq!(engine.history(*id).unwrap()[0].at(), at);
    }
}

#[test]
fn ids_beyond_sqlite_integers_are_absent_not_errors() {
    let store = SqliteStore::open_in_memory().unwrap();
    let huge = ItemId(u64::MAX);
    store
        .read(|tx| {
            assert_eq!(tx.item(huge)?, None);
            assert!(tx.events(huge, 1)?.is_empty());
            assert!(tx.dependents(huge)?.is_empty());
            assert!(tx.items(&Query::new().parent(huge))?.is_empty());
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// Locks

#[test]
fn a_writer_waits_for_the_busy_timeout_then_fails_clearly() {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};
    use workstream_core::Tx;
    use workstream_store_sqlite::Options;

    let dir = TempDir::new("busy");
    let path = dir.join("busy.db");
    let short = || {
        Options::builder()
            .busy_timeout(Duration::from_millis(200))
            .build()
    };
    let holder = SqliteStore::open_with(&path, short()).unwrap();
    let waiter = SqliteStore::open_with(&path, short()).unwrap();
    let (locked, release) = (mpsc::channel(), mpsc::channel::<()>());
    let (locked_send, locked_receive) = locked;
    let (release_send, release_receive) = release;
    let holding = std::thread::spawn(move || {
        holder
            .write(|tx| {
                tx.next_id()?;
                let _ = locked_send.send(());
                let _ = release_receive.recv();
                Ok::<_, StoreError>(())
            })
            .unwrap();
        holder
    });
    locked_receive.recv().unwrap();
    let started = Instant::now();
    let result = waiter.write(|tx| tx.next_id());
    let waited = started.elapsed();
    release_send.send(()).unwrap();
    let holder = holding.join().unwrap();
    let Err(e @ StoreError::Busy { waited: limit }) = result else {
        panic!("expected a busy error, got {result:?}");
    };
    assert_eq!(limit, Duration::from_millis(200));
    assert!(e.to_string().contains("longer than 200ms"), "{e}");
    assert!(waited >= Duration::from_millis(150), "it waited {waited:?}");
    // Once the lock is free, the waiter writes.
    assert_eq!(waiter.write(|tx| tx.next_id()).unwrap(), ItemId(2));
    drop(holder);
}
