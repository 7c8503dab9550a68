//! S5, workstreams with exit assertions and attention signals (seed 003), on
//! `examples/workflows/state_hub_workstream.yaml` with child tasks of
//! `examples/workflows/state_hub_task.yaml`. The setup (workflows, people, items, the edges
//! of the time windows) is `workstream_seeds::state_hub`'s, which the narrated example
//! builds on too.

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use workstream::prelude::*;
use workstream::{Change, Signal, Verified, Window};

use workstream_seeds::state_hub::{self, at, new_task, new_workstream};

use crate::common::{Scenario, h, ids};

fn t0() -> DateTime<Utc> {
    state_hub::start()
}

pub(crate) fn run<S: Store>(store: S) -> Verified {
    let clock = ManualClock::new(t0());
    let engine = state_hub::engine(store, &clock).unwrap_or_else(|e| panic!("{e}"));
    let sc = Scenario::new(engine, clock);
    let cora = state_hub::custodian();
    let wes = state_hub::worker();
    let streams = || Query::new().workflow("workstream");
    let with_signal = |signal| -> Vec<ItemId> {
        let found = sc.engine.with_signal(signal, &streams()).unwrap();
        found.into_iter().map(|(item, _)| item.id()).collect()
    };
    let child = |parent: ItemId, title: &str| sc.create(&wes, new_task(parent, title)).id();

    // 1. An active workstream with tasks to do, in progress and done.
    let w1 = sc.create(&cora, new_workstream("docs")).id();
    let todo = child(w1, "write the guide");
    let doing = child(w1, "review the API docs");
    let done = child(w1, "fix the links");
    sc.go(doing, &wes, Move::transition("start"), "progress");
    sc.go(done, &wes, Move::transition("finish"), "done");
    let w2 = sc.create(&cora, new_workstream("ops")).id();
    let lone = child(w2, "pick a monitoring tool");

    // `explain` shows both ways out blocked by the exit assertion, naming the open tasks.
    let why = sc.engine.explain(w1, &cora).unwrap();
    for way in ["accept", "archive"] {
        let next = why.transition(way).unwrap();
        assert_eq!(next.reasons.len(), 1, "{why}");
        let reason = &next.reasons[0];
        assert_eq!(
            (reason.id.as_str(), reason.kind),
            ("open_tasks", ReasonKind::Exit)
        );
        assert_eq!(reason.items, [todo, doing], "the failing children, by id");
    }
    assert_eq!(why.signals.active(), [Signal::Blocked]);
    assert!(
        why.to_string().contains("accept -> completed: blocked"),
        "{why}"
    );
    let r = sc.refuse(w1, &cora, Move::to("completed"), &["open_tasks"]);
    assert_eq!(
        r.reasons[0].message,
        "every child task must be done or cancelled before the workstream moves on"
    );
    assert_eq!(r.reasons[0].items, [todo, doing]);

    // 2. Eight days without an event: the first workstream (done and open tasks) is
    // stalled, the second (8 days old, nothing done) is an oldie. A second before the
    // 7-day thresholds, neither is.
    sc.clock
        .set(t0() + TimeDelta::days(7) - TimeDelta::seconds(1));
    assert_eq!(with_signal(Signal::Stalled), [] as [ItemId; 0]);
    assert_eq!(with_signal(Signal::Oldie), [] as [ItemId; 0]);
    sc.clock.set(t0() + TimeDelta::days(8));
    let s1 = sc.engine.signals(w1).unwrap();
    assert_eq!(s1.active(), [Signal::Blocked, Signal::Stalled]);
    let s2 = sc.engine.signals(w2).unwrap();
    assert_eq!(s2.active(), [Signal::Blocked, Signal::Oldie]);
    assert_eq!(with_signal(Signal::Stalled), [w1]);
    assert_eq!(with_signal(Signal::Oldie), [w2]);
    assert!(
        sc.engine
            .explain(w1, &cora)
            .unwrap()
            .to_string()
            .contains("signals: blocked, stalled")
    );

    // 3. Every task done: finished, while still in `active`.
    sc.go(todo, &wes, Move::transition("finish"), "done");
    sc.go(doing, &wes, Move::transition("finish"), "done");
    let s1 = sc.engine.signals(w1).unwrap();
    assert_eq!(s1.active(), [Signal::Finished]);
    assert_eq!(sc.item(w1).workstation(), "active");
    assert_eq!(with_signal(Signal::Finished), [w1]);

    // 4. The custodian accepts it by advancing it to `completed`.
    sc.clock.advance(h(1));
    let accepted = sc.go(w1, &cora, Move::to("completed"), "completed");
    assert_eq!(accepted.outcome(), Some(Outcome::Done));
    // A finished workstream gets a new task: unfinished again (and no longer an oldie,
    // once a task of it is done).
    sc.go(lone, &wes, Move::transition("finish"), "done");
    assert_eq!(sc.engine.signals(w2).unwrap().active(), [Signal::Finished]);
    let gap = child(w2, "document the alerts");
    let s2 = sc.engine.signals(w2).unwrap();
    assert!(!s2.finished);
    assert_eq!(s2.active(), [Signal::Blocked]);
    assert_eq!(s2.blocked[0].items, [gap]);

    // 5. Time windows at their boundaries. Tasks of a third workstream are created at the
    // edges of the week of Monday 19 January; "now" is Wednesday 21 January, 10:00.
    sc.clock.set(at(2026, 1, 14, 12, 0, 0));
    let w3 = sc.create(&cora, new_workstream("edges")).id();
    let edges = state_hub::window_edges();
    let probes: Vec<ItemId> = edges
        .iter()
        .map(|(title, t)| {
            sc.clock.set(*t);
            child(w3, title)
        })
        .collect();
    let [sun, mon, before24, at24, yesterday, midnight, now] = probes[..] else {
        unreachable!()
    };
    let utc = FixedOffset::east_opt(0).unwrap();
    let found = |query: Query| {
        ids(&sc
            .engine
            .items(&query.workflow("hub_task").parent(w3))
            .unwrap())
    };
    let last_24h = Window::last(h(24), sc.now());
    let today = Window::today(sc.now(), utc);
    let week = Window::this_week(sc.now(), utc);
    assert_eq!(
        week.start,
        at(2026, 1, 19, 0, 0, 0),
        "the week starts on Monday"
    );
    assert_eq!(
        found(Query::new().updated_in(last_24h)),
        [at24, yesterday, midnight, now]
    );
    assert_eq!(found(Query::new().updated_in(today)), [midnight, now]);
    assert_eq!(
        found(Query::new().created_in(week)),
        [mon, before24, at24, yesterday, midnight, now]
    );
    // Touching Sunday's task now moves it into "updated today", not into "created this week".
    sc.go(sun, &wes, Move::transition("start"), "progress");
    assert_eq!(found(Query::new().updated_in(today)), [sun, midnight, now]);
    assert_eq!(found(Query::new().created_in(today)), [midnight, now]);
    assert_eq!(found(Query::new().created_in(week)).len(), 6);
    // In another zone the day is another day: at +09:00 "today" began at 15:00 UTC on the
    // 20th, after the task of 10:00 UTC and before the one of 23:59:59 UTC.
    let tokyo = Window::today(sc.now(), FixedOffset::east_opt(9 * 3600).unwrap());
    assert_eq!(
        found(Query::new().created_in(tokyo)),
        [yesterday, midnight, now]
    );

    // Archiving keeps the whole history. The open task holds the workstream until it is
    // dropped; the workstream is put on hold first, and archiving is allowed while held.
    sc.hold(w2, &cora, "blocked", "no budget this quarter");
    sc.refuse(w2, &cora, Move::transition("archive"), &["open_tasks"]);
    sc.go(gap, &wes, Move::transition("drop"), "cancel");
    let archived = sc.go(w2, &cora, Move::transition("archive"), "archived");
    assert_eq!(archived.outcome(), Some(Outcome::Cancelled));
    let history = sc.history(w2);
    let kinds: Vec<&str> = history.iter().map(|e| e.change().kind()).collect();
    assert_eq!(kinds, ["created", "held", "transitioned"]);
    assert!(matches!(
        &history[0].change(),
        Change::Created { workstation, .. } if workstation == "active"
    ));
    let tasks = sc.engine.items(&Query::new().parent(w2)).unwrap();
    assert_eq!(ids(&tasks), [lone, gap], "its tasks are kept");
    assert_eq!(
        (sc.history(lone).len(), sc.history(gap).len()),
        (2, 2),
        "with their histories"
    );
    assert_eq!(sc.engine.verify(w2).unwrap(), 3);

    let verified = sc.verified();
    // 3 workstreams; 3 + 2 + 7 tasks.
    assert_eq!(verified.items, 15);
    verified
}
