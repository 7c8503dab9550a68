//! Definitions: each workflow text is kept once, with the first event written under it, and
//! found again by its source, its definition hash and the hash workstream 0.1 gave it.

use super::{engine, worker, workflow};
use crate::{
    Change, EventDraft, NewItem, Reader, Sha256Hash, Store, StoreError, StoredDefinition, Tx,
};

fn kept<S: Store>(store: &S) -> Vec<StoredDefinition> {
    store
        .read(|tx| tx.definitions())
        .unwrap_or_else(|e| panic!("definitions: {e}"))
}

/// The text an item is created under is kept in the creating transaction, once however
/// many events name it, and is found by its source, its definition hash and its 0.1 hash.
pub fn definitions_are_kept_with_their_first_event<S: Store>(store: S) {
    let (engine, _) = engine(store);
    assert!(kept(engine.store()).is_empty(), "a new store keeps no text");
    let wf = workflow();
    let item = engine
        .create(&worker(), NewItem::of("conformance"))
        .unwrap_or_else(|e| panic!("create: {e}"));
    let all = kept(engine.store());
    assert_eq!(all, [StoredDefinition::of(&wf)], "kept with the creation");
    for _ in 0..3 {
        engine
            .update_fields(item.id(), &worker(), serde_json::json!({"n": 1}))
            .unwrap_or_else(|e| panic!("update: {e}"));
    }
    assert_eq!(kept(engine.store()).len(), 1, "kept once");
    let events = engine.history(item.id()).unwrap_or_else(|e| panic!("{e}"));
    assert!(events.iter().all(|e| e.source() == Some(wf.source_hash())));
    let found = engine
        .store()
        .read(|tx| {
            Ok::<_, StoreError>((
                tx.definition_text(wf.source_hash())?,
                tx.has_definition_text(wf.source_hash())?,
                tx.definition(wf.definition_hash())?,
                tx.definition(wf.format1_hash())?,
                tx.definition_text(&Sha256Hash::of(b"no such text"))?,
                tx.definition(&Sha256Hash::of(b"no such definition"))?,
            ))
        })
        .unwrap_or_else(|e| panic!("lookups: {e}"));
    let expected = Some(StoredDefinition::of(&wf));
    assert_eq!(found.0, expected, "by source");
    assert!(found.1, "has_definition_text");
    assert_eq!(found.2, expected, "by definition hash");
    assert_eq!(found.3, expected, "by the 0.1 hash");
    assert_eq!((found.4, found.5), (None, None), "unknown hashes");
    let parsed = all[0].parse().unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(parsed.definition_hash(), wf.definition_hash());
    assert_eq!(all[0].problem(), None);
    let report = engine.audit().unwrap_or_else(|e| panic!("audit: {e}"));
    assert!(report.is_clean(), "{report}");
}

/// Two texts of one definition (a description edited) are both kept, each under its source;
/// a text is kept as it was, a second put of it changes nothing; a rolled-back transaction
/// keeps no text; a text that does not hash to its source is refused.
pub fn definition_texts_are_kept_exactly<S: Store>(store: S) {
    let wf = workflow();
    let edited = crate::parse(
        "conformance.yaml",
        &wf.source().replacen(
            "workflow: conformance",
            "workflow: conformance\ndescription: edited",
            1,
        ),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(edited.definition_hash(), wf.definition_hash());
    let first = StoredDefinition::of(&wf);
    let second = StoredDefinition::of(&edited);
    store
        .write(|tx| {
            tx.put_definition(&first)?;
            tx.put_definition(&second)?;
            tx.put_definition(&first)
        })
        .unwrap_or_else(|e: StoreError| panic!("put: {e}"));
    assert_eq!(
        kept(&store),
        [first.clone(), second.clone()],
        "in the order kept"
    );
    let by_hash = store
        .read(|tx| tx.definition(wf.definition_hash()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        by_hash,
        Some(first.clone()),
        "the first kept of the definition"
    );

    // A transaction that fails keeps nothing.
    let mut third = first.clone();
    third.text.push_str("\n# a comment\n");
    third.source = Sha256Hash::of(third.text.as_bytes());
    let failed: Result<(), StoreError> = store.write(|tx| {
        tx.put_definition(&third)?;
        Err(StoreError::Corrupt("rolled back on purpose".into()))
    });
    assert!(failed.is_err());
    let now = store
        .read(|tx| tx.has_definition_text(&third.source))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!now, "a rolled-back text is not kept");

    // A text that does not hash to its source is refused.
    let mut forged = first.clone();
    forged.source = Sha256Hash::of(b"another text");
    let refused = store.write(|tx| tx.put_definition(&forged));
    assert!(
        matches!(refused, Err(StoreError::DefinitionMismatch { .. })),
        "{refused:?}"
    );
    assert_eq!(kept(&store).len(), 2);
}

/// An event that names a text the store does not keep is found by the audit, as is an event
/// whose definition is not the one its text parses to.
pub fn events_name_kept_texts<S: Store>(store: S) {
    let (engine, _) = engine(store);
    let item = engine
        .create(&worker(), NewItem::of("conformance"))
        .unwrap_or_else(|e| panic!("create: {e}"));
    let unknown = Sha256Hash::of(b"a text no one kept");
    let appended = engine.store().write(|tx| {
        let mut draft: EventDraft = item.next_event(
            super::start(),
            "intruder",
            Change::FieldsUpdated {
                patch: serde_json::json!({}),
            },
        );
        draft.source = Some(unknown);
        let event = draft.seal();
        let mut next = item.clone();
        next.apply(&event)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.append(event, next)
    });
    appended.unwrap_or_else(|e| panic!("append: {e}"));
    let report = engine.audit().unwrap_or_else(|e| panic!("audit: {e}"));
    assert!(
        report.problems.iter().any(|f| f.item == Some(item.id())
            && f.seq == Some(2)
            && matches!(f.problem, crate::Problem::TextNotKept { text } if text == unknown)),
        "{report}"
    );
}
