//! Load on a running server over loopback: 16 clients advancing distinct items on SQLite
//! while a reader follows the feed over Server-Sent Events.
//!
//! ```text
//! cargo bench -p workstream-server --bench load [-- --items 20]
//! ```
//!
//! It reports requests per second and p50/p99 latency, checks that nothing was lost (the
//! feed delivered every committed event exactly once, and `verify_all` passes), and prints
//! the ratio to the same moves made by 16 threads calling the engine directly on a fresh
//! database in the same run (the cost of HTTP, JSON and the async hop). Bounded: at most
//! `16 × items × 4` requests, and it gives up after two minutes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use workstream::prelude::*;
use workstream::tokio::AsyncEngine;
use workstream::{ItemId, SqliteStore};
use workstream_server::{Config, Tokens};

const CLIENTS: usize = 16;
const MOVES: [&str; 4] = ["one", "two", "three", "four"];
const TOKEN: &str = "wst_load_bench";
const LIMIT: Duration = Duration::from_secs(120);

const FLOW: &str = "
workflow: load
version: 1
workstations:
  a: { initial: true }
  b: {}
  c: {}
  d: {}
  e: { terminal: true }
transitions:
  one: { from: a, to: b }
  two: { from: b, to: c }
  three: { from: c, to: d }
  four: { from: d, to: e }
";

fn engine(path: &Path) -> Engine<SqliteStore> {
    Engine::builder()
        .store(SqliteStore::open(path).unwrap())
        .workflow(parse("load.yaml", FLOW).unwrap())
        .build()
        .unwrap()
}

/// A fresh database with `CLIENTS × per` items in `a`; their ids, client by client.
fn setup(dir: &Path, name: &str, per: usize) -> (Engine<SqliteStore>, Vec<Vec<ItemId>>) {
    let path = dir.join(name);
    let engine = engine(&path);
    let maker = Actor::new("setup", Vec::<String>::new());
    let ids = (0..CLIENTS)
        .map(|_| {
            (0..per)
                .map(|_| engine.create(&maker, NewItem::of("load")).unwrap().id())
                .collect()
        })
        .collect();
    (engine, ids)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The baseline: the same moves, 16 threads calling the engine directly.
fn direct(dir: &Path, per: usize) -> f64 {
    let (engine, ids) = setup(dir, "direct.db", per);
    let engine = Arc::new(engine);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for mine in &ids {
            let engine = Arc::clone(&engine);
            scope.spawn(move || {
                let actor = Actor::new("bench", Vec::<String>::new());
                for &id in mine {
                    for name in MOVES {
                        engine.advance(id, &actor, Move::transition(name)).unwrap();
                    }
                }
            });
        }
    });
    (CLIENTS * per * MOVES.len()) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let per: usize = args
        .iter()
        .position(|a| a == "--items")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir: PathBuf = std::env::temp_dir().join(format!("workstream-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let total = CLIENTS * per * MOVES.len();

    let (engine, ids) = setup(&dir, "served.db", per);
    let before = engine
        .events_since(workstream::Position::START, usize::MAX)
        .unwrap();
    let cursor = before.last().unwrap().position;
    let mut tokens = Tokens::new();
    tokens.insert(TOKEN, "bench", &[]);
    let engine = AsyncEngine::new(engine);
    let router = workstream_server::router(engine.clone(), Config::new().writes(tokens));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(workstream_server::serve(
        listener,
        router,
        std::future::pending(),
    ));
    let client: Client<HttpConnector, Full<hyper::body::Bytes>> =
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(CLIENTS)
            .build_http();

    // The reader: every event after the setup, over SSE, until all have come.
    let reader = {
        let client = client.clone();
        let url = format!("{base}/api/feed?after={cursor}");
        tokio::spawn(async move {
            let request = hyper::Request::get(url)
                .header("accept", "text/event-stream")
                .body(Full::default())
                .unwrap();
            let mut body = client.request(request).await.unwrap().into_body();
            let mut buffer = String::new();
            let mut got: Vec<(String, u64, u64)> = Vec::new();
            let deadline = tokio::time::Instant::now() + LIMIT;
            while got.len() < total {
                let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, body.frame()).await
                else {
                    break;
                };
                if let Ok(data) = frame.into_data() {
                    buffer.push_str(&String::from_utf8_lossy(&data));
                }
                while let Some(end) = buffer.find("\n\n") {
                    let message: String = buffer.drain(..end + 2).collect();
                    let (mut id, mut data) = (None, None);
                    for line in message.lines() {
                        if let Some(v) = line.strip_prefix("id:") {
                            id = Some(v.trim().to_owned());
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data = serde_json::from_str::<Value>(v.trim_start()).ok();
                        }
                    }
                    if let (Some(id), Some(data)) = (id, data) {
                        let item = data["event"]["item"].as_u64().unwrap();
                        let seq = data["event"]["seq"].as_u64().unwrap();
                        got.push((id, item, seq));
                    }
                }
            }
            got
        })
    };

    let start = Instant::now();
    let mut clients = Vec::new();
    for mine in ids.clone() {
        let client = client.clone();
        let base = base.clone();
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for id in mine {
                for name in MOVES {
                    if start.elapsed() > LIMIT {
                        return latencies;
                    }
                    let request =
                        hyper::Request::post(format!("{base}/api/items/{}/advance", id.0))
                            .header("authorization", format!("Bearer {TOKEN}"))
                            .header("content-type", "application/json")
                            .body(Full::from(json!({ "transition": name }).to_string()))
                            .unwrap();
                    let sent = Instant::now();
                    let response = client.request(request).await.unwrap();
                    let status = response.status();
                    let body = response.into_body().collect().await.unwrap().to_bytes();
                    latencies.push(sent.elapsed());
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for c in clients {
        latencies.extend(c.await.unwrap());
    }
    let elapsed = start.elapsed();
    let got = reader.await.unwrap();
    latencies.sort();
    let served = latencies.len() as f64 / elapsed.as_secs_f64();

    // Nothing lost: every committed move once, in increasing positions, and every chain verifies.
    let expected: BTreeSet<(u64, u64)> = ids
        .iter()
        .flatten()
        .flat_map(|id| (2..=1 + MOVES.len() as u64).map(move |seq| (id.0, seq)))
        .collect();
    let delivered: BTreeSet<(u64, u64)> = got.iter().map(|(_, i, s)| (*i, *s)).collect();
    let positions: Vec<workstream::Position> =
        got.iter().map(|(p, _, _)| p.parse().unwrap()).collect();
    let increasing = positions.windows(2).all(|w| w[0] < w[1]);
    let verified = engine.verify_all().await.unwrap();

    let baseline = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || direct(&dir, per)
    })
    .await
    .unwrap();
    println!(
        "load: {CLIENTS} clients, {} requests (advance) over loopback on SQLite",
        latencies.len()
    );
    println!(
        "  {served:.0} requests/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    println!(
        "  the same moves by {CLIENTS} threads on the engine directly: {baseline:.0} moves/s; served / direct = {:.2}",
        served / baseline
    );
    println!(
        "  feed: {} events delivered for {} committed, {} distinct, positions increasing: {increasing}",
        got.len(),
        expected.len(),
        delivered.len()
    );
    println!(
        "  verify_all: {} items, {} events verified",
        verified.items, verified.events
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        latencies.len(),
        total,
        "every request was made within {LIMIT:?}"
    );
    assert_eq!(
        got.len(),
        expected.len(),
        "the feed delivered each event once"
    );
    assert_eq!(
        delivered, expected,
        "the feed delivered every committed event"
    );
    assert!(increasing, "in increasing positions");
}
