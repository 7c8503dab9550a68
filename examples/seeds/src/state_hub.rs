//! State Hub workstreams (scenario S5): the workflows, the people and the items of the
//! scenario, which its narrated example (`cargo run --example state_hub`) and its scenario
//! test both build on.
//!
//! Workstreams are items of `examples/workflows/state_hub_workstream.yaml`, their tasks items
//! of `examples/workflows/state_hub_task.yaml`; a workstream closes only when its tasks are
//! closed (an exit assertion over `children.*.workstation`).

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use workstream::prelude::*;

/// The workstream workflow.
pub const WORKSTREAM: &str = include_str!("../../workflows/state_hub_workstream.yaml");
/// The task workflow.
pub const TASK: &str = include_str!("../../workflows/state_hub_task.yaml");

/// An engine over `store` with both workflows.
pub fn engine<S: Store>(
    store: S,
    clock: &ManualClock,
) -> Result<Engine<S>, Box<dyn std::error::Error>> {
    Ok(Engine::builder()
        .store(store)
        .workflow(parse("state_hub_workstream.yaml", WORKSTREAM)?)
        .workflow(parse("state_hub_task.yaml", TASK)?)
        .clock(clock.clone())
        .build()?)
}

/// An instant, in UTC (the Unix epoch for a date that does not exist; a test below holds
/// every instant of the scenario to being real).
pub fn at(y: i32, mo: u32, d: u32, hh: u32, mm: u32, ss: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, hh, mm, ss)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// When the scenario starts: Monday 5 January 2026, 09:00 UTC.
pub fn start() -> DateTime<Utc> {
    at(2026, 1, 5, 9, 0, 0)
}

/// The custodian, who accepts and archives workstreams.
pub fn custodian() -> Actor {
    Actor::new("cora", ["custodian"])
}

/// A worker, who moves tasks.
pub fn worker() -> Actor {
    Actor::new("wes", [])
}

/// A workstream titled `title`.
pub fn new_workstream(title: &str) -> NewItem<'static> {
    NewItem::of("workstream").fields(json!({ "title": title }))
}

/// A task of workstream `parent`, titled `title`.
pub fn new_task(parent: ItemId, title: &str) -> NewItem<'static> {
    NewItem::of("hub_task")
        .parent(parent)
        .fields(json!({ "title": title }))
}

/// The instants at the edges of the time windows of Wednesday 21 January 2026, 10:00 UTC
/// (the last 24 hours, today, this week from Monday), with what each stands for.
pub fn window_edges() -> [(&'static str, DateTime<Utc>); 7] {
    [
        ("sunday, last second", at(2026, 1, 18, 23, 59, 59)),
        ("monday, first second", at(2026, 1, 19, 0, 0, 0)),
        ("24h and 1s ago", at(2026, 1, 20, 9, 59, 59)),
        ("exactly 24h ago", at(2026, 1, 20, 10, 0, 0)),
        ("yesterday, last second", at(2026, 1, 20, 23, 59, 59)),
        ("today, first second", at(2026, 1, 21, 0, 0, 0)),
        ("now", at(2026, 1, 21, 10, 0, 0)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_edges_are_real_instants_in_order() {
        let edges = window_edges();
        assert!(start() > DateTime::UNIX_EPOCH);
        assert!(edges.windows(2).all(|w| w[0].1 < w[1].1), "{edges:?}");
        assert!(edges[0].1 > start(), "{edges:?}");
    }
}
