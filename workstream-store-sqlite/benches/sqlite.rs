//! SQLite store benchmarks, each measured against a hand-written rusqlite baseline in the
//! same run, on database files in the same directory.
//!
//! 1. `advance` with one commit per move, through the engine on a [`SqliteStore`], against
//!    a hand-written rusqlite program doing the same work with the same pragmas (WAL, the
//!    same `synchronous`) and prepared statements: in one `BEGIN IMMEDIATE` transaction,
//!    read the item's row and parse its fields, check the move with a `match`, serialize the
//!    event with serde_json, hash it onto the chain with sha256, insert the event row and
//!    update the state row. The baseline's state table keeps the indexes the engine's
//!    queries need, as the store's does (by workflow and workstation, and by update time),
//!    and both clocks move a millisecond per move, so each commit writes the same kinds of
//!    pages on both sides. Under `synchronous=NORMAL` (target ≤ 1.5×) and `FULL`
//!    (target ≤ 1.2×); beside `FULL` the raw fsync rate of the same disk (write 4 KiB +
//!    `fdatasync`, in a loop).
//! 2. Bulk import: [`SqliteStore::import`] of 1,000 events (100 items × 10) in one
//!    transaction, which checks every hash and link and replays each item, against a
//!    hand-written batched insert of the same rows (events as serde JSON, one state row per
//!    item) in one transaction. Target ≤ 2×.
//! 3. Scale (outside criterion, one pass per size): files of 950, 9,500, 95,000 and 950,000
//!    events (100 to 100,000 items, 9 or 10 events each) built by bulk import; the file's size per
//!    event and per item once closed, the import's time per event, `verify_all` on the file
//!    reopened (every chain rehashed, every state compared with its replay) per event, and a
//!    query by workstation (half of the items) per item found.
//!
//! Criterion reports each side. The ratios are then measured in 30 interleaved rounds (each
//! round times both sides, alternating which goes first; the fsync loop runs in the FULL
//! rounds too), because on a shared machine the disk's speed changes within seconds: one
//! side measured after the other can be off by 10×. The bench prints the median of the
//! rounds' ratios: `ratio <what> = X.XX (target ≤ T; …)`. Absolute times are noise; the
//! ratios are the result.
//!
//! Run: `cargo bench -p workstream-store-sqlite --bench sqlite` (`-- scale` for the scale
//! section alone; a filter naming a criterion benchmark skips it).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use rusqlite::{Connection, TransactionBehavior, params};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use workstream_core::{
    Actor, Engine, Event, ItemId, ManualClock, Move, NewItem, Reader, Store, Workflow, parse,
};
use workstream_store_sqlite::{Durability, Options, SqliteStore};

// ---------------------------------------------------------------------------------------
// Sample bookkeeping: every timed call is recorded; the last `samples` of a benchmark are
// the ones criterion measured (the calls before them are its warm-up).

const SAMPLES: usize = 20;

thread_local! {
    static RECORDED: RefCell<HashMap<String, Vec<(u64, Duration)>>> = RefCell::new(HashMap::new());
}

fn record(id: &str, ops: u64, elapsed: Duration) -> Duration {
    RECORDED.with(|r| {
        r.borrow_mut()
            .entry(id.to_owned())
            .or_default()
            .push((ops, elapsed))
    });
    elapsed
}

/// The median time per operation of the measured samples, in nanoseconds; `None` when
/// criterion took fewer (a filtered run, or `cargo test` mode).
fn median_ns(id: &str) -> Option<f64> {
    RECORDED.with(|r| {
        let r = r.borrow();
        let calls = r.get(id)?;
        if calls.len() < SAMPLES {
            return None;
        }
        let mut per_op: Vec<f64> = calls[calls.len() - SAMPLES..]
            .iter()
            .map(|&(ops, d)| d.as_secs_f64() * 1e9 / ops as f64)
            .collect();
        per_op.sort_by(f64::total_cmp);
        let mid = per_op.len() / 2;
        Some((per_op[mid - 1] + per_op[mid]) / 2.0)
    })
}

fn bench(
    group: &mut BenchmarkGroup<'_, WallTime>,
    group_name: &str,
    name: &str,
    ops_per_iter: u64,
    mut routine: impl FnMut(u64) -> Duration,
) {
    let id = format!("{group_name}/{name}");
    group.bench_function(name, |b| {
        b.iter_custom(|iters| record(&id, iters * ops_per_iter, routine(iters)))
    });
}

/// The ratio `a / b` measured in interleaved rounds: each round times `ops` operations of
/// each side, in the order a, b then b, a (so a change of the machine's speed weighs on
/// both); the result is the median of the rounds' ratios, and each side's median time per
/// operation in nanoseconds.
fn paired(
    rounds: usize,
    ops: u64,
    mut a: impl FnMut(u64) -> Duration,
    mut b: impl FnMut(u64) -> Duration,
) -> (f64, f64, f64) {
    let mut ratios = Vec::with_capacity(rounds);
    let (mut times_a, mut times_b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (ta, tb) = if round.is_multiple_of(2) {
            let ta = a(ops);
            (ta, b(ops))
        } else {
            let tb = b(ops);
            (a(ops), tb)
        };
        ratios.push(ta.as_secs_f64() / tb.as_secs_f64());
        times_a.push(ta.as_secs_f64() * 1e9 / ops as f64);
        times_b.push(tb.as_secs_f64() * 1e9 / ops as f64);
    }
    (median(ratios), median(times_a), median(times_b))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

// ---------------------------------------------------------------------------------------
// Files

/// A directory for this run's databases, beside the build (the same disk), emptied first.
fn bench_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sqlite-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the bench directory");
    dir
}

fn fresh(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

// ---------------------------------------------------------------------------------------
// 1. advance, one commit per move

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

fn instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
}

fn toggle() -> Workflow {
    parse("toggle.yaml", TOGGLE).expect("the toggle workflow")
}

fn engine(store: SqliteStore) -> Engine<SqliteStore> {
    engine_with_clock(store, ManualClock::new(instant()))
}

fn engine_with_clock(store: SqliteStore, clock: ManualClock) -> Engine<SqliteStore> {
    Engine::builder()
        .store(store)
        .workflow(toggle())
        .clock(clock)
        .build()
        .expect("the engine")
}

/// Both sides' clocks move a millisecond per move, so every commit changes the item's
/// update time (and the index on it), as it does in use.
const TICK_NS: i64 = 1_000_000;

/// The engine's side: an item moved `ping`, `pong`, … one commit per move.
struct Ours {
    engine: Engine<SqliteStore>,
    clock: ManualClock,
    id: ItemId,
    actor: Actor,
    moves: u64,
}

impl Ours {
    fn new(path: &Path, durability: Durability) -> Self {
        let store = SqliteStore::open_with(path, Options::builder().durability(durability).build())
            .expect("open");
        let clock = ManualClock::new(instant());
        let engine = engine_with_clock(store, clock.clone());
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

    fn run(&mut self, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            let name = if self.moves.is_multiple_of(2) {
                "ping"
            } else {
                "pong"
            };
            self.moves += 1;
            self.clock.advance(chrono::TimeDelta::nanoseconds(TICK_NS));
            let item = self
                .engine
                .advance(self.id, &self.actor, Move::transition(name))
                .expect("advance");
            black_box(item);
        }
        start.elapsed()
    }
}

/// The hand-written side: the same work, written directly against rusqlite.
struct Baseline {
    conn: Connection,
    definition: String,
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
    workstation: &'a str,
    fields: &'a Value,
    seq: u64,
    head: String,
    updated: &'a str,
}

impl Baseline {
    fn new(path: &Path, durability: Durability) -> Self {
        let conn = Connection::open(path).expect("open");
        conn.busy_timeout(Duration::from_secs(5)).expect("busy");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync).expect("sync");
        conn.execute_batch(
            "CREATE TABLE events (item INTEGER NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
                                  prev BLOB NOT NULL, hash BLOB NOT NULL,
                                  PRIMARY KEY (item, seq)) WITHOUT ROWID;
             CREATE TABLE state (id INTEGER PRIMARY KEY, workflow TEXT NOT NULL,
                                 workstation TEXT NOT NULL, seq INTEGER NOT NULL,
                                 head BLOB NOT NULL, fields TEXT NOT NULL,
                                 updated INTEGER NOT NULL, state TEXT NOT NULL);
             CREATE INDEX state_place ON state (workflow, workstation);
             CREATE INDEX state_updated ON state (updated);
             INSERT INTO state VALUES (1, 'toggle', 'a', 0, zeroblob(32), '{\"n\":3,\"s\":\"ok\"}', 0, '{}');",
        )
        .expect("schema");
        Self {
            conn,
            definition: toggle().definition_hash().to_string(),
        }
    }

    fn step(&mut self) {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begin");
        let (seq, head, from, fields): (i64, Vec<u8>, String, String) = tx
            .prepare_cached("SELECT seq, head, workstation, fields FROM state WHERE id = ?1")
            .expect("prepare")
            .query_row([1], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("read");
        let fields: Value = serde_json::from_str(&fields).expect("fields");
        let (transition, to) = match from.as_str() {
            "a" => ("ping", "b"),
            "b" => ("pong", "a"),
            other => panic!("no move from {other}"),
        };
        let now = instant() + chrono::TimeDelta::nanoseconds(TICK_NS * (seq + 1));
        let at = &now.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let updated = now.timestamp_nanos_opt().unwrap_or_default();
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
        tx.prepare_cached(
            "INSERT INTO events (item, seq, body, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .expect("prepare")
        .execute(params![1, seq + 1, body, head, hash])
        .expect("insert");
        let state = serde_json::to_string(&BaselineState {
            id: 1,
            workstation: to,
            fields: &fields,
            seq: seq as u64 + 1,
            head: hash.iter().map(|b| format!("{b:02x}")).collect(),
            updated: at,
        })
        .expect("state json");
        tx.prepare_cached(
            "UPDATE state SET workstation = ?2, seq = ?3, head = ?4, state = ?5, updated = ?6 WHERE id = ?1",
        )
        .expect("prepare")
        .execute(params![1, to, seq + 1, hash, state, updated])
        .expect("update");
        tx.commit().expect("commit");
    }

    fn run(&mut self, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            self.step();
        }
        start.elapsed()
    }
}

fn bench_advance(c: &mut Criterion, dir: &Path) {
    for (durability, label, target, ops) in [
        (Durability::Normal, "NORMAL", 1.5, 200),
        (Durability::Full, "FULL", 1.2, 20),
    ] {
        let name = format!("advance_{}", label.to_lowercase());
        let mut baseline = Baseline::new(&fresh(dir, &format!("baseline-{label}.db")), durability);
        let mut ours = Ours::new(&fresh(dir, &format!("ours-{label}.db")), durability);
        let mut group = c.benchmark_group(&name);
        group
            .sample_size(SAMPLES)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2));
        bench(&mut group, &name, "baseline_rusqlite", 1, |iters| {
            baseline.run(iters)
        });
        bench(&mut group, &name, "engine_sqlite_store", 1, |iters| {
            ours.run(iters)
        });
        group.finish();
        if median_ns(&format!("{name}/engine_sqlite_store")).is_none() {
            continue; // a filtered run or `cargo test` mode: no ratios
        }
        let mut fsync = Fsync::new(dir);
        let mut fsyncs = Vec::new();
        let (ratio, a, b) = paired(
            ROUNDS,
            ops,
            |n| ours.run(n),
            |n| {
                if durability == Durability::Full {
                    fsyncs.push(fsync.run(n).as_secs_f64() * 1e9 / n as f64);
                }
                baseline.run(n)
            },
        );
        let disk = if fsyncs.is_empty() {
            String::new()
        } else {
            let f = median(fsyncs);
            format!(
                "; raw fsync on this disk: {:.1} µs ({:.0}/s)",
                f / 1e3,
                1e9 / f
            )
        };
        let verdict = if ratio <= target { "met" } else { "MISSED" };
        RATIOS.with(|r| {
            r.borrow_mut().push(format!(
                "ratio advance {label} engine/baseline = {ratio:.2} (target ≤ {target}) {verdict}; \
                 {:.1} µs vs {:.1} µs per move{disk}",
                a / 1e3,
                b / 1e3
            ))
        });
        // The engine's file holds what it claims.
        ours.engine.verify(ours.id).expect("the chain verifies");
    }
}

/// Rounds of each interleaved ratio measurement.
const ROUNDS: usize = 30;

thread_local! {
    /// The ratio lines, printed together at the end.
    static RATIOS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// `write 4 KiB + fdatasync` on a file beside the databases.
struct Fsync {
    file: std::fs::File,
    at: u64,
}

impl Fsync {
    fn new(dir: &Path) -> Self {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(dir.join("fsync.bin"))
            .expect("the fsync file");
        Self { file, at: 0 }
    }

    fn run(&mut self, iters: u64) -> Duration {
        let page = [7u8; 4096];
        let start = Instant::now();
        for _ in 0..iters {
            self.at = (self.at + 1) % 16;
            self.file
                .seek(SeekFrom::Start(self.at * 4096))
                .expect("seek");
            self.file.write_all(&page).expect("write");
            self.file.sync_data().expect("fdatasync");
        }
        start.elapsed()
    }
}

// ---------------------------------------------------------------------------------------
// 2. Bulk import

const IMPORT_ITEMS: u64 = 100;
const IMPORT_EVENTS_PER_ITEM: u64 = 10;

/// 1,000 events: 100 items, each created and moved 9 times.
fn ledger() -> Vec<Event> {
    let engine = engine(SqliteStore::open_in_memory().expect("memory"));
    let actor = Actor::new("bench", []);
    for i in 0..IMPORT_ITEMS {
        let item = engine
            .create(
                &actor,
                NewItem::of("toggle").fields(json!({"n": i, "s": "ok"})),
            )
            .expect("create");
        for k in 1..IMPORT_EVENTS_PER_ITEM {
            let name = if !k.is_multiple_of(2) { "ping" } else { "pong" };
            engine
                .advance(item.id(), &actor, Move::transition(name))
                .expect("advance");
        }
    }
    engine
        .store()
        .read(|tx| {
            let mut all = Vec::new();
            for id in tx.item_ids()? {
                all.extend(tx.events(id, 1)?);
            }
            Ok::<_, workstream_core::StoreError>(all)
        })
        .expect("events")
}

/// The workflow text the bench's events were written under, which an import carries.
fn kept() -> Vec<workstream_core::StoredDefinition> {
    vec![workstream_core::StoredDefinition::of(&toggle())]
}

fn import_options() -> Options {
    Options::builder().durability(Durability::Normal).build()
}

fn time_import(dir: &Path, events: &[Event], iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let store =
            SqliteStore::open_with(fresh(dir, "import-ours.db"), import_options()).expect("open");
        let batch = events.to_vec();
        let start = Instant::now();
        let imported = store.import(kept(), batch).expect("import");
        total += start.elapsed();
        assert_eq!(imported.events, events.len());
    }
    total
}

fn time_import_baseline(
    dir: &Path,
    events: &[Event],
    items: &[workstream_core::Item],
    iters: u64,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut conn = Connection::open(fresh(dir, "import-baseline.db")).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.pragma_update(None, "synchronous", "NORMAL")
            .expect("sync");
        conn.execute_batch(
            "CREATE TABLE events (item INTEGER NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
                                  prev BLOB NOT NULL, hash BLOB NOT NULL,
                                  PRIMARY KEY (item, seq)) WITHOUT ROWID;
             CREATE TABLE state (id INTEGER PRIMARY KEY, workflow TEXT NOT NULL,
                                 workstation TEXT NOT NULL, seq INTEGER NOT NULL,
                                 head BLOB NOT NULL, state TEXT NOT NULL);
             CREATE INDEX state_place ON state (workflow, workstation);",
        )
        .expect("schema");
        let batch = events.to_vec();
        let start = Instant::now();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begin");
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (item, seq, body, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .expect("prepare");
            for event in batch {
                let body = serde_json::to_string(&event).expect("json");
                insert
                    .execute(params![
                        event.item().0 as i64,
                        event.seq() as i64,
                        body,
                        event.prev().as_bytes(),
                        event.hash().as_bytes()
                    ])
                    .expect("insert");
            }
            let mut state = tx
                .prepare_cached(
                    "INSERT INTO state (id, workflow, workstation, seq, head, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .expect("prepare");
            for item in items {
                let json = serde_json::to_string(item).expect("json");
                state
                    .execute(params![
                        item.id().0 as i64,
                        item.workflow(),
                        item.workstation(),
                        item.seq() as i64,
                        item.head().as_bytes(),
                        json
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
        total += start.elapsed();
    }
    total
}

fn bench_import(c: &mut Criterion, dir: &Path) {
    let events = ledger();
    let items: Vec<workstream_core::Item> = events
        .chunk_by(|a, b| a.item() == b.item())
        .map(|chain| workstream_core::Item::replay(chain).expect("replay"))
        .collect();
    let n = events.len() as u64;
    let name = "import_1000_events";
    let mut group = c.benchmark_group(name);
    group
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    bench(&mut group, name, "baseline_batched_insert", n, |iters| {
        time_import_baseline(dir, &events, &items, iters)
    });
    bench(&mut group, name, "sqlite_store_import", n, |iters| {
        time_import(dir, &events, iters)
    });
    group.finish();
    if median_ns(&format!("{name}/sqlite_store_import")).is_none() {
        return;
    }
    let (ratio, a, b) = paired(
        ROUNDS,
        2,
        |iters| time_import(dir, &events, iters),
        |iters| time_import_baseline(dir, &events, &items, iters),
    );
    RATIOS.with(|r| {
        r.borrow_mut().push(format!(
            "ratio import store/batched insert = {ratio:.2} (target ≤ 2) {}; {:.2} ms vs {:.2} ms per {n} events",
            if ratio <= 2.0 { "met" } else { "MISSED" },
            a / 1e6,
            b / 1e6
        ))
    });
}

// ---------------------------------------------------------------------------------------
// 3. Scale: the file, import, verify and a query as the ledger grows

/// Items of each size; every item has 10 events (even ids) or 9 (odd ids).
const SCALE_ITEMS: [u64; 4] = [100, 1_000, 10_000, 100_000];
/// Events per import transaction at scale.
const SCALE_BATCH: usize = 10_000;

/// `template` (one item's chain) copied to item `id`: the same changes, resealed onto a chain
/// of the item's own.
fn copy_chain(template: &[Event], id: ItemId) -> impl Iterator<Item = Event> + '_ {
    let mut prev = *template[0].prev();
    template.iter().map(move |event| {
        let mut event = event.clone().into_draft();
        event.item = id;
        event.prev = prev;
        let event = event.seal();
        prev = *event.hash();
        event
    })
}

/// For each size: a file built by bulk import, its size per event and per item once closed,
/// then `verify_all` (every chain rehashed, every state compared with its replay) and a query
/// by workstation (half of the items) on the file reopened.
fn scale(dir: &Path) {
    let events = ledger();
    let template: Vec<Event> = events
        .iter()
        .filter(|e| e.item() == events[0].item())
        .cloned()
        .collect();
    assert_eq!(template.len(), IMPORT_EVENTS_PER_ITEM as usize);
    println!(
        "== SQLite file and ledger at scale (bulk import, {SCALE_BATCH} events per transaction, NORMAL)"
    );
    for items in SCALE_ITEMS {
        let path = fresh(dir, "scale.db");
        let mut written = 0usize;
        let mut import = Duration::ZERO;
        {
            let store = SqliteStore::open_with(&path, import_options()).expect("open");
            let mut batch = Vec::with_capacity(SCALE_BATCH + 10);
            let flush = |batch: &mut Vec<Event>, import: &mut Duration| {
                let start = Instant::now();
                let done = store.import(kept(), std::mem::take(batch)).expect("import");
                *import += start.elapsed();
                done.events
            };
            for k in 1..=items {
                let len = if k % 2 == 0 { 10 } else { 9 };
                batch.extend(copy_chain(&template[..len], ItemId(k)));
                if batch.len() >= SCALE_BATCH {
                    written += flush(&mut batch, &mut import);
                }
            }
            written += flush(&mut batch, &mut import);
        }
        // Closed: the log is checkpointed into the file and removed.
        let bytes: u64 = ["", "-wal"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
            .map(|m| m.len())
            .sum();
        let engine = engine(SqliteStore::open_with(&path, import_options()).expect("reopen"));
        let start = Instant::now();
        let verified = engine.verify_all().expect("every chain verifies");
        let verify = start.elapsed();
        assert_eq!(verified.events, written);
        assert_eq!(verified.items as u64, items);
        let start = Instant::now();
        let found = engine
            .items(
                &workstream_core::Query::new()
                    .workflow("toggle")
                    .workstation("a"),
            )
            .expect("query");
        let query = start.elapsed();
        assert_eq!(found.len() as u64, items.div_ceil(2));
        let per = |d: Duration, n: usize| d.as_secs_f64() * 1e9 / n as f64;
        println!(
            "scale {written:>8} events on {items:>6} items: file {:.0} bytes/event ({:.0} bytes/item), \
             import {:.2} µs/event, verify_all {:.2} µs/event, query by workstation {:.2} µs per item found ({})",
            bytes as f64 / written as f64,
            bytes as f64 / items as f64,
            per(import, written) / 1e3,
            per(verify, written) / 1e3,
            per(query, found.len()) / 1e3,
            found.len()
        );
        drop(engine);
        fresh(dir, "scale.db");
    }
}

/// Whether to run the scale section: not in test or list mode, and only if every filter
/// given is part of the word `scale` (no filter: run everything).
fn wants_scale() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--test" || a == "--list") {
        return false;
    }
    args.iter()
        .filter(|a| !a.starts_with('-'))
        .all(|filter| "scale".contains(filter.as_str()))
}

fn main() {
    let dir = bench_dir();
    let mut c = Criterion::default().configure_from_args();
    bench_advance(&mut c, &dir);
    bench_import(&mut c, &dir);
    c.final_summary();
    // Outside criterion: one pass per size. A filter that names no section of this bench
    // (say `scale`) selects it, as does running with no filter.
    if wants_scale() {
        scale(&dir);
    }
    println!();
    RATIOS.with(|r| {
        for line in r.borrow().iter() {
            println!("{line}");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
