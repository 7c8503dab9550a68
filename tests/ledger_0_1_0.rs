//! A database written by workstream 0.1.0 (`tests/fixtures/ledger-0.1.0`, made by the
//! `generate.rs` kept beside it) opens, verifies and reads back with the current code.

use std::path::{Path, PathBuf};

use workstream::prelude::*;
use workstream::{Checks, SqliteStore};

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
fn a_database_of_0_1_0_verifies_and_reads_back_as_written() {
    let copy = Copy::new("reads");
    let engine = engine(&copy.db());
    // Every chain verifies. 0.1.0 read 0.9884814957324949 back one ulp off and wrote that
    // into item 2's row when it put the item on hold; the ledger kept the exact text, and
    // the audit names the row that differs from it.
    let report = engine.audit().unwrap();
    assert_eq!((report.items, report.events), (6, 24));
    assert_eq!(report.problems.len(), 1, "{report:?}");
    let finding = &report.problems[0];
    assert_eq!(finding.item, Some(ItemId(2)));
    match &finding.problem {
        workstream::Problem::ProjectionMismatch(detail) => {
            assert!(detail.contains("0.9884814957324948"), "{detail}")
        }
        other => panic!("expected the row of item 2 to differ, got {other:?}"),
    }

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
