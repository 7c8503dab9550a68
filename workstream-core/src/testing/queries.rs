//! Queries, counts and dependents.

use chrono::TimeDelta;
use serde_json::json;

use super::{engine, ok, start, worker};
use crate::{Item, ItemId, Move, NewItem, Query, Reader, Store, StoreError, Window};

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
