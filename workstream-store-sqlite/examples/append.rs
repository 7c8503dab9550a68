//! Appends one event per command through the engine on a SQLite store, for the comparison
//! with the nearest peer (`benches/peer.sh`): `<db> <normal|full> <commands>` moves 100
//! items round-robin, one commit per move, and prints the time per command in µs.

use std::time::Instant;

use workstream_core::{Actor, Engine, ItemId, Move, NewItem, parse};
use workstream_store_sqlite::{Durability, Options, SqliteStore};

const TOGGLE: &str = "
workflow: toggle
version: 1
workstations:
  a: { initial: true }
  b: {}
  done: { terminal: true }
transitions:
  ping: { from: a, to: b }
  pong: { from: b, to: a }
  finish: { from: [a, b], to: done }
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(db), Some(sync), Some(n)) = (
        args.get(1),
        args.get(2),
        args.get(3).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        return Err("usage: append <db> <normal|full> <commands>".into());
    };
    let durability = if sync == "full" {
        Durability::Full
    } else {
        Durability::Normal
    };
    let store = SqliteStore::open_with(db, Options::builder().durability(durability).build())?;
    let engine = Engine::builder()
        .store(store)
        .workflow(parse("toggle.yaml", TOGGLE)?)
        .build()?;
    let actor = Actor::new("bench", []);
    let ids: Vec<ItemId> = (0..100)
        .map(|_| engine.create(&actor, NewItem::of("toggle")).map(|i| i.id()))
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    for k in 0..n {
        let id = ids[(k % 100) as usize];
        let name = if (k / 100).is_multiple_of(2) {
            "ping"
        } else {
            "pong"
        };
        engine.advance(id, &actor, Move::transition(name))?;
    }
    println!("{:.1}", start.elapsed().as_secs_f64() * 1e6 / n as f64);
    Ok(())
}
