//! Appends one event per command through the engine on a PostgreSQL store, for the
//! comparison with the nearest peer (`benches/peer.sh`): `<url> <schema> <commands>` makes
//! `schema` afresh, moves 100 items round-robin, one transaction per move, and prints the
//! time per command in µs.

use std::time::Instant;

use workstream_core::{Actor, Engine, ItemId, Move, NewItem, parse};
use workstream_store_postgres::{Options, PostgresStore};

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
    let (Some(url), Some(schema), Some(n)) = (
        args.get(1),
        args.get(2),
        args.get(3).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        return Err("usage: append <url> <schema> <commands>".into());
    };
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))?;
    drop(client);
    let store = PostgresStore::open_with(url, Options::builder().schema(schema).build())?;
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
