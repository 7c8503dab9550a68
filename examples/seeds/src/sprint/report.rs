//! The sprint's report, read back from the ledger: outcomes, revision rounds, flow metrics,
//! reviews, contributions, payments and reputation come from the events and states the run
//! wrote, not from the simulation's memory. Only refusals, which write nothing, come from
//! what the simulation counted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::Value;
use workstream::prelude::*;
use workstream::{
    Change, FlowReport, Sha256Hash, Sha256Hasher, Summary, Verified, Window, item_metrics,
};

use crate::sprint::money::{format_cents, parse_cents};
use crate::sprint::records::{Contributions, TaskRecords};
use crate::sprint::sim::{self, SprintRun, payment, task};

/// What the ledger says about one sprint.
#[derive(Clone, Debug)]
pub struct Report {
    /// Tasks of the sprint by workstation.
    pub outcomes: BTreeMap<String, usize>,
    /// Tasks of the sprint.
    pub tasks: usize,
    /// Accepted without any revision request.
    pub first_time: usize,
    /// Cancelled when the revision limit was reached.
    pub cancelled_at_limit: usize,
    /// Cancelled before they were submitted.
    pub cancelled_early: usize,
    /// Closed tasks by the revision requests they received.
    pub rounds: BTreeMap<u64, usize>,
    /// Lead times by outcome.
    pub lead: BTreeMap<String, Summary>,
    /// `Engine::flow` over the sprint's tasks and its window.
    pub flow: FlowReport,
    /// The flow's time per workstation, in the order of the workflow file.
    pub stays: Vec<(String, Summary)>,
    /// Review decisions (accept, request_changes, reject) by reviewer.
    pub reviewer_load: BTreeMap<String, u64>,
    /// Reputation by person, derived from the contributions.
    pub reputation: BTreeMap<String, i64>,
    /// Contribution records in the events' payloads, by kind.
    pub contributions: BTreeMap<String, u64>,
    /// Awards of the submission contributions, in cents.
    pub contributed_cents: i64,
    /// Awards frozen onto the accepted tasks, in cents.
    pub award_cents: i64,
    /// Payments by workstation: how many and how much (cents).
    pub payments: BTreeMap<String, (usize, i64)>,
    /// Accepted tasks whose acceptance is not a review by someone other than the
    /// contributor (the engine refuses those; this counts what the ledger shows).
    pub accepted_without_review: usize,
    /// Tasks by the guide version they locked.
    pub guide_versions: BTreeMap<u64, usize>,
    /// Holds put on the sprint's tasks.
    pub holds: usize,
    /// Items of this sprint and the events on them.
    pub items: usize,
    /// See [`items`](Self::items).
    pub events: usize,
    /// sha256 over every item's id, sequence number and chain head, in id order.
    pub digest: Sha256Hash,
    /// `verify_all` over the whole database.
    pub verified: Verified,
}

/// Reads the report of `run` back from the ledger.
pub fn build<S: Store>(engine: &Engine<S>, run: &SprintRun) -> Result<Report, Error> {
    let window = Window::new(run.start, run.end + TimeDelta::nanoseconds(1));
    let tasks_query = Query::new().workflow(task::NAME).parent(run.sprint);
    let tasks = engine.items(&tasks_query)?;
    let mut report = Report {
        outcomes: BTreeMap::new(),
        tasks: tasks.len(),
        first_time: 0,
        cancelled_at_limit: 0,
        cancelled_early: 0,
        rounds: BTreeMap::new(),
        lead: BTreeMap::new(),
        flow: engine.flow(&tasks_query, window, TimeDelta::days(1))?,
        stays: Vec::new(),
        reviewer_load: BTreeMap::new(),
        reputation: BTreeMap::new(),
        contributions: BTreeMap::new(),
        contributed_cents: 0,
        award_cents: 0,
        payments: BTreeMap::new(),
        accepted_without_review: 0,
        guide_versions: BTreeMap::new(),
        holds: 0,
        items: 0,
        events: 0,
        digest: Sha256Hash::ZERO,
        verified: Verified::default(),
    };
    let mut heads: Vec<(ItemId, u64, Sha256Hash)> = Vec::new();
    let mut leads: BTreeMap<String, Vec<TimeDelta>> = BTreeMap::new();
    for item in &tasks {
        let history = engine.history(item.id())?;
        heads.push((item.id(), item.seq(), *item.head()));
        *report
            .outcomes
            .entry(item.workstation().to_owned())
            .or_default() += 1;
        let contributor = item
            .field("contributor")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let rounds = item
            .field("revision_rounds")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if item.is_closed() {
            *report.rounds.entry(rounds).or_default() += 1;
        }
        if let Some(version) = item.field("guide_version").and_then(Value::as_u64) {
            *report.guide_versions.entry(version).or_default() += 1;
        }
        if item.workstation() == "accepted" {
            if rounds == 0 {
                report.first_time += 1;
            }
            report.award_cents += TaskRecords::of_item(item)
                .ok()
                .and_then(|r| r.award)
                .and_then(|a| parse_cents(&a.amount))
                .unwrap_or(0);
        }
        for event in &history {
            tally_payload(&mut report, event.payload());
            match &event.change() {
                Change::Held { .. } => report.holds += 1,
                Change::Transitioned { transition, .. } => {
                    let actor = event.actor();
                    let mut score = |who: &str, delta: i64| {
                        *report.reputation.entry(who.to_owned()).or_default() += delta;
                    };
                    let review = match transition.as_str() {
                        "accept" => {
                            score(contributor, 3);
                            true
                        }
                        "request_changes" => {
                            score(contributor, -1);
                            true
                        }
                        "reject" => {
                            score(contributor, -2);
                            true
                        }
                        "fail_checks" => {
                            score(contributor, -1);
                            false
                        }
                        "cancel_revision" => {
                            report.cancelled_at_limit += 1;
                            false
                        }
                        "cancel" => {
                            report.cancelled_early += 1;
                            false
                        }
                        _ => false,
                    };
                    if review {
                        score(actor, 2);
                        *report.reviewer_load.entry(actor.to_owned()).or_default() += 1;
                    }
                    if transition == "accept" && !independent_review(event, contributor) {
                        report.accepted_without_review += 1;
                    }
                }
                _ => {}
            }
        }
        let workflow = engine.workflow_of(item)?;
        if let Some(metrics) = item_metrics(&history, workflow, run.end)
            && item.is_closed()
        {
            leads
                .entry(item.workstation().to_owned())
                .or_default()
                .push(metrics.lead);
        }
    }
    if let Some(workflow) = engine.workflow(task::NAME) {
        report.stays = workflow
            .workstations()
            .iter()
            .filter_map(|w| {
                Some((
                    w.name().to_owned(),
                    *report.flow.per_workstation.get(w.name())?,
                ))
            })
            .collect();
    }
    report.lead = leads
        .into_iter()
        .filter_map(|(outcome, values)| Some((outcome, Summary::of(&values)?)))
        .collect();

    for payment in engine.items(&Query::new().workflow(payment::NAME))? {
        if payment.field("sprint").and_then(Value::as_u64) != Some(run.number) {
            continue;
        }
        heads.push((payment.id(), payment.seq(), *payment.head()));
        let cents = payment
            .field("amount")
            .and_then(Value::as_str)
            .and_then(parse_cents)
            .unwrap_or(0);
        let entry = report
            .payments
            .entry(payment.workstation().to_owned())
            .or_default();
        entry.0 += 1;
        entry.1 += cents;
    }
    for id in run.guides.iter().copied().chain([run.sprint]) {
        let item = engine.item(id)?;
        heads.push((id, item.seq(), *item.head()));
    }
    heads.sort();
    let mut digest = Sha256Hasher::new();
    for (id, seq, head) in &heads {
        digest.update(format!("{id} {seq} {head}\n").as_bytes());
    }
    report.items = heads.len();
    report.events = heads.iter().map(|(_, seq, _)| *seq as usize).sum();
    report.digest = digest.finish();
    report.verified = engine.verify_all()?;
    Ok(report)
}

/// Contribution records carried in an event's payload.
fn tally_payload(report: &mut Report, payload: &Value) {
    let Ok(payload) = Contributions::deserialize(payload) else {
        return;
    };
    for contribution in payload.contributions {
        if contribution.kind == "submission" {
            report.contributed_cents += contribution
                .award
                .as_ref()
                .and_then(|a| parse_cents(&a.amount))
                .unwrap_or(0);
        }
        *report.contributions.entry(contribution.kind).or_default() += 1;
    }
}

/// Whether an acceptance event is a review by someone other than the contributor, with a
/// review contribution by that reviewer.
fn independent_review(event: &workstream::Event, contributor: &str) -> bool {
    let reviewer = event.actor();
    reviewer != contributor
        && !contributor.is_empty()
        && Contributions::deserialize(event.payload()).is_ok_and(|p| {
            p.contributions
                .iter()
                .any(|c| c.kind == "review" && c.by == reviewer)
        })
}

/// How the run went on the machine.
#[derive(Clone, Debug)]
pub struct Perf {
    /// The database file, as given, or the PostgreSQL server and schema.
    pub db: String,
    /// `FULL` or `NORMAL` on SQLite; on PostgreSQL, the server's own.
    pub durability: &'static str,
    /// Wall time of the simulation (every write of the sprint).
    pub run: Duration,
    /// Wall time of reading the report back.
    pub report: Duration,
    /// The median time of one 4 KiB write + fdatasync beside the database, measured before
    /// and after the run.
    pub fsync: [Option<Duration>; 2],
    /// Time the run spent on a CPU, and waiting for one, where the system tells it.
    pub cpu: Option<(Duration, Duration)>,
}

fn human(d: TimeDelta) -> String {
    let minutes = d.num_minutes();
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    if days > 0 {
        format!("{days}d {hours:02}h")
    } else if hours > 0 {
        format!("{hours}h {mins:02}m")
    } else {
        format!("{mins}m")
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    // Tenths of a percent, rounded, in integers.
    let tenths = (part * 1000 + whole / 2) / whole;
    format!("{}.{}%", tenths / 10, tenths % 10)
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The report as text.
pub fn render(report: &Report, run: &SprintRun, perf: &Perf) -> String {
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(
        o,
        "Evaluation sprint {} — seed {}, {} tasks, {} people, on {} (durability {})",
        run.number, run.seed, run.tasks, run.people, perf.db, perf.durability
    );
    let _ = writeln!(
        o,
        "simulated time {} → {}; policy {} {} per accepted task, at most {} revision rounds",
        when(run.start),
        when(run.end),
        format_cents(sim::AWARD_CENTS),
        sim::CURRENCY,
        sim::MAX_REVISION_ROUNDS
    );

    let n = report.tasks;
    let count = |w: &str| report.outcomes.get(w).copied().unwrap_or(0);
    let accepted = count("accepted");
    let _ = writeln!(o, "\nOutcomes");
    let _ = writeln!(
        o,
        "  accepted   {accepted:>6}  {:>6}   first time {}, after revision {}",
        percent(accepted, n),
        report.first_time,
        accepted - report.first_time.min(accepted)
    );
    let _ = writeln!(
        o,
        "  rejected   {:>6}  {:>6}",
        count("rejected"),
        percent(count("rejected"), n)
    );
    let _ = writeln!(
        o,
        "  cancelled  {:>6}  {:>6}   at the revision limit {}, before submission {}",
        count("cancelled"),
        percent(count("cancelled"), n),
        report.cancelled_at_limit,
        report.cancelled_early
    );
    let open: usize = report
        .outcomes
        .iter()
        .filter(|(w, _)| !matches!(w.as_str(), "accepted" | "rejected" | "cancelled"))
        .map(|(_, c)| c)
        .sum();
    if open > 0 {
        let _ = writeln!(o, "  still open {open:>6}");
    }
    let _ = writeln!(o, "  total      {n:>6}");
    let versions: Vec<String> = report
        .guide_versions
        .iter()
        .map(|(v, c)| format!("v{v} {c}"))
        .collect();
    let _ = writeln!(o, "  guide versions locked in: {}", versions.join(", "));

    let _ = writeln!(
        o,
        "\nRevision rounds (closed tasks, by revision requests received)"
    );
    for (rounds, tasks) in &report.rounds {
        let note = if *rounds > sim::MAX_REVISION_ROUNDS {
            "  (past the limit: cancelled)"
        } else {
            ""
        };
        let _ = writeln!(o, "  {rounds} rounds  {tasks:>6}{note}");
    }

    let _ = writeln!(
        o,
        "\nLead time, draft to close      median       p90   tasks"
    );
    for (outcome, s) in &report.lead {
        let _ = writeln!(
            o,
            "  {outcome:<27} {:>8}  {:>8}  {:>6}",
            human(s.median),
            human(s.p90),
            s.count
        );
    }
    let _ = writeln!(
        o,
        "\nTime per workstation, accepted tasks (Engine::flow)   median       p90"
    );
    for (workstation, s) in &report.stays {
        let _ = writeln!(
            o,
            "  {workstation:<50} {:>8}  {:>8}",
            human(s.median),
            human(s.p90)
        );
    }
    let f = &report.flow;
    let share = |x: Option<f64>| x.map_or("-".to_owned(), |v| format!("{:.0}%", v * 100.0));
    let _ = writeln!(
        o,
        "  throughput {} ({:.1}/day); rework {} moves per accepted task; flow efficiency {}; \
         review within its 24h SLA for {} of accepted tasks",
        f.throughput,
        f.throughput_rate,
        f.rework_rate.map_or("-".to_owned(), |r| format!("{r:.2}")),
        share(f.flow_efficiency),
        share(f.slo_compliance)
    );
    if report.holds > 0 {
        let _ = writeln!(o, "  holds put on tasks: {}", report.holds);
    }

    let stats = &run.stats;
    let _ = writeln!(
        o,
        "\nRefused moves: {} (each refused with every reason, nothing written)",
        thousands(stats.refused)
    );
    let mut reasons: Vec<(&String, &sim::ReasonStat)> = stats.reasons.iter().collect();
    reasons.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    let _ = writeln!(o, "  reasons seen most:");
    for (id, stat) in reasons.iter().take(10) {
        let name = match &stat.check {
            Some(check) if check != *id => format!("{id} ({check})"),
            _ => (*id).clone(),
        };
        let _ = writeln!(o, "  {:>6}  {name:<42} {}", stat.count, stat.message);
    }
    let _ = writeln!(o, "  by situation:");
    let mut situations: Vec<(&&str, &u64)> = stats.situations.iter().collect();
    situations.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (situation, times) in situations {
        let _ = writeln!(o, "  {times:>6}  {situation}");
    }
    if let Some((_, stat)) = stats
        .reasons
        .iter()
        .find(|(_, s)| s.check.as_deref() == Some("findings_answered"))
    {
        let _ = writeln!(o, "  for example:");
        for line in stat.example.lines() {
            let _ = writeln!(o, "    {line}");
        }
    }

    let decisions: u64 = report.reviewer_load.values().sum();
    let mut load: Vec<(&String, &u64)> = report.reviewer_load.iter().collect();
    load.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut counts: Vec<u64> = load.iter().map(|(_, c)| **c).collect();
    counts.sort_unstable();
    let _ = writeln!(
        o,
        "\nReviewer load: {} decisions by {} reviewers; min {}, median {}, max {}",
        decisions,
        load.len(),
        counts.first().copied().unwrap_or(0),
        counts
            .get(counts.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or(0),
        counts.last().copied().unwrap_or(0)
    );
    let busiest: Vec<String> = load
        .iter()
        .take(8)
        .map(|(who, c)| format!("{who} {c}"))
        .collect();
    let _ = writeln!(o, "  busiest: {}", busiest.join(", "));
    let contributions: Vec<String> = report
        .contributions
        .iter()
        .map(|(kind, c)| format!("{c} {kind}"))
        .collect();
    let _ = writeln!(
        o,
        "  contribution records in the ledger: {}",
        contributions.join(", ")
    );

    let _ = writeln!(o, "\nPayments (exact decimals; no floating point)");
    let _ = writeln!(
        o,
        "  awards frozen on accepted tasks  {accepted} × {} = {} {}",
        format_cents(sim::AWARD_CENTS),
        format_cents(report.award_cents),
        sim::CURRENCY
    );
    for (state, (count, cents)) in &report.payments {
        let _ = writeln!(
            o,
            "  {state:<10} {count:>6}  {:>12} {}",
            format_cents(*cents),
            sim::CURRENCY
        );
    }
    let situation = |s: &str| stats.situations.get(s).copied().unwrap_or(0);
    let _ = writeln!(
        o,
        "  receipts refused: {} conflicting with their payment, {} for a payment already fulfilled",
        situation("a receipt that conflicts with the payment"),
        situation("a second receipt for a fulfilled payment")
    );

    let _ = writeln!(
        o,
        "\nReputation (accepted +3, revision requested −1, rejected −2, review decision +2)"
    );
    let mut board: Vec<(&String, &i64)> = report.reputation.iter().collect();
    board.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (rank, (who, score)) in board.iter().take(10).enumerate() {
        let _ = writeln!(o, "  {:>2}. {who:<6} {score:>+5}", rank + 1);
    }

    let _ = writeln!(o, "\nLedger");
    let _ = writeln!(
        o,
        "  this sprint: {} events on {} items; digest {}",
        thousands(report.events as u64),
        thousands(report.items as u64),
        report.digest
    );
    let _ = writeln!(
        o,
        "  verify_all: every chain verifies and every state equals its replay \
         ({} items, {} events in the database)",
        thousands(report.verified.items as u64),
        thousands(report.verified.events as u64)
    );

    let secs = perf.run.as_secs_f64().max(1e-9);
    let commits = stats.events;
    let _ = writeln!(o, "\nPerformance (wall clock)");
    let _ = writeln!(
        o,
        "  run: {:.2} s for {} tasks: {:.1} tasks/s, {:.0} events/s ({} commits)",
        secs,
        run.tasks,
        f64::from(run.tasks) / secs,
        commits as f64 / secs,
        thousands(commits)
    );
    if let Some((on, waiting)) = perf.cpu {
        let (on, waiting) = (on.as_secs_f64(), waiting.as_secs_f64());
        let blocked = (secs - on - waiting).max(0.0);
        let _ = writeln!(
            o,
            "  of its wall time: {on:.1} s on a CPU, {waiting:.1} s waiting for one (a shared \
             machine), {blocked:.1} s ({:.0}%) {} (measured)",
            blocked / secs * 100.0,
            if perf.fsync.iter().all(Option::is_none) && perf.db.starts_with("postgres") {
                "waiting for the server (round trips, its log syncs)"
            } else {
                "blocked on the disk (fsync, reads, writes)"
            }
        );
    }
    let _ = writeln!(
        o,
        "  report read back from the ledger in {:.2} s",
        perf.report.as_secs_f64()
    );
    let probes: Vec<f64> = perf
        .fsync
        .iter()
        .flatten()
        .map(Duration::as_secs_f64)
        .collect();
    if probes.is_empty() {
        let _ = writeln!(
            o,
            "  fsync: not measured here (on PostgreSQL the server syncs its log at each commit)"
        );
    } else {
        // The lower probe: the other is the more disturbed, by other programs before the
        // run or by the run's own data being written back after it.
        let cost = probes.iter().copied().fold(f64::INFINITY, f64::min);
        let shown = |d: Option<Duration>| {
            d.map_or("-".to_owned(), |d| {
                format!("{:.2} ms", d.as_secs_f64() * 1e3)
            })
        };
        let synced = commits as f64 * cost;
        let _ = writeln!(
            o,
            "  fsync, estimated: one 4 KiB write + fdatasync beside the database takes {} before \
             the run, {} after (medians of 32)",
            shown(perf.fsync[0]),
            shown(perf.fsync[1])
        );
        if perf.durability == "FULL" {
            let _ = writeln!(
                o,
                "  FULL syncs the write-ahead log at every commit: {} × {:.2} ms (the lower \
                 probe) ≈ {:.1} s, ≈ {:.0}% of the run's wall time (estimate)",
                thousands(commits),
                cost * 1e3,
                synced,
                (synced / secs * 100.0).min(100.0)
            );
        } else {
            let _ = writeln!(
                o,
                "  NORMAL does not sync at commits, only at WAL checkpoints: ≈ 0% of the \
                 wall time per commit (estimate); under FULL the {} commits would add ≈ {:.1} s",
                thousands(commits),
                synced
            );
        }
    }
    out
}
