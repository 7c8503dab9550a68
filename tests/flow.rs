//! Dependencies, signals, time windows and flow metrics, with expected values worked out by
//! hand.

use chrono::{DateTime, FixedOffset, TimeDelta, TimeZone, Utc};
use serde_json::json;
use workstream::prelude::*;
use workstream::{Signal, Window};

const TASK: &str = r#"
workflow: task
version: 1
holds: [blocked, paused]
workstations:
  todo: { initial: true }
  doing: { sla: 4h }
  review: {}
  done: { terminal: true }
  cancel: { terminal: true, outcome: cancelled }
transitions:
  start: { from: todo, to: doing }
  submit: { from: doing, to: review }
  back: { from: review, to: doing, rework: true }
  finish: { from: [todo, review], to: done }
  drop: { from: "*", to: cancel, allow_held: true }
"#;

const HUB: &str = r#"
workflow: hub
version: 1
workstations:
  active:
    initial: true
    exit:
      - { assert: children.*.workstation, op: all_in, value: [done, cancel], id: children_closed }
  completed: { terminal: true }
transitions:
  complete: { from: active, to: completed }
signals:
  stalled: { idle_for: 7d }
  oldies: { age: 7d }
"#;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
}

fn h(n: i64) -> TimeDelta {
    TimeDelta::hours(n)
}

fn setup() -> (Engine<MemoryStore>, ManualClock) {
    let clock = ManualClock::new(t0());
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(parse("task.yaml", TASK).unwrap())
        .workflow(parse("hub.yaml", HUB).unwrap())
        .clock(clock.clone())
        .build()
        .unwrap();
    (engine, clock)
}

fn me() -> Actor {
    Actor::new("me", [])
}

fn mv(engine: &Engine<MemoryStore>, id: ItemId, transition: &str) {
    engine
        .advance(id, &me(), Move::transition(transition))
        .unwrap_or_else(|e| panic!("{transition}: {e}"));
}

#[test]
fn signals_follow_children_holds_and_the_clock() {
    let (engine, clock) = setup();
    let hub = engine.create(&me(), NewItem::of("hub")).unwrap().id();
    let kids: Vec<ItemId> = (0..3)
        .map(|_| {
            engine
                .create(&me(), NewItem::of("task").parent(hub))
                .unwrap()
                .id()
        })
        .collect();
    let lonely = engine.create(&me(), NewItem::of("hub")).unwrap().id();
    engine
        .create(&me(), NewItem::of("task").parent(lonely))
        .unwrap();
    clock.advance(h(1));
    mv(&engine, kids[0], "finish");

    // The hub's exit is blocked by the children that are not closed, named one by one.
    let s = engine.signals(hub).unwrap();
    assert_eq!(s.active(), [Signal::Blocked]);
    assert_eq!(s.blocked[0].id, "children_closed");
    assert_eq!(s.blocked[0].items, kids[1..]);
    let why = engine.explain(hub, &me()).unwrap();
    assert!(!why.transition("complete").unwrap().allowed());
    assert!(why.to_string().contains("signals: blocked"), "{why}");

    // Stalled exactly when the last activity (the child finished at +1h) is 7 days old.
    clock.set(t0() + h(1) + TimeDelta::days(7) - TimeDelta::seconds(1));
    assert!(!engine.signals(hub).unwrap().stalled);
    clock.set(t0() + h(1) + TimeDelta::days(7));
    assert!(engine.signals(hub).unwrap().stalled);
    // The hub with no done child is an oldie; one created now is not.
    let young = engine.create(&me(), NewItem::of("hub")).unwrap().id();
    let oldies: Vec<ItemId> = engine
        .with_signal(Signal::Oldie, &Query::new().workflow("hub"))
        .unwrap()
        .into_iter()
        .map(|(item, _)| item.id())
        .collect();
    assert_eq!(oldies, [lonely]);
    assert!(!engine.signals(young).unwrap().oldie);
    assert!(!engine.signals(hub).unwrap().oldie, "it has a done child");

    // All children closed: finished while still active, and no longer blocked or stalled.
    mv(&engine, kids[1], "finish");
    mv(&engine, kids[2], "drop");
    let s = engine.signals(hub).unwrap();
    assert_eq!(s.active(), [Signal::Finished]);
    assert_eq!(engine.item(hub).unwrap().workstation(), "active");
    // A new child makes it unfinished again.
    let late = engine
        .create(&me(), NewItem::of("task").parent(hub))
        .unwrap()
        .id();
    assert!(!engine.signals(hub).unwrap().finished);

    // Overdue: `doing` has a 4h sla.
    mv(&engine, late, "start");
    clock.advance(h(4));
    assert!(
        engine.signals(late).unwrap().overdue.is_none(),
        "exactly at the sla"
    );
    clock.advance(TimeDelta::minutes(30));
    let overdue = engine.signals(late).unwrap().overdue.unwrap();
    assert_eq!(overdue.workstation, "doing");
    assert_eq!(overdue.by, std::time::Duration::from_secs(30 * 60));

    // A hold blocks, with its reason.
    engine
        .hold(late, &me(), "paused", "question for the client")
        .unwrap();
    let s = engine.signals(late).unwrap();
    assert_eq!(
        s.blocked[0].message,
        "held `paused` by me: question for the client"
    );
}

#[test]
fn dependencies_ready_order_critical_path_cycles_and_cancelled_dependencies() {
    let (engine, _) = setup();
    let effort = [1, 5, 2, 1, 3, 9];
    let ids: Vec<ItemId> = effort
        .iter()
        .map(|e| {
            engine
                .create(&me(), NewItem::of("task").fields(json!({"effort": e})))
                .unwrap()
                .id()
        })
        .collect();
    let [a, b, c, d, e, f] = ids[..] else {
        unreachable!()
    };
    for (x, on) in [(b, a), (c, a), (d, b), (d, c), (e, d)] {
        engine.add_dependency(x, on, &me()).unwrap();
    }
    let ready = |engine: &Engine<MemoryStore>| -> Vec<ItemId> {
        engine
            .ready(&Query::new())
            .unwrap()
            .iter()
            .map(Item::id)
            .collect()
    };
    assert_eq!(ready(&engine), [a, f]);
    mv(&engine, a, "finish");
    assert_eq!(ready(&engine), [b, c, f]);

    let order = engine.topological_order(&Query::new()).unwrap();
    let at = |x: ItemId| order.iter().position(|&y| y == x).unwrap();
    assert_eq!(order.len(), 6);
    for (x, on) in [(b, a), (c, a), (d, b), (d, c), (e, d)] {
        assert!(at(on) < at(x), "{on} must come before {x} in {order:?}");
    }

    // a-b-d-e weighs 1+5+1+3 = 10, more than f alone (9) or a-c-d-e (7).
    let path = engine.critical_path(&Query::new(), "effort").unwrap();
    assert_eq!(path.items, [a, b, d, e]);
    assert_eq!(path.total, 10.0);

    // a depending on e would close a -> e -> d -> (b or c) -> a.
    let err = engine.add_dependency(a, e, &me()).unwrap_err();
    let cycle = &err.refused().unwrap().reasons[0].items;
    assert_eq!(cycle.len(), 5, "{cycle:?}");
    assert_eq!((cycle[0], cycle[1], cycle[2], cycle[4]), (a, e, d, a));
    assert!(cycle[3] == b || cycle[3] == c);
    // Across workflows too: a hub can depend on a task, and not the other way round after.
    let hub = engine.create(&me(), NewItem::of("hub")).unwrap().id();
    engine.add_dependency(hub, e, &me()).unwrap();
    assert!(engine.add_dependency(a, hub, &me()).is_err());

    // A cancelled dependency makes its dependents blocked, naming it.
    mv(&engine, c, "drop");
    let s = engine.signals(d).unwrap();
    assert_eq!(s.blocked.len(), 1);
    assert_eq!(s.blocked[0].id, "dependency_not_done");
    assert_eq!(s.blocked[0].items, [c]);
    assert_eq!(
        s.blocked[0].message,
        format!("depends on {c}, which ended cancelled in `cancel`")
    );
    assert!(!ready(&engine).contains(&d));
    // Dependencies are events, and survive replay.
    let events = engine.history(d).unwrap();
    assert_eq!(Item::replay(&events).unwrap().deps().len(), 2);
}

#[test]
fn time_windows_at_their_exact_boundaries() {
    let utc = FixedOffset::east_opt(0).unwrap();
    let at = |y, mo, d, hh, mm, ss| Utc.with_ymd_and_hms(y, mo, d, hh, mm, ss).unwrap();
    let now = at(2026, 1, 7, 15, 30, 0); // a Wednesday
    let today = Window::today(now, utc);
    assert_eq!(
        (today.start, today.end),
        (at(2026, 1, 7, 0, 0, 0), at(2026, 1, 8, 0, 0, 0))
    );
    assert!(today.contains(at(2026, 1, 7, 0, 0, 0)));
    assert!(!today.contains(at(2026, 1, 8, 0, 0, 0)));
    assert!(!today.contains(at(2026, 1, 7, 0, 0, 0) - TimeDelta::nanoseconds(1)));
    let week = Window::this_week(now, utc);
    assert_eq!(
        (week.start, week.end),
        (at(2026, 1, 5, 0, 0, 0), at(2026, 1, 12, 0, 0, 0))
    );
    let sunday_night = at(2026, 1, 11, 23, 59, 59);
    assert_eq!(Window::this_week(sunday_night, utc), week);
    assert_eq!(
        Window::this_week(at(2026, 1, 12, 0, 0, 0), utc).start,
        at(2026, 1, 12, 0, 0, 0)
    );
    let month = Window::this_month(now, utc);
    assert_eq!(
        (month.start, month.end),
        (at(2026, 1, 1, 0, 0, 0), at(2026, 2, 1, 0, 0, 0))
    );
    let december = Window::this_month(at(2026, 12, 15, 0, 0, 0), utc);
    assert_eq!(december.end, at(2027, 1, 1, 0, 0, 0));
    let last = Window::last(h(24), now);
    assert!(last.contains(now));
    assert!(last.contains(now - h(24)));
    assert!(!last.contains(now - h(24) - TimeDelta::nanoseconds(1)));
    // A day at +09:00: local midnight is 15:00 UTC the day before.
    let tokyo = FixedOffset::east_opt(9 * 3600).unwrap();
    let local = Window::today(at(2026, 1, 7, 15, 30, 0), tokyo);
    assert_eq!(
        (local.start, local.end),
        (at(2026, 1, 7, 15, 0, 0), at(2026, 1, 8, 15, 0, 0))
    );

    // Queries by window on items touched at the boundaries.
    let (engine, clock) = setup();
    let mut ids = Vec::new();
    for t in [
        at(2026, 1, 6, 23, 59, 59),
        at(2026, 1, 7, 0, 0, 0),
        at(2026, 1, 7, 23, 59, 59),
        at(2026, 1, 8, 0, 0, 0),
    ] {
        clock.set(t);
        ids.push(engine.create(&me(), NewItem::of("task")).unwrap().id());
    }
    let found: Vec<ItemId> = engine
        .items(&Query::new().updated_in(today))
        .unwrap()
        .iter()
        .map(Item::id)
        .collect();
    assert_eq!(found, ids[1..3]);
    assert_eq!(
        engine.items(&Query::new().created_in(week)).unwrap().len(),
        4
    );
}

/// Item A's timeline (hours after t0): created 0, start 1, blocked 2–4, paused 3–5, submit
/// 6, back (rework) 7, submit 8, finish 10.
fn item_a(engine: &Engine<MemoryStore>, clock: &ManualClock) -> ItemId {
    clock.set(t0());
    let a = engine.create(&me(), NewItem::of("task")).unwrap().id();
    let steps: [(i64, &dyn Fn()); 9] = [
        (1, &|| mv(engine, a, "start")),
        (2, &|| drop(engine.hold(a, &me(), "blocked", "x").unwrap())),
        (3, &|| drop(engine.hold(a, &me(), "paused", "y").unwrap())),
        (4, &|| drop(engine.release(a, &me(), "blocked").unwrap())),
        (5, &|| drop(engine.release(a, &me(), "paused").unwrap())),
        (6, &|| mv(engine, a, "submit")),
        (7, &|| mv(engine, a, "back")),
        (8, &|| mv(engine, a, "submit")),
        (10, &|| mv(engine, a, "finish")),
    ];
    for (hour, step) in steps {
        clock.set(t0() + h(hour));
        step();
    }
    a
}

#[test]
fn item_metrics_from_the_ledger() {
    let (engine, clock) = setup();
    let a = item_a(&engine, &clock);
    clock.set(t0() + h(100));
    let m = engine.metrics(a).unwrap();
    assert_eq!(m.lead, h(10));
    assert_eq!(m.closed, Some(t0() + h(10)));
    assert_eq!(m.outcome, Some(Outcome::Done));
    let per: Vec<(&str, TimeDelta)> = m
        .per_workstation
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    // todo 0–1; doing 1–6 and 7–8; review 6–7 and 8–10.
    assert_eq!(per, [("doing", h(6)), ("review", h(3)), ("todo", h(1))]);
    assert_eq!(m.per_hold["blocked"], h(2));
    assert_eq!(m.per_hold["paused"], h(2));
    assert_eq!(m.held, h(3), "overlapping holds count once: 2–5");
    assert_eq!(m.active, h(7));
    assert_eq!(m.flow_efficiency(), Some(0.7));
    assert_eq!(m.rework_moves, 1);
    assert_eq!(
        m.sla_breaches,
        ["doing"],
        "the 5h stay in doing broke its 4h sla"
    );

    // An open item is measured up to now, a hold still on up to now.
    clock.set(t0());
    let b = engine.create(&me(), NewItem::of("task")).unwrap().id();
    engine.hold(b, &me(), "blocked", "z").unwrap();
    clock.set(t0() + h(3));
    let m = engine.metrics(b).unwrap();
    assert_eq!(
        (m.lead, m.held, m.active, m.closed),
        (h(3), h(3), h(0), None)
    );
    assert_eq!(m.flow_efficiency(), Some(0.0));
}

#[test]
fn flow_over_a_window() {
    let (engine, clock) = setup();
    let a = item_a(&engine, &clock);
    // B: created 1, start 2, submit 4, finish 5 (lead 4h, no breach, no rework).
    clock.set(t0() + h(1));
    let b = engine.create(&me(), NewItem::of("task")).unwrap().id();
    for (hour, t) in [(2, "start"), (4, "submit"), (5, "finish")] {
        clock.set(t0() + h(hour));
        mv(&engine, b, t);
    }
    // C: created 3, dropped 6. D: created 9, still open.
    clock.set(t0() + h(3));
    let c = engine.create(&me(), NewItem::of("task")).unwrap().id();
    clock.set(t0() + h(6));
    mv(&engine, c, "drop");
    clock.set(t0() + h(9));
    engine.create(&me(), NewItem::of("task")).unwrap();
    clock.set(t0() + h(12));

    let window = Window::new(t0(), t0() + h(12));
    let r = engine
        .flow(&Query::new().workflow("task"), window, h(6))
        .unwrap();
    assert_eq!((r.arrivals, r.departures, r.throughput), (4, 3, 2));
    // As JSON, durations are seconds.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["period"], 6.0 * 3600.0);
    assert_eq!(json["arrivals"], 4);
    assert_eq!(
        (r.arrival_rate, r.departure_rate, r.throughput_rate),
        (2.0, 1.5, 1.0)
    );
    let lead = r.lead_time.unwrap();
    assert_eq!(
        (lead.count, lead.mean, lead.median, lead.p90, lead.stdev),
        (2, h(7), h(4), h(10), h(3))
    );
    assert_eq!(r.predictability, Some(3.0 / 7.0));
    assert_eq!(
        r.flow_efficiency,
        Some(11.0 / 14.0),
        "(7h + 4h) / (10h + 4h)"
    );
    assert_eq!(r.rework_rate, Some(0.5));
    assert_eq!(r.slo_compliance, Some(0.5));
    assert_eq!(r.wip_at_end, 1);
    let doing = r.per_workstation["doing"];
    assert_eq!((doing.median, doing.p90), (h(2), h(6)));

    let query = Query::new().workflow("task");
    assert_eq!(
        engine
            .wip_at(&query, t0() + h(5) + TimeDelta::minutes(30))
            .unwrap(),
        2
    );
    assert_eq!(
        engine.wip_at(&query, t0() + h(5)).unwrap(),
        2,
        "b closes at 5h: a and c open"
    );
    assert_eq!(
        engine
            .wip_at(&query, t0() + h(5) - TimeDelta::seconds(1))
            .unwrap(),
        3
    );
    let _ = (a, c);
}
