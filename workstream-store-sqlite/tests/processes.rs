//! Several processes on one database file, and writers killed mid-write.
//!
//! A test binary without the libtest harness: run with no arguments it is the parent, which
//! runs each scenario and prints `N passed, M failed`; the parent starts copies of itself as
//! children (`--writer …`, `--crasher …`), which write through the engine and print one line
//! per acknowledged event, `ack <item> <seq> <hash>`, after its commit returned.
//!
//! - **processes**: 4 children move and edit the same items at once. Afterwards every chain
//!   verifies, every acknowledged event is stored (and nothing else was), every move was
//!   one the workflow allows from where the item was, and each stored state equals the
//!   replay of its events.
//! - **crashes**: a writing child is killed with SIGKILL at a random moment, 24 times. After
//!   each kill the database opens, every event acknowledged before the kill (in this round
//!   or an earlier one) is there, at most one event per round was committed without being
//!   acknowledged, chains verify and states equal replays. The store runs with
//!   `Durability::Full`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread;
use std::time::Duration;

use common::TempDir;
use serde_json::json;
use workstream_core::testing::{Ack, Outcome, XorShift, read_lines, run_scenarios, workflow};
use workstream_core::{Actor, Engine, Error, ItemId, Move, NewItem, Reader, Store};
use workstream_store_sqlite::{Durability, Options, SqliteStore};

/// Items the writers share; the first 3 start in `doing` (its WIP limit), the others in
/// `todo`, so writers also race for places in `doing`.
const ITEMS: u64 = 5;
/// Writer processes in the concurrent scenario, and the operations each makes.
const WRITERS: usize = 4;
const OPERATIONS: usize = 250;
/// Kills in the crash scenario.
const KILLS: usize = 24;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--writer") => return child(&args[2..], false),
        Some("--crasher") => return child(&args[2..], true),
        _ => {}
    }
    run_scenarios([
        (
            "processes",
            Box::new(concurrent_processes) as Box<dyn Fn() -> Outcome>,
        ),
        ("crashes", Box::new(crashes)),
    ])
}

// ---------------------------------------------------------------------------------------
// The children

fn engine(store: SqliteStore) -> Engine<SqliteStore> {
    Engine::builder()
        .store(store)
        .workflow(workflow())
        .build()
        .unwrap_or_else(|e| panic!("engine: {e}"))
}

fn options() -> Options {
    Options::builder()
        .durability(Durability::Full)
        .busy_timeout(Duration::from_secs(60))
        .build()
}

/// A writer: `<db> <seed>`. It makes random changes to the shared items, and prints an
/// `ack` line for each one the engine returned as done. A crasher never stops by itself.
fn child(args: &[String], forever: bool) -> ExitCode {
    let (Some(db), Some(seed)) = (args.first(), args.get(1).and_then(|s| s.parse().ok())) else {
        eprintln!("usage: --writer|--crasher <db> <seed>");
        return ExitCode::FAILURE;
    };
    let store = match SqliteStore::open_with(db, options()) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("child: open: {e}");
            return ExitCode::FAILURE;
        }
    };
    let engine = engine(store);
    let mut rng = XorShift::new(seed);
    let actor = Actor::new(format!("writer{seed}"), ["worker"]);
    let mut out = std::io::stdout().lock();
    let mut refused = 0usize;
    let mut n = 0usize;
    while forever || n < OPERATIONS {
        n += 1;
        let id = ItemId(1 + rng.below(ITEMS));
        let result = match rng.below(10) {
            0..=4 => match engine.item(id) {
                Ok(seen) => {
                    let name = match seen.workstation() {
                        "todo" => "start",
                        "doing" => "ping",
                        _ => "pong",
                    };
                    let mv = Move::transition(name).payload(json!({"writer": seed, "n": n}));
                    // Half the moves say where the writer saw the item.
                    let mv = if rng.below(2) == 0 {
                        mv.only_from(seen.workstation().to_owned())
                    } else {
                        mv
                    };
                    engine.advance(id, &actor, mv)
                }
                Err(e) => Err(e),
            },
            5..=7 => engine.update_fields(
                id,
                &actor,
                json!({"last": seed, format!("w{seed}"): n, "text": "x".repeat(rng.below(300) as usize)}),
            ),
            8 => engine.hold(id, &actor, "paused", "a pause"),
            _ => engine.release(id, &actor, "paused"),
        };
        match result {
            Ok(item) => {
                // One write per line, flushed: a line is whole or absent.
                let line = Ack::line(&item);
                if out
                    .write_all(line.as_bytes())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return ExitCode::FAILURE;
                }
            }
            Err(Error::Refused(_) | Error::Conflict { .. }) => refused += 1,
            Err(e) => {
                eprintln!("child {seed}: operation {n} on {id}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let _ = writeln!(out, "done {refused}");
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------
// The parent's checks

/// Creates the shared items, each with an owner; the first 3 in `doing`. Returns the number
/// of events made.
fn setup(db: &Path) -> Result<usize, String> {
    let engine = engine(SqliteStore::open_with(db, options()).map_err(|e| e.to_string())?);
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

/// Every check the parent makes on the database: it opens; every acknowledged event is
/// stored with the acknowledged hash; chains verify and states equal replays; every move
/// was allowed by the workflow from where the item was, and none moved a held item.
/// Returns the number of events stored.
fn check(db: &Path, acks: &[Ack]) -> Result<usize, String> {
    let engine = engine(SqliteStore::open_with(db, options()).map_err(|e| format!("open: {e}"))?);
    let verified = engine
        .verify_all()
        .map_err(|e| format!("verify_all: {e}"))?;
    let chains = engine
        .store()
        .read(|tx| {
            let mut chains = BTreeMap::new();
            for id in tx.item_ids()? {
                chains.insert(id, tx.events(id, 1)?);
            }
            Ok::<_, workstream_core::StoreError>(chains)
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
    Ok(verified.events)
}

fn spawn(kind: &str, db: &Path, seed: u64) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    Command::new(exe)
        .arg(kind)
        .arg(db)
        .arg(seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))
}

// ---------------------------------------------------------------------------------------
// The scenarios

fn concurrent_processes() -> Outcome {
    let dir = TempDir::new("processes");
    let db = dir.join("shared.db");
    let initial = setup(&db)?;
    let mut children = Vec::new();
    for seed in 1..=WRITERS as u64 {
        let mut child = spawn("--writer", &db, seed)?;
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
    let stored = check(&db, &acks)?;
    // Nothing was stored that no writer was told about.
    if stored != initial + acks.len() {
        return Err(format!(
            "{stored} events stored, but {initial} made by the setup and {} acknowledged",
            acks.len()
        ));
    }
    Ok(format!(
        "{WRITERS} processes, {} events acknowledged, {refused} refused",
        acks.len()
    ))
}

fn crashes() -> Outcome {
    let dir = TempDir::new("crashes");
    let db = dir.join("crash.db");
    let initial = setup(&db)?;
    let mut rng = XorShift::new(0x5EED);
    let mut acks: Vec<Ack> = Vec::new();
    for round in 0..KILLS {
        let mut child = spawn("--crasher", &db, round as u64 + 100)?;
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
        let stored = check(&db, &acks).map_err(|e| format!("after kill {}: {e}", round + 1))?;
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
        "{KILLS} kills, {} events acknowledged, all present",
        acks.len()
    ))
}
