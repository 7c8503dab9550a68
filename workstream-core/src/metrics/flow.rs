//! Flow over a set of items and a window: arrivals, departures, throughput, lead times,
//! predictability, flow efficiency, rework and SLO compliance.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use serde::Serialize;

use super::{ItemMetrics, seconds};
use crate::window::Window;

/// A time delta of `ms` milliseconds, clamped to the range of [`TimeDelta`].
fn milliseconds(ms: f64) -> TimeDelta {
    // `as` saturates at i64's bounds; -i64::MAX milliseconds is the shortest time delta.
    TimeDelta::try_milliseconds(ms.round() as i64).unwrap_or(TimeDelta::MIN)
}

/// Statistics of a set of durations.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// How many.
    pub count: usize,
    /// The mean.
    #[serde(serialize_with = "seconds")]
    pub mean: TimeDelta,
    /// The median (the lower middle for an even count).
    #[serde(serialize_with = "seconds")]
    pub median: TimeDelta,
    /// The 90th percentile (nearest rank).
    #[serde(serialize_with = "seconds")]
    pub p90: TimeDelta,
    /// The population standard deviation.
    #[serde(serialize_with = "seconds")]
    pub stdev: TimeDelta,
}

impl Summary {
    /// The summary of `values`; `None` when there are none.
    ///
    /// It never panics: the mean and the standard deviation are kept to the millisecond and
    /// clamped to the range of [`TimeDelta`].
    pub fn of(values: &[TimeDelta]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort();
        let n = sorted.len();
        let ms: Vec<f64> = sorted.iter().map(|d| d.num_milliseconds() as f64).collect();
        let mean = ms.iter().sum::<f64>() / n as f64;
        let var = ms.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let rank = |p: f64| sorted[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        Some(Summary {
            count: n,
            mean: milliseconds(mean),
            median: sorted[(n - 1) / 2],
            p90: rank(0.9),
            stdev: milliseconds(var.sqrt()),
        })
    }

    /// Standard deviation over mean: lower is more predictable.
    pub fn variation(&self) -> Option<f64> {
        let mean = self.mean.num_milliseconds();
        (mean > 0).then(|| self.stdev.num_milliseconds() as f64 / mean as f64)
    }
}

/// Flow over a set of items and a window of time.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FlowReport {
    /// The window.
    pub window: Window,
    /// The period rates are given per.
    #[serde(serialize_with = "seconds")]
    pub period: TimeDelta,
    /// Items created in the window.
    pub arrivals: usize,
    /// Items closed in the window, whatever the outcome.
    pub departures: usize,
    /// Items closed `done` in the window (the completed items).
    pub throughput: usize,
    /// Arrivals per period.
    pub arrival_rate: f64,
    /// Departures per period.
    pub departure_rate: f64,
    /// Throughput per period.
    pub throughput_rate: f64,
    /// Lead times of the completed items.
    pub lead_time: Option<Summary>,
    /// Time per workstation of the completed items.
    pub per_workstation: BTreeMap<String, Summary>,
    /// Standard deviation / mean of the completed items' lead times.
    pub predictability: Option<f64>,
    /// Total active time / total lead time of the completed items.
    pub flow_efficiency: Option<f64>,
    /// Rework moves of the completed items / completed items.
    pub rework_rate: Option<f64>,
    /// The share of completed items that never stayed past a workstation's `sla`.
    pub slo_compliance: Option<f64>,
    /// Items open at the end of the window.
    pub wip_at_end: usize,
}

impl FlowReport {
    /// Builds the report from the metrics of every item considered.
    ///
    /// It never panics, whatever the window and period: a window ending at the first
    /// instant has no last instant, so nothing is open at its end.
    pub fn from_metrics(items: &[ItemMetrics], window: Window, period: TimeDelta) -> FlowReport {
        let periods =
            window.length().num_milliseconds() as f64 / period.num_milliseconds().max(1) as f64;
        let rate = |n: usize| {
            if periods > 0.0 {
                n as f64 / periods
            } else {
                0.0
            }
        };
        let closed_in = |m: &&ItemMetrics| m.closed.is_some_and(|c| window.contains(c));
        let arrivals = items.iter().filter(|m| window.contains(m.created)).count();
        let departures = items.iter().filter(closed_in).count();
        let completed: Vec<&ItemMetrics> = items
            .iter()
            .filter(closed_in)
            .filter(|m| m.completed())
            .collect();
        let leads: Vec<TimeDelta> = completed.iter().map(|m| m.lead).collect();
        let lead_time = Summary::of(&leads);
        let mut stays: BTreeMap<String, Vec<TimeDelta>> = BTreeMap::new();
        for m in &completed {
            for (w, d) in &m.per_workstation {
                stays.entry(w.clone()).or_default().push(*d);
            }
        }
        // In i128: enough i64 milliseconds cannot overflow it.
        let total_lead: i128 = completed
            .iter()
            .map(|m| i128::from(m.lead.num_milliseconds()))
            .sum();
        let total_active: i128 = completed
            .iter()
            .map(|m| i128::from(m.active.num_milliseconds()))
            .sum();
        let n = completed.len();
        let share = |k: usize| (n > 0).then(|| k as f64 / n as f64);
        // The window's last instant; a window that ends at the first instant has none, and
        // nothing is open in it.
        let last = window.end.checked_sub_signed(TimeDelta::nanoseconds(1));
        FlowReport {
            window,
            period,
            arrivals,
            departures,
            throughput: n,
            arrival_rate: rate(arrivals),
            departure_rate: rate(departures),
            throughput_rate: rate(n),
            predictability: lead_time.as_ref().and_then(Summary::variation),
            lead_time,
            per_workstation: stays
                .into_iter()
                .filter_map(|(w, v)| Some((w, Summary::of(&v)?)))
                .collect(),
            flow_efficiency: (total_lead > 0).then(|| total_active as f64 / total_lead as f64),
            rework_rate: share(completed.iter().map(|m| m.rework_moves as usize).sum()),
            slo_compliance: share(
                completed
                    .iter()
                    .filter(|m| m.sla_breaches.is_empty())
                    .count(),
            ),
            wip_at_end: last.map_or(0, |end| items.iter().filter(|m| m.open_at(end)).count()),
        }
    }
}
