//! A database written by workstream 0.1.0 (`tests/fixtures/ledger-0.1.0`, made by the
//! `generate.rs` kept beside it) opens, verifies, reads back, moves on and migrates to a new
//! version with the current code.

use std::path::{Path, PathBuf};

use workstream::prelude::*;
use workstream::{Checks, Reader, SqliteStore};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ledger-0.1.0");

/// A copy of the fixture in a directory of its own, removed when dropped, so a test never
/// changes the committed file.
struct Copy(PathBuf);

impl Copy {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "workstream-ledger-0.1.0-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(Path::new(FIXTURE).join("ledger.db"), dir.join("ledger.db")).unwrap();
        Self(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("ledger.db")
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The schema version in the file's header (`PRAGMA user_version`).
fn rusqlite_version(db: &Path) -> i32 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn engine(db: &Path) -> Engine<SqliteStore> {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("purchase_order.yaml")).unwrap();
    let workflow = parse("purchase_order.yaml", &text).unwrap();
    let checks = Checks::new().add("within_budget", |ctx| {
        let amount = ctx.item().fields()["amount"].as_f64().unwrap_or(f64::MAX);
        Verdict::require(amount <= 5_000.0, "over the 5,000 budget")
    });
    Engine::builder()
        .store(SqliteStore::open(db).unwrap())
        .workflow(workflow)
        .checks(checks)
        .build()
        .unwrap()
}

#[test]
fn the_fixture_is_the_file_0_1_0_wrote() {
    let bytes = std::fs::read(Path::new(FIXTURE).join("ledger.db")).unwrap();
    assert_eq!(
        workstream::Sha256Hash::of(&bytes).to_string(),
        "sha256:2ba37320dbca69152a0b005b6cb27ee4d5c171e646b26db65572235ebf09ad58",
        "tests/fixtures/ledger-0.1.0/ledger.db was changed; tests must work on copies"
    );
}

#[test]
fn a_database_of_0_1_0_verifies_and_reads_back_as_written() {
    let copy = Copy::new("reads");
    let engine = engine(&copy.db());
    // Every chain and every state verifies. 0.1.0 read 0.9884814957324949 back one ulp off
    // and wrote that into item 2's row when it put the item on hold; the ledger kept the
    // exact text, so opening the file (schema 1 → 2) rebuilt that row from its chain and
    // kept the row it replaced.
    let verified = engine.verify_all().unwrap();
    assert_eq!((verified.items, verified.events), (6, 24));
    // The upgrade to schema 3 gave every event its place in the feed: all 24, positions
    // 1 to 24, each chain in order, in the order of the instants.
    let fed = engine
        .events_since(workstream::Position::START, 100)
        .unwrap();
    let positions: Vec<u64> = fed.iter().map(|f| f.position.minor()).collect();
    assert_eq!(positions, (1..=24).collect::<Vec<u64>>());
    for pair in fed.windows(2) {
        assert!(pair[0].event.at() <= pair[1].event.at());
        if pair[0].event.item() == pair[1].event.item() {
            assert!(pair[0].event.seq() < pair[1].event.seq());
        }
    }
    // A program of the previous schema still connected cannot add an event outside it.
    let conn = rusqlite::Connection::open(copy.db()).unwrap();
    let refused = conn.execute(
        "INSERT INTO events (item, seq, body, prev, hash) SELECT item, 99, body, prev, hash \
         FROM events WHERE item = 1 AND seq = 1",
        [],
    );
    assert!(
        refused.is_err_and(|e| e.to_string().contains("upgraded to workstream schema 3")),
        "an event without a feed position is refused"
    );
    drop(conn);
    let replaced = engine.store().replaced_rows().unwrap();
    assert_eq!(replaced.len(), 1, "{replaced:?}");
    assert_eq!(replaced[0].item, ItemId(2));
    assert!(
        replaced[0].state.contains("0.9884814957324948"),
        "{replaced:?}"
    );
    assert_eq!(
        engine.item(ItemId(2)).unwrap().fields()["amount"]
            .as_f64()
            .unwrap()
            .to_bits(),
        0.9884814957324949f64.to_bits()
    );

    let states: Vec<(u64, String, Vec<String>)> = engine
        .items(&Query::default())
        .unwrap()
        .iter()
        .map(|i| {
            (
                i.id().0,
                i.workstation().to_owned(),
                i.holds().keys().cloned().collect(),
            )
        })
        .collect();
    let expect = |id: u64, at: &str, holds: &[&str]| {
        (
            id,
            at.to_owned(),
            holds.iter().map(|h| h.to_string()).collect(),
        )
    };
    assert_eq!(
        states,
        [
            expect(1, "ordered", &[]),
            expect(2, "review", &["awaiting_quote"]),
            expect(3, "rejected", &[]),
            expect(4, "approved", &[]),
            expect(5, "needs_revision", &[]),
            expect(6, "draft", &[]),
        ]
    );
    // The ledger holds the amount as it was given, and it reads back bit for bit.
    let created = &engine.history(ItemId(2)).unwrap()[0];
    let workstream::Change::Created { fields, .. } = &created.change() else {
        panic!("the first event creates the item: {created:?}");
    };
    assert_eq!(
        fields["amount"].as_f64().unwrap().to_bits(),
        0.9884814957324949f64.to_bits()
    );
    assert_eq!(engine.history(ItemId(1)).unwrap().len(), 7);
}

#[test]
fn items_written_by_0_1_0_keep_their_definition_and_move_on() {
    let copy = Copy::new("moves");
    let engine = engine(&copy.db());
    let version: i32 = rusqlite_version(&copy.db());
    assert_eq!(
        version,
        workstream::sqlite::SCHEMA_VERSION,
        "migrated on opening"
    );
    let workflow = engine.workflow("purchase_order").unwrap();
    // The definition hash now covers only what decides moves; the hash 0.1.0 computed, which
    // its items carry, still names this definition.
    let format1 = "sha256:e7fb3092f76ba4c3519804de9c19bd11e77d435df8d2bc8cb0eca2f8ac13a48d";
    assert_eq!(workflow.format1_hash().to_string(), format1);
    assert_ne!(workflow.definition_hash().to_string(), format1);
    let item = engine.item(ItemId(6)).unwrap();
    assert_eq!(item.definition().to_string(), format1);
    assert!(workflow.is_definition(item.definition()));
    let ann = Actor::new("ann", ["requester"]);
    let bob = Actor::new("bob", ["approver"]);
    let cy = Actor::new("cy", ["buyer"]);

    // The draft is submitted; its approval by the requester is refused with every reason.
    let coffee = engine
        .advance(ItemId(6), &ann, Move::transition("submit"))
        .unwrap();
    assert_eq!(coffee.workstation(), "review");
    let refused = engine
        .advance(ItemId(6), &ann, Move::transition("approve"))
        .unwrap_err();
    assert_eq!(
        refused.refused().unwrap().ids(),
        ["role", "approve.requires.0"]
    );
    engine
        .advance(ItemId(6), &bob, Move::transition("approve"))
        .unwrap();
    // The approved item is held and released, and ordered; the revision goes back to review.
    engine.hold(ItemId(4), &cy, "blocked", "again").unwrap();
    engine.release(ItemId(4), &cy, "blocked").unwrap();
    let desks = engine
        .advance(ItemId(4), &cy, Move::transition("order"))
        .unwrap();
    assert_eq!(desks.workstation(), "ordered");
    engine
        .update_fields(ItemId(5), &ann, serde_json::json!({ "seats": null }))
        .unwrap();
    engine
        .advance(ItemId(5), &ann, Move::transition("submit"))
        .unwrap();

    // The file was taken to schema version 2, and the text the new events were written
    // under is kept with them (0.1.0's events name none).
    let kept = engine.store().read(|tx| tx.definitions()).unwrap();
    assert_eq!(kept, [workstream::StoredDefinition::of(workflow)]);
    let events = engine.history(ItemId(6)).unwrap();
    assert_eq!(events[0].source(), None, "written by 0.1.0");
    assert_eq!(events[1].source(), Some(workflow.source_hash()));
    // The first event under this release re-keys the item to today's hash of the same
    // definition, so its texts can be edited from then on.
    assert_eq!(events[0].definition().to_string(), format1);
    assert!(
        events[1..]
            .iter()
            .all(|e| e.definition() == workflow.definition_hash())
    );
    assert_eq!(
        engine.item(ItemId(6)).unwrap().definition(),
        workflow.definition_hash()
    );

    // Every chain and state still verifies.
    assert_eq!(engine.verify_all().unwrap().events, 24 + 7);

    // A re-keyed item keeps moving after a description edit; one 0.1.0 wrote and nothing
    // touched since still carries 0.1's hash, which covered the description.
    drop(engine);
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("purchase_order.yaml")).unwrap();
    let edited = text.replace(
        "description: A request to buy something",
        "description: A request to buy anything",
    );
    assert_ne!(edited, text);
    let engine = Engine::builder()
        .store(SqliteStore::open(copy.db()).unwrap())
        .workflow(parse("purchase_order.yaml", &edited).unwrap())
        .checks(Checks::new().add("within_budget", |_| Verdict::Pass))
        .build()
        .unwrap();
    engine
        .advance(ItemId(6), &cy, Move::transition("order"))
        .unwrap_or_else(|e| panic!("re-keyed item 6: {e}"));
    assert!(matches!(
        engine.advance(ItemId(2), &bob, Move::transition("approve")),
        Err(workstream::Error::DefinitionMismatch { .. })
    ));
}

/// Version 2 of the fixture's workflow: `needs_revision` is renamed, a security review comes
/// between review and approval, and the quote hold is renamed.
fn version_2() -> workstream::Workflow {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("purchase_order.yaml")).unwrap();
    let text = text
        .replace("version: 1\n", "version: 2\n")
        .replace(
            "holds: [blocked, awaiting_quote]",
            "holds: [blocked, waiting_for_quote]",
        )
        .replace("  needs_revision:\n", "  revision_requested:\n")
        .replace(
            "from: [draft, needs_revision]",
            "from: [draft, revision_requested]",
        )
        .replace("to: needs_revision", "to: revision_requested")
        + "migrations:\n  - from: 1\n    by: [approver]\n    workstations: { needs_revision: revision_requested }\n    holds: { awaiting_quote: waiting_for_quote }\n";
    parse("purchase_order.v2.yaml", &text).unwrap_or_else(|d| panic!("{d}"))
}

#[test]
fn items_written_by_0_1_0_migrate_to_a_new_version() {
    let copy = Copy::new("migrates");
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("purchase_order.yaml")).unwrap();
    let checks = || {
        Checks::new().add("within_budget", |ctx| {
            let amount = ctx.item().fields()["amount"].as_f64().unwrap_or(f64::MAX);
            Verdict::require(amount <= 5_000.0, "over the 5,000 budget")
        })
    };
    let engine = Engine::builder()
        .store(SqliteStore::open(copy.db()).unwrap())
        .workflow(parse("purchase_order.yaml", &text).unwrap())
        .workflow(version_2())
        .checks(checks())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let bob = Actor::new("bob", ["approver"]);
    let mut on_2 = Vec::new();
    for id in 1..=6 {
        let item = engine
            .migrate(ItemId(id), &bob, 2, Some("purchase orders v2"))
            .unwrap_or_else(|e| panic!("item {id}: {e}"));
        on_2.push((
            item.workstation().to_owned(),
            item.holds().keys().cloned().collect::<Vec<_>>(),
        ));
    }
    assert_eq!(
        on_2,
        [
            ("ordered".to_owned(), vec![]),
            ("review".to_owned(), vec!["waiting_for_quote".to_owned()]),
            ("rejected".to_owned(), vec![]),
            ("approved".to_owned(), vec![]),
            ("revision_requested".to_owned(), vec![]),
            ("draft".to_owned(), vec![]),
        ]
    );
    // The revision moves on under version 2.
    let ann = Actor::new("ann", ["requester"]);
    let moved = engine
        .advance(ItemId(5), &ann, Move::transition("submit"))
        .unwrap();
    assert_eq!((moved.version(), moved.workstation()), (2, "review"));
    // Every chain and state verifies across the versions; version 2's text is kept.
    assert_eq!(engine.verify_all().unwrap().events, 24 + 6 + 1);
    let kept = engine.store().read(|tx| tx.definitions()).unwrap();
    assert_eq!(kept, [workstream::StoredDefinition::of(&version_2())]);
}
