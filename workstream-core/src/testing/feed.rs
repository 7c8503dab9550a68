//! The store-wide feed: every committed event once, in commit order, and nothing skipped by
//! a reader that polls while writers commit.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use serde_json::json;

use super::{engine, lead, ok, worker};
use crate::{
    Change, Engine, Error, FeedEvent, ItemId, Move, NewItem, Position, Query, Reader, Store,
    StoreError, Tx,
};

fn feed<S: Store>(engine: &Engine<S>, after: Position, limit: usize) -> Vec<FeedEvent> {
    ok(engine.events_since(after, limit), "events_since")
}

/// The feed after `after` once it lists `count` events: a store may list a committed event
/// only once every transaction that began before it has ended (PostgreSQL does), so a
/// reader can lag a commit while other transactions, anywhere on the server, are open.
fn settled<S: Store>(engine: &Engine<S>, after: Position, count: usize) -> Vec<FeedEvent> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let fed = feed(engine, after, usize::MAX);
        if fed.len() >= count || std::time::Instant::now() > deadline {
            return fed;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Every event's (item, seq), from each item's history.
fn all_events<S: Store>(engine: &Engine<S>) -> BTreeSet<(ItemId, u64)> {
    let ids = engine
        .store()
        .read(|tx| tx.item_ids())
        .unwrap_or_else(|e: StoreError| panic!("item ids: {e}"));
    ids.into_iter()
        .flat_map(|id| {
            ok(engine.history(id), "history")
                .into_iter()
                .map(move |e| (id, e.seq()))
        })
        .collect()
}

/// The feed lists every committed event exactly once, in the order the writes committed,
/// with positions that only grow; pages of any size give the same list; what a write that
/// failed appended never appears.
pub fn feed_lists_every_committed_event_once_in_order<S: Store>(store: S) {
    let (engine, _) = engine(store);
    assert!(
        feed(&engine, Position::START, 100).is_empty(),
        "a new store's feed is empty"
    );
    // Writes one after another, each noted in the order it committed.
    let mut committed: Vec<(ItemId, u64)> = Vec::new();
    let mut ids = Vec::new();
    for n in 0..4 {
        let item = ok(
            engine.create(
                &worker(),
                NewItem::of("conformance").fields(json!({"n": n})),
            ),
            "create",
        );
        committed.push((item.id(), 1));
        ids.push(item.id());
    }
    // Three of them started (`doing` holds three), last first.
    for &id in ids[1..].iter().rev() {
        let item = ok(
            engine.advance(
                id,
                &worker(),
                Move::transition("start").patch(json!({"owner": "wes"})),
            ),
            "start",
        );
        committed.push((id, item.seq()));
    }
    // A refused batch writes nothing, so its events must never be fed: the first change is
    // made in the transaction, the second refused, and both are rolled back.
    let refused = engine.batch(|b| {
        b.advance(ids[2], &worker(), Move::transition("ping"))?;
        b.advance(ids[1], &worker(), Move::transition("finish"))?;
        Ok(())
    });
    assert!(refused.is_err(), "the batch is refused");
    // A batch that commits: its events in the order it made them.
    ok(
        engine.batch(|b| {
            b.advance(ids[2], &worker(), Move::transition("ping"))?;
            b.hold(ids[3], &lead(), "paused", "later")?;
            Ok(())
        }),
        "batch",
    );
    committed.push((ids[2], 3));
    committed.push((ids[3], 3));

    let all = settled(&engine, Position::START, committed.len());
    let listed: Vec<(ItemId, u64)> = all
        .iter()
        .map(|f| (f.event.item(), f.event.seq()))
        .collect();
    assert_eq!(
        listed, committed,
        "every committed event, once, in commit order"
    );
    for pair in all.windows(2) {
        assert!(
            pair[0].position < pair[1].position,
            "positions grow: {} then {}",
            pair[0].position,
            pair[1].position
        );
    }
    assert!(all[0].position > Position::START);
    // The events are the ones each history holds.
    for fed in &all {
        let history = ok(engine.history(fed.event.item()), "history");
        assert_eq!(
            history[(fed.event.seq() - 1) as usize],
            fed.event,
            "the fed event is the stored one"
        );
    }
    // Pages of any size give the same list, and the end is empty.
    for size in [1, 2, 3, 5] {
        let mut paged = Vec::new();
        let mut cursor = Position::START;
        loop {
            let page = feed(&engine, cursor, size);
            assert!(page.len() <= size, "at most {size}: {}", page.len());
            let Some(last) = page.last() else { break };
            cursor = last.position;
            paged.extend(page);
        }
        assert_eq!(paged, all, "pages of {size}");
    }
    let last = all[all.len() - 1].position;
    assert!(feed(&engine, last, 10).is_empty(), "nothing after the last");
    // A position past the last event is not one this store gave.
    let beyond = Position::new(last.major(), last.minor() + 1);
    assert!(
        matches!(
            engine.events_since(beyond, 10),
            Err(Error::Store(StoreError::FeedAhead { .. }))
        ),
        "a position past the end is refused"
    );
    assert!(matches!(
        engine.events_since(Position::new(u64::MAX, u64::MAX), 10),
        Err(Error::Store(StoreError::FeedAhead { .. }))
    ));
    assert!(feed(&engine, Position::START, 0).is_empty(), "a limit of 0");
    // From a position in the middle: what follows it.
    let middle = all[3].position;
    assert_eq!(feed(&engine, middle, usize::MAX), all[4..]);
    // The text form of a position reads back, and means the same place.
    let again: Position = middle
        .to_string()
        .parse()
        .unwrap_or_else(|e| panic!("a position's text: {e}"));
    assert_eq!(feed(&engine, again, usize::MAX), all[4..]);
    // Later writes come after everything already fed.
    let item = ok(
        engine.advance(ids[1], &worker(), Move::transition("ping")),
        "ping",
    );
    let next = settled(&engine, last, 1);
    assert_eq!(next.len(), 1);
    assert_eq!(
        (next[0].event.item(), next[0].event.seq()),
        (ids[1], item.seq())
    );
    assert!(next[0].position > last);
}

/// `writers` threads each create an item and move it `moves` times, and two slow writers
/// update an item of their own `moves` times in transactions held open, while a reader polls
/// the feed in small pages from the last position it got. When the writers are done and
/// the reader has caught up, it has seen every event in the store exactly once, in growing
/// positions: none was placed behind a position it had already passed.
pub fn feed_misses_nothing_while_writers_commit<S: Store + 'static>(
    store: S,
    writers: usize,
    moves: usize,
) {
    let (engine, _) = engine(store);
    let engine = Arc::new(engine);
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let engine = Arc::clone(&engine);
        let done = Arc::clone(&done);
        let expected = (writers + 2) * (moves + 1);
        thread::spawn(move || {
            let mut seen: Vec<FeedEvent> = Vec::new();
            let mut cursor = Position::START;
            let mut deadline = None;
            loop {
                // Read whether the writers are done before polling: once they are, the
                // reader polls until it has every event (a store may list an event only when
                // the transactions begun before it have ended, anywhere on its server), or
                // until a deadline, and the checks below say what it missed.
                let finished = done.load(Ordering::SeqCst);
                let page = ok(engine.events_since(cursor, 7), "events_since");
                match page.last() {
                    Some(last) => cursor = last.position,
                    None if finished => {
                        let until = *deadline.get_or_insert_with(|| {
                            std::time::Instant::now() + Duration::from_secs(30)
                        });
                        if seen.len() >= expected || std::time::Instant::now() > until {
                            return seen;
                        }
                        thread::sleep(Duration::from_millis(5));
                    }
                    None => thread::yield_now(),
                }
                seen.extend(page);
            }
        })
    };
    let handles: Vec<_> = (0..writers)
        .map(|t| {
            let engine = Arc::clone(&engine);
            thread::spawn(move || {
                let actor = crate::Actor::new(format!("writer{t}"), ["worker"]);
                let item = ok(
                    engine.create(&actor, NewItem::of("conformance").fields(json!({"t": t}))),
                    "create",
                );
                let mut moved = 0;
                let mut at = "todo".to_owned();
                while moved < moves {
                    let transition = match at.as_str() {
                        "todo" => "start",
                        "doing" => "ping",
                        _ => "pong",
                    };
                    let mv = Move::transition(transition).patch(json!({"owner": "wes"}));
                    match engine.advance(item.id(), &actor, mv) {
                        Ok(after) => {
                            at = after.workstation().to_owned();
                            moved += 1;
                        }
                        // `doing` holds at most three: another writer's item is there.
                        Err(Error::Refused(_)) => {
                            at = ok(engine.item(item.id()), "read").workstation().to_owned();
                            thread::yield_now();
                        }
                        Err(e) => panic!("writer {t}: {e}"),
                    }
                }
            })
        })
        .collect();
    // Two slow writers: each of their transactions writes its event early, then stays open
    // a while before it commits, so that transactions begun after it commit first. A feed
    // that orders by when an event was written, not by when it could be seen, would let the
    // reader pass such an event before it commits, and never come back for it.
    let slow: Vec<_> = (0..2)
        .map(|t| {
            let engine = Arc::clone(&engine);
            thread::spawn(move || {
                let actor = crate::Actor::new(format!("slow{t}"), ["worker"]);
                let id = ok(
                    engine.create(&actor, NewItem::of("conformance").fields(json!({"s": t}))),
                    "create",
                )
                .id();
                for n in 0..moves {
                    engine
                        .store()
                        .write(|tx| {
                            let item = tx
                                .item(id)?
                                .unwrap_or_else(|| panic!("slow writer {t}: its item is gone"));
                            let patch = json!({ "n": n });
                            let event = item
                                .next_event(
                                    item.updated(),
                                    actor.id(),
                                    Change::FieldsUpdated { patch },
                                )
                                .seal();
                            let mut next = item.clone();
                            next.apply(&event)
                                .unwrap_or_else(|e| panic!("slow writer {t}: {e}"));
                            tx.append(event, next)?;
                            // A read after the append makes a store that defers its writes
                            // send them now; then the transaction waits before it commits.
                            tx.items(&Query::new().limit(1))?;
                            thread::sleep(Duration::from_millis(15));
                            Ok::<_, StoreError>(())
                        })
                        .unwrap_or_else(|e| panic!("slow writer {t}: {e}"));
                }
            })
        })
        .collect();
    for handle in handles.into_iter().chain(slow) {
        handle
            .join()
            .unwrap_or_else(|_| panic!("a writer panicked"));
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader
        .join()
        .unwrap_or_else(|_| panic!("the reader panicked"));
    for pair in seen.windows(2) {
        assert!(
            pair[0].position < pair[1].position,
            "positions grow: {} then {}",
            pair[0].position,
            pair[1].position
        );
    }
    let fed: Vec<(ItemId, u64)> = seen
        .iter()
        .map(|f| (f.event.item(), f.event.seq()))
        .collect();
    let unique: BTreeSet<(ItemId, u64)> = fed.iter().copied().collect();
    assert_eq!(unique.len(), fed.len(), "no event fed twice");
    let stored = all_events(&engine);
    let missed: Vec<&(ItemId, u64)> = stored.difference(&unique).collect();
    assert!(
        missed.is_empty(),
        "the polling reader missed {} of {} events: {missed:?}",
        missed.len(),
        stored.len()
    );
    assert_eq!(unique, stored);
    assert_eq!(stored.len(), (writers + 2) * (moves + 1));
}
