//! Several processes on one PostgreSQL schema, writers killed mid-write, and the server
//! restarted under writers.
//!
//! A test binary without the libtest harness: run with no arguments it is the parent, which
//! runs each scenario and prints `N passed, M failed`; the parent starts copies of itself as
//! children (`--writer …`, `--crasher …`, `--driller …`), which write through the engine
//! and print one line per acknowledged event, `ack <item> <seq> <hash>`, after its commit
//! returned.
//!
//! - **processes**: 4 children race on 8 shared items: moves (entries into `doing`, whose
//!   WIP limit is 3, among them), field edits, holds, and dependencies added and removed
//!   between random pairs (so pairs race to close cycles). Afterwards every acknowledged
//!   event is stored and nothing else was (0 lost), no event was acknowledged twice (0
//!   duplicated), every chain verifies and every move was one the workflow allows from
//!   where the item was (0 invalid), replaying the whole ledger in the order of its
//!   instants never puts more than 3 items in `doing`, and the dependencies never form a
//!   cycle at any instant.
//! - **crashes**: a writing child is killed with SIGKILL at a random moment, 24 times.
//!   After each kill every acknowledged event is there, at most one event per round was
//!   committed without being acknowledged, and chains verify.
//! - **restart**: two children write while the server is stopped at once (`pg_ctl stop -m
//!   immediate`) for 4 seconds and started again. Calls during the outage fail with a clear
//!   error within the busy timeout (none hangs, none panics); the children go on writing
//!   once the server is back, on new connections the store made by itself; no
//!   acknowledged event is lost.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use workstream_core::testing::{Ack, Outcome, XorShift, read_lines, run_scenarios, workflow};
use workstream_core::{
    Actor, Change, Engine, Error, Event, ItemId, Move, NewItem, Reader, Store, StoreError,
};
use workstream_store_postgres::testing::{Cluster, server, unavailable};
use workstream_store_postgres::{Options, PostgresStore};

/// Items the writers share; the first 3 start in `doing` (its WIP limit).
const ITEMS: u64 = 8;
/// Writer processes in the concurrent scenario, and the operations each makes.
const WRITERS: usize = 4;
const OPERATIONS: usize = 1_500;
/// Kills in the crash scenario.
const KILLS: usize = 24;
/// The busy timeout of the restart drill's writers, and how long the server stays down.
const DRILL_TIMEOUT: Duration = Duration::from_millis(1_500);
const OUTAGE: Duration = Duration::from_secs(4);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--writer") => return child(&args[2..], Mode::Count(OPERATIONS)),
        Some("--crasher") => return child(&args[2..], Mode::Forever),
        Some("--driller") => return child(&args[2..], Mode::Drill),
        _ => {}
    }
    let Some(server) = server("the PostgreSQL process tests") else {
        println!("\n0 passed, 0 failed (no PostgreSQL server; see above)");
        return ExitCode::SUCCESS;
    };
    let url = server.url();
    type Scenario<'a> = (&'static str, Box<dyn Fn() -> Outcome + 'a>);
    let scenarios: Vec<Scenario> = vec![
        ("processes", Box::new(|| concurrent_processes(&url))),
        ("crashes", Box::new(|| crashes(&url))),
        ("restart", Box::new(restart_drill)),
    ];
    run_scenarios(scenarios)
}

// ---------------------------------------------------------------------------------------
// The children

fn engine(store: PostgresStore) -> Engine<PostgresStore> {
    Engine::builder()
        .store(store)
        .workflow(workflow())
        .build()
        .unwrap_or_else(|e| panic!("engine: {e}"))
}

fn open(url: &str, schema: &str, busy: Duration) -> Result<PostgresStore, String> {
    let options = Options::builder()
        .schema(schema)
        .busy_timeout(busy)
        .pool_size(2)
        .build();
    PostgresStore::open_with(url, options).map_err(|e| e.to_string())
}

#[derive(Clone, Copy)]
enum Mode {
    /// This many operations, then `done <refused>`.
    Count(usize),
    /// Until killed.
    Forever,
    /// For 12 seconds, tolerating (and reporting) the errors of a server that went away.
    Drill,
}

/// One random change to a shared item.
fn operate(
    engine: &Engine<PostgresStore>,
    rng: &mut XorShift,
    actor: &Actor,
    seed: u64,
    n: usize,
) -> Result<workstream_core::Item, Error> {
    let id = ItemId(1 + rng.below(ITEMS));
    match rng.below(12) {
        0..=4 => {
            let seen = engine.item(id)?;
            let name = match seen.workstation() {
                "todo" => "start",
                "doing" => "ping",
                _ => "pong",
            };
            let mv = Move::transition(name).payload(json!({"writer": seed, "n": n}));
            let mv = if rng.below(2) == 0 {
                mv.only_from(seen.workstation().to_owned())
            } else {
                mv
            };
            engine.advance(id, actor, mv)
        }
        5..=6 => engine.update_fields(id, actor, json!({"last": seed, format!("w{seed}"): n})),
        7 => engine.hold(id, actor, "paused", "a pause"),
        8 => engine.release(id, actor, "paused"),
        9..=10 => {
            let on = ItemId(1 + rng.below(ITEMS));
            engine.add_dependency(id, on, actor)
        }
        _ => {
            let item = engine.item(id)?;
            match item.deps().iter().next() {
                Some(on) => engine.remove_dependency(id, *on, actor),
                None => engine.add_dependency(id, ItemId(1 + rng.below(ITEMS)), actor),
            }
        }
    }
}

/// A writer: `<url> <schema> <seed>`. It makes random changes to the shared items, and
/// prints an `ack` line for each one the engine returned as done.
fn child(args: &[String], mode: Mode) -> ExitCode {
    let (Some(url), Some(schema), Some(seed)) = (
        args.first(),
        args.get(1),
        args.get(2).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: --writer|--crasher|--driller <url> <schema> <seed>");
        return ExitCode::FAILURE;
    };
    let busy = match mode {
        Mode::Drill => DRILL_TIMEOUT,
        _ => Duration::from_secs(60),
    };
    let engine = match open(url, schema, busy) {
        Ok(store) => engine(store),
        Err(e) => {
            eprintln!("child: open: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut rng = XorShift::new(seed);
    let actor = Actor::new(format!("writer{seed}"), ["worker"]);
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| {
        out.write_all(line.as_bytes())
            .and_then(|()| out.flush())
            .is_ok()
    };
    let started = Instant::now();
    let mut refused = 0usize;
    let mut n = 0usize;
    loop {
        match mode {
            Mode::Count(count) if n >= count => break,
            Mode::Drill if started.elapsed() > Duration::from_secs(12) => break,
            _ => {}
        }
        n += 1;
        let call = Instant::now();
        let result = operate(&engine, &mut rng, &actor, seed, n);
        let took = call.elapsed();
        match result {
            Ok(item) => {
                // One write per line, flushed: a line is whole or absent.
                if !say(Ack::line(&item)) {
                    return ExitCode::FAILURE;
                }
            }
            Err(Error::Refused(_) | Error::Conflict { .. }) => refused += 1,
            Err(Error::Store(
                e @ (StoreError::Unavailable { .. } | StoreError::CommitUnknown { .. }),
            )) if matches!(mode, Mode::Drill) => {
                let kind = match e {
                    StoreError::Unavailable { .. } => "unavailable",
                    _ => "unknown",
                };
                if !say(format!("err {kind} {} {e}\n", took.as_millis())) {
                    return ExitCode::FAILURE;
                }
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                eprintln!("child {seed}: operation {n}: {e}");
                return ExitCode::FAILURE;
            }
        }
        if matches!(mode, Mode::Drill) && !say(format!("took {}\n", took.as_millis())) {
            return ExitCode::FAILURE;
        }
    }
    let _ = say(format!("done {refused}\n"));
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------
// The parent's checks

/// Creates the shared items, each with an owner; the first 3 in `doing`. Returns the number
/// of events made.
fn setup(url: &str, schema: &str) -> Result<usize, String> {
    let engine = engine(open(url, schema, Duration::from_secs(30))?);
    let actor = Actor::new("setup", ["worker"]);
    for i in 0..ITEMS {
        let item = engine
            .create(
                &actor,
                NewItem::of("conformance").fields(json!({"owner": "setup"})),
            )
            .map_err(|e| e.to_string())?;
        if i < 3 {
            engine
                .advance(item.id(), &actor, Move::transition("start"))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(ITEMS as usize + 3)
}

/// Every check the parent makes on the schema: every acknowledged event is stored with the
/// acknowledged hash; chains verify and states equal replays; every move was allowed by the
/// workflow from where the item was, and none moved a held item. Returns the chains.
fn check(url: &str, schema: &str, acks: &[Ack]) -> Result<BTreeMap<ItemId, Vec<Event>>, String> {
    let engine = engine(open(url, schema, Duration::from_secs(30))?);
    engine
        .verify_all()
        .map_err(|e| format!("verify_all: {e}"))?;
    let report = engine.audit().map_err(|e| format!("audit: {e}"))?;
    if !report.is_clean() {
        return Err(format!("the audit found problems: {report}"));
    }
    let chains = engine
        .store()
        .read(|tx| {
            let mut chains = BTreeMap::new();
            for id in tx.item_ids()? {
                chains.insert(id, tx.events(id, 1)?);
            }
            Ok::<_, StoreError>(chains)
        })
        .map_err(|e| e.to_string())?;
    for ack in acks {
        let stored = chains
            .get(&ItemId(ack.item))
            .and_then(|events| events.get(ack.seq.wrapping_sub(1) as usize));
        match stored {
            Some(event) if event.hash().to_string() == ack.hash => {}
            Some(event) => {
                return Err(format!(
                    "item {}, event {}: acknowledged with {}, stored with {}",
                    ack.item,
                    ack.seq,
                    ack.hash,
                    event.hash()
                ));
            }
            None => {
                return Err(format!(
                    "item {}, event {} was acknowledged but is not stored",
                    ack.item, ack.seq
                ));
            }
        }
    }
    let workflow = workflow();
    for (id, events) in &chains {
        workstream_core::testing::moves_allowed(&workflow, *id, events)?;
    }
    Ok(chains)
}

fn stored_events(chains: &BTreeMap<ItemId, Vec<Event>>) -> usize {
    chains.values().map(Vec::len).sum()
}

/// Replays every chain together, in the order of the events' instants, and checks at every
/// instant that `doing` holds at most 3 items (its WIP limit) and that the dependencies form
/// no cycle. Returns the most items `doing` held and the number of dependency changes.
fn replay_in_time(chains: &BTreeMap<ItemId, Vec<Event>>) -> Result<(usize, usize), String> {
    let mut all: Vec<&Event> = chains.values().flatten().collect();
    all.sort_by_key(|e| (e.at(), e.item(), e.seq()));
    for pair in all.windows(2) {
        if pair[0].at() == pair[1].at() && pair[0].item() != pair[1].item() {
            return Err(format!(
                "events of items {} and {} share the instant {}: the order of the ledger is \
                 not known",
                pair[0].item(),
                pair[1].item(),
                pair[0].at()
            ));
        }
    }
    let mut place: HashMap<ItemId, String> = HashMap::new();
    let mut deps: BTreeSet<(ItemId, ItemId)> = BTreeSet::new();
    let (mut most, mut changes) = (0, 0);
    for event in all {
        match event.change() {
            Change::Created { workstation, .. } => {
                place.insert(event.item(), workstation.clone());
            }
            Change::Transitioned { to, .. } => {
                place.insert(event.item(), to.clone());
            }
            Change::DependencyAdded { on } => {
                deps.insert((event.item(), *on));
                changes += 1;
                if let Some(cycle) = cycle_through(&deps, event.item()) {
                    return Err(format!(
                        "at {}, item {} depending on {on} closed the cycle {cycle:?}",
                        event.at(),
                        event.item()
                    ));
                }
            }
            Change::DependencyRemoved { on } => {
                deps.remove(&(event.item(), *on));
                changes += 1;
            }
            _ => {}
        }
        let doing = place.values().filter(|w| *w == "doing").count();
        most = most.max(doing);
        if doing > 3 {
            return Err(format!(
                "at {} (item {}, event {}), {doing} items are in `doing`, whose WIP limit is 3",
                event.at(),
                event.item(),
                event.seq()
            ));
        }
    }
    Ok((most, changes))
}

/// A path of dependencies from `start` back to itself, if there is one.
fn cycle_through(deps: &BTreeSet<(ItemId, ItemId)>, start: ItemId) -> Option<Vec<ItemId>> {
    let mut stack = vec![(start, vec![start])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for &(_, on) in deps.range((at, ItemId(0))..=(at, ItemId(u64::MAX))) {
            if on == start {
                let mut cycle = path.clone();
                cycle.push(on);
                return Some(cycle);
            }
            if seen.insert(on) {
                let mut next = path.clone();
                next.push(on);
                stack.push((on, next));
            }
        }
    }
    None
}

fn spawn(kind: &str, url: &str, schema: &str, seed: u64) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    Command::new(exe)
        .args([kind, url, schema, &seed.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))
}

fn fresh_schema(name: &str) -> String {
    format!("proc_{name}_{}", std::process::id())
}

// ---------------------------------------------------------------------------------------
// The scenarios

fn concurrent_processes(url: &str) -> Outcome {
    let schema = fresh_schema("race");
    let initial = setup(url, &schema)?;
    let mut children = Vec::new();
    for seed in 1..=WRITERS as u64 {
        let mut child = spawn("--writer", url, &schema, seed)?;
        let lines = read_lines(&mut child);
        children.push((child, lines));
    }
    let mut acks = Vec::new();
    let mut refused = 0usize;
    for (i, (mut child, (lines, reader))) in children.into_iter().enumerate() {
        let status = child.wait().map_err(|e| e.to_string())?;
        let _ = reader.join();
        let lines: Vec<String> = lines.try_iter().collect();
        if !status.success() {
            return Err(format!("writer {} failed: {status}", i + 1));
        }
        for line in &lines {
            if let Some(ack) = Ack::parse(line) {
                acks.push(ack);
            } else if let Some(n) = line.strip_prefix("done ") {
                refused += n.parse::<usize>().map_err(|e| e.to_string())?;
            } else {
                return Err(format!("writer {}: unexpected line `{line}`", i + 1));
            }
        }
    }
    if acks.len() + refused != WRITERS * OPERATIONS {
        return Err(format!(
            "{} acknowledged + {refused} refused is not the {} operations made",
            acks.len(),
            WRITERS * OPERATIONS
        ));
    }
    let distinct: BTreeSet<(u64, u64)> = acks.iter().map(|a| (a.item, a.seq)).collect();
    if distinct.len() != acks.len() {
        return Err("two writers were acknowledged the same event".into());
    }
    let chains = check(url, &schema, &acks)?;
    let stored = stored_events(&chains);
    // Nothing was stored that no writer was told about.
    if stored != initial + acks.len() {
        return Err(format!(
            "{stored} events stored, but {initial} made by the setup and {} acknowledged",
            acks.len()
        ));
    }
    let (most, dep_changes) = replay_in_time(&chains)?;
    if most != 3 || dep_changes == 0 {
        return Err(format!(
            "the race did not exercise the limits: `doing` held at most {most}, \
             {dep_changes} dependency changes"
        ));
    }
    Ok(format!(
        "{WRITERS} processes × {OPERATIONS} operations: {} events acknowledged, {refused} \
         refused, 0 lost, 0 duplicated, 0 invalid; `doing` at most {most} of 3; \
         {dep_changes} dependency changes, no cycle",
        acks.len()
    ))
}

fn crashes(url: &str) -> Outcome {
    let schema = fresh_schema("crash");
    let initial = setup(url, &schema)?;
    let mut rng = XorShift::new(0x5EED);
    let mut acks: Vec<Ack> = Vec::new();
    for round in 0..KILLS {
        let mut child = spawn("--crasher", url, &schema, round as u64 + 100)?;
        let (lines, reader) = read_lines(&mut child);
        // Wait until the child is writing, then let it run for a random while.
        let first = lines.recv_timeout(Duration::from_secs(30));
        let delay = Duration::from_micros(rng.below(60_000));
        thread::sleep(delay);
        child.kill().map_err(|e| format!("kill: {e}"))?;
        let status = child.wait().map_err(|e| e.to_string())?;
        let _ = reader.join();
        let Ok(first) = first else {
            return Err(format!(
                "round {round}: the child acknowledged nothing ({status})"
            ));
        };
        for line in std::iter::once(first).chain(lines.try_iter()) {
            let ack = Ack::parse(&line)
                .ok_or_else(|| format!("round {round}: unexpected line `{line}`"))?;
            acks.push(ack);
        }
        let chains =
            check(url, &schema, &acks).map_err(|e| format!("after kill {}: {e}", round + 1))?;
        let stored = stored_events(&chains);
        // Each child writes one event at a time: at most one per round committed without
        // being acknowledged before the kill.
        let unacknowledged = stored - initial - acks.len();
        if unacknowledged > round + 1 {
            return Err(format!(
                "after kill {}: {unacknowledged} events stored that no child acknowledged",
                round + 1
            ));
        }
    }
    Ok(format!(
        "{KILLS} kills with SIGKILL, {} events acknowledged, all present, no half-written \
         transaction",
        acks.len()
    ))
}

fn restart_drill() -> Outcome {
    let Some(shared) = server("the restart drill") else {
        return Err("no server".into());
    };
    if shared.cluster().is_none() {
        unavailable(
            "the restart drill",
            "it stops and starts a server of its own, which WORKSTREAM_POSTGRES_URL cannot \
             give; it runs when the harness starts the cluster",
        );
        return Ok("not run: an external server cannot be restarted".into());
    }
    // A cluster of its own, so stopping it disturbs no other test.
    let cluster = Cluster::start()?;
    let url = cluster.url();
    let schema = fresh_schema("drill");
    let initial = setup(&url, &schema)?;
    let mut children = Vec::new();
    for seed in 1..=2u64 {
        let mut child = spawn("--driller", &url, &schema, seed + 500)?;
        let lines = read_lines(&mut child);
        children.push((child, lines));
    }
    thread::sleep(Duration::from_secs(2));
    let down = Instant::now();
    cluster.kill()?;
    thread::sleep(OUTAGE);
    cluster.restart()?;
    let back = chrono::Utc::now();
    let outage = down.elapsed();
    let mut acks = Vec::new();
    let (mut unavailable_errors, mut unknown, mut slowest) = (0usize, 0usize, 0u128);
    let mut acks_by_child = Vec::new();
    for (i, (mut child, (lines, reader))) in children.into_iter().enumerate() {
        let status = child.wait().map_err(|e| e.to_string())?;
        let _ = reader.join();
        if !status.success() {
            return Err(format!("driller {} failed: {status}", i + 1));
        }
        let mut mine = 0;
        for line in lines.try_iter() {
            if let Some(ack) = Ack::parse(&line) {
                acks.push(ack);
                mine += 1;
            } else if let Some(rest) = line.strip_prefix("err ") {
                if rest.starts_with("unavailable") {
                    unavailable_errors += 1;
                } else {
                    unknown += 1;
                }
            } else if let Some(ms) = line.strip_prefix("took ") {
                slowest = slowest.max(ms.parse::<u128>().map_err(|e| e.to_string())?);
            } else if !line.starts_with("done ") {
                return Err(format!("driller {}: unexpected line `{line}`", i + 1));
            }
        }
        acks_by_child.push(mine);
    }
    if unavailable_errors == 0 {
        return Err("no call failed while the server was down".into());
    }
    // A call fails within the busy timeout, plus the connect timeout of its last attempt.
    let limit = (DRILL_TIMEOUT + Duration::from_secs(5)).as_millis();
    if slowest > limit {
        return Err(format!(
            "a call took {slowest} ms, more than the {limit} ms it may wait"
        ));
    }
    let chains = check(&url, &schema, &acks)?;
    let stored = stored_events(&chains);
    let after: usize = chains.values().flatten().filter(|e| e.at() > back).count();
    if after == 0 {
        return Err("no event was written after the server came back".into());
    }
    if stored < initial + acks.len() || stored > initial + acks.len() + unknown {
        return Err(format!(
            "{stored} events stored, {initial} by the setup and {} acknowledged",
            acks.len()
        ));
    }
    Ok(format!(
        "server down {:.1} s under 2 writers: {unavailable_errors} calls failed with \
         `Unavailable`, the slowest call took {slowest} ms (limit {limit}); {} events \
         acknowledged ({acks_by_child:?} per writer), {after} written after the restart, none lost",
        outage.as_secs_f64(),
        acks.len()
    ))
}
