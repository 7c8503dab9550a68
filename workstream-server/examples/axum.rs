//! A service of your own over `workstream::tokio::AsyncEngine`: two axum handlers that read
//! and move a door, answering a refused move with `409` and every reason.
//!
//! ```text
//! cargo run -p workstream-server --example axum                          # a few requests, then exits
//! cargo run -p workstream-server --example axum -- --listen 127.0.0.1:3000
//! curl -X POST 127.0.0.1:3000/doors/1/open_it
//! ```

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tower::ServiceExt;
use workstream::prelude::*;
use workstream::tokio::AsyncEngine;

const DOOR: &str = "
workflow: door
version: 1
roles: [keyholder]
workstations:
  closed: { initial: true }
  open: {}
  removed: { terminal: true }
transitions:
  open_it:
    from: closed
    to: open
    by: [keyholder]
    requires:
      - { assert: fields.locked, op: ne, value: true, id: unlocked, message: the door is locked }
  close_it: { from: open, to: closed }
  remove: { from: closed, to: removed }
";

type Door = AsyncEngine<MemoryStore>;

/// `GET /doors/{id}`.
async fn show(State(doors): State<Door>, Path(id): Path<u64>) -> (StatusCode, Json<Value>) {
    match doors.item(ItemId(id)).await {
        Ok(door) => (StatusCode::OK, Json(json!({ "door": door }))),
        Err(e) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": e.to_string() })),
        ),
    }
}

/// `POST /doors/{id}/{transition}`: the engine's refusal, with every reason, is a 409.
async fn shift(
    State(doors): State<Door>,
    Path((id, transition)): Path<(u64, String)>,
) -> (StatusCode, Json<Value>) {
    // In a real service the actor comes from authentication, never from the request.
    let actor = Actor::new("ann", ["keyholder"]);
    match doors
        .advance(ItemId(id), actor, Move::transition(transition))
        .await
    {
        Ok(door) => (StatusCode::OK, Json(json!({ "door": door }))),
        Err(e) => match e.refused() {
            Some(refused) => (
                StatusCode::CONFLICT,
                Json(json!({ "error": e.to_string(), "reasons": refused.reasons })),
            ),
            None => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "error": e.to_string() })),
            ),
        },
    }
}

fn app(doors: Door) -> Router {
    Router::new()
        .route("/doors/{id}", get(show))
        .route("/doors/{id}/{transition}", post(shift))
        .with_state(doors)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(parse("door.yaml", DOOR)?)
        .build()?;
    let doors = AsyncEngine::new(engine);
    let ann = Actor::new("ann", ["keyholder"]);
    doors.create(ann.clone(), NewItem::of("door")).await?;
    doors
        .create(ann, NewItem::of("door").fields(json!({ "locked": true })))
        .await?;

    let args: Vec<String> = std::env::args().collect();
    if let Some(addr) = args
        .iter()
        .position(|a| a == "--listen")
        .and_then(|i| args.get(i + 1))
    {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("doors on http://{}/doors/1", listener.local_addr()?);
        axum::serve(listener, app(doors)).await?;
        return Ok(());
    }
    // Without --listen: three requests through the router, as a client would make them.
    for (path, expect) in [
        ("/doors/1/open_it", StatusCode::OK),
        ("/doors/2/open_it", StatusCode::CONFLICT),
        ("/doors/1/fly", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let request = axum::http::Request::post(path).body(axum::body::Body::empty())?;
        let response = app(doors.clone()).oneshot(request).await?;
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await?
            .to_bytes();
        println!("POST {path} → {status}: {}", String::from_utf8_lossy(&body));
        assert_eq!(status, expect);
    }
    Ok(())
}
