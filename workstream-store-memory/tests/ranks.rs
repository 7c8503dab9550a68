//! The memory store's dependency ranks: kept in order as dependencies are added against it,
//! and given up, safely, if an append that bypassed the engine stores a cycle.

use workstream_core::testing::{start, workflow};
use workstream_core::{Actor, Change, Engine, ItemId, NewItem, Reader, Store, StoreError, Tx};
use workstream_store_memory::MemoryStore;

fn rank(engine: &Engine<MemoryStore>, id: ItemId) -> Option<u64> {
    engine
        .store()
        .read(|tx| tx.dependency_rank(id))
        .expect("the store reads")
}

/// Appends "`id` depends on `on`" straight to the store, without the engine's check, and
/// commits (`commit`) or rolls back.
fn append_dependency_and(engine: &Engine<MemoryStore>, id: ItemId, on: ItemId, commit: bool) {
    let result = engine.store().write(|tx| -> Result<(), StoreError> {
        let current = tx.item(id)?.expect("the item exists");
        let event = current
            .next_event(start(), "wes", Change::DependencyAdded { on })
            .seal();
        let mut next = current.clone();
        next.apply(&event).expect("the event applies");
        tx.append(event, next)?;
        if commit {
            Ok(())
        } else {
            Err(StoreError::Backend("the caller gave up".into()))
        }
    });
    assert_eq!(result.is_ok(), commit, "{result:?}");
}

/// Appends "`id` depends on `on`" straight to the store, without the engine's check.
fn append_dependency(engine: &Engine<MemoryStore>, id: ItemId, on: ItemId) {
    append_dependency_and(engine, id, on, true);
}

#[test]
fn ranks_follow_dependencies_and_are_dropped_on_a_stored_cycle() {
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(workflow())
        .build()
        .expect("the engine builds");
    let me = Actor::new("wes", ["worker"]);
    let ids: Vec<ItemId> = (0..4)
        .map(|_| {
            engine
                .create(&me, NewItem::of("conformance"))
                .expect("created")
                .id()
        })
        .collect();
    // Creation order first.
    let ranks: Vec<_> = ids.iter().map(|&id| rank(&engine, id)).collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");

    // 0 on 1 goes against that order; 1 on 2 as well: 2, 1, 0 must end up in that order.
    engine
        .add_dependency(ids[0], ids[1], &me)
        .expect("accepted");
    engine
        .add_dependency(ids[1], ids[2], &me)
        .expect("accepted");
    let [r0, r1, r2] = [0, 1, 2].map(|i| rank(&engine, ids[i]).expect("ranked"));
    assert!(r2 < r1 && r1 < r0, "{r0} {r1} {r2}");
    assert!(engine.add_dependency(ids[2], ids[0], &me).is_err());

    // A cycle appended around the engine's check, then rolled back: the graph has no cycle,
    // and the ranks are reported, and true, again.
    append_dependency_and(&engine, ids[2], ids[0], false);
    let [r0, r1, r2] = [0, 1, 2].map(|i| rank(&engine, ids[i]).expect("ranked after rollback"));
    assert!(r2 < r1 && r1 < r0, "{r0} {r1} {r2}");

    // A cycle stored behind the engine's back: no order exists, so none is reported, and
    // the engine's check searches the whole graph again.
    append_dependency(&engine, ids[2], ids[0]);
    assert_eq!(rank(&engine, ids[0]), None);
    assert_eq!(rank(&engine, ids[3]), None);
    let refused = engine
        .add_dependency(ids[3], ids[3], &me)
        .expect_err("an item cannot depend on itself");
    assert!(refused.refused().is_some());
    engine
        .add_dependency(ids[3], ids[0], &me)
        .expect("accepted");
    let refused = engine
        .add_dependency(ids[0], ids[3], &me)
        .expect_err("0 -> 3 -> 0 is a cycle");
    assert_eq!(
        refused.refused().expect("refused").reasons[0].items,
        [ids[0], ids[3], ids[0]]
    );
}
