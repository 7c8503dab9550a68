//! Dependencies, signals and metrics at scale: 1k, 10k and 100k items on the memory store,
//! each depending on 3 random earlier items (a seeded random DAG, ~3 dependencies per item).
//!
//! 1. **Adding one dependency with its cycle check**, every call timed on its own (p50, p99),
//!    against petgraph 0.8's `Acyclic::try_add_edge` on the same graph: the same nodes, the
//!    same edges, built the same way (nodes in creation order, edges added one by one), and
//!    the same adds, engine and petgraph alternating which goes first, each against
//!    `try_add_edge` (petgraph's check, the repair of its order and the edge's insertion):
//!    - the **cycle check alone** (`dependency_path`, what `Engine::add_dependency` runs
//!      inside its transaction): less than petgraph does, shown without a verdict;
//!    - the **check and the store's append** of a ready-made event (the store repairs its
//!      ranks and inserts the dependency): the nearest to what petgraph does, plus the event;
//!    - **`Engine::add_dependency` end to end** (read the item, the check, then a ledger
//!      event: JSON, sha256, the store's append and indexes).
//!
//!    Target, for the last two at 100k items: p50 ≤ 2× petgraph. The adds rotate through three kinds, a third each: a
//!    dependency on an earlier item (accepted; agrees with creation order), a dependency on a
//!    later item that does not depend on it (accepted; goes against creation order, so an
//!    order kept by rank must be repaired), and a dependency on an item that already depends
//!    on it, directly or not (refused: it would close a cycle). The kind of every add is
//!    known in advance, and both sides are checked to agree with it.
//! 2. `ready()` over all items, 3. the signals of every item (`with_signal`), 4. flow
//!    metrics over all items (`Engine::flow` over a window holding the whole history), 5. a
//!    query by workstation (`Engine::items`, the items in `doing`, a fifth of all): time
//!    per item of the store at each size, and the growth of that time from size to size. The three sizes
//!    are measured in rotation, each sample doing the same number of item visits, and the
//!    growth factors are medians of per-round ratios.
//!
//! The items move through a small task workflow (40% done, 5% cancelled, 20% in progress, a
//! tenth of those on hold); nine in ten have a parent. Every store is built through the
//! engine, outside the timed sections.
//!
//! Run: `cargo bench --bench dag`. A filter selects sections by name, as criterion does:
//! `add_dependency/100k`, `growth/signals`, `ready/10k` (criterion's own groups: `ready`,
//! `signals`, `metrics`, `query`).

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use petgraph::acyclic::Acyclic;
use petgraph::data::Build;
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use serde_json::json;
use workstream::__private::dependency_path;
use workstream::prelude::*;
use workstream::{Change, Reader, Signal, StoreError, Tx, Window};
use workstream_seeds::rng::Rng;

/// The sizes, in items.
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
/// Dependencies of every item (on distinct earlier items; the first three have fewer).
const DEPS_PER_ITEM: usize = 3;
/// Adds per kind, per size and per measurement.
const ADDS_PER_KIND: usize = 400;
/// Rounds of the growth measurement.
const GROWTH_ROUNDS: usize = 7;
/// Item visits per growth sample: small sizes repeat the operation to do as much work as one
/// pass over the largest.
const GROWTH_VISITS: usize = 100_000;

const WORKFLOW: &str = r#"
workflow: task
version: 1
holds: [blocked, paused]
workstations:
  todo: { initial: true }
  doing:
    sla: 3d
    exit:
      - { assert: fields.effort, op: exists, id: estimated }
  done: { terminal: true, outcome: done }
  cancelled: { terminal: true, outcome: cancelled }
transitions:
  start: { from: todo, to: doing }
  finish: { from: doing, to: done }
  rework: { from: doing, to: todo, rework: true }
  cancel: { from: [todo, doing], to: cancelled, allow_held: true }
signals:
  stalled: { idle_for: 7d }
  oldies: { age: 7d }
"#;

// ---------------------------------------------------------------------------------------------
// The world of one size: the engine and its store, petgraph's graph with the same edges, and
// the adjacency the adds are chosen from.

struct World {
    n: usize,
    engine: Engine<MemoryStore>,
    clock: ManualClock,
    actor: Actor,
    /// Item of each index (creation order).
    ids: Vec<ItemId>,
    /// petgraph: one node per item, an edge from each dependency to its dependent.
    graph: Acyclic<DiGraph<(), ()>>,
    nodes: Vec<NodeIndex>,
    /// Dependencies and dependents of each index, kept in step with both sides.
    deps: Vec<Vec<u32>>,
    dependents: Vec<Vec<u32>>,
    start: DateTime<Utc>,
    rng: Rng,
}

fn start_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
}

impl World {
    fn build(n: usize, workflow: &Workflow) -> World {
        let start = start_instant();
        let clock = ManualClock::new(start);
        let engine = Engine::builder()
            .store(MemoryStore::new())
            .workflow(workflow.clone())
            .clock(clock.clone())
            .build()
            .expect("the engine builds");
        let mut world = World {
            n,
            engine,
            clock,
            actor: Actor::new("bench", []),
            ids: Vec::with_capacity(n),
            graph: Acyclic::new(),
            nodes: Vec::with_capacity(n),
            deps: vec![Vec::new(); n],
            dependents: vec![Vec::new(); n],
            start,
            rng: Rng::new(0x5EED_0000 + n as u64),
        };
        let minute = TimeDelta::minutes(1);
        for k in 0..n {
            world.clock.advance(minute);
            let effort = 1 + world.rng.below(8);
            let item = world
                .engine
                .create(
                    &world.actor,
                    NewItem::of("task").fields(json!({ "effort": effort })),
                )
                .expect("the item is created");
            world.ids.push(item.id());
            world.nodes.push(world.graph.add_node(()));
            if k % 10 != 0 {
                world
                    .engine
                    .set_parent(item.id(), Some(world.ids[k / 10 * 10]), &world.actor)
                    .expect("the parent is set");
            }
            let want = DEPS_PER_ITEM.min(k);
            let mut chosen = Vec::with_capacity(want);
            while chosen.len() < want {
                let d = world.rng.below(k);
                if !chosen.contains(&d) {
                    chosen.push(d);
                }
            }
            for d in chosen {
                world.add_both(k, d);
            }
        }
        // Moves, in creation order, a minute apart.
        for k in 0..n {
            let id = world.ids[k];
            let roll = world.rng.below(100);
            let mv = |w: &World, t: &str| {
                w.clock.advance(minute);
                w.engine
                    .advance(id, &w.actor, Move::transition(t))
                    .expect("the move is allowed");
            };
            match roll {
                0..40 => {
                    mv(&world, "start");
                    mv(&world, "finish");
                }
                40..45 => mv(&world, "cancel"),
                45..65 => {
                    mv(&world, "start");
                    if roll < 47 {
                        world
                            .engine
                            .hold(id, &world.actor, "blocked", "waiting")
                            .expect("the hold is put on");
                    }
                }
                _ => {}
            }
        }
        world
    }

    /// Makes index `a` depend on index `b` on both sides (untimed).
    fn add_both(&mut self, a: usize, b: usize) {
        self.engine
            .add_dependency(self.ids[a], self.ids[b], &self.actor)
            .expect("the dependency is accepted");
        self.graph
            .try_add_edge(self.nodes[b], self.nodes[a], ())
            .expect("petgraph accepts the edge");
        self.note(a, b);
    }

    fn note(&mut self, a: usize, b: usize) {
        self.deps[a].push(b as u32);
        self.dependents[b].push(a as u32);
    }

    /// The indexes that depend on `a`, directly or not.
    fn depending_on(&self, a: usize) -> BTreeSet<u32> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![a as u32];
        while let Some(x) = stack.pop() {
            for &d in &self.dependents[x as usize] {
                if seen.insert(d) {
                    stack.push(d);
                }
            }
        }
        seen
    }

    fn edges(&self) -> usize {
        self.deps.iter().map(Vec::len).sum()
    }

    /// `ADDS_PER_KIND` adds of each kind, in rotation. Each accepted add is undone before the
    /// next, so every add is made to the graph as built.
    fn plan(&mut self) -> Vec<Add> {
        let n = self.n;
        let mut adds = Vec::with_capacity(3 * ADDS_PER_KIND);
        for i in 0..3 * ADDS_PER_KIND {
            let kind = Kind::ALL[i % 3];
            let add = loop {
                let a = self.rng.below(n - 1) + usize::from(kind == Kind::InOrder);
                let above = self.depending_on(a);
                let b = match kind {
                    Kind::InOrder => self.rng.below(a),
                    Kind::AgainstOrder => a + 1 + self.rng.below(n - 1 - a),
                    Kind::Cycle => {
                        if above.is_empty() {
                            continue;
                        }
                        // Any item that depends on `a`: pick one of them at random.
                        let pick = self.rng.below(above.len());
                        *above.iter().nth(pick).expect("in range") as usize
                    }
                };
                let closes = above.contains(&(b as u32));
                if kind == Kind::Cycle {
                    break Add { a, b, kind };
                }
                if closes || self.deps[a].contains(&(b as u32)) {
                    continue;
                }
                break Add { a, b, kind };
            };
            adds.push(add);
        }
        adds
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// On an earlier item: accepted.
    InOrder,
    /// On a later item that does not depend on it: accepted.
    AgainstOrder,
    /// On an item that depends on it: refused.
    Cycle,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::InOrder, Kind::AgainstOrder, Kind::Cycle];

    fn label(self) -> &'static str {
        match self {
            Kind::InOrder => "accepted, on an earlier item",
            Kind::AgainstOrder => "accepted, on a later item",
            Kind::Cycle => "refused, closes a cycle",
        }
    }
}

/// Index `a` is to depend on index `b`.
#[derive(Clone, Copy, Debug)]
struct Add {
    a: usize,
    b: usize,
    kind: Kind,
}

// ---------------------------------------------------------------------------------------------
// 1. Adding one dependency.

/// One call, timed.
fn timed<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let r = f();
    (start.elapsed(), r)
}

/// Per-call times of the two sides of a pair, by kind.
#[derive(Default)]
struct Latencies {
    ours: Vec<(Kind, Duration)>,
    petgraph: Vec<(Kind, Duration)>,
}

impl Latencies {
    fn push(&mut self, kind: Kind, ours: Duration, petgraph: Duration) {
        self.ours.push((kind, ours));
        self.petgraph.push((kind, petgraph));
    }
}

/// Nearest-rank percentile `p` (0–100) of `times` of `kind` (all kinds for `None`), in ns.
fn percentile(times: &[(Kind, Duration)], kind: Option<Kind>, p: f64) -> f64 {
    let mut v: Vec<f64> = times
        .iter()
        .filter(|(k, _)| kind.is_none_or(|want| *k == want))
        .map(|(_, d)| d.as_secs_f64() * 1e9)
        .collect();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn show_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The petgraph side of one add; the edge, if petgraph accepted it.
#[inline(never)]
fn petgraph_add(world: &mut World, add: Add) -> (Duration, Option<EdgeIndex>) {
    let (from, to) = (world.nodes[add.b], world.nodes[add.a]);
    let (t, r) = timed(|| world.graph.try_add_edge(black_box(from), black_box(to), ()));
    (t, r.ok())
}

/// The cycle check alone, inside a read transaction (the lock is taken outside the timing).
#[inline(never)]
fn check_alone(world: &World, add: Add) -> (Duration, bool) {
    let (id, on) = (world.ids[add.a], world.ids[add.b]);
    world
        .engine
        .store()
        .read(|tx| -> Result<_, StoreError> {
            let (t, path) = timed(|| dependency_path(tx, black_box(on), black_box(id)));
            Ok((t, path?.is_none()))
        })
        .expect("the store reads")
}

/// The cycle check, then the store's append of the event (indexes, rank order), the event
/// made and sealed outside the timing: what the engine does, less building the event.
#[inline(never)]
fn check_and_append(world: &World, add: Add) -> (Duration, bool) {
    let (id, on) = (world.ids[add.a], world.ids[add.b]);
    let now = world.clock.now();
    world
        .engine
        .store()
        .write(|tx| -> Result<_, StoreError> {
            let current = tx.item(id)?.expect("the item exists");
            let event = current
                .next_event(now, "bench", Change::DependencyAdded { on })
                .seal();
            let mut next = current.clone();
            next.apply(&event)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let (t, accepted) = timed(|| -> Result<bool, StoreError> {
                if dependency_path(&*tx, black_box(on), black_box(id))?.is_some() {
                    return Ok(false);
                }
                tx.append(event, next)?;
                Ok(true)
            });
            Ok((t, accepted?))
        })
        .expect("the store writes")
}

#[inline(never)]
fn engine_add(world: &World, add: Add) -> (Duration, bool) {
    let (id, on) = (world.ids[add.a], world.ids[add.b]);
    let (t, r) = timed(|| {
        world
            .engine
            .add_dependency(black_box(id), black_box(on), &world.actor)
    });
    match r {
        Ok(item) => {
            black_box(item);
            (t, true)
        }
        Err(e) if e.refused().is_some() => (t, false),
        Err(e) => panic!("add_dependency failed: {e}"),
    }
}

/// Runs the adds `plan` made: both sides timed call by call, alternating which goes first;
/// `ours` is the engine side, and `ours_adds` says whether it stores the edge (the check
/// alone does not: the engine's add follows, untimed). Then each accepted add is undone on
/// both sides (untimed), so every add meets the graph as built, with the order each side
/// repaired along the way.
fn measure_adds(
    world: &mut World,
    adds: &[Add],
    ours: fn(&World, Add) -> (Duration, bool),
    ours_adds: bool,
) -> Latencies {
    let mut lat = Latencies::default();
    for (i, &add) in adds.iter().enumerate() {
        let ((t_ours, ok_ours), (t_pg, edge)) = if i % 2 == 0 {
            let o = ours(world, add);
            (o, petgraph_add(world, add))
        } else {
            let p = petgraph_add(world, add);
            (ours(world, add), p)
        };
        let accepted = add.kind != Kind::Cycle;
        assert_eq!(ok_ours, accepted, "{add:?}: the engine disagrees");
        assert_eq!(edge.is_some(), accepted, "{add:?}: petgraph disagrees");
        if let Some(edge) = edge {
            let (id, on) = (world.ids[add.a], world.ids[add.b]);
            if !ours_adds {
                world
                    .engine
                    .add_dependency(id, on, &world.actor)
                    .expect("the dependency is accepted");
            }
            world
                .engine
                .remove_dependency(id, on, &world.actor)
                .expect("the dependency is removed");
            world.graph.remove_edge(edge);
        }
        lat.push(add.kind, t_ours, t_pg);
    }
    lat
}

/// The cost of timing nothing, as `timed` does it: the floor under every per-call figure.
fn timer_floor() -> f64 {
    let times: Vec<(Kind, Duration)> = (0..10_000)
        .map(|_| (Kind::InOrder, timed(|| black_box(0)).0))
        .collect();
    percentile(&times, None, 50.0)
}

/// Prints a pair's ratios. With no `note`, the line is held to the target (p50 ≤ 2×, set at
/// 100k items); with one, the note says why it is shown without a verdict.
fn print_pair(label: &str, lat: &Latencies, note: Option<&str>) {
    let row = |kind: Option<Kind>, what: &str| {
        let (o50, o99) = (
            percentile(&lat.ours, kind, 50.0),
            percentile(&lat.ours, kind, 99.0),
        );
        let (p50, p99) = (
            percentile(&lat.petgraph, kind, 50.0),
            percentile(&lat.petgraph, kind, 99.0),
        );
        (o50, o99, p50, p99, what.to_owned())
    };
    let (o50, o99, p50, p99, _) = row(None, "all");
    let ratio = o50 / p50;
    let verdict = match (note, ratio <= 2.0) {
        (None, true) => "(target p50 ≤ 2) met".to_owned(),
        (None, false) => "(target p50 ≤ 2) MISSED".to_owned(),
        (Some(note), _) => format!("({note})"),
    };
    println!(
        "ratio {label} = {ratio:.2} p50, {:.2} p99 {verdict}",
        o99 / p99
    );
    println!(
        "    all {} adds: ours p50 {} p99 {}, petgraph p50 {} p99 {}",
        lat.ours.len(),
        show_ns(o50),
        show_ns(o99),
        show_ns(p50),
        show_ns(p99)
    );
    for kind in Kind::ALL {
        let (o50, o99, p50, p99, what) = row(Some(kind), kind.label());
        println!(
            "    {what}: ours p50 {} p99 {}, petgraph p50 {} p99 {}; ratio {:.2} p50, {:.2} p99",
            show_ns(o50),
            show_ns(o99),
            show_ns(p50),
            show_ns(p99),
            o50 / p50,
            o99 / p99
        );
    }
}

fn add_dependency_section(world: &mut World) {
    let size = size_name(world.n);
    println!(
        "== add_dependency/{size}: {} items, {} dependencies; {} adds per measurement, a third of each kind",
        world.n,
        world.edges(),
        3 * ADDS_PER_KIND
    );
    // The check alone, then the check and the store's append, then end to end: each with
    // adds of its own.
    let adds = world.plan();
    let check = measure_adds(world, &adds, check_alone, false);
    let adds = world.plan();
    let append = measure_adds(world, &adds, check_and_append, true);
    let adds = world.plan();
    let end_to_end = measure_adds(world, &adds, engine_add, true);
    // The target is set at 100k items / 300k edges. petgraph's `try_add_edge` checks,
    // repairs its order and inserts the edge: the nearest of ours is the check and the
    // store's append (which repairs the ranks), and the whole add (which also makes the
    // ledger event) is held to it as well. The check alone does less than petgraph (no
    // repair, no insertion), so it is shown without a verdict.
    let reference = (world.n != 100_000).then_some("reference: the target is set at 100k");
    print_pair(
        &format!("check/petgraph ({size})"),
        &check,
        Some("the search alone, without the order's repair or the edge's insertion"),
    );
    print_pair(
        &format!("check+append/petgraph ({size})"),
        &append,
        reference,
    );
    print_pair(
        &format!("add_dependency/petgraph ({size})"),
        &end_to_end,
        reference,
    );
    println!(
        "    timer floor (an empty timed call, p50): {}",
        show_ns(timer_floor())
    );
}

// ---------------------------------------------------------------------------------------------
// 2–4. ready, signals, metrics.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Ready,
    Signals,
    Metrics,
    Query,
}

impl Op {
    const ALL: [Op; 4] = [Op::Ready, Op::Signals, Op::Metrics, Op::Query];

    fn name(self) -> &'static str {
        match self {
            Op::Ready => "ready",
            Op::Signals => "signals",
            Op::Metrics => "metrics",
            Op::Query => "query",
        }
    }

    /// Runs the operation over every item once; returns a count to check and keep.
    fn run(self, world: &World) -> usize {
        // One function per size, so that a profile (callgrind) tells the sizes apart.
        match world.n {
            1_000 => run_1k(self, world),
            10_000 => run_10k(self, world),
            100_000 => run_100k(self, world),
            _ => self.run_here(world),
        }
    }

    fn run_here(self, world: &World) -> usize {
        let all = Query::new();
        match self {
            Op::Ready => world.engine.ready(&all).expect("ready").len(),
            Op::Signals => world
                .engine
                .with_signal(Signal::Blocked, &all)
                .expect("signals")
                .len(),
            Op::Metrics => {
                let window = Window::new(world.start, world.clock.now() + TimeDelta::seconds(1));
                let report = world
                    .engine
                    .flow(&all, window, TimeDelta::days(1))
                    .expect("metrics");
                report.arrivals + report.wip_at_end
            }
            // The items at one workstation (a fifth of them), read through the store's
            // index by (workflow, workstation).
            Op::Query => world
                .engine
                .items(&Query::new().workflow("task").workstation("doing"))
                .expect("query")
                .len(),
        }
    }
}

#[inline(never)]
fn run_1k(op: Op, world: &World) -> usize {
    // The size, so the three functions differ and are not folded into one.
    black_box(1_000);
    op.run_here(world)
}

#[inline(never)]
fn run_10k(op: Op, world: &World) -> usize {
    // The size, so the three functions differ and are not folded into one.
    black_box(10_000);
    op.run_here(world)
}

#[inline(never)]
fn run_100k(op: Op, world: &World) -> usize {
    // The size, so the three functions differ and are not folded into one.
    black_box(100_000);
    op.run_here(world)
}

fn size_name(n: usize) -> String {
    if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

fn criterion_groups(c: &mut Criterion, worlds: &[World]) {
    for op in Op::ALL {
        let mut group = c.benchmark_group(op.name());
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1));
        for world in worlds {
            // One pass over 100k items takes most of a second: ten samples need longer.
            group.measurement_time(Duration::from_secs(if world.n >= 100_000 { 10 } else { 3 }));
            group.throughput(Throughput::Elements(world.n as u64));
            group.bench_function(BenchmarkId::from_parameter(size_name(world.n)), |b| {
                b.iter(|| black_box(op.run(world)))
            });
        }
        group.finish();
    }
}

/// Each size in rotation, `GROWTH_ROUNDS` times; per-item medians and per-round growth.
fn growth_section(op: Op, worlds: &[World]) {
    let mut per_item: Vec<Vec<f64>> = vec![Vec::new(); worlds.len()];
    let mut growth: Vec<Vec<f64>> = vec![Vec::new(); worlds.len().saturating_sub(1)];
    for world in worlds {
        black_box(op.run(world));
    }
    for round in 0..GROWTH_ROUNDS {
        let mut this = vec![0.0; worlds.len()];
        for j in 0..worlds.len() {
            let w = (j + round) % worlds.len();
            let world = &worlds[w];
            let reps = (GROWTH_VISITS / world.n).max(1);
            let (t, _) = timed(|| {
                for _ in 0..reps {
                    black_box(op.run(world));
                }
            });
            this[w] = t.as_secs_f64() * 1e9 / (reps * world.n) as f64;
        }
        for (w, ns) in this.iter().enumerate() {
            per_item[w].push(*ns);
            if w > 0 {
                growth[w - 1].push(ns / this[w - 1]);
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let counts: Vec<String> = worlds
        .iter()
        .map(|w| format!("{} of {}", op.run(w), size_name(w.n)))
        .collect();
    println!(
        "== growth/{}: time per item, medians of {GROWTH_ROUNDS} rounds (sizes in rotation; result counts {})",
        op.name(),
        counts.join(", ")
    );
    let mut line = String::new();
    for (w, world) in worlds.iter().enumerate() {
        line.push_str(&format!(
            "{}{}: {}/item",
            if w > 0 { ", " } else { "" },
            size_name(world.n),
            show_ns(median(&mut per_item[w]))
        ));
    }
    println!("    {} {line}", op.name());
    for (w, g) in growth.iter_mut().enumerate() {
        let g = median(g);
        println!(
            "    growth of time per item {} -> {}: {g:.2}× ({} linear total time)",
            size_name(worlds[w].n),
            size_name(worlds[w + 1].n),
            if (0.75..=1.33).contains(&g) {
                "≈"
            } else if g > 1.33 {
                "worse than"
            } else {
                "better than"
            }
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Command line: the filter criterion takes, applied to the sections here too.

/// The positional filter, if any, and whether criterion runs in test or list mode.
fn filter() -> (Option<String>, bool) {
    const WITH_VALUE: [&str; 16] = [
        "-c",
        "--color",
        "-s",
        "--save-baseline",
        "-b",
        "--baseline",
        "--baseline-lenient",
        "--format",
        "--profile-time",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--plotting-backend",
    ];
    let mut found = None;
    let mut quiet_mode = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--test" || arg == "--list" {
            quiet_mode = true;
        } else if WITH_VALUE.contains(&arg.as_str())
            || arg == "--confidence-level"
            || arg == "--significance-level"
            || arg == "--output-format"
        {
            args.next();
        } else if !arg.starts_with('-') {
            found = Some(arg);
        }
    }
    (found, quiet_mode)
}

fn main() {
    let (filter, quiet_mode) = filter();
    let wants = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let workflow = parse("task.yaml", WORKFLOW).unwrap_or_else(|d| panic!("{d}"));

    let growth_ops: Vec<Op> = Op::ALL
        .into_iter()
        .filter(|op| wants(&format!("growth/{}", op.name())))
        .collect();
    let criterion_wanted = SIZES.iter().any(|&n| {
        Op::ALL
            .iter()
            .any(|op| wants(&format!("{}/{}", op.name(), size_name(n))))
    });
    let sizes: Vec<usize> = SIZES
        .into_iter()
        .filter(|&n| {
            !growth_ops.is_empty()
                || wants(&format!("add_dependency/{}", size_name(n)))
                || Op::ALL
                    .iter()
                    .any(|op| wants(&format!("{}/{}", op.name(), size_name(n))))
        })
        .collect();
    if quiet_mode {
        // `cargo test --benches` or `--list`: criterion's groups only, on the smallest size.
        let worlds = vec![World::build(SIZES[0], &workflow)];
        let mut criterion = Criterion::default().configure_from_args();
        criterion_groups(&mut criterion, &worlds);
        return;
    }

    let mut worlds = Vec::new();
    for &n in &sizes {
        let (t, world) = timed(|| World::build(n, &workflow));
        println!(
            "built {} items, {} dependencies, {} events through the engine in {:.1} s",
            n,
            world.edges(),
            world.engine.store().event_count(),
            t.as_secs_f64()
        );
        worlds.push(world);
    }

    // The reads first, on the worlds as built (the adds leave ledger events behind).
    if criterion_wanted {
        let mut criterion = Criterion::default().configure_from_args();
        criterion_groups(&mut criterion, &worlds);
        criterion.final_summary();
    }
    for op in growth_ops {
        growth_section(op, &worlds);
    }
    for world in &mut worlds {
        if wants(&format!("add_dependency/{}", size_name(world.n))) {
            add_dependency_section(world);
        }
    }
}
