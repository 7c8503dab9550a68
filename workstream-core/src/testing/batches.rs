//! Batches: many changes in one transaction, all written or none.

use serde_json::json;

use super::{engine, lead, ok, worker};
use crate::{Error, ItemId, Move, NewItem, Query, ReasonKind, Store};

/// A batch writes every change it asks for or none: the changes see each other (a WIP limit
/// counts the items the batch moved before), every refused change is reported with its place
/// and reasons, a refusal or any other error leaves the store as it was, and the chains
/// written by a batch verify.
pub fn batches_are_all_or_nothing<S: Store>(store: S) {
    let (engine, _clock) = engine(store);
    let owner = json!({ "owner": "wes" });

    // Forty items created and started in one batch, then their chains verified.
    let ids: Vec<ItemId> = ok(
        engine.batch(|batch| {
            let mut ids = Vec::new();
            for _ in 0..40 {
                let item = batch.create(&worker(), NewItem::of("conformance"))?;
                ids.push(item.id());
            }
            Ok(ids)
        }),
        "a batch of creates",
    );
    assert_eq!(ids.len(), 40);
    assert_eq!(ok(engine.items(&Query::new()), "items").len(), 40);

    // The WIP limit of `doing` is 3: the fourth start in one batch sees the three before it.
    let before = ok(engine.verify_all(), "verify").events;
    let result = engine.batch(|batch| {
        for (i, id) in ids.iter().take(5).enumerate() {
            // The second change is also refused: no owner named.
            let patch = if i == 1 { json!({}) } else { owner.clone() };
            let _ = batch.advance(*id, &worker(), Move::transition("start").patch(patch));
        }
        Ok(())
    });
    let refused = match result {
        Err(Error::BatchRefused(refused)) => refused,
        Err(other) => panic!("a batch with refused moves fails with BatchRefused, got: {other}"),
        Ok(()) => panic!("a batch with refused moves was written"),
    };
    assert_eq!(refused.changes, 5);
    let places: Vec<usize> = refused.refused.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        places,
        [1, 4],
        "the move without an owner and the fourth entry into `doing` are refused: {refused}"
    );
    assert!(refused.refused[0].1.has("owner_named"), "{refused}");
    assert!(
        refused.refused[1]
            .1
            .reasons
            .iter()
            .any(|r| r.kind == ReasonKind::Wip),
        "the fourth entry is refused for the WIP limit: {refused}"
    );
    assert_eq!(
        ok(engine.verify_all(), "verify after a refused batch").events,
        before,
        "a refused batch writes nothing"
    );
    for id in &ids[..5] {
        assert_eq!(
            ok(engine.item(*id), "read").workstation(),
            "todo",
            "nothing of a refused batch is written"
        );
    }

    // Another error ends the batch, and nothing is written either.
    let result = engine.batch(|batch| {
        batch.advance(
            ids[0],
            &worker(),
            Move::transition("start").patch(owner.clone()),
        )?;
        batch.create(
            &worker(),
            NewItem::of("conformance").parent(ItemId(999_999)),
        )
    });
    assert!(
        matches!(result, Err(Error::NotFound(ItemId(999_999)))),
        "a missing parent ends the batch with its own error: {result:?}"
    );
    assert_eq!(ok(engine.item(ids[0]), "read").workstation(), "todo");
    assert_eq!(ok(engine.items(&Query::new()), "items").len(), 40);

    // Dependencies added in one batch are checked against each other: the edge that closes a
    // cycle is refused.
    let result = engine.batch(|batch| {
        batch.add_dependency(ids[0], ids[1], &worker())?;
        batch.add_dependency(ids[1], ids[2], &worker())?;
        batch.add_dependency(ids[2], ids[0], &worker())
    });
    match result {
        Err(Error::BatchRefused(refused)) => {
            assert_eq!(refused.refused.len(), 1, "{refused}");
            assert_eq!(refused.refused[0].0, 2);
            assert!(refused.refused[0].1.has("cycle"), "{refused}");
        }
        other => panic!("a cycle closed inside a batch is refused, got {other:?}"),
    }
    assert!(ok(engine.item(ids[0]), "read").deps().is_empty());

    // A batch that is accepted writes every change, in order, on chains that verify.
    let moved = ok(
        engine.batch(|batch| {
            let mut last = None;
            for id in &ids[..3] {
                batch.advance(
                    *id,
                    &worker(),
                    Move::transition("start").patch(owner.clone()),
                )?;
                batch.hold(*id, &worker(), "paused", "waiting")?;
                last = Some(batch.add_dependency(*id, ids[39], &worker())?);
            }
            batch.advance(ids[39], &lead(), Move::transition("drop"))?;
            Ok(last)
        }),
        "an accepted batch",
    );
    let moved = moved.unwrap_or_else(|| panic!("the batch returns its closure's value"));
    assert_eq!(moved.seq(), 4);
    for id in &ids[..3] {
        let item = ok(engine.item(*id), "read");
        assert_eq!(item.workstation(), "doing");
        assert!(item.holds().contains_key("paused"));
        assert!(item.deps().contains(&ids[39]));
    }
    assert_eq!(ok(engine.item(ids[39]), "read").workstation(), "dropped");
    let report = ok(engine.audit(), "audit");
    assert!(
        report.is_clean(),
        "the batch's chains audit clean: {report}"
    );
    assert_eq!(report.events, before + 10);
}
