//! S4, a task board with dependencies, WIP and preemption (seed 002), on
//! `examples/workflows/flowos_task.yaml`. Times are hours after Monday 2 February 2026,
//! 09:00 UTC.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::json;
use workstream::prelude::*;
use workstream::{Change, Signal, Verified, Window, item_metrics};

use crate::common::{Scenario, h, ids, workflow};

const FLOWOS: &str = include_str!("../../examples/workflows/flowos_task.yaml");

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 2, 9, 0, 0).unwrap()
}

/// The task in `current` to preempt: the lowest priority (`P3` is lower than `P0`), the
/// highest key among equals.
fn lowest_priority(current: &[Item]) -> ItemId {
    let key = |i: &&Item| {
        (
            i.field("priority")
                .and_then(|p| p.as_str())
                .map(str::to_owned),
            i.field("key").and_then(|k| k.as_str()).map(str::to_owned),
        )
    };
    current.iter().max_by_key(key).unwrap().id()
}

pub(crate) fn run<S: Store>(store: S) -> Verified {
    let clock = ManualClock::new(t0());
    let engine = Engine::builder()
        .store(store)
        .workflow(workflow("flowos_task.yaml", FLOWOS))
        .clock(clock.clone())
        .build()
        .unwrap();
    let sc = Scenario::new(engine, clock);
    let at = |hour: i64| sc.clock.set(t0() + h(hour));
    let dri = Actor::new("dana", ["dri"]);
    let agent = Actor::new("ada", ["agent"]);
    let board = || Query::new().workflow("flowos_task");

    // 1. Tasks 0001–0007 arrive in the inbox and are verified into the backlog.
    let priorities = ["P1", "P1", "P2", "P1", "P2", "P3", "P0"];
    let tasks: Vec<ItemId> = priorities
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let fields = json!({"key": format!("{:04}", i + 1), "priority": p});
            let task = sc.create(&agent, NewItem::of("flowos_task").fields(fields));
            assert_eq!(task.workstation(), "inbox");
            task.id()
        })
        .collect();
    let [t1, t2, t3, t4, t5, t6, t7] = tasks[..] else {
        unreachable!()
    };
    at(1);
    for &t in &tasks {
        sc.go(t, &agent, Move::transition("verify"), "backlog");
    }

    // 2. backlog -> next needs an effort estimate and the DRI's sign-off.
    at(2);
    let r = sc.refuse(
        t1,
        &dri,
        Move::transition("prioritize"),
        &["effort_estimated"],
    );
    assert_eq!(
        r.reasons[0].message,
        "a task needs an effort estimate before it is prioritized"
    );
    let estimated = Move::transition("prioritize").patch(json!({"effort": 3}));
    sc.refuse(t1, &agent, estimated, &["role"]);
    for (&t, effort) in tasks.iter().zip([3, 5, 2, 1, 2, 4, 1]) {
        let mv = Move::transition("prioritize").patch(json!({ "effort": effort }));
        sc.go(t, &dri, mv, "next");
    }

    // 3. 0002 depends on 0001; 0001 depending on 0002 would close a cycle, named.
    at(3);
    sc.depend(t2, t1, &dri);
    let r = sc.refused(t1, &["cycle"], || sc.engine.add_dependency(t1, t2, &dri));
    assert_eq!(r.reasons[0].items, [t1, t2, t1]);
    assert_eq!(
        r.reasons[0].message,
        format!("item {t1} cannot depend on {t2}: that would close the cycle {t1} -> {t2} -> {t1}")
    );

    // 4. 0002 cannot start while 0001 is not in integration, learning or archived.
    let r = sc.refuse(t2, &agent, Move::transition("start"), &["deps_integrated"]);
    assert_eq!(r.reasons[0].items, [t1], "the reason names the dependency");

    // 5. current holds at most five tasks; a sixth start is refused.
    at(4);
    for t in [t1, t3, t4, t5, t6] {
        sc.go(t, &agent, Move::transition("start"), "current");
    }
    let r = sc.refuse(t7, &agent, Move::transition("start"), &["wip"]);
    assert_eq!(r.reasons[0].kind, ReasonKind::Wip);
    assert_eq!(
        (&r.reasons[0].details["count"], &r.reasons[0].details["max"]),
        (&json!(5), &json!(5))
    );

    // 6. The P0 task 0007 preempts the lowest-priority task in current (0006, P3): the DRI
    // pauses it, moves it back to next (a transition that allows paused items and requires
    // the pause), and 0007 starts in the freed place.
    at(5);
    let current = sc.engine.items(&board().workstation("current")).unwrap();
    assert_eq!(ids(&current), [t1, t3, t4, t5, t6]);
    assert_eq!(lowest_priority(&current), t6);
    sc.refuse(
        t6,
        &dri,
        Move::transition("preempt"),
        &["paused_before_preempt"],
    );
    sc.hold(t6, &dri, "paused", "preempted by 0007 (P0)");
    let preempted = sc.go(t6, &dri, Move::transition("preempt"), "next");
    assert!(preempted.holds().contains_key("paused"), "it stays paused");
    sc.go(t7, &agent, Move::transition("start"), "current");
    // Paused, and current is full again: both reasons at once.
    sc.refuse(t6, &agent, Move::transition("start"), &["held", "wip"]);

    // 7. rework sends 0005 back to next. 0003 waits on a blocker for two hours.
    at(6);
    let back = Move::transition("rework").reason("the estimate was wrong");
    sc.go(t5, &dri, back, "next");
    sc.hold(t3, &agent, "blocked", "waiting for the staging database");
    // Cancelling 0001 archives it as cancelled; 0002 shows as blocked by it, and can never
    // start: 0001 is archived, but cancelled.
    at(7);
    let cancelled = sc.go(t1, &dri, Move::transition("cancel"), "archived");
    assert_eq!(cancelled.outcome(), Some(Outcome::Cancelled));
    let s = sc.engine.signals(t2).unwrap();
    assert_eq!(s.active(), [Signal::Blocked]);
    assert_eq!(s.blocked.len(), 1);
    assert_eq!(
        (s.blocked[0].id.as_str(), &s.blocked[0].items),
        ("dependency_not_done", &vec![t1])
    );
    let r = sc.refuse(
        t2,
        &agent,
        Move::transition("start"),
        &["no_cancelled_deps"],
    );
    assert_eq!(r.reasons[0].items, [t1]);
    let ready = sc.engine.ready(&board()).unwrap();
    assert_eq!(ids(&ready), [t3, t4, t5, t6, t7], "0002 is not ready");
    let blocked: Vec<ItemId> = sc
        .engine
        .with_signal(Signal::Blocked, &board())
        .unwrap()
        .into_iter()
        .map(|(i, _)| i.id())
        .collect();
    assert_eq!(
        blocked,
        [t2, t3, t6],
        "a cancelled dependency, a blocker, a pause"
    );

    // 8. 0003 is integrated and closed, skipping learning (allowed, and recorded).
    at(8);
    sc.release(t3, &agent, "blocked");
    at(9);
    sc.refuse(t4, &agent, Move::transition("integrate"), &["role"]);
    sc.go(t3, &dri, Move::transition("integrate"), "integration");
    at(11);
    let closed = sc.go(t3, &dri, Move::transition("close_early"), "archived");
    assert_eq!(closed.outcome(), Some(Outcome::Done));
    let last = sc.history(t3).pop().unwrap();
    assert!(matches!(
        &last.change(),
        Change::Transitioned { transition, from, .. }
            if transition == "close_early" && from == "integration"
    ));

    // Its metrics, from the ledger, against the timeline: created 0, verified 1,
    // prioritized 2, started 4, blocked 6-8, integrated 9, archived 11.
    at(20);
    let m = sc.engine.metrics(t3).unwrap();
    assert_eq!((m.created, m.closed), (t0(), Some(t0() + h(11))));
    assert_eq!(m.lead, h(11), "lead time");
    let per_stage: BTreeMap<&str, TimeDelta> = [
        ("inbox", h(1)),
        ("backlog", h(1)),
        ("next", h(2)),
        ("current", h(5)),
        ("integration", h(2)),
    ]
    .into();
    let measured: BTreeMap<&str, TimeDelta> = m
        .per_workstation
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(measured, per_stage, "time per stage; no time in learning");
    assert_eq!(m.per_hold["blocked"], h(2), "blocked time");
    assert_eq!((m.held, m.active), (h(2), h(9)), "held and active time");
    assert_eq!(m.flow_efficiency(), Some(9.0 / 11.0));
    assert_eq!((m.rework_moves, m.sla_breaches.len()), (0, 0));
    // The same from the events alone, without the store's state.
    let definition = sc.engine.workflow("flowos_task").unwrap();
    assert_eq!(item_metrics(&sc.history(t3), definition, sc.now()), Some(m));

    // The reworked task counts its rework move; the preempted one is still paused, and
    // open, so it is measured up to now (hour 20): paused since 5, in next 2-4 and 5-20.
    assert_eq!(sc.engine.metrics(t5).unwrap().rework_moves, 1);
    let m = sc.engine.metrics(t6).unwrap();
    assert_eq!((m.lead, m.closed), (h(20), None));
    assert_eq!((m.per_hold["paused"], m.active), (h(15), h(5)));
    assert_eq!(
        (m.per_workstation["next"], m.per_workstation["current"]),
        (h(17), h(1))
    );

    // The board's first day: 7 arrivals; 0001 and 0003 left; 0003 was completed.
    at(24);
    let day = Window::new(t0(), t0() + h(24));
    let flow = sc.engine.flow(&board(), day, TimeDelta::days(1)).unwrap();
    assert_eq!((flow.arrivals, flow.departures, flow.throughput), (7, 2, 1));
    assert_eq!(flow.lead_time.unwrap().median, h(11));
    assert_eq!(flow.flow_efficiency, Some(9.0 / 11.0));
    assert_eq!(
        (flow.rework_rate, flow.slo_compliance),
        (Some(0.0), Some(1.0))
    );
    assert_eq!(flow.wip_at_end, 5);
    assert_eq!(sc.engine.wip_at(&board(), t0() + h(7)).unwrap(), 6);
    assert_eq!(
        sc.engine
            .wip_at(&board(), t0() + h(7) - TimeDelta::seconds(1))
            .unwrap(),
        7
    );

    // Every step was one event, and every chain verifies.
    let verified = sc.verified();
    assert_eq!((verified.items, verified.events), (7, 36));
    verified
}
