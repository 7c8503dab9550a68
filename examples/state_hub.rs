//! State Hub workstreams (scenario S5): an exit assertion over child tasks, `explain`
//! naming the tasks that hold a workstream open, the attention signals (`blocked`,
//! `stalled`, `oldie`, `finished`), acceptance as an explicit step, time-window filters,
//! and archiving that keeps the whole history.
//!
//! ```sh
//! cargo run --example state_hub
//! ```
//!
//! Workstreams are items of `examples/workflows/state_hub_workstream.yaml`, their tasks
//! items of `examples/workflows/state_hub_task.yaml`; the setup is
//! `workstream_seeds::state_hub`'s, which the scenario test builds on too. It runs on a
//! SQLite database in a temporary directory (removed at the end), with a manual clock, and
//! prints every step.

mod narrate;

use chrono::{FixedOffset, TimeDelta};
use workstream::prelude::*;
use workstream::sqlite::{Durability, Options};
use workstream::{Signal, SqliteStore, Window};
use workstream_seeds::state_hub::{self, new_task, new_workstream};

use narrate::Narrator;

/// A directory of its own under the system's temporary directory, removed when dropped.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir =
        TempDir(std::env::temp_dir().join(format!("workstream-state-hub-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0)?;
    let db = dir.0.join("state_hub.db");
    // The database is thrown away at the end, so commits need not wait for the disk.
    let store = SqliteStore::open_with(
        &db,
        Options::builder().durability(Durability::Normal).build(),
    )?;
    println!("database: {}", db.display());

    let t0 = state_hub::start(); // a Monday
    let clock = ManualClock::new(t0);
    let n = Narrator::new(state_hub::engine(store, &clock)?, clock);
    let cora = state_hub::custodian();
    let wes = state_hub::worker();
    let none = With::new;
    let task = |parent: ItemId, title: &str| n.create(&wes, new_task(parent, title), title);
    let streams = || Query::new().workflow("workstream");
    let show = |signal: Signal| -> Result<(), workstream::Error> {
        let found = n.engine.with_signal(signal, &streams())?;
        let names: Vec<String> = found.iter().map(|(i, _)| n.name(i.id())).collect();
        n.note(format!("workstreams {signal}: [{}]", names.join(", ")));
        Ok(())
    };

    n.section("1. An active workstream with tasks to do, in progress and done");
    let docs = n.create(&cora, new_workstream("docs"), "docs");
    let guide = task(docs, "write the guide");
    let api = task(docs, "review the API docs");
    let links = task(docs, "fix the links");
    n.go(api, &wes, "start", none());
    n.go(links, &wes, "finish", none());
    let ops = n.create(&cora, new_workstream("ops"), "ops");
    let tool = task(ops, "pick a monitoring tool");
    n.explain(docs, &cora);
    n.refused(docs, &cora, "accept", none(), &["open_tasks"]);

    n.section("2. Eight days without an event");
    n.at(t0 + TimeDelta::days(8));
    n.signals(docs);
    n.signals(ops);
    show(Signal::Stalled)?;
    show(Signal::Oldie)?;

    n.section("3. Every task done: finished, while still active");
    n.go(guide, &wes, "finish", none());
    n.go(api, &wes, "finish", none());
    n.signals(docs);
    n.note(format!("docs is in `{}`", n.item(docs).workstation()));

    n.section("4. Acceptance is an explicit step; a new task reopens a finished workstream");
    n.at(t0 + TimeDelta::days(8) + TimeDelta::hours(1));
    n.go(
        docs,
        &cora,
        "accept",
        With::new().reason("deliverables reviewed against the scope"),
    );
    n.go(tool, &wes, "finish", none());
    n.signals(ops);
    let alerts = task(ops, "document the alerts");
    n.signals(ops);

    n.section("5. Time windows, at their boundaries");
    let edges = n.create(&cora, new_workstream("edges"), "edges");
    for (title, t) in state_hub::window_edges() {
        n.at(t);
        task(edges, title);
    }
    let now = n.engine.now();
    let utc = FixedOffset::east_opt(0).expect("UTC");
    n.note(format!("now: {}", now.format("%a %d %b %H:%M:%S")));
    for (label, query) in [
        (
            "updated in the last 24h",
            Query::new().updated_in(Window::last(TimeDelta::hours(24), now)),
        ),
        (
            "updated today",
            Query::new().updated_in(Window::today(now, utc)),
        ),
        (
            "created this week (from Monday)",
            Query::new().created_in(Window::this_week(now, utc)),
        ),
    ] {
        let found = n.engine.items(&query.workflow("hub_task").parent(edges))?;
        let names: Vec<String> = found.iter().map(|i| n.name(i.id())).collect();
        n.note(format!("{label}: {}", names.join(", ")));
    }

    n.section("6. Archiving keeps the whole history");
    n.hold(ops, &cora, "blocked", "no budget this quarter");
    n.refused(ops, &cora, "archive", none(), &["open_tasks"]);
    n.go(alerts, &wes, "drop", none());
    n.go(ops, &cora, "archive", none());
    n.history(ops);
    let kept = n.engine.items(&Query::new().parent(ops))?;
    n.note(format!(
        "its {} tasks are kept, with their histories",
        kept.len()
    ));

    n.verify();
    Ok(())
}
