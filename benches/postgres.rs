//! PostgreSQL, and batches on every durable store, each against a baseline measured in the
//! same run, on a throwaway local cluster (or the server `WORKSTREAM_POSTGRES_URL` names):
//!
//! 1. **advance vs hand-written**: `Engine::advance` on a [`PostgresStore`], one transaction
//!    per move, against hand-written code on the `postgres` crate doing the same statements
//!    in one `SERIALIZABLE` transaction with prepared statements: read the item's row and
//!    parse its state, check the move with a `match`, serialize the event with serde_json,
//!    hash it onto the chain with sha256, then the store's own append statement (insert the
//!    event and update the state row, checking that the chain's head is the event the state
//!    names), commit. The baseline's state table has the store's indexes. Interleaved
//!    rounds; target ≤ 1.3×.
//! 2. **a batch of 1,000 moves vs 1,000 single moves**, through `Engine::batch` and
//!    `Engine::advance`, on SQLite with `Durability::Full` and on PostgreSQL. Target ≥ 20×.
//! 3. **concurrent writers**: 1, 2, 4 and 8 threads for 2 seconds each, on items of their own
//!    (each moving its item back and forth) and all on one hot item (each writing its
//!    fields), reporting writes per second and the share of transactions run again after a
//!    serialization failure.
//!
//! `cargo bench --bench postgres` (`-- advance batch writers` for some of the sections;
//! `ROUNDS=…` for step 1's rounds).

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use workstream::prelude::*;
use workstream::sqlite::{Durability, Options as SqliteOptions};
use workstream::{SqliteStore, Store};
use workstream_store_postgres::postgres::{self, IsolationLevel, NoTls};
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

fn toggle() -> Workflow {
    parse("toggle.yaml", TOGGLE).expect("the toggle workflow")
}

fn engine<S: Store>(store: S, clock: ManualClock) -> Engine<S> {
    Engine::builder()
        .store(store)
        .workflow(toggle())
        .clock(clock)
        .build()
        .expect("the engine")
}

fn pg_store(url: &str, schema: &str, pool: u32) -> PostgresStore {
    let mut client = postgres::Client::connect(url, NoTls).expect("connect");
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .expect("drop the schema");
    PostgresStore::open_with(
        url,
        Options::builder()
            .schema(schema)
            .pool_size(pool)
            .busy_timeout(Duration::from_secs(60))
            .build(),
    )
    .expect("open")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Moves `id` along ping/pong `n` times, one transaction each.
fn moves<S: Store>(engine: &Engine<S>, clock: &ManualClock, id: ItemId, actor: &Actor, n: u64) {
    for _ in 0..n {
        clock.advance(chrono::TimeDelta::milliseconds(1));
        let name = if engine.item(id).expect("read").workstation() == "a" {
            "ping"
        } else {
            "pong"
        };
        black_box(
            engine
                .advance(id, actor, Move::transition(name))
                .expect("advance"),
        );
    }
}

// ---------------------------------------------------------------------------------------
// 1. advance against hand-written code

struct Ours {
    engine: Engine<PostgresStore>,
    clock: ManualClock,
    id: ItemId,
    actor: Actor,
    moves: u64,
}

impl Ours {
    fn new(url: &str) -> Self {
        let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH);
        let engine = engine(pg_store(url, "bench_ours", 1), clock.clone());
        let actor = Actor::new("bench", []);
        let id = engine
            .create(
                &actor,
                NewItem::of("toggle").fields(json!({"n": 3, "s": "ok"})),
            )
            .expect("create")
            .id();
        Self {
            engine,
            clock,
            id,
            actor,
            moves: 0,
        }
    }

    fn run(&mut self, n: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            let name = if self.moves.is_multiple_of(2) {
                "ping"
            } else {
                "pong"
            };
            self.moves += 1;
            self.clock.advance(chrono::TimeDelta::milliseconds(1));
            black_box(
                self.engine
                    .advance(self.id, &self.actor, Move::transition(name))
                    .expect("advance"),
            );
        }
        start.elapsed()
    }
}

#[derive(Serialize)]
struct BaselineEvent<'a> {
    item: u64,
    seq: u64,
    at: &'a str,
    actor: &'a str,
    kind: &'a str,
    transition: &'a str,
    from: &'a str,
    to: &'a str,
    reason: Option<&'a str>,
    payload: Value,
    definition: &'a str,
}

#[derive(Serialize)]
struct BaselineState<'a> {
    id: u64,
    workflow: &'a str,
    workstation: &'a str,
    fields: &'a Value,
    seq: u64,
    head: String,
    updated: &'a str,
}

/// The hand-written side.
struct Baseline {
    client: postgres::Client,
    read: postgres::Statement,
    write: postgres::Statement,
    definition: String,
    moves: i64,
}

impl Baseline {
    fn new(url: &str) -> Self {
        let mut client = postgres::Client::connect(url, NoTls).expect("connect");
        client
            .batch_execute(
                "DROP SCHEMA IF EXISTS bench_base CASCADE; CREATE SCHEMA bench_base;
                 CREATE TABLE bench_base.events (item bigint NOT NULL, seq bigint NOT NULL,
                     body text NOT NULL, prev bytea NOT NULL, hash bytea NOT NULL,
                     PRIMARY KEY (item, seq));
                 CREATE TABLE bench_base.state (id bigint PRIMARY KEY, workflow text NOT NULL,
                     workstation text NOT NULL, parent bigint, created bigint NOT NULL,
                     updated bigint NOT NULL, seq bigint NOT NULL, head bytea NOT NULL,
                     state text NOT NULL);
                 CREATE INDEX ON bench_base.state (workflow, workstation);
                 CREATE INDEX ON bench_base.state (parent) WHERE parent IS NOT NULL;
                 CREATE INDEX ON bench_base.state (created);
                 CREATE INDEX ON bench_base.state (updated);
                 INSERT INTO bench_base.state VALUES (1, 'toggle', 'a', NULL, 0, 0, 0,
                     '\\x0000000000000000000000000000000000000000000000000000000000000000',
                     '{\"fields\":{\"n\":3,\"s\":\"ok\"}}');",
            )
            .expect("schema");
        let read = client
            .prepare("SELECT seq, head, workstation, state FROM bench_base.state WHERE id = $1")
            .expect("prepare");
        // The store's own append: the event and the state in one statement, which checks
        // that the chain's head is the event the state names.
        let write = client
            .prepare(
                "WITH e AS (INSERT INTO bench_base.events (item, seq, body, prev, hash) \
                 VALUES ($1, $2, $3, $4, $5)) UPDATE bench_base.state SET workstation = $6, \
                 updated = $7, seq = $2, head = $5, state = $8 WHERE id = $1 AND seq = $9 \
                 AND head = $4 AND ($9 = 0 OR EXISTS (SELECT 1 FROM bench_base.events h \
                 WHERE h.item = $1 AND h.seq = $9 AND h.hash = $4 \
                 AND sha256(h.prev || convert_to(h.body, 'UTF8')) = h.hash))",
            )
            .expect("prepare");
        Self {
            client,
            read,
            write,
            definition: toggle().definition_hash().to_string(),
            moves: 0,
        }
    }

    fn step(&mut self) {
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::Serializable)
            .start()
            .expect("begin");
        let row = tx.query_one(&self.read, &[&1i64]).expect("read");
        let (seq, head, from, state): (i64, Vec<u8>, String, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let state: Value = serde_json::from_str(&state).expect("state");
        let fields = &state["fields"];
        let (transition, to) = match from.as_str() {
            "a" => ("ping", "b"),
            "b" => ("pong", "a"),
            other => panic!("no move from {other}"),
        };
        self.moves += 1;
        let now = chrono::DateTime::UNIX_EPOCH + chrono::TimeDelta::milliseconds(self.moves);
        let at = &now.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let event = BaselineEvent {
            item: 1,
            seq: seq as u64 + 1,
            at,
            actor: "bench",
            kind: "transitioned",
            transition,
            from: &from,
            to,
            reason: None,
            payload: Value::Null,
            definition: &self.definition,
        };
        let body = serde_json::to_string(&event).expect("event json");
        let mut hasher = Sha256::new();
        hasher.update(&head);
        hasher.update(body.as_bytes());
        let hash: [u8; 32] = hasher.finalize().into();
        let state = serde_json::to_string(&BaselineState {
            id: 1,
            workflow: "toggle",
            workstation: to,
            fields,
            seq: seq as u64 + 1,
            head: hash.iter().map(|b| format!("{b:02x}")).collect(),
            updated: at,
        })
        .expect("state json");
        let updated = now.timestamp_nanos_opt().unwrap_or_default();
        tx.execute(
            &self.write,
            &[
                &1i64,
                &(seq + 1),
                &body,
                &head,
                &hash.as_slice(),
                &to,
                &updated,
                &state,
                &seq,
            ],
        )
        .expect("write");
        tx.commit().expect("commit");
    }

    fn run(&mut self, n: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            self.step();
        }
        start.elapsed()
    }
}

fn advance_vs_baseline(url: &str) {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let ops = 100;
    let mut ours = Ours::new(url);
    let mut base = Baseline::new(url);
    // Warm-up: the connections, their prepared statements, the server's caches.
    ours.run(50);
    base.run(50);
    let (mut ratios, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (ta, tb) = if round % 2 == 0 {
            let ta = ours.run(ops);
            (ta, base.run(ops))
        } else {
            let tb = base.run(ops);
            (ours.run(ops), tb)
        };
        ratios.push(ta.as_secs_f64() / tb.as_secs_f64());
        a.push(ta.as_secs_f64() * 1e6 / ops as f64);
        b.push(tb.as_secs_f64() * 1e6 / ops as f64);
    }
    ours.engine.verify(ours.id).expect("the chain verifies");
    let ratio = median(ratios);
    let verdict = if ratio <= 1.3 { "met" } else { "MISSED" };
    println!(
        "ratio advance PostgreSQL engine/hand-written = {ratio:.2} (target ≤ 1.3) {verdict}; \
         {:.1} µs vs {:.1} µs per move, {rounds} rounds × {ops} moves, SERIALIZABLE",
        median(a),
        median(b)
    );
}

// ---------------------------------------------------------------------------------------
// 2. batches

/// The time of 1,000 single moves, of 1,000 moves in one batch, and of 1,000 moves in one
/// batch that prefetches the items first, on fresh items of `engine`.
fn batch_vs_single<S: Store>(
    engine: &Engine<S>,
    clock: &ManualClock,
) -> (Duration, Duration, Duration) {
    let actor = Actor::new("bench", []);
    let ids: Vec<ItemId> = engine
        .batch(|b| {
            (0..1000)
                .map(|_| b.create(&actor, NewItem::of("toggle")).map(|i| i.id()))
                .collect()
        })
        .expect("create");
    clock.advance(chrono::TimeDelta::seconds(1));
    let start = Instant::now();
    for id in &ids {
        engine
            .advance(*id, &actor, Move::transition("ping"))
            .expect("advance");
    }
    let single = start.elapsed();
    clock.advance(chrono::TimeDelta::seconds(1));
    let start = Instant::now();
    engine
        .batch(|b| {
            for id in &ids {
                b.advance(*id, &actor, Move::transition("pong"))?;
            }
            Ok(())
        })
        .expect("batch");
    let batch = start.elapsed();
    clock.advance(chrono::TimeDelta::seconds(1));
    let start = Instant::now();
    engine
        .batch(|b| {
            b.prefetch(&ids)?;
            for id in &ids {
                b.advance(*id, &actor, Move::transition("ping"))?;
            }
            Ok(())
        })
        .expect("batch");
    (single, batch, start.elapsed())
}

fn report_batch(store: &str, runs: Vec<(Duration, Duration, Duration)>) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let single = median(runs.iter().map(|r| ms(r.0)).collect());
    let batch = median(runs.iter().map(|r| ms(r.1)).collect());
    let prefetched = median(runs.iter().map(|r| ms(r.2)).collect());
    let speedup = median(runs.iter().map(|r| ms(r.0) / ms(r.1)).collect());
    let with_prefetch = median(runs.iter().map(|r| ms(r.0) / ms(r.2)).collect());
    for (what, ratio, time) in [
        ("one batch of 1,000", speedup, batch),
        ("one batch of 1,000 prefetched", with_prefetch, prefetched),
    ] {
        let verdict = if ratio >= 20.0 { "met" } else { "MISSED" };
        println!(
            "ratio batch {store} 1,000 single moves/{what} = {ratio:.1} (target ≥ 20) \
             {verdict}; {single:.1} ms vs {time:.1} ms, median of {} runs",
            runs.len()
        );
    }
}

fn batches(url: &str, dir: &Path) {
    let mut runs = Vec::new();
    for round in 0..3 {
        let path = dir.join(format!("batch-{round}.db"));
        let _ = std::fs::remove_file(&path);
        let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH);
        let store = SqliteStore::open_with(
            &path,
            SqliteOptions::builder()
                .durability(Durability::Full)
                .build(),
        )
        .expect("open");
        let engine = engine(store, clock.clone());
        runs.push(batch_vs_single(&engine, &clock));
        engine.verify_all().expect("verify");
    }
    report_batch("SQLite FULL", runs);
    let mut runs = Vec::new();
    for _ in 0..3 {
        let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH);
        let engine = engine(pg_store(url, "bench_batch", 1), clock.clone());
        runs.push(batch_vs_single(&engine, &clock));
        engine.verify_all().expect("verify");
    }
    report_batch("PostgreSQL", runs);
}

// ---------------------------------------------------------------------------------------
// 3. concurrent writers

fn concurrency(url: &str) {
    let seconds = 2.0;
    for hot in [false, true] {
        let mut line = Vec::new();
        for writers in [1usize, 2, 4, 8] {
            let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH);
            let engine = Arc::new(engine(
                pg_store(url, "bench_writers", writers as u32),
                clock.clone(),
            ));
            let actor = Actor::new("bench", []);
            let ids: Vec<ItemId> = (0..writers)
                .map(|_| {
                    engine
                        .create(&actor, NewItem::of("toggle"))
                        .expect("create")
                        .id()
                })
                .collect();
            let before = engine.store().stats();
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            let done: u64 = std::thread::scope(|s| {
                let handles: Vec<_> = (0..writers)
                    .map(|w| {
                        let engine = Arc::clone(&engine);
                        let clock = clock.clone();
                        let actor = Actor::new(format!("w{w}"), []);
                        let id = if hot { ids[0] } else { ids[w] };
                        s.spawn(move || {
                            let mut n = 0u64;
                            while Instant::now() < deadline {
                                if hot {
                                    engine
                                        .update_fields(id, &actor, json!({ "by": w, "n": n }))
                                        .expect("write");
                                } else {
                                    moves(&engine, &clock, id, &actor, 1);
                                }
                                n += 1;
                            }
                            n
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("writer")).sum()
            });
            let after = engine.store().stats();
            let writes = after.writes - before.writes;
            let retries = after.retries - before.retries;
            let report = engine.audit().expect("audit");
            assert!(report.is_clean(), "{report}");
            line.push(format!(
                "{writers}: {:.0}/s ({:.1}% retried)",
                done as f64 / seconds,
                retries as f64 * 100.0 / (writes + retries).max(1) as f64
            ));
        }
        println!(
            "writers on {}: {}",
            if hot {
                "one hot item"
            } else {
                "items of their own"
            },
            line.join(", ")
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some(server) = workstream_store_postgres::testing::server("the PostgreSQL benches") else {
        return;
    };
    let url = server.url();
    let dir = std::env::temp_dir().join(format!("workstream-bench-pg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory for the SQLite files");
    // `cargo bench --bench postgres -- batch writers` runs only the sections named.
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runs = |section: &str| named.is_empty() || named.iter().any(|n| n == section);
    if runs("advance") {
        println!("== 1. advance on PostgreSQL against hand-written postgres-crate code");
        advance_vs_baseline(&url);
    }
    if runs("batch") {
        println!("== 2. a batch of 1,000 moves against 1,000 single moves");
        batches(&url, &dir);
    }
    if runs("writers") {
        println!("== 3. concurrent writers on PostgreSQL, 2 s each (writes per second)");
        concurrency(&url);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
