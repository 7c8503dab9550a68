//! Ledger benchmarks: `verify` and replay against sha256 over the same bytes, and the memory
//! an item takes in the memory store, at 1k, 10k, 100k and 1M events or items.
//!
//! 1. **verify**, against a baseline that hashes the very bytes each event's hash covers
//!    (`prev ‖ canonical JSON`), prepared beforehand: the work verify cannot avoid. Target:
//!    verify's throughput ≥ 0.8× the baseline's. Measured interleaved (a sample of one,
//!    then of the other, alternating which goes first), two ways:
//!    - events kept as themselves (the memory store): `verify_chain` writes each event's
//!      canonical JSON again to hash it;
//!    - events kept as bytes (SQLite and PostgreSQL keep each body as it was hashed):
//!      `verify_stored_chain` hashes the stored bytes as they are.
//!
//!    From 100k events, `Engine::verify_all` of an SQLite file holding the same chains is
//!    timed too, end to end (rows read, bodies parsed, states replayed), for scale.
//! 2. **replay**: `Item::replay` over the same chains, reported per event.
//! 3. **memory**: the resident memory the memory store gains per item created through the
//!    engine (one `created` event each, small fields), read from `/proc/self/statm`, each
//!    size in a fresh process (the bench runs itself again). Target: under 1 KiB per item
//!    beyond its fields.
//!
//! Run: `cargo bench --bench ledger`. Pass `--quick` to stop at 100k.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use workstream::prelude::*;
use workstream::sqlite::{Durability, Options, SqliteStore};
use workstream::{Change, Event, EventDraft, Sha256Hash, StoredDefinition, StoredEvent};
use workstream::{verify_chain, verify_stored_chain};

/// Events per chain.
const CHAIN: usize = 100;

/// `n` events in chains of `CHAIN`: each chain is one item created, then moved and updated.
fn chains(n: usize) -> Vec<Vec<Event>> {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
    let kept = StoredDefinition::of(&task());
    let (definition, source) = (kept.definition, kept.source);
    (0..n.div_ceil(CHAIN))
        .map(|c| {
            let mut prev = Sha256Hash::ZERO;
            (0..CHAIN.min(n - c * CHAIN))
                .map(|i| {
                    let change = match i {
                        0 => Change::Created {
                            workflow: "task".into(),
                            version: 1,
                            workstation: "todo".into(),
                            fields: std::sync::Arc::new(json!({"title": "a task", "effort": 3})),
                            parent: None,
                        },
                        i if i % 2 == 1 => Change::Transitioned {
                            transition: "start".into(),
                            from: "todo".into(),
                            to: "doing".into(),
                            outcome: None,
                            patch: None,
                            warnings: Vec::new(),
                        },
                        _ => Change::FieldsUpdated {
                            patch: json!({"note": i}),
                        },
                    };
                    let event = EventDraft {
                        item: ItemId(c as u64 + 1),
                        seq: i as u64 + 1,
                        at: t0 + TimeDelta::seconds(i as i64),
                        actor: "ann".into(),
                        change,
                        reason: None,
                        payload: Value::Null,
                        definition,
                        source: Some(source),
                        prev,
                    }
                    .seal();
                    prev = *event.hash();
                    event
                })
                .collect()
        })
        .collect()
}

/// The workflow the chains are written under, so that an SQLite store can import them.
fn task() -> Workflow {
    parse(
        "task.yaml",
        "workflow: task\nversion: 1\nworkstations:\n  todo: { initial: true }\n  doing: {}\n  \
         done: { terminal: true }\ntransitions:\n  start: { from: todo, to: doing }\n  \
         finish: { from: doing, to: done }\n",
    )
    .expect("the bench's workflow is valid")
}

/// The chains as a database keeps them: each event with the bytes its hash covers.
fn stored(chains: &[Vec<Event>]) -> Vec<Vec<StoredEvent>> {
    chains
        .iter()
        .map(|chain| {
            chain
                .iter()
                .map(|e| StoredEvent {
                    body: Some(e.canonical_json()),
                    ..StoredEvent::kept(e.clone())
                })
                .collect()
        })
        .collect()
}

fn time_verify_stored(chains: &[Vec<StoredEvent>]) -> Duration {
    let start = Instant::now();
    for chain in chains {
        let problems = verify_stored_chain(chain[0].event.item(), black_box(chain));
        assert!(problems.is_empty(), "the chain verifies");
    }
    start.elapsed()
}

/// Verify of the stored bytes against sha256 of the same bytes, chain by chain, with each
/// chain in cache for both: each is run once untimed, then timed. This is how `verify_all`
/// meets a chain, just read from its rows. Returns the total times (verify, sha256).
fn time_hot_per_chain(kept: &[Vec<StoredEvent>], bytes: &[Vec<u8>]) -> (Duration, Duration) {
    let (mut verify, mut hash) = (Duration::ZERO, Duration::ZERO);
    let mut from = 0;
    for (i, chain) in kept.iter().enumerate() {
        let chain_bytes = &bytes[from..from + chain.len()];
        from += chain.len();
        let run_verify = || {
            let start = Instant::now();
            let problems = verify_stored_chain(chain[0].event.item(), black_box(chain));
            let took = start.elapsed();
            assert!(problems.is_empty(), "the chain verifies");
            took
        };
        let run_hash = || time_sha256(chain_bytes);
        // Which goes first alternates, chain by chain.
        if i % 2 == 0 {
            run_verify();
            verify += run_verify();
            run_hash();
            hash += run_hash();
        } else {
            run_hash();
            hash += run_hash();
            run_verify();
            verify += run_verify();
        }
    }
    (verify, hash)
}

fn time_verify(chains: &[Vec<Event>]) -> Duration {
    let start = Instant::now();
    for chain in chains {
        verify_chain(chain[0].item(), black_box(chain)).expect("the chain verifies");
    }
    start.elapsed()
}

fn time_sha256(bytes: &[Vec<u8>]) -> Duration {
    let start = Instant::now();
    for b in bytes {
        black_box(Sha256::digest(black_box(b)));
    }
    start.elapsed()
}

fn time_replay(chains: &[Vec<Event>]) -> Duration {
    let start = Instant::now();
    for chain in chains {
        black_box(Item::replay(black_box(chain)).expect("the chain replays"));
    }
    start.elapsed()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The resident bytes `n` items' fields take on their own, held as items hold them. The
/// fields come back too: keep them alive while measuring something else, or its memory
/// would reuse theirs and read as nothing.
fn memory_per_fields(n: usize) -> Option<(f64, Vec<std::sync::Arc<Value>>)> {
    let mut fields: Vec<std::sync::Arc<Value>> = Vec::with_capacity(n);
    let before = resident_bytes()?;
    fields.extend((0..n).map(|i| std::sync::Arc::new(json!({"n": i}))));
    let after = resident_bytes()?;
    // The vector of pointers was allocated before the first reading, but its pages are
    // touched as it fills: that is the measuring's own cost, not the fields'.
    let held = (n * std::mem::size_of::<std::sync::Arc<Value>>()) as u64;
    let per = after.saturating_sub(before).saturating_sub(held) as f64 / n as f64;
    Some((per, fields))
}

fn memory_per_item(n: usize) -> Option<f64> {
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(
            parse(
                "task.yaml",
                "workflow: task\nversion: 1\nworkstations:\n  todo: { initial: true }\n  done: { terminal: true }\ntransitions:\n  finish: { from: todo, to: done }\n",
            )
            .expect("the workflow parses"),
        )
        .clock(ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()))
        .build()
        .expect("the engine builds");
    let actor = Actor::new("ann", []);
    // Warm the allocator and the maps' first growth before reading the baseline.
    engine
        .create(&actor, NewItem::of("task").fields(json!({"n": 0})))
        .expect("created");
    let before = resident_bytes()?;
    for i in 0..n {
        let item = engine
            .create(&actor, NewItem::of("task").fields(json!({"n": i})))
            .expect("created");
        black_box(item);
    }
    let after = resident_bytes()?;
    black_box(&engine);
    Some((after.saturating_sub(before)) as f64 / n as f64)
}

/// The environment variable that makes this binary measure the memory of one size and exit.
const MEMORY_CHILD: &str = "WORKSTREAM_BENCH_MEMORY_ITEMS";

/// Runs this binary again to measure `n` items in a fresh process; its line of output.
fn measure_memory_in_child(n: usize) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .env(MEMORY_CHILD, n.to_string())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "the measuring process failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}

/// The memory of `n` items, in this process: the fields alone first (kept alive), then the
/// items.
fn memory_line(n: usize) -> String {
    let fields = memory_per_fields(n);
    match (memory_per_item(n), fields) {
        (Some(item), Some((fields, held))) => {
            drop(held);
            let beyond = item - fields;
            let verdict = if beyond < 1024.0 { "met" } else { "MISSED" };
            format!(
                "{n:>9} items: {item:.0} bytes per item, of which its fields {fields:.0}: \
                 {beyond:.0} bytes beyond its fields (target < 1024) {verdict}"
            )
        }
        _ => format!("{n:>9} items: /proc/self/statm is not readable here"),
    }
}

fn main() {
    if let Some(n) = std::env::var(MEMORY_CHILD)
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        println!("{}", memory_line(n));
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    // `cargo test --benches` runs bench binaries with `--bench` absent; do a small smoke run.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if !bench_mode {
        &[1_000]
    } else if quick {
        &[1_000, 10_000, 100_000]
    } else {
        &[1_000, 10_000, 100_000, 1_000_000]
    };
    println!("== memory store: resident bytes per item (one `created` event, fields {{\"n\": i}})");
    // Resident memory grows in pages and the allocator reuses what it freed, so small
    // counts read as nothing: measure from 100k items. Each size runs in a process of its
    // own: in one process, a size measured after another would reuse the memory the other
    // freed, and read as less than it takes.
    for &n in sizes.iter().filter(|&&n| n >= 100_000) {
        match measure_memory_in_child(n) {
            Ok(line) => println!("{line}"),
            Err(why) => println!("{n:>9} items: not measured ({why})"),
        }
    }
    println!();
    println!("== ledger verify and replay (interleaved medians)");
    for &n in sizes {
        let chains = chains(n);
        let bytes: Vec<Vec<u8>> = chains
            .iter()
            .flatten()
            .map(|e| {
                let mut b = e.prev().as_bytes().to_vec();
                b.extend_from_slice(e.canonical_json().as_bytes());
                b
            })
            .collect();
        let total: usize = bytes.iter().map(Vec::len).sum();
        let samples = if n >= 1_000_000 {
            5
        } else if n >= 100_000 {
            9
        } else {
            21
        };
        let hash = || time_sha256(&bytes);
        let (tv, th, ratio) = interleaved(samples, || time_verify(&chains), hash);
        let mut r: Vec<f64> = (0..samples)
            .map(|_| time_replay(&chains).as_secs_f64())
            .collect();
        let tr = median(&mut r);
        println!(
            "{n:>9} events ({:.0} bytes each): verify {:.0} ns/event, sha256 of the same bytes {:.0} ns/event, replay {:.0} ns/event",
            total as f64 / n as f64,
            tv * 1e9 / n as f64,
            th * 1e9 / n as f64,
            tr * 1e9 / n as f64,
        );
        report(
            "verify/sha256 (events kept as themselves: memory)",
            n,
            ratio,
            0.8,
            total,
            tv,
        );
        let kept = stored(&chains);
        let (tk, th, ratio) = interleaved(samples, || time_verify_stored(&kept), hash);
        let mut hot: Vec<(f64, f64)> = (0..samples.min(5))
            .map(|_| {
                let (v, h) = time_hot_per_chain(&kept, &bytes);
                (v.as_secs_f64(), h.as_secs_f64())
            })
            .collect();
        hot.sort_by(|a, b| (a.1 / a.0).total_cmp(&(b.1 / b.0)));
        let (hv, hh) = hot[hot.len() / 2];
        drop(kept);
        println!(
            "{n:>9} events, chain by chain with each chain in cache (as verify_all meets them): \
             verify of the stored bytes {:.0} ns/event, sha256 of the same bytes {:.0} ns/event",
            hv * 1e9 / n as f64,
            hh * 1e9 / n as f64,
        );
        report(
            "verify/sha256 (stored bytes, each chain in cache)",
            n,
            hh / hv,
            0.8,
            total,
            hv,
        );
        println!(
            "{n:>9} events: verify of the stored bytes {:.0} ns/event, sha256 of the same bytes {:.0} ns/event",
            tk * 1e9 / n as f64,
            th * 1e9 / n as f64,
        );
        report(
            "verify/sha256 (stored bytes: SQLite, PostgreSQL)",
            n,
            ratio,
            0.8,
            total,
            tk,
        );
        if n >= 100_000 || !bench_mode {
            sqlite_audit(n, &chains, &bytes, total);
        }
    }
}

/// Times `a` and `b` alternately, `samples` times each after a warm-up, alternating which
/// goes first; returns their median times and the median of `b / a` (a's throughput over
/// b's).
fn interleaved(
    samples: usize,
    mut a: impl FnMut() -> Duration,
    mut b: impl FnMut() -> Duration,
) -> (f64, f64, f64) {
    a();
    b();
    let (mut ta, mut tb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..samples {
        let (x, y) = if i % 2 == 0 {
            let x = a();
            (x, b())
        } else {
            let y = b();
            (a(), y)
        };
        ratios.push(y.as_secs_f64() / x.as_secs_f64());
        ta.push(x.as_secs_f64());
        tb.push(y.as_secs_f64());
    }
    (median(&mut ta), median(&mut tb), median(&mut ratios))
}

fn report(what: &str, n: usize, ratio: f64, target: f64, total: usize, took: f64) {
    let verdict = if ratio >= target { "met" } else { "MISSED" };
    println!(
        "ratio {what} throughput at {n} = {ratio:.2} (target ≥ {target}) {verdict}; {:.1} MB/s",
        total as f64 / took / 1e6
    );
}

/// `Engine::verify_all` of an SQLite file holding the chains, end to end: the rows read,
/// each body parsed, its hash checked over the stored bytes, each item's state replayed
/// and compared, the store's own bookkeeping checked. Reported against sha256 of the same
/// bytes, for scale; it has no target of its own.
fn sqlite_audit(n: usize, chains: &[Vec<Event>], bytes: &[Vec<u8>], total: usize) {
    let dir = std::env::temp_dir().join(format!("workstream-ledger-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let options = Options::builder().durability(Durability::Normal).build();
    let store = SqliteStore::open_with(dir.join("ledger.db"), options).expect("a new database");
    store
        .import(
            [StoredDefinition::of(&task())],
            chains.iter().flatten().cloned(),
        )
        .expect("the chains import");
    let engine = Engine::builder()
        .store(store)
        .workflow(task())
        .build()
        .expect("an engine");
    let audit = || {
        let start = Instant::now();
        let verified = engine.verify_all().expect("the database verifies");
        assert_eq!(verified.events, n);
        start.elapsed()
    };
    let (ta, th, ratio) = interleaved(3, audit, || time_sha256(bytes));
    println!(
        "{n:>9} events on SQLite: verify_all {:.0} ns/event (sha256 of the same bytes {:.0}): \
         {ratio:.2} of sha256's throughput, {:.1} MB/s (no target: reading and parsing the rows)",
        ta * 1e9 / n as f64,
        th * 1e9 / n as f64,
        total as f64 / ta / 1e6
    );
    // The digest reads every item's state; verifying against it adds one comparison per
    // item to the audit.
    let start = Instant::now();
    let digest = engine.digest().expect("a digest");
    let took_digest = start.elapsed();
    let start = Instant::now();
    engine
        .verify_against(&digest)
        .expect("the ledger extends its own digest");
    let took_against = start.elapsed();
    println!(
        "{n:>9} events on SQLite ({} items): digest {:.1} ms, verify --against it {:.0} ns/event",
        digest.leaves().len(),
        took_digest.as_secs_f64() * 1e3,
        took_against.as_secs_f64() * 1e9 / n as f64
    );
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}
