//! Flow metrics, computed from the ledger alone.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use serde::Serialize;

use crate::item::ItemId;
use crate::ledger::{Change, Event};
use crate::workflow::{Outcome, Workflow};

mod flow;

pub use flow::{FlowReport, Summary};

/// The flow metrics of one item, computed from its ledger alone (and the definition that says
/// which transitions are rework and which workstations have an `sla`).
///
/// Definitions, for one item:
/// - **lead time**: from creation to the first entry into a terminal workstation (to the
///   instant of measurement while the item is open);
/// - **time per workstation**: the sum of the item's stays in each workstation within its
///   lead time;
/// - **time per hold kind**: the sum of the intervals each hold kind was on;
/// - **held time**: the time any hold was on (overlapping holds count once);
/// - **active time**: lead time minus held time; **flow efficiency**: active / lead;
/// - **rework moves**: moves along transitions marked `rework: true`;
/// - **SLA breaches**: stays in a workstation longer than its `sla`.
///
/// Across versions: each event is judged by the version it was written under (its rework
/// flags and SLAs). Time per workstation is reported under the workstation's name at the
/// time: a migration that renames `needs_revision` to `revision_requested` ends the stay under
/// the old name and starts one under the new, so a stay that spans the migration counts under
/// both, split at it. A migration that keeps the name keeps the stay whole.
///
/// Over a set of items and a window (see [`FlowReport`]): arrivals (items created in the
/// window), departures (items closed in it), throughput (items closed `done` in it), each
/// also as a rate per period; over the items *completed* (closed `done`) in the window: lead
/// time statistics, predictability (standard deviation / mean of lead times), flow efficiency
/// (total active / total lead), rework rate (rework moves / completed items) and SLO
/// compliance (the share that never breached an `sla`); and WIP (items created and not yet
/// closed) at the window's end.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ItemMetrics {
    /// The item.
    pub item: ItemId,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it first entered a terminal workstation.
    pub closed: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: Option<Outcome>,
    /// Creation to close (or to the instant of measurement).
    #[serde(serialize_with = "seconds")]
    pub lead: TimeDelta,
    /// Time spent in each workstation, within the lead time.
    #[serde(serialize_with = "seconds_each")]
    pub per_workstation: BTreeMap<String, TimeDelta>,
    /// Time each hold kind was on.
    #[serde(serialize_with = "seconds_each")]
    pub per_hold: BTreeMap<String, TimeDelta>,
    /// Time any hold was on.
    #[serde(serialize_with = "seconds")]
    pub held: TimeDelta,
    /// Lead time minus held time.
    #[serde(serialize_with = "seconds")]
    pub active: TimeDelta,
    /// Moves along `rework` transitions.
    pub rework_moves: u32,
    /// Workstations where a stay exceeded the `sla`, once per stay.
    pub sla_breaches: Vec<String>,
}

impl ItemMetrics {
    /// Active time over lead time; `None` for a zero lead time.
    pub fn flow_efficiency(&self) -> Option<f64> {
        let lead = self.lead.num_milliseconds();
        (lead > 0).then(|| self.active.num_milliseconds() as f64 / lead as f64)
    }

    /// Whether the item closed with outcome `done`.
    pub fn completed(&self) -> bool {
        self.outcome == Some(Outcome::Done)
    }

    /// Whether the item is open at `at` (created, and not closed yet).
    pub fn open_at(&self, at: DateTime<Utc>) -> bool {
        self.created <= at && self.closed.is_none_or(|c| c > at)
    }
}

/// Computes an item's metrics from its events, in order, at `now`. `workflow` is the
/// definition that says which transitions are rework and which workstations have an `sla`
/// (for a chain that crosses versions, see [`Engine::metrics`](crate::Engine::metrics),
/// which judges each event by the version it was written under).
///
/// It never panics: sums of durations (per workstation, per hold, held time) saturate at
/// [`TimeDelta::MIN`] and [`TimeDelta::MAX`], which only a clock set back and forth across
/// hundreds of thousands of years can reach.
pub fn item_metrics(
    events: &[Event],
    workflow: &Workflow,
    now: DateTime<Utc>,
) -> Option<ItemMetrics> {
    metrics_across(events, &|_| Some(workflow), now)
}

/// [`item_metrics`], with each event judged by the version of the workflow it was written
/// under (`version` gives it; `None` for a version not at hand, whose rework and SLAs are
/// then not counted). A migration that puts the item in another workstation ends its stay in
/// the old one; one that reopens a closed item (`reopen: true`) starts it again.
pub(crate) fn metrics_across<'w>(
    events: &[Event],
    version: &dyn Fn(u32) -> Option<&'w Workflow>,
    now: DateTime<Utc>,
) -> Option<ItemMetrics> {
    let first = events.first()?;
    let Change::Created {
        workstation,
        version: created_version,
        ..
    } = &first.change
    else {
        return None;
    };
    let mut workflow = version(*created_version);
    let mut m = ItemMetrics {
        item: first.item,
        created: first.at,
        closed: None,
        outcome: None,
        lead: TimeDelta::zero(),
        per_workstation: BTreeMap::new(),
        per_hold: BTreeMap::new(),
        held: TimeDelta::zero(),
        active: TimeDelta::zero(),
        rework_moves: 0,
        sla_breaches: Vec::new(),
    };
    let mut here = workstation.clone();
    let mut entered = first.at;
    let mut holds: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let mut held_since: Option<DateTime<Utc>> = None;
    let stay = |m: &mut ItemMetrics,
                workflow: Option<&Workflow>,
                here: &str,
                from: DateTime<Utc>,
                to: DateTime<Utc>| {
        let stayed = to - from;
        add(
            m.per_workstation.entry(here.to_owned()).or_default(),
            stayed,
        );
        let sla = workflow.and_then(|workflow| {
            workflow
                .workstation_id(here)
                .and_then(|w| workflow.workstation(w).sla())
        });
        if let Some(sla) = sla
            && stayed.to_std().is_ok_and(|s| s > sla)
        {
            m.sla_breaches.push(here.to_owned());
        }
    };
    for event in &events[1..] {
        // A closed item's later events count only from a migration that reopens it.
        if m.closed.is_some() {
            match &event.change {
                Change::Migrated {
                    outcome: None,
                    to_workstation,
                    to_version,
                    ..
                } => {
                    m.closed = None;
                    m.outcome = None;
                    here.clone_from(to_workstation);
                    entered = event.at;
                    workflow = version(*to_version);
                }
                Change::Migrated { to_version, .. } => workflow = version(*to_version),
                _ => {}
            }
            continue;
        }
        match &event.change {
            Change::Transitioned {
                transition,
                to,
                outcome,
                ..
            } => {
                stay(&mut m, workflow, &here, entered, event.at);
                if workflow.is_some_and(|workflow| {
                    workflow
                        .transition_id(transition)
                        .is_some_and(|t| workflow.transition(t).is_rework())
                }) {
                    m.rework_moves += 1;
                }
                here.clone_from(to);
                entered = event.at;
                if outcome.is_some() {
                    m.closed = Some(event.at);
                    m.outcome = *outcome;
                }
            }
            Change::Held { hold } => {
                holds.insert(hold.clone(), event.at);
                held_since.get_or_insert(event.at);
            }
            Change::Released { hold } => {
                if let Some(since) = holds.remove(hold) {
                    add(
                        m.per_hold.entry(hold.clone()).or_default(),
                        event.at - since,
                    );
                }
                if holds.is_empty()
                    && let Some(since) = held_since.take()
                {
                    add(&mut m.held, event.at - since);
                }
            }
            // A migration that puts the item in another workstation ends its stay in the old
            // one; a renamed hold keeps counting under its new name.
            Change::Migrated {
                to_workstation,
                to_version,
                holds: renamed,
                outcome,
                ..
            } => {
                if *to_workstation != here {
                    stay(&mut m, workflow, &here, entered, event.at);
                    here.clone_from(to_workstation);
                    entered = event.at;
                }
                // All at once: a rename may take a name another one gives up.
                let moved: Vec<(String, DateTime<Utc>)> = renamed
                    .iter()
                    .filter_map(|(from, to)| Some((to.clone(), holds.remove(from)?)))
                    .collect();
                holds.extend(moved);
                workflow = version(*to_version);
                if outcome.is_some() {
                    m.closed = Some(event.at);
                    m.outcome = *outcome;
                }
            }
            _ => {}
        }
    }
    let end = m.closed.unwrap_or(now);
    if m.closed.is_none() {
        stay(&mut m, workflow, &here, entered, end);
    }
    for (hold, since) in holds {
        add(m.per_hold.entry(hold).or_default(), end - since);
    }
    if let Some(since) = held_since {
        add(&mut m.held, end - since);
    }
    m.lead = end - m.created;
    m.active = m
        .lead
        .checked_sub(&m.held)
        .unwrap_or(if m.held > TimeDelta::zero() {
            TimeDelta::MIN
        } else {
            TimeDelta::MAX
        });
    Some(m)
}

/// Adds `d` to `total`, saturating at [`TimeDelta::MIN`] and [`TimeDelta::MAX`]. One stay
/// lasts at most the range of instants (about 524,000 years), far less than a time delta
/// holds (about 292 million years), but a clock set back and forth can make an item's
/// stays add up to more.
fn add(total: &mut TimeDelta, d: TimeDelta) {
    *total = total.checked_add(&d).unwrap_or(if d < TimeDelta::zero() {
        TimeDelta::MIN
    } else {
        TimeDelta::MAX
    });
}

/// Serializes a duration as seconds (a float, to the nanosecond), the unit JSON readers expect.
pub(super) fn seconds<S: serde::Serializer>(d: &TimeDelta, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(as_seconds(*d))
}

/// Serializes a map of durations as seconds, as [`seconds`] does.
pub(super) fn seconds_each<S: serde::Serializer>(
    map: &BTreeMap<String, TimeDelta>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().map(|(k, d)| (k, as_seconds(*d))))
}

fn as_seconds(d: TimeDelta) -> f64 {
    d.num_seconds() as f64 + f64::from(d.subsec_nanos()) / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::Window;

    fn h(n: i64) -> TimeDelta {
        TimeDelta::hours(n)
    }

    const MIN: DateTime<Utc> = DateTime::<Utc>::MIN_UTC;
    const MAX: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;

    fn ping_pong() -> Workflow {
        crate::parse(
            "ping_pong.yaml",
            r#"
workflow: ping_pong
version: 1
holds: [paused]
workstations:
  left: { initial: true, sla: 1h }
  right: { sla: 1h }
  done: { terminal: true }
transitions:
  ping: { from: left, to: right }
  pong: { from: right, to: left, rework: true }
  finish: { from: "*", to: done }
"#,
        )
        .unwrap_or_else(|d| panic!("{d}"))
    }

    /// An item of [`ping_pong`] whose events swing between the first and the last instant
    /// `swings` times (a clock set back and forth), with a hold put on at one end and
    /// released at the other each time.
    fn swinging(swings: usize) -> Vec<Event> {
        let definition = *ping_pong().definition_hash();
        let event = |seq: u64, at: DateTime<Utc>, change: Change| {
            crate::EventDraft {
                item: crate::ItemId(1),
                seq,
                at,
                actor: "ann".into(),
                change,
                reason: None,
                payload: serde_json::Value::Null,
                definition,
                source: None,
                prev: crate::Sha256Hash::ZERO,
            }
            .seal()
        };
        let moved = |transition: &str, from: &str, to: &str| Change::Transitioned {
            transition: transition.into(),
            from: from.into(),
            to: to.into(),
            outcome: None,
            patch: None,
            warnings: Vec::new(),
        };
        let mut events = vec![event(
            1,
            MIN,
            Change::Created {
                workflow: "ping_pong".into(),
                version: 1,
                workstation: "left".into(),
                fields: std::sync::Arc::new(serde_json::json!({})),
                parent: None,
            },
        )];
        for _ in 0..swings {
            let seq = events.len() as u64 + 1;
            events.push(event(
                seq,
                MIN,
                Change::Held {
                    hold: "paused".into(),
                },
            ));
            events.push(event(seq + 1, MAX, moved("ping", "left", "right")));
            events.push(event(
                seq + 2,
                MAX,
                Change::Released {
                    hold: "paused".into(),
                },
            ));
            events.push(event(seq + 3, MIN, moved("pong", "right", "left")));
        }
        events
    }

    #[test]
    fn a_clock_swinging_between_the_ends_saturates_the_sums() {
        // Each swing adds the whole range of instants (about 524,000 years) to `left` and to
        // the hold, and takes it from `right`; a time delta holds about 292 million years,
        // so 600 swings overflow every sum unless it saturates.
        let workflow = ping_pong();
        let events = swinging(600);
        for now in [MIN, MAX] {
            let m = item_metrics(&events, &workflow, now).unwrap();
            assert_eq!(m.per_workstation["left"], TimeDelta::MAX);
            assert_eq!(m.per_workstation["right"], TimeDelta::MIN);
            assert_eq!(m.per_hold["paused"], TimeDelta::MAX);
            assert_eq!(m.held, TimeDelta::MAX);
            assert_eq!(m.lead, now - MIN);
            assert!(m.active <= m.lead);
            assert_eq!(m.rework_moves, 600);
            let report =
                FlowReport::from_metrics(&[m.clone(), m], Window::new(MIN, MAX), TimeDelta::MIN);
            assert_eq!(report.arrivals, 2);
        }
    }

    #[test]
    fn flow_over_windows_at_the_ends_does_not_panic() {
        let events = swinging(1);
        let m = item_metrics(&events, &ping_pong(), MAX).unwrap();
        for window in [
            Window::new(MIN, MIN),
            Window::new(MAX, MAX),
            Window::new(MIN, MAX),
        ] {
            for period in [TimeDelta::MIN, TimeDelta::zero(), TimeDelta::MAX] {
                let report = FlowReport::from_metrics(std::slice::from_ref(&m), window, period);
                assert_eq!(report.wip_at_end, usize::from(window.end > MIN));
            }
        }
    }

    #[test]
    fn summaries_of_extreme_durations_do_not_panic() {
        for values in [
            vec![TimeDelta::MIN],
            vec![TimeDelta::MAX],
            vec![TimeDelta::MIN, TimeDelta::MIN, TimeDelta::MAX],
            vec![TimeDelta::MAX, TimeDelta::MAX, TimeDelta::MIN],
            vec![TimeDelta::MIN, TimeDelta::MAX],
        ] {
            let s = Summary::of(&values).unwrap();
            assert!(s.stdev >= TimeDelta::zero());
            assert!(values.iter().min() <= Some(&s.mean) && Some(&s.mean) <= values.iter().max());
        }
    }

    #[test]
    fn summary_by_hand() {
        let s = Summary::of(&[h(1), h(2), h(3), h(4), h(10)]).unwrap();
        assert_eq!((s.count, s.mean, s.median, s.p90), (5, h(4), h(3), h(10)));
        // Deviations 3, 2, 1, 0, 6 hours: variance (9+4+1+0+36)/5 = 10 h², stdev √10 h.
        let expected = (10f64.sqrt() * 3_600_000.0).round() as i64;
        assert_eq!(s.stdev.num_milliseconds(), expected);
        // The stdev is kept to the millisecond, so the ratio is exact to about 1e-7.
        assert!((s.variation().unwrap() - 10f64.sqrt() / 4.0).abs() < 1e-6);
        assert_eq!(Summary::of(&[]), None);
        let even = Summary::of(&[h(4), h(1), h(2), h(3)]).unwrap();
        assert_eq!((even.median, even.p90), (h(2), h(4)));
    }
}
