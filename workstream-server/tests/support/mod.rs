//! What the server's tests share: a board of six items in every state, a router over it,
//! and requests.
#![allow(dead_code, unreachable_pub)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use workstream::prelude::*;
use workstream::tokio::AsyncEngine;
use workstream_server::{Config, Tokens};

pub const BOARD: &str = r#"
workflow: board
version: 1
roles: [author, reviewer]
holds: [blocked, paused]
workstations:
  open: { initial: true }
  coding:
    exit:
      - { assert: fields.tests, op: eq, value: green, id: tests_green, message: "the tests must be green" }
  review:
    sla: 24h
  merged: { terminal: true }
  closed: { terminal: true, outcome: cancelled }
transitions:
  start: { from: open, to: coding }
  submit: { from: coding, to: review, by: [author] }
  merge:
    from: review
    to: merged
    by: [reviewer]
    requires:
      - { assert: actor.id, op: ne, value_from: fields.author, id: no_self_merge, message: "an author may not merge their own work" }
  close: { from: [open, coding, review], to: closed }
"#;

/// The token of ann, an author.
pub const ANN: &str = "wst_ann_token_for_tests";
/// The token of rob, a reviewer.
pub const ROB: &str = "wst_rob_token_for_tests";

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap()
}

pub fn tokens() -> Tokens {
    let mut tokens = Tokens::new();
    tokens.insert(ANN, "ann", &["author"]);
    tokens.insert(ROB, "rob", &["reviewer"]);
    tokens
}

/// The board: #1 open and held, #2 in coding with red tests, #3 depends on #4 (closed,
/// so #3 is blocked), #5 in review past its SLA, #6 merged. The clock stands two days
/// after the first event; #5 was changed last, at that instant.
pub fn board() -> (Engine<MemoryStore>, ManualClock) {
    let clock = ManualClock::new(t0());
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(parse("board.yaml", BOARD).unwrap())
        .clock(clock.clone())
        .build()
        .unwrap();
    let ann = Actor::new("ann", ["author"]);
    let rob = Actor::new("rob", ["reviewer"]);
    let ids: Vec<ItemId> = [
        "held",
        "coding",
        "waiting",
        "dropped",
        "late review",
        "shipped",
    ]
    .into_iter()
    .map(|title| {
        engine
            .create(
                &ann,
                NewItem::of("board")
                    .fields(json!({ "title": title, "author": "ann", "tests": "green" })),
            )
            .unwrap()
            .id()
    })
    .collect();
    clock.advance(TimeDelta::hours(1));
    engine
        .hold(ids[0], &ann, "blocked", "waiting for a design")
        .unwrap();
    for &id in &ids[1..] {
        engine.advance(id, &ann, Move::transition("start")).unwrap();
    }
    engine
        .update_fields(ids[1], &ann, json!({ "tests": "red" }))
        .unwrap();
    engine.add_dependency(ids[2], ids[3], &ann).unwrap();
    engine
        .advance(ids[3], &ann, Move::transition("close"))
        .unwrap();
    for &id in &ids[4..] {
        engine
            .advance(id, &ann, Move::transition("submit"))
            .unwrap();
    }
    clock.advance(TimeDelta::hours(2));
    engine
        .advance(ids[5], &rob, Move::transition("merge"))
        .unwrap();
    clock.advance(TimeDelta::hours(45));
    engine
        .update_fields(ids[4], &ann, json!({ "note": "ping" }))
        .unwrap();
    (engine, clock)
}

/// A router over the board: read-only, or taking writes from ann's and rob's tokens.
pub fn router(writes: bool) -> (Router, AsyncEngine<MemoryStore>) {
    let (engine, _) = board();
    let engine = AsyncEngine::new(engine);
    let config = if writes {
        Config::new().writes(tokens())
    } else {
        Config::new().tokens(tokens())
    };
    (workstream_server::router(engine.clone(), config), engine)
}

/// An answer: its status, headers, and its body as JSON (`Value::Null` when it is not).
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// The error's code, for an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    }
}

pub async fn get(router: &Router, uri: &str) -> Answer {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// A request with a JSON body and, if given, a bearer token.
pub fn json_request(method: &str, uri: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

pub async fn post(router: &Router, uri: &str, token: Option<&str>, body: Value) -> Answer {
    send(router, json_request("POST", uri, token, &body)).await
}

pub async fn delete(router: &Router, uri: &str, token: Option<&str>) -> Answer {
    let mut builder = Request::delete(uri);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    send(router, builder.body(Body::empty()).unwrap()).await
}

/// The ids of a list answer.
pub fn ids(answer: &Answer) -> Vec<u64> {
    answer.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", answer.text))
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect()
}

/// Serves `router` on a free loopback port, in this runtime; its address.
pub async fn spawn(router: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(workstream_server::serve(
        listener,
        router,
        std::future::pending(),
    ));
    addr
}

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<axum::body::Bytes>,
>;

/// An HTTP/1 client over loopback.
pub fn client() -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// A request over the network: the status and the body as JSON.
pub async fn http(
    client: &Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut builder = hyper::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let bytes = match body {
        Some(body) => {
            builder = builder.header("content-type", "application/json");
            body.to_string().into_bytes()
        }
        None => Vec::new(),
    };
    let response = client
        .request(builder.body(http_body_util::Full::from(bytes)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A Server-Sent Events stream being read: each message's `id` and data.
pub struct Sse {
    body: hyper::body::Incoming,
    buffer: String,
}

impl Sse {
    /// Opens `url`, with `Last-Event-ID` if given; the status if it is not 200.
    pub async fn open(client: &Client, url: &str, last: Option<&str>) -> Result<Sse, StatusCode> {
        let mut builder = hyper::Request::get(url).header("accept", "text/event-stream");
        if let Some(last) = last {
            builder = builder.header("last-event-id", last);
        }
        let response = client
            .request(builder.body(http_body_util::Full::default()).unwrap())
            .await
            .unwrap();
        if response.status() != StatusCode::OK {
            return Err(response.status());
        }
        Ok(Sse {
            body: response.into_body(),
            buffer: String::new(),
        })
    }

    /// The next message with an id (keep-alive comments are skipped), or `None` if none
    /// comes within `wait`.
    pub async fn next(&mut self, wait: std::time::Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let message: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut data = String::new();
                for line in message.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if let Some(id) = id {
                    return Some((id, serde_json::from_str(&data).unwrap()));
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()??;
            if let Ok(data) = frame.unwrap().into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}
