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
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};

use crate::{
    Actor, Change, Engine, Error, Event, Item, ItemId, MAX_VALUE_DEPTH, ManualClock, Move, NewItem,
    Query, Reader, ReasonKind, Sha256Hash, Store, StoreError, Tx, Verdict, Window, Workflow,
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
        fn conformance_floats_round_trip_bit_for_bit() {
            $crate::testing::floats_round_trip_bit_for_bit(($make)());
        }
        #[test]
        fn conformance_deep_values_are_refused_at_the_door() {
            $crate::testing::deep_values_are_refused_at_the_door(($make)());
        }
        #[test]
        fn conformance_reentry_is_an_error_not_a_deadlock() {
            $crate::testing::reentry_is_an_error_not_a_deadlock(($make)());
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
                    let event = current
                        .next_event(start(), "wes", Change::DependencyAdded { on: ids[b] })
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
                        Move::transition(transition).only_from(seen.workstation().to_owned())
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

/// A splitmix64 generator: the checks' random values, the same on every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The `f64`s the float check stores: the edges (±0.0, the smallest and largest subnormals,
/// `MIN_POSITIVE`, `MIN`, `MAX`, `EPSILON`), a few that the default parser of serde_json
/// reads back one ulp off, and `random` values drawn uniformly over the bit patterns of
/// finite doubles (so every exponent is as likely as every other).
pub fn float_samples(random: usize) -> Vec<f64> {
    let mut samples = vec![
        0.0,
        -0.0,
        f64::from_bits(1),
        -f64::from_bits(1),
        f64::from_bits(0x000f_ffff_ffff_ffff),
        f64::MIN_POSITIVE,
        f64::MIN,
        f64::MAX,
        f64::EPSILON,
        1.0,
        0.1,
        1.0 / 3.0,
        0.988_481_495_732_494_9,
        2.225_073_858_507_201e-308,
        9_007_199_254_740_993.0,
    ];
    let mut rng = SplitMix(0x5eed_f10a_7500_0001);
    while samples.len() < random + 15 {
        let x = f64::from_bits(rng.next());
        if x.is_finite() {
            samples.push(x);
        }
    }
    samples
}

/// Whether `a` and `b` are the same JSON, numbers compared bit for bit (`-0.0` is not `0.0`,
/// and a float is not an integer of the same value). On a difference, where and what.
pub fn same_json(a: &Value, b: &Value) -> Result<(), String> {
    fn walk(a: &Value, b: &Value, at: &mut String) -> Result<(), String> {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let same = match (x.as_f64(), x.is_f64(), y.is_f64()) {
                    (Some(fx), true, true) => {
                        y.as_f64().is_some_and(|fy| fx.to_bits() == fy.to_bits())
                    }
                    (_, false, false) => x == y,
                    _ => false,
                };
                if same {
                    Ok(())
                } else {
                    Err(format!("{at}: {x} became {y}"))
                }
            }
            (Value::Array(xs), Value::Array(ys)) if xs.len() == ys.len() => {
                for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
                    let len = at.len();
                    at.push_str(&format!("[{i}]"));
                    walk(x, y, at)?;
                    at.truncate(len);
                }
                Ok(())
            }
            (Value::Object(xs), Value::Object(ys)) if xs.len() == ys.len() => {
                for (k, x) in xs {
                    let y = ys.get(k).ok_or_else(|| format!("{at}.{k}: missing"))?;
                    let len = at.len();
                    at.push_str(&format!(".{k}"));
                    walk(x, y, at)?;
                    at.truncate(len);
                }
                Ok(())
            }
            _ if a == b => Ok(()),
            _ => Err(format!("{at}: {a} became {b}")),
        }
    }
    walk(a, b, &mut String::from("$"))
}

/// What a store is given reads back bit for bit: `f64` field values, patches and payloads
/// (the edges, and 2,000 drawn at random over all bit patterns), and integers at the ends of
/// `u64` and `i64`. Items, histories and a fresh read of every chain verify.
pub fn floats_round_trip_bit_for_bit<S: Store>(store: S) {
    let (engine, _) = engine(store);
    let w = worker();
    let samples = float_samples(2_000);
    let mut written: Vec<(ItemId, Value, Value, Value)> = Vec::new();
    for (n, chunk) in samples.chunks(100).enumerate() {
        let xs: Vec<Value> = chunk.iter().map(|&x| json!(x)).collect();
        let fields = json!({
            "xs": xs,
            "nested": { "x": chunk[0], "ints": [u64::MAX, i64::MIN, 0, -1] },
            "owner": "wes",
        });
        let item = ok(
            engine.create(
                &w,
                NewItem::of("conformance")
                    .fields(fields.clone())
                    .payload(json!(chunk[chunk.len() - 1])),
            ),
            "create",
        );
        ok(
            engine.update_fields(item.id(), &w, json!({"z": chunk[1 % chunk.len()]})),
            "update",
        );
        let patch = json!({ "ys": xs.iter().rev().cloned().collect::<Vec<_>>(), "n": n });
        let payload = json!({ "receipt": chunk[chunk.len() / 2], "all": xs });
        // `drop` is open from every workstation, so no WIP limit stands in the way.
        ok(
            engine.advance(
                item.id(),
                &lead(),
                Move::transition("drop")
                    .patch(patch.clone())
                    .payload(payload.clone()),
            ),
            "drop",
        );
        written.push((item.id(), fields, patch, payload));
    }
    for (id, fields, patch, payload) in &written {
        let item = ok(engine.item(*id), "read");
        for (key, value) in fields.as_object().into_iter().flatten() {
            let stored = item.field(key).cloned().unwrap_or(Value::Null);
            same_json(value, &stored).unwrap_or_else(|e| panic!("item {id}, field {key}: {e}"));
        }
        same_json(&patch["ys"], item.field("ys").unwrap_or(&Value::Null))
            .unwrap_or_else(|e| panic!("item {id}, patched field: {e}"));
        let history = ok(engine.history(*id), "history");
        let Change::Created {
            fields: created, ..
        } = &history[0].change
        else {
            panic!("item {id}: the first event is not `created`");
        };
        same_json(fields, created).unwrap_or_else(|e| panic!("item {id}, created: {e}"));
        let Change::Transitioned {
            patch: Some(moved), ..
        } = &history[2].change
        else {
            panic!("item {id}: the third event is not the move with its patch");
        };
        same_json(patch, moved).unwrap_or_else(|e| panic!("item {id}, patch: {e}"));
        same_json(payload, &history[2].payload)
            .unwrap_or_else(|e| panic!("item {id}, payload: {e}"));
        for event in &history {
            assert_eq!(
                event.compute_hash(),
                event.hash,
                "item {id}, event {}: read back, it no longer hashes to its hash",
                event.seq
            );
        }
    }
    let verified = ok(engine.verify_all(), "verify all");
    assert_eq!(verified.items, written.len());
}

/// Fields, patches and payloads may nest [`MAX_VALUE_DEPTH`] levels; such items are created,
/// moved, read, and their histories read and verified. One level more is refused with
/// [`Error::TooDeep`] and writes nothing, and so is a value 100,000 levels deep, without
/// overflowing the stack.
pub fn deep_values_are_refused_at_the_door<S: Store>(store: S) {
    fn under(key: &str, value: Value) -> Value {
        Value::Object([(key.to_owned(), value)].into_iter().collect())
    }
    /// `levels` arrays and objects around a number.
    fn nested(levels: usize) -> Value {
        let mut value = json!(1);
        for i in 0..levels {
            // Built by hand: `json!` copies a value it is given, recursively.
            value = if i % 2 == 0 {
                Value::Array(vec![value])
            } else {
                under("d", value)
            };
        }
        value
    }
    let (engine, _) = engine(store);
    let w = worker();
    // The fields object counts as the first level.
    let deepest = json!({ "owner": "wes", "deep": nested(MAX_VALUE_DEPTH - 1) });
    let item = ok(
        engine.create(
            &w,
            NewItem::of("conformance")
                .fields(deepest.clone())
                .payload(nested(MAX_VALUE_DEPTH)),
        ),
        "create at the limit",
    );
    let patch = json!({ "more": nested(MAX_VALUE_DEPTH - 1) });
    ok(
        engine.advance(
            item.id(),
            &w,
            Move::transition("start")
                .patch(patch.clone())
                .payload(nested(MAX_VALUE_DEPTH)),
        ),
        "move at the limit",
    );
    ok(
        engine.update_fields(item.id(), &w, patch),
        "update at the limit",
    );
    assert_eq!(
        ok(engine.item(item.id()), "read").field("deep"),
        deepest.get("deep")
    );
    assert_eq!(ok(engine.history(item.id()), "history").len(), 3);
    ok(engine.verify_all(), "verify all at the limit");

    let too_deep = || json!({ "deep": nested(MAX_VALUE_DEPTH) });
    let refusals: Vec<(&str, Result<Item, Error>)> = vec![
        (
            "fields",
            engine.create(&w, NewItem::of("conformance").fields(too_deep())),
        ),
        (
            "payload",
            engine.create(
                &w,
                NewItem::of("conformance").payload(nested(MAX_VALUE_DEPTH + 1)),
            ),
        ),
        (
            "patch",
            engine.advance(item.id(), &w, Move::transition("ping").patch(too_deep())),
        ),
        (
            "payload",
            engine.advance(
                item.id(),
                &w,
                Move::transition("ping").payload(nested(MAX_VALUE_DEPTH + 1)),
            ),
        ),
        ("patch", engine.update_fields(item.id(), &w, too_deep())),
        // Far deeper than a stack could walk or drop recursively.
        (
            "fields",
            engine.create(
                &w,
                NewItem::of("conformance").fields(under("d", nested(100_000))),
            ),
        ),
        (
            "patch",
            engine.update_fields(item.id(), &w, under("d", nested(100_000))),
        ),
    ];
    for (what, result) in refusals {
        match result {
            Err(Error::TooDeep { what: w, limit }) => {
                assert_eq!((w, limit), (what, MAX_VALUE_DEPTH));
            }
            other => panic!("a too-deep {what} must be refused as too deep, got {other:?}"),
        }
    }
    // Around the engine, the store refuses such an event itself.
    let current = ok(engine.item(item.id()), "read");
    let event = current
        .next_event(
            start(),
            "wes",
            Change::FieldsUpdated {
                patch: json!({ "deep": nested(MAX_VALUE_DEPTH) }),
            },
        )
        .seal();
    let mut next = current.clone();
    next.apply(&event)
        .unwrap_or_else(|e| panic!("the deep event applies: {e}"));
    let result = engine.store().write(|tx| tx.append(event, next));
    assert!(
        matches!(result, Err(StoreError::TooDeep { item: i, seq: 4 }) if i == item.id()),
        "a store must refuse an event too deep to read back, got {result:?}"
    );
    assert_eq!(
        ok(engine.history(item.id()), "history").len(),
        3,
        "nothing was written"
    );
    assert_eq!(
        ok(engine.items(&Query::new()), "items").len(),
        1,
        "no item was created"
    );
    let message = Error::TooDeep {
        what: "fields",
        limit: MAX_VALUE_DEPTH,
    }
    .to_string();
    assert!(message.contains("64 levels"), "{message}");
}

/// A transaction of the store begun inside another on the same thread (a check that calls
/// back into the engine, a store closure that calls the store) fails with
/// [`StoreError::Reentered`] instead of deadlocking, the outer transaction goes on, and the
/// store works afterwards.
pub fn reentry_is_an_error_not_a_deadlock<S: Store + 'static>(store: S) {
    let (done, finished) = mpsc::channel();
    let worker_thread = thread::spawn(move || {
        let store = Arc::new(store);
        let workflow = crate::parse(
            "reentry.yaml",
            "workflow: reentry\nversion: 1\nchecks: [peek]\nworkstations:\n  open: { initial: true }\n  done: { terminal: true }\ntransitions:\n  finish: { from: open, to: done, requires: [ { check: peek } ] }\n",
        )
        .unwrap_or_else(|d| panic!("the re-entry workflow does not parse:\n{d}"));
        let cell: Arc<OnceLock<Engine<Arc<S>>>> = Arc::new(OnceLock::new());
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (inner, log) = (Arc::clone(&cell), Arc::clone(&seen));
        let engine = Engine::builder()
            .store(Arc::clone(&store))
            .workflow(workflow)
            .check("peek", move |ctx| {
                let outcome = match inner.get() {
                    Some(engine) => match engine.item(ctx.item().id()) {
                        Err(Error::Store(StoreError::Reentered)) => "reentered".to_owned(),
                        other => format!("{other:?}"),
                    },
                    None => "no engine".to_owned(),
                };
                log.lock().unwrap_or_else(|e| e.into_inner()).push(outcome);
                Verdict::Pass
            })
            .build()
            .unwrap_or_else(|e| panic!("the engine does not build: {e}"));
        if cell.set(engine).is_err() {
            panic!("the engine cell was set twice");
        }
        let Some(engine) = cell.get() else {
            panic!("the engine cell is empty");
        };
        let me = Actor::new("me", []);
        let item = ok(engine.create(&me, NewItem::of("reentry")), "create");
        let moved = ok(
            engine.advance(item.id(), &me, Move::transition("finish")),
            "finish",
        );
        assert_eq!(moved.workstation(), "done", "the outer move went on");
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(seen, ["reentered"], "the check's call back into the engine");

        let reentered = |what: &str, result: Result<(), StoreError>| {
            assert!(
                matches!(result, Err(StoreError::Reentered)),
                "{what}: expected a re-entry error, got {result:?}"
            );
        };
        reentered(
            "read in write",
            store.write(|_| store.read(|_| Ok::<_, StoreError>(()))),
        );
        reentered(
            "write in write",
            store.write(|_| store.write(|_| Ok::<_, StoreError>(()))),
        );
        reentered(
            "write in read",
            store.read(|_| store.write(|_| Ok::<_, StoreError>(()))),
        );
        reentered(
            "read in read",
            store.read(|_| store.read(|_| Ok::<_, StoreError>(()))),
        );
        // Afterwards the store works, and the message tells the caller what to do.
        assert_eq!(
            ok(engine.item(item.id()), "read after").workstation(),
            "done"
        );
        assert!(StoreError::Reentered.to_string().contains("`Reader`"));
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("a transaction begun inside another did not return within 60 s: a deadlock")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker_thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("the re-entry check ended without finishing"),
        },
    }
}
