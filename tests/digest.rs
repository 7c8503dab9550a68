//! Ledger digests: a rewrite that recomputes every hash passes `verify_all`, and the digest
//! taken before it names the item.

use workstream::prelude::*;
use workstream::{
    Change, Event, LedgerDigest, Problem, Reader, Sha256Hash, SqliteStore, Store, StoreError,
};

const TASK: &str = include_str!("workflows/task.v1.yaml");

fn actor() -> Actor {
    Actor::new("ann", ["author"])
}

fn engine_on(store: SqliteStore) -> Engine<SqliteStore> {
    Engine::builder()
        .store(store)
        .workflow(parse("task.v1.yaml", TASK).unwrap())
        .build()
        .unwrap()
}

/// Four items: 1 accepted (3 events), 2 in review (2), 3 sent back (3), 4 just created (1).
fn sprint(engine: &Engine<SqliteStore>) -> Vec<ItemId> {
    let ids: Vec<ItemId> = (0..4)
        .map(|_| engine.create(&actor(), NewItem::of("task")).unwrap().id())
        .collect();
    for &id in &ids[..3] {
        engine
            .advance(id, &actor(), Move::transition("submit"))
            .unwrap();
    }
    engine
        .advance(ids[0], &actor(), Move::transition("accept"))
        .unwrap();
    engine
        .advance(ids[2], &actor(), Move::transition("send_back"))
        .unwrap();
    ids
}

/// What an attacker with write access does: every event and definition copied into a new
/// database, through `edit`, each chain resealed from the first changed event on, so that
/// every hash, every link and every head is right again.
fn rewritten(
    from: &Engine<SqliteStore>,
    dir: &std::path::Path,
    name: &str,
    edit: impl Fn(&mut Vec<Event>),
) -> Engine<SqliteStore> {
    let store = from.store();
    let (definitions, ids) = store
        .read(|tx| Ok::<_, StoreError>((tx.definitions()?, tx.item_ids()?)))
        .unwrap();
    let mut events = Vec::new();
    for id in ids {
        let mut chain = from.history(id).unwrap();
        edit(&mut chain);
        let mut prev = Sha256Hash::ZERO;
        for event in chain {
            let mut draft = event.into_draft();
            draft.prev = prev;
            let sealed = draft.seal();
            prev = *sealed.hash();
            events.push(sealed);
        }
    }
    let copy = SqliteStore::open(dir.join(name)).unwrap();
    copy.import(definitions, events).unwrap();
    engine_on(copy)
}

#[test]
fn a_digest_names_each_item_whose_history_was_rewritten_cut_or_removed() {
    let dir = tempfile_dir("digest");
    let engine = engine_on(SqliteStore::open(dir.join("ledger.db")).unwrap());
    let ids = sprint(&engine);
    let digest = engine.digest().unwrap();
    assert_eq!(digest.summary().items, 4);
    assert_eq!(digest.summary().events, 3 + 2 + 3 + 1);
    // Kept as text, read back: the same digest.
    let kept = LedgerDigest::parse(&digest.to_string()).unwrap();
    assert_eq!(kept, digest);

    // The ledger grows: it still extends the digest.
    engine
        .advance(ids[3], &actor(), Move::transition("submit"))
        .unwrap();
    engine
        .advance(ids[1], &actor(), Move::transition("accept"))
        .unwrap();
    let verified = engine.verify_against(&kept).unwrap();
    assert_eq!((verified.items, verified.events), (4, 11));

    // Item 2's second event now names another actor; everything after it is resealed.
    let forged = rewritten(&engine, &dir, "forged.db", |chain| {
        if chain[0].item() == ids[1] {
            let mut draft = chain[1].clone().into_draft();
            draft.actor = "mallory".into();
            chain[1] = draft.seal();
        }
    });
    assert_eq!(forged.history(ids[1]).unwrap()[1].actor(), "mallory");
    // The rewrite is self-consistent: every chain and state checks out …
    forged
        .verify_all()
        .expect("a resealed ledger passes verify_all");
    // … but not against the digest taken before it.
    let report = forged.audit_against(&kept).unwrap();
    assert_eq!(report.broken_items(), vec![ids[1]], "{report}");
    assert!(
        matches!(
            report.problems[0].problem,
            Problem::Rewritten { seq: 2, .. }
        ),
        "{report}"
    );
    assert!(matches!(
        forged.verify_against(&kept),
        Err(Error::Verify(_))
    ));

    // Item 3 cut back to before it was sent back, item 4 removed: each named.
    let forged = rewritten(&engine, &dir, "cut.db", |chain| {
        if chain[0].item() == ids[2] {
            chain.truncate(2);
        }
        if chain[0].item() == ids[3] {
            chain.clear();
        }
    });
    forged
        .verify_all()
        .expect("the cut ledger passes verify_all");
    let report = forged.audit_against(&kept).unwrap();
    assert_eq!(report.broken_items(), vec![ids[2], ids[3]], "{report}");
    let problems: Vec<&Problem> = report.problems.iter().map(|f| &f.problem).collect();
    assert_eq!(
        problems,
        vec![
            &Problem::Truncated {
                covered: 3,
                found: 2
            },
            &Problem::Removed { covered: 1 },
        ]
    );
    // An untouched copy extends the digest.
    let copy = rewritten(&engine, &dir, "copy.db", |_| {});
    copy.verify_against(&kept).unwrap();
    // A changed `created` event (the first of a chain) is named as well.
    let forged = rewritten(&engine, &dir, "created.db", |chain| {
        if chain[0].item() == ids[0]
            && let Change::Created { .. } = chain[0].change()
        {
            let mut draft = chain[0].clone().into_draft();
            draft.at += chrono::TimeDelta::seconds(1);
            chain[0] = draft.seal();
        }
    });
    let report = forged.audit_against(&kept).unwrap();
    assert_eq!(report.broken_items(), vec![ids[0]], "{report}");
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("workstream-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
