//! Versions and migrations on SQLite, each against a baseline measured in the same run:
//!
//! 1. **migrate vs advance**: `Engine::migrate` of one item (v1 → v2, one `migrated` event,
//!    from a workstation v2 renames) against `Engine::advance` of one item (one
//!    `transitioned` event to another workstation), interleaved rounds on one file, at
//!    durability NORMAL (the work of the write) and FULL (with its fsync).
//!    Target: migrate ≤ 1.5× advance.
//! 2. **migrate_all at scale**: 100,000 items on version 1 migrated by one `migrate_all`,
//!    reported per item, against creating them (one event each, as a migration writes).
//! 3. **definition lookup**: `Reader::definition` by definition hash, and
//!    `Reader::definition_text` by the source hash an event names, against `Reader::item`, all
//!    from the store. Target: a lookup costs no more than reading the item.
//!
//! `cargo bench --bench versions` (`SCALE=10000` for a smaller step 2).

use std::hint::black_box;
use std::time::{Duration, Instant};

use workstream::prelude::*;
use workstream::sqlite::{Durability, Options};
use workstream::{Reader, SqliteStore};

const V1: &str = "
workflow: task
version: 1
workstations:
  open: { initial: true }
  needs_revision: {}
  done: { terminal: true }
transitions:
  send_back: { from: open, to: needs_revision }
  finish: { from: [open, needs_revision], to: done }
";

const V2: &str = "
workflow: task
version: 2
workstations:
  open: { initial: true }
  revision_requested: {}
  done: { terminal: true }
transitions:
  send_back: { from: open, to: revision_requested }
  finish: { from: [open, revision_requested], to: done }
migrations:
  - from: 1
    workstations: { needs_revision: revision_requested }
";

fn engine(path: &std::path::Path, durability: Durability) -> Engine<SqliteStore> {
    let _ = std::fs::remove_file(path);
    let store = SqliteStore::open_with(path, Options::builder().durability(durability).build())
        .expect("open");
    Engine::builder()
        .store(store)
        .workflow(parse("v1", V1).expect("v1"))
        .workflow(parse("v2", V2).expect("v2"))
        .build()
        .expect("engine")
}

fn create_v1(engine: &Engine<SqliteStore>, actor: &Actor, n: usize) -> Vec<ItemId> {
    (0..n)
        .map(|_| {
            engine
                .create(actor, NewItem::of("task").version(1))
                .expect("create")
                .id()
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn migrate_vs_advance(
    dir: &std::path::Path,
    durability: Durability,
    label: &str,
    per_round: usize,
) {
    let engine = engine(&dir.join(format!("pair-{label}.db")), durability);
    let actor = Actor::new("bench", []);
    let rounds = 7;
    let mut advance = Vec::new();
    let mut migrate = Vec::new();
    for round in 0..rounds {
        let a = create_v1(&engine, &actor, per_round);
        // Migrated from `needs_revision`, which version 2 renames: like the advance, the
        // write changes the item's workstation (and the index on it).
        let b = create_v1(&engine, &actor, per_round);
        for &id in &b {
            engine
                .advance(id, &actor, Move::transition("send_back"))
                .expect("setup");
        }
        let time_advance = || {
            let start = Instant::now();
            for &id in &a {
                black_box(
                    engine
                        .advance(id, &actor, Move::transition("send_back"))
                        .expect("advance"),
                );
            }
            start.elapsed().as_nanos() as f64 / per_round as f64
        };
        let time_migrate = || {
            let start = Instant::now();
            for &id in &b {
                black_box(engine.migrate(id, &actor, 2, None).expect("migrate"));
            }
            start.elapsed().as_nanos() as f64 / per_round as f64
        };
        // Alternate which goes first, so neither always meets a warmer cache.
        if round % 2 == 0 {
            advance.push(time_advance());
            migrate.push(time_migrate());
        } else {
            migrate.push(time_migrate());
            advance.push(time_advance());
        }
    }
    let (a, m) = (median(advance), median(migrate));
    println!(
        "ratio migrate/advance, SQLite {label}: {:.2} (migrate {:.1} µs, advance {:.1} µs per item; \
         median of {rounds} interleaved rounds of {per_round}) target ≤ 1.5",
        m / a,
        m / 1e3,
        a / 1e3
    );
}

fn migrate_all_at_scale(dir: &std::path::Path, n: usize) {
    let engine = engine(&dir.join("scale.db"), Durability::Normal);
    let actor = Actor::new("bench", []);
    let start = Instant::now();
    create_v1(&engine, &actor, n);
    let created = start.elapsed();
    let start = Instant::now();
    let report = engine
        .migrate_all(&Query::new().workflow("task"), &actor, 2, None)
        .expect("migrate_all");
    let migrated = start.elapsed();
    assert_eq!(report.migrated.len(), n, "{report}");
    let per = |d: Duration| d.as_nanos() as f64 / n as f64 / 1e3;
    println!(
        "ratio migrate_all per item / create per item, {n} items, SQLite NORMAL: {:.2} \
         (migrate_all {:.1} µs per item, {:.1} s in all; create {:.1} µs per item)",
        per(migrated) / per(created),
        per(migrated),
        migrated.as_secs_f64(),
        per(created)
    );
}

fn lookup_vs_item(dir: &std::path::Path) {
    let engine = engine(&dir.join("lookup.db"), Durability::Normal);
    let actor = Actor::new("bench", []);
    let ids = create_v1(&engine, &actor, 1_000);
    let hash = *engine
        .workflow_version("task", 1)
        .expect("v1")
        .definition_hash();
    let found = engine
        .store()
        .read(|tx| tx.definition(&hash))
        .expect("lookup");
    assert_eq!(
        found.map(|d| d.definition),
        Some(hash),
        "the lookup finds the definition"
    );
    let n = 20_000;
    let mut item = Vec::new();
    let mut lookup = Vec::new();
    for _ in 0..7 {
        let t = engine
            .store()
            .read(|tx| {
                let start = Instant::now();
                for i in 0..n {
                    black_box(tx.item(ids[i % ids.len()])?);
                }
                Ok::<_, workstream::StoreError>(start.elapsed())
            })
            .expect("items");
        item.push(t.as_nanos() as f64 / n as f64);
        let t = engine
            .store()
            .read(|tx| {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(tx.definition(&hash)?);
                }
                Ok::<_, workstream::StoreError>(start.elapsed())
            })
            .expect("definitions");
        lookup.push(t.as_nanos() as f64 / n as f64);
    }
    let mut by_source = Vec::new();
    let source = *engine
        .workflow_version("task", 1)
        .expect("v1")
        .source_hash();
    for _ in 0..3 {
        let t = engine
            .store()
            .read(|tx| {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(tx.definition_text(&source)?);
                }
                Ok::<_, workstream::StoreError>(start.elapsed())
            })
            .expect("texts");
        by_source.push(t.as_nanos() as f64 / n as f64);
    }
    let (i, l) = (median(item), median(lookup));
    let by_source = median(by_source);
    println!(
        "ratio definition text by source / item read, SQLite: {:.2} (text {:.2} µs, item {:.2} \
         µs; median of 3 rounds of {n}) target ≤ 1",
        by_source / i,
        by_source / 1e3,
        i / 1e3
    );
    println!(
        "ratio definition lookup by hash / item read, SQLite: {:.2} (lookup {:.2} µs, item \
         {:.2} µs; median of 7 interleaved rounds of {n}) target ≤ 1",
        l / i,
        l / 1e3,
        i / 1e3
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and wants a quick
    // run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let dir =
        std::env::temp_dir().join(format!("workstream-bench-versions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let scale: usize = std::env::var("SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 200 } else { 100_000 });
    migrate_vs_advance(
        &dir,
        Durability::Normal,
        "NORMAL",
        if quick { 20 } else { 500 },
    );
    migrate_vs_advance(&dir, Durability::Full, "FULL", if quick { 5 } else { 100 });
    migrate_all_at_scale(&dir, scale);
    lookup_vs_item(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}
