//! The store's feed over HTTP: pages (`GET /api/events`) and Server-Sent Events
//! (`GET /api/feed`), resumable with `Last-Event-ID`.
//!
//! One task follows the feed's head: it reads what follows the last position it knows,
//! right after a write through this server and every poll interval otherwise (another
//! process may write to the same store). Each SSE connection is a consumer of its own: it
//! reads the store from its cursor whenever the head moves past it, so a slow client
//! delays nobody and no event is skipped or sent twice on a connection.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use workstream::tokio::AsyncEngine;
use workstream::{FeedEvent, Position, Store};

use crate::error::ApiError;
use crate::{App, api};

/// The most events one page or one read of a connection carries.
const PAGE: usize = 500;
/// How long a stream opened without a position waits for the feed's head to be known.
const HEAD_WAIT: Duration = Duration::from_secs(10);

/// Follows the feed's head until every receiver is gone.
pub(crate) fn follow<S: Store + Send + Sync + 'static>(
    engine: AsyncEngine<S>,
    head: watch::Sender<Option<Position>>,
    wake: Arc<Notify>,
    poll: Duration,
) {
    tokio::spawn(async move {
        let mut at = Position::START;
        loop {
            // Everything up to the end, in pages; the head is published only once a read
            // reached the end, so a store that is busy or away never makes it go back.
            let reached = loop {
                match engine.events_since(at, 10_000).await {
                    Ok(page) => match page.last() {
                        Some(last) => at = last.position,
                        None => break true,
                    },
                    Err(_) => break false,
                }
            };
            if reached {
                head.send_if_modified(|known| {
                    let moved = *known != Some(at);
                    *known = Some(at);
                    moved
                });
            }
            tokio::select! {
                () = head.closed() => return,
                () = wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    });
}

/// Set by [`serve`](crate::serve) when its shutdown signal comes: every stream ends, so
/// that the graceful shutdown is not held open by clients that never leave.
#[derive(Clone)]
pub(crate) struct Stopping(pub(crate) Arc<watch::Receiver<bool>>);

/// A stream's state: where it is, and what it waits on.
struct Follow<S> {
    engine: AsyncEngine<S>,
    head: watch::Receiver<Option<Position>>,
    stopping: Option<watch::Receiver<bool>>,
    cursor: Position,
    queue: std::collections::VecDeque<FeedEvent>,
}

/// One event of the feed as the API writes it.
pub(crate) fn event_json(feed: &FeedEvent) -> Value {
    json!({ "position": feed.position, "event": feed.event })
}

/// The position a client gives: `after=` or `Last-Event-ID`.
fn position(text: &str) -> Result<Position, ApiError> {
    text.trim().parse().map_err(|e| {
        ApiError::bad_request(format!(
            "`{text}` is not a feed position (one such as 17 or 4711.2): {e}"
        ))
    })
}

/// `GET /api/events?after=POSITION&limit=N`: the next page of the feed, and the position
/// to ask after next.
pub(crate) async fn page<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<Value>, ApiError> {
    let pairs = api::pairs(raw, &["after", "limit"])?;
    let after = match api::one(&pairs, "after")? {
        Some(text) => position(text)?,
        None => Position::START,
    };
    let limit = match api::one(&pairs, "limit")? {
        None => PAGE,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("`limit={text}` is not a whole number")))?
            .clamp(1, PAGE),
    };
    let events = app.engine.events_since(after, limit).await?;
    let next = events.last().map_or(after, |e| e.position);
    Ok(axum::Json(json!({
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
        "next": next,
    })))
}

/// `GET /api/feed`: every event after `Last-Event-ID` (or `?after=`), then each new one as
/// it is committed; without either, only events committed from now on. Each SSE message
/// is `event: ledger`, `id: POSITION`, and the event as JSON.
pub(crate) async fn stream<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    stopping: Option<axum::Extension<Stopping>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let pairs = api::pairs(raw, &["after"])?;
    let given = headers
        .get("last-event-id")
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_request("Last-Event-ID is not text"))
        })
        .transpose()?
        .or(api::one(&pairs, "after")?);
    let mut head = app.head.clone();
    let cursor = match given {
        Some(text) => {
            let at = position(text)?;
            // A position this store never gave is refused now, not after the stream began.
            app.engine.events_since(at, 1).await?;
            at
        }
        // Only from now on: the head, once the follower has read the feed to its end. A
        // store that cannot be read yet, or a server that stops meanwhile, is a 503.
        None => {
            let unavailable = |code, message| {
                ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, code, message)
            };
            let mut stopped = stopping.as_ref().map(|s| (*s.0.0).clone());
            let deadline = tokio::time::Instant::now() + HEAD_WAIT;
            loop {
                if let Some(at) = *head.borrow_and_update() {
                    break at;
                }
                let stop = async {
                    match stopped.as_mut() {
                        Some(s) if !*s.borrow() => {
                            let _ = s.changed().await;
                        }
                        Some(_) => {}
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    changed = head.changed() => if changed.is_err() {
                        return Err(unavailable("shutting_down", "the server is shutting down"));
                    },
                    () = stop => {
                        return Err(unavailable("shutting_down", "the server is shutting down"));
                    }
                    () = tokio::time::sleep_until(deadline) => {
                        return Err(unavailable(
                            "busy",
                            "the store's feed could not be read yet; try again",
                        ));
                    }
                }
            }
        }
    };
    let engine = app.engine.clone();
    // Without `serve` (a program that mounts the router itself), a stream ends with its
    // client or its server's process.
    let stopping = stopping.map(|s| (*s.0.0).clone());
    let state = Follow {
        engine,
        head,
        stopping,
        cursor,
        queue: std::collections::VecDeque::new(),
    };
    let events = futures_util::stream::unfold(state, |mut f| async move {
        loop {
            if f.stopping.as_ref().is_some_and(|s| *s.borrow()) {
                return None;
            }
            if let Some(next) = f.queue.pop_front() {
                f.cursor = next.position;
                let message = SseEvent::default()
                    .event("ledger")
                    .id(next.position.to_string())
                    .json_data(event_json(&next))
                    .unwrap_or_else(|_| SseEvent::default().comment("unencodable event"));
                return Some((Ok(message), f));
            }
            match f.engine.events_since(f.cursor, PAGE).await {
                Ok(page) if !page.is_empty() => f.queue.extend(page),
                // The store no longer holds the cursor's position (a restored copy): this
                // stream cannot go on; the client sees it end.
                Err(workstream::Error::Store(workstream::StoreError::FeedAhead { .. })) => {
                    return None;
                }
                // Nothing new, or the store is briefly unreadable: wait for the head to move
                // (it is marked seen as `changed` returns), a while, or the server to stop.
                result => {
                    let pause = if result.is_err() { 1 } else { 5 };
                    let stopped = async {
                        match f.stopping.as_mut() {
                            // An error: the server that would say so is gone; stop too.
                            Some(s) => {
                                let _ = s.changed().await;
                            }
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        changed = f.head.changed() => if changed.is_err() { return None; },
                        () = stopped => return None,
                        () = tokio::time::sleep(Duration::from_secs(pause)) => {}
                    }
                }
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
