//! The JSON API: items with the filters of `workstream ls`, one item with everything about
//! it, the workflows with their counts, the flow report with its series, and the writes.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use workstream::{
    Actor, Change, Engine, Error, Event, Item, ItemId, Move, NewItem, Outcome, Query, Signal,
    Signals, Store, Window, parse_span,
};

use crate::App;
use crate::auth::{self, SESSION_COOKIE, SESSION_LIFE};
use crate::error::ApiError;

/// The derived states an item can be listed by: `active` (open), `accepted` (closed with
/// the outcome `done`), and each signal.
pub(crate) const STATES: [&str; 7] = [
    "active", "accepted", "finished", "blocked", "stalled", "oldie", "overdue",
];

/// The derived states `item` is in.
fn states(item: &Item, signals: &Signals) -> Vec<&'static str> {
    let mut on = Vec::new();
    if !item.is_closed() {
        on.push("active");
    }
    if item.outcome() == Some(Outcome::Done) {
        on.push("accepted");
    }
    on.extend(signals.active().iter().map(|s| s.name()));
    on
}

fn item_row(item: &Item, signals: &Signals) -> Value {
    json!({
        "id": item.id(),
        "workflow": item.workflow(),
        "version": item.version(),
        "workstation": item.workstation(),
        "outcome": item.outcome(),
        "holds": item.holds().keys().collect::<Vec<_>>(),
        "states": states(item, signals),
        "signals": signals.active(),
        "unevaluable": signals.unevaluable.iter().map(|r| &r.id).collect::<Vec<_>>(),
        "parent": item.parent(),
        "deps": item.deps(),
        "created": item.created(),
        "entered": item.entered(),
        "updated": item.updated(),
    })
}

/// A request's JSON body, or a 4xx that says what is wrong with it (too large, not JSON, a
/// field missing, an unknown field).
fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(v)| v).map_err(|e| {
        let status = e.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "bad_body"
        };
        ApiError::new(status, code, e.body_text())
    })
}

fn item_id(path: Result<Path<u64>, PathRejection>) -> Result<ItemId, ApiError> {
    path.map(|Path(id)| ItemId(id))
        .map_err(|_| ApiError::bad_request("an item id is a positive whole number"))
}

/// The query string's pairs, in order, repeated keys kept; any key not in `known` is an
/// error, so that a misspelt filter is not silently ignored.
pub(crate) fn pairs(
    raw: Option<String>,
    known: &[&str],
) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("the query string does not read: {e}")))?;
    if let Some((key, _)) = pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown parameter `{key}` (this endpoint takes: {})",
            known.join(", ")
        )));
    }
    Ok(pairs)
}

pub(crate) fn one<'a>(
    pairs: &'a [(String, String)],
    key: &str,
) -> Result<Option<&'a str>, ApiError> {
    let mut found = pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str());
    let first = found.next();
    if found.next().is_some() {
        return Err(ApiError::bad_request(format!(
            "`{key}` is given more than once"
        )));
    }
    Ok(first)
}

fn many<'a>(pairs: &'a [(String, String)], key: &'a str) -> impl Iterator<Item = &'a str> {
    pairs
        .iter()
        .filter(move |(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .filter(|v| !v.is_empty())
}

/// `offset`: minutes east of UTC, for the calendar windows (`today`, …).
fn offset(pairs: &[(String, String)]) -> Result<FixedOffset, ApiError> {
    let minutes = match one(pairs, "offset")? {
        None => 0,
        Some(text) => text
            .parse::<i32>()
            .ok()
            .filter(|m| (-18 * 60..=18 * 60).contains(m))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`offset={text}` is not an offset: give minutes east of UTC, -1080 to 1080"
                ))
            })?,
    };
    Ok(FixedOffset::east_opt(minutes * 60).expect("checked to be within a day"))
}

fn window(text: &str, now: DateTime<Utc>, offset: FixedOffset) -> Result<Window, ApiError> {
    Window::named(text, now, offset).ok_or_else(|| {
        ApiError::bad_request(format!(
            "`{text}` is not a window: give 1h, 24h, 7d, 30d (any number of m, h, d or w), \
             today, this-week or this-month"
        ))
    })
}

/// `workflow` and `workstation`, checked against the workflows loaded.
fn place<S: Store>(engine: &Engine<S>, pairs: &[(String, String)]) -> Result<Query, ApiError> {
    engine
        .query_for(one(pairs, "workflow")?, one(pairs, "workstation")?)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// How many items a list answers when it is not given a `limit`.
const DEFAULT_LIMIT: usize = 1000;
/// The most items a list answers.
const MAX_LIMIT: usize = 10_000;

const LIST_PARAMS: [&str; 11] = [
    "workflow",
    "workstation",
    "signal",
    "state",
    "held",
    "open",
    "updated",
    "created",
    "offset",
    "limit",
    "fields",
];

/// `GET /api/items`: the items that meet every filter, with their derived states.
///
/// `workflow`, `workstation`; `state` (repeatable or comma-separated: active, accepted,
/// finished, blocked, stalled, oldie, overdue; an item must be in all) and `signal` (the
/// same, signals only, as `workstream ls --signal`); `held` (any hold when empty, or a
/// kind); `open=true`; `updated`, `created` (windows) with `offset`; `limit` (1,000
/// unless given, at most 10,000; `more` says whether items were left out); `fields=true`
/// adds each item's fields.
pub(crate) async fn list<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = pairs(raw, &LIST_PARAMS)?;
    let engine = app.engine.engine();
    let now = engine.now();
    let offset = offset(&pairs)?;
    let mut query = place(engine, &pairs)?;
    if let Some(w) = one(&pairs, "updated")? {
        query = query.updated_in(window(w, now, offset)?);
    }
    if let Some(w) = one(&pairs, "created")? {
        query = query.created_in(window(w, now, offset)?);
    }
    let mut wanted: Vec<&str> = Vec::new();
    for name in many(&pairs, "signal") {
        if !Signal::ALL.iter().any(|s| s.name() == name) {
            return Err(ApiError::bad_request(format!(
                "`{name}` is not a signal (finished, blocked, stalled, oldie, overdue)"
            )));
        }
        wanted.push(name);
    }
    for name in many(&pairs, "state") {
        if !STATES.contains(&name) {
            return Err(ApiError::bad_request(format!(
                "`{name}` is not a state ({})",
                STATES.join(", ")
            )));
        }
        wanted.push(name);
    }
    let held = one(&pairs, "held")?.map(str::to_owned);
    if let Some(kind) = held.as_deref().filter(|k| !k.is_empty())
        && !engine
            .workflows()
            .any(|w| w.holds().iter().any(|h| h == kind))
    {
        return Err(ApiError::bad_request(format!(
            "no workflow declares a hold `{kind}`"
        )));
    }
    let flag = |key: &str| -> Result<bool, ApiError> {
        match one(&pairs, key)? {
            None | Some("false" | "0") => Ok(false),
            Some("" | "true" | "1") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "`{key}={other}`: give true or false"
            ))),
        }
    };
    let open = flag("open")?;
    let with_fields = flag("fields")?;
    let limit = match one(&pairs, "limit")? {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("`limit={text}` is not a whole number")))?
            .min(MAX_LIMIT),
    };
    let wanted: Vec<String> = wanted.into_iter().map(str::to_owned).collect();
    let rows = app
        .engine
        .run(move |engine| -> workstream::Result<(Vec<Value>, bool)> {
            let mut rows = Vec::new();
            let mut more = false;
            for item in engine.items(&query)? {
                if open && item.is_closed() {
                    continue;
                }
                match held.as_deref() {
                    Some("") if !item.is_held() => continue,
                    Some(kind) if !kind.is_empty() && !item.holds().contains_key(kind) => continue,
                    _ => {}
                }
                let signals = engine.signals(item.id())?;
                let on = states(&item, &signals);
                if wanted.iter().all(|w| on.contains(&w.as_str())) {
                    // One more that meets every filter: the list leaves some out.
                    if rows.len() == limit {
                        more = true;
                        break;
                    }
                    let mut row = item_row(&item, &signals);
                    if with_fields {
                        row["fields"] = item.fields().clone();
                    }
                    rows.push(row);
                }
            }
            Ok((rows, more))
        })
        .await?;
    let (rows, more) = rows;
    Ok(Json(
        json!({ "count": rows.len(), "items": rows, "more": more, "now": now }),
    ))
}

/// `GET /api/items/{id}`: the item, its signals and derived states, every way out for the
/// reader (the token's or session's actor, else an inspector with every role of the
/// workflow), its history with each event's hash, and whether its chain verifies.
pub(crate) async fn item<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    path: Result<Path<u64>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = item_id(path)?;
    let reader = auth::reader(&headers, &app.config.tokens, &app.sessions);
    let value = app
        .engine
        .run(move |engine| -> workstream::Result<Value> {
            let item = engine.item(id)?;
            let (actor, inspector) = match reader {
                Some(actor) => (actor, false),
                None => {
                    let roles = engine
                        .workflow_of(&item)
                        .map(|w| w.roles().to_vec())
                        .unwrap_or_default();
                    (Actor::new("inspector", roles), true)
                }
            };
            let explained = engine.explain(id, &actor)?;
            let history = engine.history(id)?;
            let verified = match engine.verify(id) {
                Ok(events) => json!({ "ok": true, "events": events }),
                Err(Error::Verify(report)) => {
                    json!({ "ok": false, "problems": report.to_string() })
                }
                Err(e) => return Err(e),
            };
            let signals = &explained.signals;
            Ok(json!({
                "item": item,
                "states": states(&item, signals),
                "signals": signals,
                "actor": { "id": actor.id(), "roles": actor.roles(), "inspector": inspector },
                "ways_out": explained.transitions.iter().map(|way| json!({
                    "transition": way.transition,
                    "to": way.to,
                    "verdict": way.standing().name(),
                    "reasons": way.reasons,
                    "warnings": way.warnings,
                })).collect::<Vec<_>>(),
                "history": history,
                "verified": verified,
            }))
        })
        .await?;
    Ok(Json(value))
}

/// `GET /api/workflows`: every workflow version loaded, its workstations and transitions,
/// and how many of its items are in each workstation (open and closed).
pub(crate) async fn workflows<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
) -> Result<Json<Value>, ApiError> {
    let value = app
        .engine
        .run(|engine| -> workstream::Result<Value> {
            let mut list = Vec::new();
            // Every item read once, counted by workflow, version and workstation.
            let mut counts: BTreeMap<(String, u32, String), usize> = BTreeMap::new();
            for item in engine.items(&Query::new())? {
                let key = (
                    item.workflow().to_owned(),
                    item.version(),
                    item.workstation().to_owned(),
                );
                *counts.entry(key).or_default() += 1;
            }
            let count = |w: &workstream::Workflow, station: &str| {
                let key = (w.name().to_owned(), w.version(), station.to_owned());
                counts.get(&key).copied().unwrap_or(0)
            };
            let mut seen: Vec<(String, u32)> = Vec::new();
            for w in engine.workflows() {
                if seen.contains(&(w.name().to_owned(), w.version())) {
                    continue;
                }
                seen.push((w.name().to_owned(), w.version()));
                let station = |id| w.workstation(id).name().to_owned();
                list.push(json!({
                    "name": w.name(),
                    "version": w.version(),
                    "description": w.description(),
                    "roles": w.roles(),
                    "holds": w.holds(),
                    "workstations": w.workstations().iter().map(|s| json!({
                        "name": s.name(),
                        "description": s.description(),
                        "initial": s.is_initial(),
                        "terminal": s.is_terminal(),
                        "outcome": s.outcome(),
                        "sla_seconds": s.sla().map(|d| d.as_secs()),
                        "count": count(w, s.name()),
                    })).collect::<Vec<_>>(),
                    "transitions": w.transitions().iter().map(|t| json!({
                        "name": t.name(),
                        "from": t.from().iter().map(|f| station(*f)).collect::<Vec<_>>(),
                        "to": station(t.to()),
                        "by": t.by(),
                        "rework": t.is_rework(),
                    })).collect::<Vec<_>>(),
                }));
            }
            Ok(json!({ "workflows": list }))
        })
        .await?;
    Ok(Json(value))
}

/// Where an item's chain put it after each event: `(instant, workstation)`.
fn stations(events: &[Event]) -> Vec<(DateTime<Utc>, String)> {
    events
        .iter()
        .filter_map(|e| match e.change() {
            Change::Created { workstation, .. } => Some((e.at(), workstation.clone())),
            Change::Transitioned { to, .. } => Some((e.at(), to.clone())),
            Change::Migrated { to_workstation, .. } => Some((e.at(), to_workstation.clone())),
            _ => None,
        })
        .collect()
}

/// At most this many periods in a flow report's series.
const MAX_PERIODS: i64 = 1000;

/// `GET /api/flow?workflow=…&window=30d&period=1d&offset=…`: the flow report (as
/// `workstream metrics`), and for charts each completed item's lead time, the throughput
/// per period, and a cumulative flow diagram (items per workstation at each period's end).
pub(crate) async fn flow<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = pairs(raw, &["workflow", "window", "period", "offset"])?;
    let engine = app.engine.engine();
    let now = engine.now();
    let query = place(engine, &pairs)?;
    let workflow = one(&pairs, "workflow")?.map(str::to_owned);
    let offset = offset(&pairs)?;
    let window = window(one(&pairs, "window")?.unwrap_or("30d"), now, offset)?;
    let period_text = one(&pairs, "period")?.unwrap_or("1d");
    let period = parse_span(period_text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "`period={period_text}` is not a duration (90m, 24h, 7d)"
        ))
    })?;
    let periods = (window.length().num_seconds() + period.num_seconds() - 1) / period.num_seconds();
    if periods > MAX_PERIODS {
        return Err(ApiError::bad_request(format!(
            "{periods} periods of {period_text} in this window; at most {MAX_PERIODS}: give a \
             longer period"
        )));
    }
    let value = app
        .engine
        .run(move |engine| -> workstream::Result<Value> {
            let report = engine.flow(&query, window, period)?;
            let ends: Vec<DateTime<Utc>> = (1..=periods)
                .map(|k| (window.start + period * k as i32).min(window.end))
                .collect();
            let mut lead = Vec::new();
            let mut throughput = vec![0usize; ends.len()];
            let order: Vec<String> = workflow
                .as_deref()
                .and_then(|name| engine.workflow(name))
                .map(|w| {
                    w.workstations()
                        .iter()
                        .map(|s| s.name().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let mut cfd: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for item in engine.items(&query)? {
                if item.created() >= window.end {
                    continue;
                }
                let events = engine.history(item.id())?;
                let Some(w) = engine.workflow_version(item.workflow(), item.version()) else {
                    continue;
                };
                if let Some(m) = workstream::item_metrics(&events, w, window.end)
                    && let Some(closed) = m.closed
                    && window.contains(closed)
                    && m.outcome == Some(Outcome::Done)
                {
                    lead.push(m.lead.num_seconds());
                    let k = ((closed - window.start).num_seconds() / period.num_seconds()) as usize;
                    if let Some(slot) = throughput.get_mut(k) {
                        *slot += 1;
                    }
                }
                if workflow.is_some() {
                    let path = stations(&events);
                    for (k, end) in ends.iter().enumerate() {
                        if let Some((_, station)) = path.iter().rev().find(|(at, _)| at < end) {
                            cfd.entry(station.clone())
                                .or_insert_with(|| vec![0; ends.len()])[k] += 1;
                        }
                    }
                }
            }
            lead.sort_unstable();
            let mut bands: Vec<Value> = order
                .iter()
                .filter_map(|s| {
                    cfd.remove(s)
                        .map(|counts| json!({ "workstation": s, "counts": counts }))
                })
                .collect();
            bands.extend(
                cfd.into_iter()
                    .map(|(s, counts)| json!({ "workstation": s, "counts": counts })),
            );
            Ok(json!({
                "window": window,
                "period_seconds": period.num_seconds(),
                "report": report,
                "lead_time_seconds": lead,
                "periods": ends,
                "throughput": throughput,
                "cfd": if workflow.is_some() { Value::Array(bands) } else { Value::Null },
            }))
        })
        .await?;
    Ok(Json(value))
}

/// `GET /api/verify`: every chain of the store, verified.
pub(crate) async fn verify<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
) -> Result<Json<Value>, ApiError> {
    match app.engine.verify_all().await {
        Ok(v) => Ok(Json(
            json!({ "ok": true, "items": v.items, "events": v.events }),
        )),
        Err(Error::Verify(report)) => {
            Ok(Json(json!({ "ok": false, "problems": report.to_string() })))
        }
        Err(e) => Err(e.into()),
    }
}

// Writes.

/// The actor of a write, or why it may not be made.
fn writer<S>(app: &App<S>, headers: &HeaderMap) -> Result<Actor, ApiError> {
    if !app.config.writes {
        return Err(ApiError::forbidden(
            "read_only",
            "this server is read-only; start it with writes enabled (`workstream serve \
             --writes --tokens FILE`)",
        ));
    }
    auth::writer(headers, &app.config.tokens, &app.sessions)
}

/// Answers a write: the item as it now is, and the feed follower woken.
fn written<S>(app: &App<S>, status: StatusCode, item: Item) -> Response {
    app.wake.notify_one();
    (status, Json(json!({ "item": item }))).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Create {
    workflow: String,
    version: Option<u32>,
    #[serde(default)]
    fields: Option<Value>,
    parent: Option<u64>,
    reason: Option<String>,
    payload: Option<Value>,
}

/// `POST /api/items`: creates an item (`201`).
pub(crate) async fn create<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    request: Result<Json<Create>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = writer(&app, &headers)?;
    let c = body(request)?;
    let mut new = NewItem::of(c.workflow);
    if let Some(v) = c.version {
        new = new.version(v);
    }
    if let Some(fields) = c.fields {
        new = new.fields(fields);
    }
    if let Some(parent) = c.parent {
        new = new.parent(ItemId(parent));
    }
    if let Some(reason) = c.reason {
        new = new.reason(reason);
    }
    if let Some(payload) = c.payload {
        new = new.payload(payload);
    }
    let item = app.engine.create(actor, new).await?;
    Ok(written(&app, StatusCode::CREATED, item))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Advance {
    transition: Option<String>,
    to: Option<String>,
    from: Option<String>,
    patch: Option<Value>,
    reason: Option<String>,
    payload: Option<Value>,
}

/// `POST /api/items/{id}/advance`: moves an item by `transition` or to the workstation
/// `to` (one of the two), optionally only if it is still in `from`; a refused move is
/// `409` with every reason.
pub(crate) async fn advance<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    path: Result<Path<u64>, PathRejection>,
    request: Result<Json<Advance>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = writer(&app, &headers)?;
    let id = item_id(path)?;
    let a = body(request)?;
    let mut mv = match (a.transition, a.to) {
        (Some(t), None) => Move::transition(t),
        (None, Some(to)) => Move::to(to),
        _ => {
            return Err(ApiError::bad_request(
                "give either `transition` or `to`, not both or neither",
            ));
        }
    };
    if let Some(from) = a.from {
        mv = mv.only_from(from);
    }
    if let Some(patch) = a.patch {
        mv = mv.patch(patch);
    }
    if let Some(reason) = a.reason {
        mv = mv.reason(reason);
    }
    if let Some(payload) = a.payload {
        mv = mv.payload(payload);
    }
    let item = app.engine.advance(id, actor, mv).await?;
    Ok(written(&app, StatusCode::OK, item))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fields {
    patch: Value,
}

/// `POST /api/items/{id}/fields`: applies a merge patch to an item's fields.
pub(crate) async fn update_fields<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    path: Result<Path<u64>, PathRejection>,
    request: Result<Json<Fields>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = writer(&app, &headers)?;
    let id = item_id(path)?;
    let f = body(request)?;
    let item = app.engine.update_fields(id, actor, f.patch).await?;
    Ok(written(&app, StatusCode::OK, item))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HoldRequest {
    hold: String,
    reason: String,
}

/// `POST /api/items/{id}/holds`: puts a hold on an item.
pub(crate) async fn hold<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    path: Result<Path<u64>, PathRejection>,
    request: Result<Json<HoldRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = writer(&app, &headers)?;
    let id = item_id(path)?;
    let h = body(request)?;
    let item = app.engine.hold(id, actor, h.hold, h.reason).await?;
    Ok(written(&app, StatusCode::OK, item))
}

/// `DELETE /api/items/{id}/holds/{hold}`: releases a hold.
pub(crate) async fn release<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    path: Result<Path<(u64, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let actor = writer(&app, &headers)?;
    let Path((id, hold)) =
        path.map_err(|_| ApiError::bad_request("the path is /api/items/ID/holds/KIND"))?;
    let item = app.engine.release(ItemId(id), actor, hold).await?;
    Ok(written(&app, StatusCode::OK, item))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Dependency {
    on: u64,
}

/// `POST /api/items/{id}/deps`: makes an item depend on another.
pub(crate) async fn add_dependency<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    path: Result<Path<u64>, PathRejection>,
    request: Result<Json<Dependency>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = writer(&app, &headers)?;
    let id = item_id(path)?;
    let d = body(request)?;
    let item = app.engine.add_dependency(id, ItemId(d.on), actor).await?;
    Ok(written(&app, StatusCode::OK, item))
}

/// `DELETE /api/items/{id}/deps/{on}`: removes a dependency.
pub(crate) async fn remove_dependency<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    path: Result<Path<(u64, u64)>, PathRejection>,
) -> Result<Response, ApiError> {
    let actor = writer(&app, &headers)?;
    let Path((id, on)) =
        path.map_err(|_| ApiError::bad_request("the path is /api/items/ID/deps/ID"))?;
    let item = app
        .engine
        .remove_dependency(ItemId(id), ItemId(on), actor)
        .await?;
    Ok(written(&app, StatusCode::OK, item))
}

// Dashboard sessions.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignIn {
    token: String,
}

fn session_json(actor: Option<&Actor>, csrf: Option<&str>, writes: bool) -> Value {
    json!({
        "actor": actor.map(|a| json!({ "id": a.id(), "roles": a.roles() })),
        "csrf": csrf,
        "writes": writes,
    })
}

/// `POST /api/session`: signs a dashboard in with a token; the session is an `HttpOnly`,
/// `SameSite=Strict` cookie, and the answer carries the CSRF token its writes must send.
pub(crate) async fn sign_in<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    request: Result<Json<SignIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    let s = body(request)?;
    let actor = app
        .config
        .tokens
        .actor(s.token.trim())
        .ok_or_else(|| ApiError::unauthorized("this token is not accepted here"))?;
    let (id, session) = app.sessions.open(actor);
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_LIFE.as_secs()
    );
    let mut response = Json(session_json(
        Some(&session.actor),
        Some(&session.csrf),
        app.config.writes,
    ))
    .into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("hex and ASCII"),
    );
    Ok(response)
}

/// `GET /api/session`: who the dashboard is signed in as, its CSRF token, and whether this
/// server takes writes.
pub(crate) async fn session<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
) -> Json<Value> {
    let session = auth::session_id(&headers).and_then(|id| app.sessions.get(&id));
    Json(session_json(
        session.as_ref().map(|s| &s.actor),
        session.as_ref().map(|s| s.csrf.as_str()),
        app.config.writes,
    ))
}

/// `DELETE /api/session`: signs out.
pub(crate) async fn sign_out<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Some(id) = auth::session_id(&headers) {
        app.sessions.close(&id);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static(
            "workstream_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        ),
    );
    response
}
