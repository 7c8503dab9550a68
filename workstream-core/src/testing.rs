//! The store conformance suite (feature `testing`).
//!
//! Every [`Store`] runs the same checks, so every store behaves like the reference store:
//!
//! ```text
//! // tests/conformance.rs of a store crate
//! workstream_core::conformance_tests!(make: || MyStore::open_temporary(), race_attempts: 10_000);
//! ```
//!
//! Each check is also a public function taking a fresh store, for stores that need to set
//! one up in their own way. A check panics with a message naming what went wrong.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};

use crate::{
    Actor, Change, Engine, Error, Event, Item, ItemId, ManualClock, Move, NewItem, Query, Reader,
    ReasonKind, Sha256Hash, Store, StoreError, Tx, Window, Workflow,
};

/// Generates one `#[test]` per conformance check for the store `make` returns.
///
/// `race_attempts` is how many moves each of the 8 racing threads tries.
#[macro_export]
macro_rules! conformance_tests {
    (make: $make:expr, race_attempts: $attempts:expr $(,)?) => {
        #[test]
        fn conformance_append_and_read() {
            $crate::testing::append_and_read(($make)());
        }
        #[test]
        fn conformance_appends_that_break_the_chain_are_refused() {
            $crate::testing::appends_that_break_the_chain_are_refused(($make)());
        }
        #[test]
        fn conformance_failed_transactions_write_nothing() {
            $crate::testing::failed_transactions_write_nothing(($make)());
        }
        #[test]
        fn conformance_queries() {
            $crate::testing::queries(($make)());
        }
        #[test]
        fn conformance_replay_equals_projection() {
            $crate::testing::replay_equals_projection(($make)());
        }
        #[test]
        fn conformance_dependencies_against_a_model() {
            $crate::testing::dependencies_against_a_model(($make)());
        }
        #[test]
        fn conformance_racing_writers() {
            $crate::testing::racing_writers(($make)(), 8, $attempts);
        }
    };
}

/// The workflow the checks use.
pub fn workflow() -> Workflow {
    crate::parse(
        "conformance.yaml",
        r#"
workflow: conformance
version: 1
roles: [worker, lead]
holds: [blocked, paused]
workstations:
  todo: { initial: true }
  doing:
    wip: { max: 3 }
    entry:
      - { assert: fields.owner, op: exists, id: owner_named, message: name an owner first }
  review: {}
  done: { terminal: true }
  dropped: { terminal: true, outcome: cancelled }
transitions:
  start: { from: todo, to: doing, by: [worker] }
  ping: { from: doing, to: review }
  pong: { from: review, to: doing, rework: true }
  finish:
    from: review
    to: done
    by: [lead]
    requires:
      - { assert: children.*.outcome, op: all_in, value: [done, cancelled], id: children_closed }
  drop: { from: "*", to: dropped, by: [lead], allow_held: true }
"#,
    )
    .unwrap_or_else(|d| panic!("the conformance workflow does not parse:\n{d}"))
}

/// The instant the checks' clocks start at: Monday 2026-01-05 09:00 UTC.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn engine<S: Store>(store: S) -> (Engine<S>, ManualClock) {
    let clock = ManualClock::new(start());
    let engine = Engine::builder()
        .store(store)
        .workflow(workflow())
        .clock(clock.clone())
        .build()
        .unwrap_or_else(|e| panic!("the engine does not build: {e}"));
    (engine, clock)
}

fn worker() -> Actor {
    Actor::new("wes", ["worker"])
}

fn lead() -> Actor {
    Actor::new("lea", ["lead"])
}

fn ok<T>(result: Result<T, Error>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

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
        let event = Event {
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
            prev,
            hash: Sha256Hash::ZERO,
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
            let event = Event::after(
                &current,
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

/// Queries by workflow, workstation, parent, creation and update windows (start included,
/// end excluded) and limit; counts and dependents.
pub fn queries<S: Store>(store: S) {
    let (engine, clock) = engine(store);
    let w = worker();
    let parent = ok(engine.create(&w, NewItem::of("conformance")), "parent");
    let mut children = Vec::new();
    for i in 0..4 {
        clock.advance(TimeDelta::hours(1));
        let child = ok(
            engine.create(
                &w,
                NewItem::of("conformance")
                    .parent(parent.id())
                    .fields(json!({"i": i, "owner": "wes"})),
            ),
            "child",
        );
        children.push(child.id());
    }
    // Two children start work, one hour apart.
    clock.advance(TimeDelta::hours(1));
    ok(
        engine.advance(children[0], &w, Move::transition("start")),
        "start 0",
    );
    clock.advance(TimeDelta::hours(1));
    ok(
        engine.advance(children[1], &w, Move::transition("start")),
        "start 1",
    );
    ok(engine.add_dependency(children[2], children[0], &w), "dep");
    ok(engine.add_dependency(children[3], children[0], &w), "dep");

    let ids =
        |q: Query| -> Vec<ItemId> { ok(engine.items(&q), "query").iter().map(Item::id).collect() };
    assert_eq!(ids(Query::new()).len(), 5);
    assert_eq!(ids(Query::new().workflow("conformance")).len(), 5);
    assert!(ids(Query::new().workflow("other")).is_empty());
    assert_eq!(
        ids(Query::new().workflow("conformance").workstation("doing")),
        children[..2]
    );
    assert_eq!(ids(Query::new().workstation("todo")).len(), 3);
    assert_eq!(ids(Query::new().parent(parent.id())), children);
    assert_eq!(
        ids(Query::new().parent(parent.id()).workstation("todo")),
        children[2..]
    );
    assert_eq!(
        ids(Query::new().parent(parent.id()).limit(2)),
        children[..2]
    );
    // Children were created at start+1h … start+4h. [start+2h, start+4h) holds two of them.
    let window = Window::new(start() + TimeDelta::hours(2), start() + TimeDelta::hours(4));
    assert_eq!(ids(Query::new().created_in(window)), children[1..3]);
    // children[1] started at start+6h; children[2] and [3] got their dependency then.
    let last_hour = Window::new(start() + TimeDelta::hours(6), start() + TimeDelta::hours(7));
    let mut updated = ids(Query::new().updated_in(last_hour));
    updated.sort();
    assert_eq!(updated, vec![children[1], children[2], children[3]]);

    let count = engine
        .store()
        .read(|tx| tx.count("conformance", "doing"))
        .unwrap_or_else(|e: StoreError| panic!("count: {e}"));
    assert_eq!(count, 2);
    let dependents = engine
        .store()
        .read(|tx| tx.dependents(children[0]))
        .unwrap_or_else(|e: StoreError| panic!("dependents: {e}"));
    assert_eq!(dependents, vec![children[2], children[3]]);
    let all = engine
        .store()
        .read(|tx| tx.item_ids())
        .unwrap_or_else(|e: StoreError| panic!("item ids: {e}"));
    assert_eq!(all.len(), 5);

    // Moving out of a workstation updates the index.
    ok(
        engine.advance(children[0], &w, Move::transition("ping")),
        "ping",
    );
    assert_eq!(
        ids(Query::new().workflow("conformance").workstation("doing")),
        [children[1]]
    );
    ok(
        engine.remove_dependency(children[3], children[0], &w),
        "undep",
    );
    let dependents = engine
        .store()
        .read(|tx| tx.dependents(children[0]))
        .unwrap_or_else(|e: StoreError| panic!("dependents: {e}"));
    assert_eq!(dependents, vec![children[2]]);
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

/// Random dependencies among 24 items, added in either direction, removed, and added in
/// transactions that roll back: the engine accepts exactly the ones that close no cycle (by a
/// model of the graph) and names a real cycle when it refuses; a store that reports ranks
/// ([`Reader::dependency_rank`]) ranks every stored dependency below its dependent.
pub fn dependencies_against_a_model<S: Store>(store: S) {
    const ITEMS: usize = 24;
    let (engine, _) = engine(store);
    let w = worker();
    let ids: Vec<ItemId> = (0..ITEMS)
        .map(|_| ok(engine.create(&w, NewItem::of("conformance")), "create").id())
        .collect();
    let index = |id: ItemId| ids.iter().position(|&x| x == id).unwrap_or(usize::MAX);
    // deps[a]: what item a depends on.
    let mut deps: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); ITEMS];
    // Whether `from` depends on `to`, directly or not (or is it).
    let reaches = |deps: &[BTreeSet<usize>], from: usize, to: usize| {
        let mut stack = vec![from];
        let mut seen = BTreeSet::from([from]);
        while let Some(x) = stack.pop() {
            if x == to {
                return true;
            }
            stack.extend(deps[x].iter().filter(|&&d| seen.insert(d)));
        }
        false
    };
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for step in 0..400 {
        let (a, b) = (next(ITEMS), next(ITEMS));
        let closes = reaches(&deps, b, a);
        match next(10) {
            0 => {
                let Some(&on) = deps[a].iter().nth(next(deps[a].len().max(1))) else {
                    continue;
                };
                ok(
                    engine.remove_dependency(ids[a], ids[on], &w),
                    "remove a dependency",
                );
                deps[a].remove(&on);
            }
            1 if !closes && !deps[a].contains(&b) => {
                // Appended, then rolled back: nothing of it may stay.
                let result: Result<(), StoreError> = engine.store().write(|tx| {
                    let current = tx
                        .item(ids[a])?
                        .ok_or_else(|| StoreError::Corrupt("gone".into()))?;
                    let event = Event::after(
                        &current,
                        start(),
                        "wes",
                        Change::DependencyAdded { on: ids[b] },
                    )
                    .seal();
                    let mut next = current.clone();
                    next.apply(&event)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    tx.append(event, next)?;
                    Err(StoreError::Corrupt("the caller gave up".into()))
                });
                assert!(result.is_err());
            }
            _ => {
                let accept = !closes && !deps[a].contains(&b);
                match engine.add_dependency(ids[a], ids[b], &w) {
                    Ok(_) => {
                        assert!(
                            accept,
                            "step {step}: {a} on {b} closes a cycle, yet accepted"
                        );
                        deps[a].insert(b);
                    }
                    Err(e) => {
                        let refused = e
                            .refused()
                            .unwrap_or_else(|| panic!("step {step}: {a} on {b}: {e}"));
                        assert!(!accept, "step {step}: {a} on {b} refused: {e}");
                        let cycle = &refused.reasons[0].items;
                        if closes && a != b {
                            // a -> b -> ... -> a, each a dependency of the one before.
                            assert_eq!(cycle.first(), Some(&ids[a]), "step {step}");
                            assert_eq!(cycle.last(), Some(&ids[a]), "step {step}");
                            for pair in cycle[1..].windows(2) {
                                assert!(
                                    deps[index(pair[0])].contains(&index(pair[1])),
                                    "step {step}: {cycle:?} is not a path of dependencies"
                                );
                            }
                        }
                    }
                }
            }
        }
        let ranks: Result<(), StoreError> = engine.store().read(|tx| {
            for (a, on) in deps.iter().enumerate() {
                for &b in on {
                    if let (Some(ra), Some(rb)) =
                        (tx.dependency_rank(ids[a])?, tx.dependency_rank(ids[b])?)
                    {
                        assert!(
                            rb < ra,
                            "step {step}: {a} (rank {ra}) depends on {b} (rank {rb})"
                        );
                    }
                }
            }
            let stored = tx.item(ids[a])?.map(|i| i.deps().len());
            assert_eq!(
                stored,
                Some(deps[a].len()),
                "step {step}: item {a}'s dependencies"
            );
            Ok(())
        });
        ok(ranks.map_err(Error::from), "read ranks");
    }
    ok(engine.verify_all(), "verify all");
}

/// `threads` threads each try `attempts` moves of one item, each from the workstation it
/// last saw. Exactly one writer wins each race: the winners' events are exactly the item's
/// chain, with no sequence number twice and none missing.
pub fn racing_writers<S: Store + 'static>(store: S, threads: usize, attempts: usize) {
    let (engine, _) = engine(store);
    let engine = Arc::new(engine);
    let w = worker();
    let item = ok(
        engine.create(
            &w,
            NewItem::of("conformance").fields(json!({"owner": "wes"})),
        ),
        "create",
    );
    ok(
        engine.advance(item.id(), &w, Move::transition("start")),
        "start",
    );
    let id = item.id();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let engine = Arc::clone(&engine);
            thread::spawn(move || {
                let actor = Actor::new(format!("racer{t}"), ["worker"]);
                let mut won = Vec::new();
                let mut lost = 0usize;
                for _ in 0..attempts {
                    let seen = match engine.item(id) {
                        Ok(item) => item,
                        Err(e) => panic!("racer {t}: read: {e}"),
                    };
                    let transition = if seen.workstation() == "doing" {
                        "ping"
                    } else {
                        "pong"
                    };
                    // Half the racers say where they expect the item; the others rely on
                    // the engine refusing a transition that cannot fire from where it is.
                    let mv = if t % 2 == 0 {
                        Move::transition(transition).from(seen.workstation().to_owned())
                    } else {
                        Move::transition(transition)
                    };
                    match engine.advance(id, &actor, mv) {
                        Ok(after) => won.push(after.seq()),
                        Err(Error::Conflict { .. }) => lost += 1,
                        Err(Error::Refused(r))
                            if r.reasons.iter().all(|r| r.kind == ReasonKind::NotAllowed) =>
                        {
                            lost += 1
                        }
                        Err(e) => panic!("racer {t}: unexpected error: {e}"),
                    }
                }
                (won, lost)
            })
        })
        .collect();
    let mut wins = Vec::new();
    let mut losses = 0;
    for handle in handles {
        let (won, lost) = handle.join().unwrap_or_else(|_| panic!("a racer panicked"));
        wins.extend(won);
        losses += lost;
    }
    assert_eq!(
        wins.len() + losses,
        threads * attempts,
        "every attempt is accounted for"
    );
    let distinct: BTreeSet<u64> = wins.iter().copied().collect();
    assert_eq!(distinct.len(), wins.len(), "two writers won the same race");
    let events = ok(engine.history(id), "history");
    // created + start + one event per win.
    assert_eq!(
        events.len(),
        2 + wins.len(),
        "events written = wins acknowledged"
    );
    let expected: BTreeSet<u64> = (3..=events.len() as u64).collect();
    assert_eq!(
        distinct, expected,
        "the winners' events are exactly the chain"
    );
    for pair in events.windows(2).skip(1) {
        let (Change::Transitioned { to, .. }, Change::Transitioned { from, .. }) =
            (&pair[0].change, &pair[1].change)
        else {
            panic!("only moves were made");
        };
        assert_eq!(to, from, "every move starts where the one before ended");
    }
    ok(engine.verify(id), "verify");
}
