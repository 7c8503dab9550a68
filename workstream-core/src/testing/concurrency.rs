//! Racing writers, and a transaction begun inside another.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread;
use std::time::Duration;

use serde_json::json;

use super::{engine, ok, worker};
use crate::{Actor, Change, Engine, Error, Move, NewItem, ReasonKind, Store, StoreError, Verdict};

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
