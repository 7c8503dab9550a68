//! FlowOS (scenario S4): a task board with seven stages, dependencies, a WIP limit, P0
//! preemption, rework, and flow metrics computed from the ledger.
//!
//! ```sh
//! cargo run --example flowos
//! ```
//!
//! It drives `examples/workflows/flowos_task.yaml` on the in-memory store, with a manual
//! clock, and prints every step: what was attempted, whether it was allowed, and every
//! reason (with its id) when it was refused. Nothing refused is ever written. At the end it
//! prints the metrics of a closed task and of the board's first day, and verifies the ledger.

mod narrate;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::json;
use workstream::prelude::*;
use workstream::{Signal, Window};

use narrate::{Narrator, hours};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 2, 2, 9, 0, 0).unwrap(); // a Monday
    let clock = ManualClock::new(t0);
    let workflow = parse(
        "flowos_task.yaml",
        include_str!("workflows/flowos_task.yaml"),
    )?;
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(workflow)
        .clock(clock.clone())
        .build()?;
    let n = Narrator::new(engine, clock);
    let at = |hour: i64| n.at(t0 + TimeDelta::hours(hour));
    let dri = Actor::new("dana", ["dri"]);
    let agent = Actor::new("ada", ["agent"]);
    let none = With::new;
    let board = || Query::new().workflow("flowos_task");

    n.section("1. Seven tasks arrive and are verified into the backlog");
    let priorities = ["P1", "P1", "P2", "P1", "P2", "P3", "P0"];
    let mut tasks = Vec::new();
    for (i, priority) in priorities.iter().enumerate() {
        let key = format!("{:04}", i + 1);
        let fields = json!({"key": key, "priority": priority});
        let name = format!("{key}/{priority}");
        tasks.push(n.create(&agent, NewItem::of("flowos_task").fields(fields), &name));
    }
    let [t1, t2, t3, t4, t5, t6, t7] = tasks[..] else {
        unreachable!()
    };
    at(1);
    for &t in &tasks {
        n.go(t, &agent, "verify", none());
    }

    n.section("2. Prioritizing needs an effort estimate and the DRI");
    at(2);
    n.refused(t1, &dri, "prioritize", none(), &["effort_estimated"]);
    let estimate = |e: u32| With::new().patch(json!({ "effort": e }));
    n.refused(t1, &agent, "prioritize", estimate(3), &["role"]);
    for (&t, effort) in tasks.iter().zip([3, 5, 2, 1, 2, 4, 1]) {
        n.go(t, &dri, "prioritize", estimate(effort));
    }

    n.section("3. Dependencies, and a cycle refused");
    at(3);
    n.depend(t2, t1, &dri);
    n.expect_refusal(
        format!("dana makes {} depend on {}", n.name(t1), n.name(t2)),
        &["cycle"],
        || n.engine.add_dependency(t1, t2, &dri),
    );

    n.section("4. A task cannot start before its dependencies are integrated");
    n.refused(t2, &agent, "start", none(), &["deps_integrated"]);

    n.section("5. current has a hard limit of five");
    at(4);
    for t in [t1, t3, t4, t5, t6] {
        n.go(t, &agent, "start", none());
    }
    n.refused(t7, &agent, "start", none(), &["wip"]);

    n.section("6. The P0 task preempts the lowest-priority task in current");
    at(5);
    let current = n.engine.items(&board().workstation("current"))?;
    let lowest = current
        .iter()
        .max_by_key(|t| {
            (
                t.field("priority")
                    .and_then(|p| p.as_str())
                    .map(str::to_owned),
                t.field("key").and_then(|k| k.as_str()).map(str::to_owned),
            )
        })
        .map(Item::id)
        .expect("current is full");
    n.note(format!(
        "the lowest priority in current: {}",
        n.name(lowest)
    ));
    n.refused(lowest, &dri, "preempt", none(), &["paused_before_preempt"]);
    n.hold(lowest, &dri, "paused", "preempted by 0007 (P0)");
    n.go(lowest, &dri, "preempt", With::new().reason("room for a P0"));
    n.go(t7, &agent, "start", none());
    n.refused(lowest, &agent, "start", none(), &["held", "wip"]);

    n.section("7. Rework, a blocker, and a cancelled dependency");
    at(6);
    n.go(
        t5,
        &dri,
        "rework",
        With::new().reason("the estimate was wrong"),
    );
    n.hold(t3, &agent, "blocked", "waiting for the staging database");
    at(7);
    n.go(t1, &dri, "cancel", With::new().reason("superseded by 0007"));
    let signals = n.signals(t2);
    assert!(signals.has(Signal::Blocked));
    n.refused(t2, &agent, "start", none(), &["no_cancelled_deps"]);

    n.section("8. 0003 is integrated and archived, skipping learning");
    at(8);
    n.release(t3, &agent, "blocked");
    at(9);
    n.refused(t4, &agent, "integrate", none(), &["role"]);
    n.go(t3, &dri, "integrate", none());
    at(11);
    n.go(
        t3,
        &dri,
        "close_early",
        With::new().reason("nothing to learn"),
    );
    at(24);
    let m = n.metrics(t3);
    assert_eq!(
        (m.lead, m.held, m.active),
        (
            TimeDelta::hours(11),
            TimeDelta::hours(2),
            TimeDelta::hours(9)
        )
    );

    n.section("The board's first day");
    let day = Window::new(t0, t0 + TimeDelta::days(1));
    let flow = n.engine.flow(&board(), day, TimeDelta::days(1))?;
    n.note(format!(
        "arrivals {}, departures {}, throughput {}, WIP at the end {}",
        flow.arrivals, flow.departures, flow.throughput, flow.wip_at_end
    ));
    if let Some(lead) = flow.lead_time {
        n.note(format!(
            "lead time of completed tasks: median {}",
            hours(lead.median)
        ));
    }
    if let Some(e) = flow.flow_efficiency {
        n.note(format!("flow efficiency {:.0}%", e * 100.0));
    }
    n.verify();
    Ok(())
}
