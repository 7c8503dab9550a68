//! Signals: what an item's data, its children, its dependencies and the clock say about it.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::json;

use crate::check::{CheckContext, Checks};
use crate::evaluate::{Subject, format_seconds};
use crate::item::{Actor, Item};
use crate::refusal::{Reason, ReasonKind};
use crate::store::{Query, Reader, StoreError};
use crate::workflow::{Outcome, Workflow};

/// One kind of signal.
///
/// Signals are computed at an instant and never stored.
///
/// | signal | holds when |
/// |---|---|
/// | `finished` | the item has at least one child, and every child is closed |
/// | `blocked` | the item is open and an exit assertion of its workstation fails, a hold is on, or a dependency closed with an outcome other than `done` |
/// | `stalled` | the item is open, has a child that is done and a child that is open, and neither it nor any child has had an event for the workflow's `stalled.idle_for` (default 7 days) |
/// | `oldie` | the item is open, no child of it is done, and it was created at least the workflow's `oldies.age` ago (default 7 days) |
/// | `overdue` | the item has been in its workstation longer than the workstation's `sla` |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Signal {
    /// Every child is closed.
    Finished,
    /// Something stops the item from moving on.
    Blocked,
    /// Work started but nothing happened for a while.
    Stalled,
    /// Old, and nothing of it is done.
    Oldie,
    /// In its workstation past the workstation's `sla`.
    Overdue,
}

impl Signal {
    /// Every signal.
    pub const ALL: [Signal; 5] = [
        Signal::Finished,
        Signal::Blocked,
        Signal::Stalled,
        Signal::Oldie,
        Signal::Overdue,
    ];

    /// The signal's name.
    pub const fn name(self) -> &'static str {
        match self {
            Signal::Finished => "finished",
            Signal::Blocked => "blocked",
            Signal::Stalled => "stalled",
            Signal::Oldie => "oldie",
            Signal::Overdue => "overdue",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An item's stay in its workstation past the workstation's `sla`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Overdue {
    /// The workstation.
    pub workstation: String,
    /// When the item entered it.
    pub since: DateTime<Utc>,
    /// The workstation's `sla` (as JSON, in seconds).
    #[serde(serialize_with = "seconds")]
    pub sla: Duration,
    /// How far past the `sla` the item is (as JSON, in seconds).
    #[serde(serialize_with = "seconds")]
    pub by: Duration,
}

/// A duration as seconds, as the metrics write theirs.
fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The signals of one item at one instant.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Signals {
    /// Every child is closed (and there is at least one).
    pub finished: bool,
    /// What blocks the item: failing exit assertions, holds, dependencies that ended other
    /// than `done`. Empty when it is not blocked.
    pub blocked: Vec<Reason>,
    /// Work started, and nothing happened for the `stalled` threshold.
    pub stalled: bool,
    /// Old, and nothing of it is done.
    pub oldie: bool,
    /// Past its workstation's `sla`.
    pub overdue: Option<Overdue>,
    /// Exit assertions whose outcome is not known here (they depend on Rust checks the
    /// engine has no function for; see
    /// [`allow_missing_checks`](crate::EngineBuilder::allow_missing_checks)): the item may be
    /// blocked by them. Not counted in `blocked`. Always empty for an engine with every
    /// check.
    pub unevaluable: Vec<Reason>,
}

impl Signals {
    /// Whether `signal` is on.
    pub fn has(&self, signal: Signal) -> bool {
        match signal {
            Signal::Finished => self.finished,
            Signal::Blocked => !self.blocked.is_empty(),
            Signal::Stalled => self.stalled,
            Signal::Oldie => self.oldie,
            Signal::Overdue => self.overdue.is_some(),
        }
    }

    /// The signals that are on, in [`Signal::ALL`] order.
    pub fn active(&self) -> Vec<Signal> {
        Signal::ALL.into_iter().filter(|s| self.has(*s)).collect()
    }
}

impl fmt::Display for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let active = self.active();
        if active.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<String> = active
            .iter()
            .map(|s| match (s, &self.overdue) {
                (Signal::Overdue, Some(o)) => {
                    format!("overdue (by {})", format_seconds(o.by.as_secs()))
                }
                _ => s.name().to_owned(),
            })
            .collect();
        f.write_str(&names.join(", "))
    }
}

/// Computes the signals of `item` at `now`.
pub(crate) fn compute(
    item: &Item,
    workflow: &Workflow,
    reader: &dyn Reader,
    checks: &Checks,
    now: DateTime<Utc>,
) -> Result<Signals, StoreError> {
    let children = reader.items(&Query::new().parent(item.id()))?;
    let open_children = children.iter().filter(|c| !c.is_closed()).count();
    let done_children = children
        .iter()
        .filter(|c| c.outcome() == Some(Outcome::Done))
        .count();
    let mut signals = Signals {
        finished: !children.is_empty() && open_children == 0,
        ..Signals::default()
    };
    let open = !item.is_closed();
    if open {
        let config = workflow.signals();
        let last_activity = children
            .iter()
            .map(Item::updated)
            .chain([item.updated()])
            .max()
            .unwrap_or(item.updated());
        signals.stalled = done_children > 0
            && open_children > 0
            && reached(now - last_activity, config.stalled_idle_for());
        signals.oldie = done_children == 0 && reached(now - item.created(), config.oldies_age());
        let mut reasons = blocked(item, workflow, reader, checks, now)?;
        // What cannot be evaluated here is not taken to block: it is set apart.
        let (unknown, known) = reasons
            .drain(..)
            .partition(|r| r.kind == ReasonKind::Unevaluable);
        signals.blocked = known;
        signals.unevaluable = unknown;
    }
    if let Some(workstation) = workflow.workstation_id(item.workstation()) {
        let workstation = workflow.workstation(workstation);
        if let Some(sla) = workstation.sla() {
            let stayed = now - item.entered();
            if let Ok(stayed) = stayed.to_std()
                && stayed > sla
            {
                signals.overdue = Some(Overdue {
                    workstation: workstation.name().to_owned(),
                    since: item.entered(),
                    sla,
                    by: stayed - sla,
                });
            }
        }
    }
    Ok(signals)
}

/// Whether `elapsed` is at least `threshold`.
fn reached(elapsed: TimeDelta, threshold: Duration) -> bool {
    elapsed.to_std().is_ok_and(|e| e >= threshold)
}

fn blocked(
    item: &Item,
    workflow: &Workflow,
    reader: &dyn Reader,
    checks: &Checks,
    now: DateTime<Utc>,
) -> Result<Vec<Reason>, StoreError> {
    let mut reasons = Vec::new();
    if let Some(here) = workflow.workstation_id(item.workstation()) {
        // Exit assertions are about the item, not about who asks: evaluate them as nobody.
        let nobody = Actor::new("", []);
        let here = workflow.workstation(here);
        let cx = CheckContext::new(item, &nobody, workflow, None, here.name(), now, reader);
        let subject = Subject::new(cx, checks);
        subject.collect(here.exit(), ReasonKind::Exit, &mut reasons)?;
    }
    for (kind, hold) in item.holds() {
        let mut message = format!("held `{kind}` by {}", hold.by);
        if let Some(reason) = &hold.reason {
            message.push_str(&format!(": {reason}"));
        }
        reasons.push(
            Reason::new("held", ReasonKind::Held, message)
                .with_details(json!({ "hold": kind, "since": hold.since })),
        );
    }
    for &dep in item.deps() {
        let Some(dep_item) = reader.item(dep)? else {
            continue;
        };
        if let Some(outcome) = dep_item.outcome()
            && outcome != Outcome::Done
        {
            reasons.push(
                Reason::new(
                    "dependency_not_done",
                    ReasonKind::Dependency,
                    format!(
                        "depends on {dep}, which ended {outcome} in `{}`",
                        dep_item.workstation()
                    ),
                )
                .with_details(json!({ "dependency": dep, "outcome": outcome }))
                .with_items(vec![dep]),
            );
        }
    }
    Ok(reasons)
}
