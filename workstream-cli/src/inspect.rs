//! Commands that read items: `ls`, `show`, `metrics`.

use std::io::Write;

use chrono::{FixedOffset, TimeDelta};
use clap::ArgMatches;
use serde_json::{Value, json};
use workstream::{
    Actor, Engine, Error, Item, ItemId, Query, Reason, ReasonKind, Signal, Signals, Store, Window,
};

use crate::render::{cells, change, clean, number, short, table};
use crate::{Failure, Found, time};

fn json_format(args: &ArgMatches) -> bool {
    args.get_one::<String>("format")
        .is_some_and(|f| f == "json")
}

fn tz(args: &ArgMatches) -> Result<FixedOffset, Failure> {
    time::offset(args.get_one::<String>("tz").map_or("UTC", String::as_str))
}

/// `--workflow` and `--workstation`, checked against the workflows loaded: a name that is
/// not there is a mistake, not an empty result.
fn place_query<S: Store>(engine: &Engine<S>, args: &ArgMatches) -> Result<Query, Failure> {
    let workstation = args.try_get_one::<String>("workstation").ok().flatten();
    engine
        .query_for(
            args.get_one::<String>("workflow").map(String::as_str),
            workstation.map(String::as_str),
        )
        .map_err(|e| Failure::new(e.to_string()))
}

fn signal(name: &str) -> Option<Signal> {
    Signal::ALL.into_iter().find(|s| s.name() == name)
}

/// The signals on, and `blocked?` when only checks this program cannot evaluate might block.
fn signal_words(signals: &Signals) -> String {
    let mut words: Vec<String> = signals
        .active()
        .iter()
        .map(|s| s.name().to_owned())
        .collect();
    if !signals.has(Signal::Blocked) && !signals.unevaluable.is_empty() {
        words.push("blocked?".to_owned());
    }
    words.join(", ")
}

fn holds_words(item: &Item) -> String {
    clean(&item.holds().keys().cloned().collect::<Vec<_>>().join(", "))
}

/// `ls`: the items that meet every filter.
pub(crate) fn ls<S: Store>(
    engine: &Engine<S>,
    args: &ArgMatches,
    out: &mut dyn Write,
) -> Result<Found, Failure> {
    let offset = tz(args)?;
    let now = engine.now();
    let mut query = place_query(engine, args)?;
    if let Some(w) = args.get_one::<String>("updated") {
        query = query.updated_in(time::window(w, now, offset)?);
    }
    if let Some(w) = args.get_one::<String>("created") {
        query = query.created_in(time::window(w, now, offset)?);
    }
    let wanted: Vec<Signal> = args
        .get_many::<String>("signal")
        .into_iter()
        .flatten()
        .filter_map(|s| signal(s))
        .collect();
    let held = args.get_one::<String>("held");
    if let Some(kind) = held.filter(|k| !k.is_empty()) {
        let declared = engine
            .workflows()
            .any(|w| w.holds().iter().any(|h| h == kind));
        if !declared {
            return Err(Failure::new(format!(
                "no workflow declares a hold `{kind}`"
            )));
        }
    }
    let open = args.get_flag("open");
    let limit = args
        .get_one::<usize>("limit")
        .copied()
        .unwrap_or(usize::MAX);
    let mut rows: Vec<(Item, Signals)> = Vec::new();
    for item in engine.items(&query)? {
        if rows.len() >= limit {
            break;
        }
        if open && item.is_closed() {
            continue;
        }
        match held.map(String::as_str) {
            Some("") if !item.is_held() => continue,
            Some(kind) if !kind.is_empty() && !item.holds().contains_key(kind) => continue,
            _ => {}
        }
        let signals = engine.signals(item.id())?;
        if wanted.iter().all(|s| signals.has(*s)) {
            rows.push((item, signals));
        }
    }
    if json_format(args) {
        let list: Vec<Value> = rows
            .iter()
            .map(|(item, signals)| {
                json!({
                    "id": item.id(),
                    "workflow": item.workflow(),
                    "version": item.version(),
                    "workstation": item.workstation(),
                    "outcome": item.outcome(),
                    "holds": item.holds().keys().collect::<Vec<_>>(),
                    "signals": signals.active(),
                    "unevaluable": signals.unevaluable.iter().map(|r| &r.id).collect::<Vec<_>>(),
                    "parent": item.parent(),
                    "created": item.created(),
                    "updated": item.updated(),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &list)?;
        writeln!(out)?;
        return Ok(Found::Clean);
    }
    let mut t = table([
        "ID",
        "WORKFLOW",
        "WORKSTATION",
        "SIGNALS",
        "HOLDS",
        "UPDATED",
    ]);
    for (item, signals) in &rows {
        t.add_row(cells![
            number(item.id()),
            clean(&format!("{} v{}", item.workflow(), item.version())),
            clean(item.workstation()),
            signal_words(signals),
            holds_words(item),
            time::shown(item.updated(), offset),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(out, "{} item(s)", rows.len())?;
    Ok(Found::Clean)
}

/// `--as ID[:ROLE,…]`, or an inspector holding every role of the item's workflow.
fn actor<S: Store>(
    engine: &Engine<S>,
    item: &Item,
    args: &ArgMatches,
) -> Result<(Actor, bool), Failure> {
    if let Some(text) = args.get_one::<String>("as") {
        let (id, roles) = text.split_once(':').unwrap_or((text, ""));
        if id.is_empty() {
            return Err(Failure::new(format!(
                "`{text}` is not an actor: give ID or ID:ROLE,ROLE"
            )));
        }
        let roles: Vec<String> = roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect();
        return Ok((Actor::new(id, roles), false));
    }
    let roles = engine
        .workflow_of(item)
        .map(|w| w.roles().to_vec())
        .unwrap_or_default();
    Ok((Actor::new("inspector", roles), true))
}

fn reason_line(reason: &Reason) -> String {
    let kind = match reason.kind {
        ReasonKind::Unevaluable => "unknown here".to_owned(),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    };
    let mut line = format!(
        "[{}] {} ({kind})",
        clean(&reason.id),
        clean(&reason.message)
    );
    if !reason.items.is_empty() {
        let items: Vec<String> = reason.items.iter().map(ItemId::to_string).collect();
        line.push_str(&format!("; items {}", items.join(", ")));
    }
    line
}

/// `show ITEM`: everything about one item.
pub(crate) fn show<S: Store>(
    engine: &Engine<S>,
    args: &ArgMatches,
    out: &mut dyn Write,
) -> Result<Found, Failure> {
    let offset = tz(args)?;
    let id = ItemId(args.get_one::<u64>("item").copied().unwrap_or_default());
    let item = match engine.item(id) {
        Err(Error::NotFound(_)) => {
            return Err(Failure::new(format!(
                "there is no item {id} in this database"
            )));
        }
        other => other?,
    };
    let (actor, inspector) = actor(engine, &item, args)?;
    let explained = engine.explain(id, &actor)?;
    let history = engine.history(id)?;
    let signals = &explained.signals;
    if json_format(args) {
        let value = json!({
            "item": item,
            "signals": signals,
            "actor": { "id": actor.id(), "roles": actor.roles() },
            "ways_out": explained.transitions.iter().map(|way| json!({
                "transition": way.transition,
                "to": way.to,
                "verdict": way.standing().name(),
                "reasons": way.reasons,
                "warnings": way.warnings,
            })).collect::<Vec<_>>(),
            "history": history,
        });
        serde_json::to_writer_pretty(&mut *out, &value)?;
        writeln!(out)?;
        return Ok(Found::Clean);
    }
    let now = engine.now();
    writeln!(
        out,
        "item {id}: {} v{}, in `{}` since {} ({})",
        clean(item.workflow()),
        item.version(),
        clean(item.workstation()),
        time::shown(item.entered(), offset),
        time::human(now - item.entered())
    )?;
    if let Some(outcome) = item.outcome() {
        writeln!(out, "  outcome: {outcome}")?;
    }
    writeln!(
        out,
        "  created {}, last changed {}",
        time::shown(item.created(), offset),
        time::shown(item.updated(), offset)
    )?;
    if let Some(parent) = item.parent() {
        writeln!(out, "  parent: {parent}")?;
    }
    if !item.deps().is_empty() {
        let deps: Vec<String> = item.deps().iter().map(ItemId::to_string).collect();
        writeln!(out, "  depends on: {}", deps.join(", "))?;
    }
    if item.holds().is_empty() {
        writeln!(out, "  holds: none")?;
    }
    for (kind, hold) in item.holds() {
        writeln!(
            out,
            "  hold `{}`: by {} since {}{}",
            clean(kind),
            clean(&hold.by),
            time::shown(hold.since, offset),
            hold.reason
                .as_deref()
                .map(|r| format!(": {}", clean(r)))
                .unwrap_or_default()
        )?;
    }
    let words = signal_words(signals);
    writeln!(
        out,
        "  signals: {}",
        if words.is_empty() { "none" } else { &words }
    )?;
    for reason in &signals.blocked {
        writeln!(out, "    blocked by {}", reason_line(reason))?;
    }
    for reason in &signals.unevaluable {
        writeln!(out, "    may be blocked by {}", reason_line(reason))?;
    }
    if let Some(overdue) = &signals.overdue {
        let by = TimeDelta::from_std(overdue.by).unwrap_or(TimeDelta::MAX);
        writeln!(
            out,
            "    overdue in `{}` by {}",
            overdue.workstation,
            time::human(by)
        )?;
    }
    writeln!(out, "fields:")?;
    let fields = serde_json::to_string_pretty(item.fields())?;
    for line in fields.lines() {
        writeln!(out, "  {line}")?;
    }
    let who = if inspector {
        format!(
            "an inspector (id `inspector`, so assertions on the actor's id are judged for \
             that id; give --as) with every role ({})",
            if actor.roles().is_empty() {
                "none declared".to_owned()
            } else {
                actor.roles().join(", ")
            }
        )
    } else {
        format!("`{}` ({})", actor.id(), actor.roles().join(", "))
    };
    if explained.transitions.is_empty() {
        writeln!(out, "ways out: none (a terminal workstation)")?;
    } else {
        writeln!(out, "ways out, for {who}:")?;
    }
    for way in &explained.transitions {
        writeln!(
            out,
            "  {:<8} {} → {}",
            way.standing().name(),
            way.transition,
            way.to
        )?;
        for reason in &way.reasons {
            writeln!(out, "           {}", reason_line(reason))?;
        }
        for warning in &way.warnings {
            writeln!(out, "           warning: {warning}")?;
        }
    }
    writeln!(out, "history:")?;
    let mut t = table(["SEQ", "AT", "ACTOR", "CHANGE", "HASH"]);
    for event in &history {
        t.add_row(cells![
            number(event.seq()),
            time::shown(event.at(), offset),
            clean(event.actor()),
            change(event),
            short(event.hash()),
        ]);
    }
    writeln!(out, "{t}")?;
    Ok(Found::Clean)
}

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

/// `metrics`: the flow report over a window.
pub(crate) fn metrics<S: Store>(
    engine: &Engine<S>,
    args: &ArgMatches,
    out: &mut dyn Write,
) -> Result<Found, Failure> {
    let offset = tz(args)?;
    let now = engine.now();
    let query = place_query(engine, args)?;
    let period = time::span(
        args.get_one::<String>("period")
            .map_or("1d", String::as_str),
    )?;
    let window = match args.get_one::<String>("window") {
        Some(w) => time::window(w, now, offset)?,
        None => {
            let first = engine
                .items(&query)?
                .iter()
                .map(Item::created)
                .min()
                .unwrap_or(now);
            Window::new(first.min(now), now)
        }
    };
    let report = engine.flow(&query, window, period)?;
    if json_format(args) {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
        return Ok(Found::Clean);
    }
    writeln!(
        out,
        "flow from {} to {} ({}), rates per {}",
        time::shown(window.start, offset),
        time::shown(window.end, offset),
        time::human(window.length()),
        time::human(period)
    )?;
    let mut t = table(["MEASURE", "VALUE"]);
    let rate = |n: usize, r: f64| format!("{n} ({r:.2} per period)");
    t.add_row(cells![
        "arrivals",
        rate(report.arrivals, report.arrival_rate),
    ]);
    t.add_row(cells![
        "departures",
        rate(report.departures, report.departure_rate),
    ]);
    t.add_row(cells![
        "throughput (done)",
        rate(report.throughput, report.throughput_rate),
    ]);
    let lead = report.lead_time.map_or_else(
        || "—".to_owned(),
        |s| {
            format!(
                "median {}, mean {}, p90 {} ({} items)",
                time::human(s.median),
                time::human(s.mean),
                time::human(s.p90),
                s.count
            )
        },
    );
    t.add_row(cells!["lead time", lead]);
    t.add_row(cells!["flow efficiency", ratio(report.flow_efficiency),]);
    t.add_row(cells![
        "predictability (stdev / mean)",
        report
            .predictability
            .map_or_else(|| "—".to_owned(), |p| format!("{p:.2}")),
    ]);
    t.add_row(cells![
        "rework moves per item",
        report
            .rework_rate
            .map_or_else(|| "—".to_owned(), |r| format!("{r:.2}")),
    ]);
    t.add_row(cells!["SLO compliance", ratio(report.slo_compliance),]);
    t.add_row(cells!["open at the end", report.wip_at_end]);
    writeln!(out, "{t}")?;
    if !report.per_workstation.is_empty() {
        writeln!(out, "time per workstation (completed items):")?;
        let mut t = table(["WORKSTATION", "ITEMS", "MEDIAN", "MEAN", "P90"]);
        for (station, s) in &report.per_workstation {
            t.add_row(cells![
                station,
                number(s.count),
                time::human(s.median),
                time::human(s.mean),
                time::human(s.p90),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    Ok(Found::Clean)
}
