//! Reads after writes, appends that break a chain, rollback, and replay against the projection.

use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::{engine, lead, ok, start, worker};
use crate::{
    Change, Error, Event, EventDraft, Item, ItemId, Move, NewItem, Reader, Sha256Hash, Store,
    StoreError, Tx,
};

/// Items and events written through the engine read back exactly, and chains verify.
pub fn append_and_read<S: Store>(store: S) {
    let (engine, clock) = engine(store);
    let a = ok(
        engine.create(
            &worker(),
            NewItem::of("conformance").fields(json!({"n": 1})),
        ),
        "create",
    );
    assert_eq!(a.id(), ok(engine.item(a.id()), "read").id());
    assert_eq!(a.seq(), 1);
    clock.advance(TimeDelta::minutes(5));
    let moved = ok(
        engine.advance(
            a.id(),
            &worker(),
            Move::transition("start").patch(json!({"owner": "wes"})),
        ),
        "start",
    );
    assert_eq!(moved.workstation(), "doing");
    assert_eq!(moved.field("owner"), Some(&json!("wes")));
    assert_eq!(moved.updated(), start() + TimeDelta::minutes(5));
    let stored = ok(engine.item(a.id()), "read after move");
    assert_eq!(
        stored, moved,
        "the stored state is the state the engine returned"
    );

    let events = ok(engine.history(a.id()), "history");
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].prev, events[0].hash);
    assert!(matches!(events[1].change, Change::Transitioned { .. }));
    let tail = engine
        .store()
        .read(|tx| tx.events(a.id(), 2))
        .unwrap_or_else(|e: StoreError| panic!("events from 2: {e}"));
    assert_eq!(tail, events[1..], "events(id, 2) returns the tail");
    assert_eq!(ok(engine.verify(a.id()), "verify"), 2);

    let b = ok(
        engine.create(&worker(), NewItem::of("conformance")),
        "create b",
    );
    assert!(b.id() > a.id(), "ids increase: {} then {}", a.id(), b.id());
    assert!(matches!(
        engine.item(ItemId(u64::MAX)),
        Err(Error::NotFound(_))
    ));
}

/// Appends that skip a sequence number, repeat one, or do not name the stored head are
/// refused, and write nothing.
pub fn appends_that_break_the_chain_are_refused<S: Store>(store: S) {
    let (engine, _) = engine(store);
    let item = ok(
        engine.create(&worker(), NewItem::of("conformance")),
        "create",
    );
    let next = |seq: u64, prev: Sha256Hash| -> (Event, Item) {
        let event = EventDraft {
            item: item.id(),
            seq,
            at: start(),
            actor: "intruder".into(),
            change: Change::FieldsUpdated {
                patch: json!({"x": 1}),
            },
            reason: None,
            payload: Value::Null,
            definition: *item.definition(),
            source: None,
            prev,
        }
        .seal();
        // A state that carries the event (its sequence number and hash), so only the chain
        // check can refuse it.
        let mut state = serde_json::to_value(&item).unwrap_or_default();
        state["seq"] = json!(event.seq);
        state["head"] = json!(event.hash);
        let state: Item = serde_json::from_value(state)
            .unwrap_or_else(|e| panic!("an item's serde form reads back: {e}"));
        (event, state)
    };
    let attempts = [
        ("a gap", next(3, *item.head())),
        ("a repeated sequence number", next(1, *item.head())),
        (
            "a wrong previous hash",
            next(2, Sha256Hash::of(b"not the head")),
        ),
    ];
    for (what, (event, state)) in attempts {
        let result = engine
            .store()
            .write(|tx| tx.append(event.clone(), state.clone()));
        assert!(
            matches!(result, Err(StoreError::Conflict { .. })),
            "an append with {what} must be refused as a conflict, got {result:?}"
        );
    }
    // A good event offered with a state that does not carry it.
    let (event, _) = next(2, *item.head());
    let result = engine
        .store()
        .write(|tx| tx.append(event.clone(), item.clone()));
    assert!(
        matches!(result, Err(StoreError::Mismatch { .. })),
        "a state that does not carry its event must be refused, got {result:?}"
    );
    assert_eq!(ok(engine.history(item.id()), "history").len(), 1);
    assert_eq!(ok(engine.item(item.id()), "read"), item);
    ok(engine.verify(item.id()), "verify");
}

/// A transaction that returns an error, or panics, after appending leaves nothing behind.
pub fn failed_transactions_write_nothing<S: Store>(store: S) {
    let (engine, _) = engine(store);
    let item = ok(
        engine.create(&worker(), NewItem::of("conformance")),
        "create",
    );
    let append_then = |fail_with_panic: bool| {
        let result: Result<(), StoreError> = engine.store().write(|tx| {
            let current = tx.item(item.id())?.unwrap_or_else(|| item.clone());
            let event = current
                .next_event(
                    start(),
                    "wes",
                    Change::FieldsUpdated {
                        patch: json!({"lost": true}),
                    },
                )
                .seal();
            let mut next = current.clone();
            next.apply(&event)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.append(event, next)?;
            let _ = tx.next_id()?;
            if fail_with_panic {
                panic!("a check panicked");
            }
            Err(StoreError::Corrupt("the caller gave up".into()))
        });
        result
    };
    assert!(append_then(false).is_err());
    let panicked = catch_unwind(AssertUnwindSafe(|| append_then(true)));
    assert!(panicked.is_err(), "the panic propagates");
    let after = ok(engine.item(item.id()), "read after rollback");
    assert_eq!(after, item, "a rolled-back append must not be visible");
    assert_eq!(ok(engine.history(item.id()), "history").len(), 1);
    // The store still works after a panicking writer.
    ok(
        engine.update_fields(item.id(), &worker(), json!({"kept": true})),
        "update",
    );
    assert_eq!(ok(engine.history(item.id()), "history").len(), 2);
    ok(engine.verify_all(), "verify all");
}

/// After every kind of change, each item's stored state equals the replay of its events,
/// and every chain verifies.
pub fn replay_equals_projection<S: Store>(store: S) {
    let (engine, clock) = engine(store);
    let (w, l) = (worker(), lead());
    let parent = ok(engine.create(&w, NewItem::of("conformance")), "parent");
    let child = ok(
        engine.create(
            &w,
            NewItem::of("conformance")
                .parent(parent.id())
                .fields(json!({"owner": "wes", "notes": {"a": 1}}))
                .reason("split off"),
        ),
        "child",
    );
    let other = ok(engine.create(&w, NewItem::of("conformance")), "other");
    type Step<'a> = (&'a str, Box<dyn Fn() -> Result<Item, Error> + 'a>);
    let steps: Vec<Step<'_>> = vec![
        (
            "start",
            Box::new(|| {
                engine.advance(
                    child.id(),
                    &w,
                    Move::transition("start").payload(json!({"by": "hand"})),
                )
            }),
        ),
        (
            "update",
            Box::new(|| {
                engine.update_fields(child.id(), &w, json!({"notes": {"a": null, "b": [1, 2]}}))
            }),
        ),
        (
            "hold",
            Box::new(|| engine.hold(child.id(), &w, "blocked", "waiting for the API key")),
        ),
        (
            "release",
            Box::new(|| engine.release(child.id(), &w, "blocked")),
        ),
        (
            "depend",
            Box::new(|| engine.add_dependency(child.id(), other.id(), &w)),
        ),
        (
            "ping",
            Box::new(|| engine.advance(child.id(), &w, Move::to("review"))),
        ),
        (
            "pong",
            Box::new(|| {
                engine.advance(
                    child.id(),
                    &w,
                    Move::transition("pong").reason("more tests"),
                )
            }),
        ),
        (
            "undepend",
            Box::new(|| engine.remove_dependency(child.id(), other.id(), &w)),
        ),
        (
            "reparent",
            Box::new(|| engine.set_parent(other.id(), Some(parent.id()), &w)),
        ),
        (
            "drop",
            Box::new(|| engine.advance(other.id(), &l, Move::transition("drop"))),
        ),
        (
            "ping again",
            Box::new(|| engine.advance(child.id(), &w, Move::transition("ping"))),
        ),
        (
            "finish",
            Box::new(|| engine.advance(child.id(), &l, Move::transition("finish"))),
        ),
    ];
    for (what, step) in &steps {
        clock.advance(TimeDelta::minutes(7));
        let returned = ok(step(), what);
        let stored = ok(engine.item(returned.id()), what);
        assert_eq!(
            stored, returned,
            "{what}: stored state differs from returned"
        );
        let events = ok(engine.history(returned.id()), what);
        let replayed = Item::replay(&events).unwrap_or_else(|e| panic!("{what}: replay: {e}"));
        assert_eq!(
            replayed, stored,
            "{what}: replay differs from the projection"
        );
    }
    let finished = ok(engine.item(child.id()), "child");
    assert_eq!(finished.workstation(), "done");
    assert_eq!(finished.outcome(), Some(crate::Outcome::Done));
    assert_eq!(
        ok(engine.item(other.id()), "other").outcome(),
        Some(crate::Outcome::Cancelled)
    );
    let verified = ok(engine.verify_all(), "verify all");
    assert_eq!(verified.items, 3);
    // parent: created; child: created + 10 changes; other: created, parent_set, dropped.
    assert_eq!(verified.events, 1 + 11 + 3);
}
