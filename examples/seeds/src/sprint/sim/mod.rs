//! The simulation of one evaluation sprint: people, checkers and reviewers acting on a
//! simulated clock, every decision drawn from one seeded generator.
//!
//! It is a discrete-event simulation. Each task, payment and guide change is a job on a
//! queue ordered by simulated time (ties by the order they were queued); the loop pops the
//! next job, sets the [`ManualClock`] to its instant and performs one step: a move through
//! the typed API, a field update, a hold, or a deliberate mistake that the engine must
//! refuse. A refusal that the simulation did not plan for, or a planned one that goes
//! through, stops the run with an error: the checks are part of what a run tests.
//!
//! This file holds the run loop and the simulation's state; the steps are grouped by
//! concern: `lifecycle.rs` (the sprint and its guide versions), `tasks.rs` (a task up to its
//! evaluation), `review.rs` (reviews and revisions), `payments.rs` (payments and receipts)
//! and `write.rs` (the records written into fields, made of [`crate::sprint::records`]).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fmt;

use chrono::{DateTime, Days, NaiveTime, TimeDelta, TimeZone, Utc};
use serde_json::{Map, Value, json};
use workstream::prelude::*;
use workstream::{BuildError, Sha256Hash, artifact_hash, canonical_json};

use crate::rng::Rng;

mod lifecycle;
mod payments;
mod review;
mod tasks;
mod write;

use crate::sprint::checks::{self, packet_hash, signature};
use crate::sprint::money::format_cents;
use crate::sprint::records::{
    Artifact, Attestation, Award, CheckerResult, CheckerRun, Contribution, Contributions, Finding,
    Packet, Receipt, Review, Submission, TaskRecords,
};
use write::{ANSWERS, FINDINGS, TOPICS, evidence, review_of, submission_patch, task_records};

workstream::workflow!(
    /// The evaluation task (S1): the lifecycle every task of the sprint goes through.
    pub mod task = "../workflows/evaluation_task.yaml"
);
workstream::workflow!(
    /// The payment record of an accepted task.
    pub mod payment = "../workflows/payment.yaml"
);
workstream::workflow!(
    /// A version of the project guide and its payment policy.
    pub mod guide = "../workflows/project_guide.yaml"
);
workstream::workflow!(
    /// The sprint itself: its tasks are its children.
    pub mod sprint = "../workflows/evaluation_sprint.yaml"
);

/// The award per accepted task, in cents.
pub const AWARD_CENTS: i64 = 1000;
/// The currency of awards.
pub const CURRENCY: &str = "USD";
/// Revision requests a task may receive and still be resubmitted.
pub const MAX_REVISION_ROUNDS: u64 = 2;
/// Tasks one person may hold claimed or in progress: one more than the `in_progress` WIP
/// limit of the task file (3), so a start can meet the limit.
const MAX_ACTIVE: u32 = 4;
/// Refused starts after which the operator takes a claimed task back.
const MAX_WIP_WAITS: u32 = 12;
/// When the first sprint of a database starts.
fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// The payment policy every task of a sprint is published under.
pub fn policy() -> Value {
    json!({
        "award": format_cents(AWARD_CENTS),
        "currency": CURRENCY,
        "per": "accepted task",
        "max_revision_rounds": MAX_REVISION_ROUNDS,
        "paid": "when a matching receipt is recorded",
    })
}

/// The policy's hash, as tasks lock it.
pub fn policy_hash() -> Sha256Hash {
    Sha256Hash::of(canonical_json(&policy()).as_bytes())
}

/// An engine with the sprint's four workflows and every check they name.
pub fn engine<S: Store>(store: S, clock: ManualClock) -> Result<Engine<S>, SimError> {
    Ok(Engine::builder()
        .store(store)
        .workflow(task::workflow()?)
        .workflow(payment::workflow()?)
        .workflow(guide::workflow()?)
        .workflow(sprint::workflow()?)
        .checks(checks::checks())
        .clock(clock)
        .build()?)
}

// ---------------------------------------------------------------------------------------
// What a run gives back

/// What the simulation is asked to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Tasks in the sprint.
    pub tasks: u32,
    /// The generator's seed.
    pub seed: u64,
}

/// One reason id seen in refusals.
#[derive(Clone, Debug)]
pub struct ReasonStat {
    /// How many refusals gave it.
    pub count: u64,
    /// The check that failed, for reasons that come from a check.
    pub check: Option<String>,
    /// Its message, as the file words it.
    pub message: String,
    /// The first refusal with this reason, as the engine printed it.
    pub example: String,
}

/// What the simulation counted while it ran (refusals write nothing, so they are counted
/// here, not read from the ledger).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Events written: every write that committed.
    pub events: u64,
    /// Moves the engine refused.
    pub refused: u64,
    /// Refused moves by the situation that led to them.
    pub situations: BTreeMap<&'static str, u64>,
    /// Refusal reasons by id.
    pub reasons: BTreeMap<String, ReasonStat>,
}

/// Progress while a sprint runs.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Tasks closed so far.
    pub closed: u32,
    /// Events written so far.
    pub events: u64,
}

/// A sprint that ran to its close.
#[derive(Clone, Debug)]
pub struct SprintRun {
    /// The sprint's number in its database (1 for the first).
    pub number: u64,
    /// The sprint's own item.
    pub sprint: ItemId,
    /// The seed it ran with.
    pub seed: u64,
    /// Tasks in the sprint.
    pub tasks: u32,
    /// Contributors and reviewers who took part.
    pub people: usize,
    /// When it started and ended, in simulated time.
    pub start: DateTime<Utc>,
    /// See [`start`](Self::start).
    pub end: DateTime<Utc>,
    /// The guide versions this sprint created.
    pub guides: Vec<ItemId>,
    /// What the simulation counted.
    pub stats: Stats,
}

/// Why a run stopped.
#[derive(Debug)]
pub enum SimError {
    /// The engine or the store failed.
    Engine(workstream::Error),
    /// The engine could not be built.
    Build(BuildError),
    /// Something the simulation's rules say cannot happen happened.
    Unexpected(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Engine(e) => write!(f, "{e}"),
            SimError::Build(e) => write!(f, "the engine could not be built: {e}"),
            SimError::Unexpected(what) => write!(f, "the simulation went wrong: {what}"),
        }
    }
}

impl std::error::Error for SimError {}

impl From<workstream::Error> for SimError {
    fn from(e: workstream::Error) -> Self {
        SimError::Engine(e)
    }
}

impl From<BuildError> for SimError {
    fn from(e: BuildError) -> Self {
        SimError::Build(e)
    }
}

// ---------------------------------------------------------------------------------------
// The simulation

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Job {
    Draft(u32),
    Task(usize),
    Pay(usize),
    Receipt(usize),
    LateReceipt(usize),
    NewGuide,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quality {
    Strong,
    Decent,
    Weak,
    Poor,
}

enum Decision {
    Accept,
    Changes,
    Reject,
}

/// The simulation's own memory of a task, beside the typed item.
struct Task {
    item: Option<task::AnyItem>,
    number: u32,
    quality: Quality,
    contributor: usize,
    returned: bool,
    lock_forgotten: bool,
    held: bool,
    hold_done: bool,
    upload_tried: bool,
    signature_tried: bool,
    wip_waits: u32,
    reviews: u32,
    runs: u32,
    findings: u32,
    checker_findings: u32,
    // Mistakes tried in the current round.
    partial_tried: bool,
    stale_tried: bool,
    self_tried: bool,
    evidence_tried: bool,
    limit_tried: bool,
}

struct Payment {
    id: ItemId,
    pending: Option<payment::Item<payment::Pending>>,
    payee: String,
    amount: String,
    conflict_tried: bool,
}

/// The simulated clock: the sprint's start, minutes since, and the queue of jobs.
struct Schedule {
    start: DateTime<Utc>,
    /// Minutes since `start`.
    now: i64,
    /// Jobs queued so far: ties in time run in the order they were queued.
    seq: u64,
    queue: BinaryHeap<Reverse<(i64, u64, Job)>>,
}

/// Who acts: the contributors and reviewers, how many tasks each has in hand, and the
/// sprint's staff.
struct Cast {
    people: Vec<Actor>,
    active: Vec<u32>,
    operator: Actor,
    manager: Actor,
    checker: Actor,
    treasurer: Actor,
}

/// The project guide: the active version, and the versions this sprint created.
struct Guides {
    active: Option<guide::Item<guide::Active>>,
    version: u64,
    ids: Vec<ItemId>,
    /// Tasks published so far; half-way through, a new guide version is activated.
    published: u32,
    new_queued: bool,
}

struct Sim<'e, S: Store> {
    engine: &'e Engine<S>,
    clock: &'e ManualClock,
    rng: Rng,
    /// The sprint's number in its database, and its size in tasks.
    number: u64,
    total: u32,
    time: Schedule,
    cast: Cast,
    sprint: Option<sprint::Item<sprint::Open>>,
    sprint_id: ItemId,
    guides: Guides,
    tasks: Vec<Task>,
    payments: Vec<Payment>,
    closed: u32,
    outcomes: BTreeMap<&'static str, u64>,
    stats: Stats,
}

/// Runs one sprint on `engine` (built by [`engine`] with `clock`), reporting progress as
/// tasks close.
pub fn run<S: Store>(
    engine: &Engine<S>,
    clock: &ManualClock,
    config: &Config,
    progress: &mut dyn FnMut(Progress),
) -> Result<SprintRun, SimError> {
    let (number, start) = next_sprint(engine)?;
    clock.set(start);
    let people = (config.tasks / 5).clamp(6, 50) as usize;
    let mut sim = Sim {
        engine,
        clock,
        rng: Rng::new(config.seed),
        number,
        total: config.tasks,
        time: Schedule {
            start,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
        },
        sprint: None,
        sprint_id: ItemId(0),
        cast: Cast {
            people: (1..=people)
                .map(|p| Actor::new(format!("p{p:02}"), ["contributor", "reviewer"]))
                .collect(),
            active: vec![0; people],
            operator: Actor::new("ola", ["operator"]),
            manager: Actor::new("mina", ["manager"]),
            checker: Actor::new("checkbot", ["checker"]),
            treasurer: Actor::new("tess", ["treasurer"]),
        },
        guides: Guides {
            active: None,
            version: 0,
            ids: Vec::new(),
            published: 0,
            new_queued: false,
        },
        tasks: Vec::with_capacity(config.tasks as usize),
        payments: Vec::new(),
        closed: 0,
        outcomes: BTreeMap::new(),
        stats: Stats::default(),
    };
    sim.open(config)?;
    let mut steps = 0u64;
    while let Some(Reverse((at, _, job))) = sim.time.queue.pop() {
        sim.time.now = at;
        sim.clock.set(sim.instant());
        let closed = sim.closed;
        match job {
            Job::Draft(k) => sim.draft(k)?,
            Job::Task(i) => sim.step_task(i)?,
            Job::Pay(i) => sim.pay(i)?,
            Job::Receipt(j) => sim.receipt(j)?,
            Job::LateReceipt(j) => sim.late_receipt(j)?,
            Job::NewGuide => sim.activate_guide(true)?,
        }
        steps += 1;
        if sim.closed != closed || steps.is_multiple_of(64) {
            progress(Progress {
                closed: sim.closed,
                events: sim.stats.events,
            });
        }
    }
    sim.close()?;
    progress(Progress {
        closed: sim.closed,
        events: sim.stats.events,
    });
    Ok(SprintRun {
        number,
        sprint: sim.sprint_id,
        seed: config.seed,
        tasks: config.tasks,
        people,
        start,
        end: sim.instant(),
        guides: sim.guides.ids,
        stats: sim.stats,
    })
}

/// The next sprint's number, and when it starts: the first sprint of a database at a fixed
/// instant (so a seed gives the same ledger), a later one the morning after the last
/// change to the sprints before it.
fn next_sprint<S: Store>(engine: &Engine<S>) -> Result<(u64, DateTime<Utc>), SimError> {
    let previous = engine.items(&Query::new().workflow(sprint::NAME))?;
    if previous.is_empty() {
        return Ok((1, epoch()));
    }
    let number = previous
        .iter()
        .filter_map(|s| s.field("number").and_then(Value::as_u64))
        .max()
        .unwrap_or(0)
        .max(previous.len() as u64)
        + 1;
    let mut latest = epoch();
    for sprint in &previous {
        latest = latest.max(sprint.updated());
        if !sprint.is_closed() {
            // A run that stopped part-way: start after its last change.
            for child in engine.items(&Query::new().parent(sprint.id()))? {
                latest = latest.max(child.updated());
            }
        }
    }
    for guide in engine.items(&Query::new().workflow(guide::NAME))? {
        latest = latest.max(guide.updated());
    }
    let morning = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN);
    let day = latest.date_naive() + Days::new(1);
    Ok((number, day.and_time(morning).and_utc()))
}

fn refused_has(refused: &Refused, keys: &[&str]) -> bool {
    !refused.reasons.is_empty()
        && refused.reasons.iter().all(|r| {
            keys.iter()
                .any(|k| r.id == *k || r.details.get("check").and_then(Value::as_str) == Some(*k))
        })
}

impl<S: Store> Sim<'_, S> {
    fn instant(&self) -> DateTime<Utc> {
        self.time.start + TimeDelta::minutes(self.time.now)
    }

    fn schedule(&mut self, delay: i64, job: Job) {
        self.time.seq += 1;
        self.time
            .queue
            .push(Reverse((self.time.now + delay.max(0), self.time.seq, job)));
    }

    fn person(&self, p: usize) -> Actor {
        self.cast.people[p].clone()
    }

    // -- Recording what happened -------------------------------------------------------

    /// A move that must go through.
    fn moved<F: Typed, T>(
        &mut self,
        what: &str,
        result: Result<T, MoveError<F>>,
    ) -> Result<T, SimError> {
        match result {
            Ok(item) => {
                self.stats.events += 1;
                Ok(item)
            }
            Err(e) if e.refused().is_some() => Err(SimError::Unexpected(format!(
                "`{what}` of item {} was refused: {}",
                e.item.as_item().id(),
                e.error
            ))),
            Err(e) => Err(SimError::Engine(e.error)),
        }
    }

    /// A write through the dynamic API that must go through.
    fn wrote<T>(
        &mut self,
        what: &str,
        result: Result<T, workstream::Error>,
    ) -> Result<T, SimError> {
        match result {
            Ok(value) => {
                self.stats.events += 1;
                Ok(value)
            }
            Err(e) if e.refused().is_some() => {
                Err(SimError::Unexpected(format!("`{what}` was refused: {e}")))
            }
            Err(e) => Err(SimError::Engine(e)),
        }
    }

    fn record(&mut self, situation: &'static str, refused: &Refused) {
        self.stats.refused += 1;
        *self.stats.situations.entry(situation).or_default() += 1;
        for reason in &refused.reasons {
            let stat = self
                .stats
                .reasons
                .entry(reason.id.clone())
                .or_insert_with(|| ReasonStat {
                    count: 0,
                    check: reason
                        .details
                        .get("check")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    message: reason.message.clone(),
                    example: format!(
                        "{refused}\n    details: {}",
                        canonical_json(&reason.details)
                    ),
                });
            stat.count += 1;
        }
    }

    /// A move that may be refused, for the reasons `allowed` only (reason ids or check
    /// names): the refusal is counted and the item handed back.
    fn attempt<F: Typed, T: Typed>(
        &mut self,
        situation: &'static str,
        allowed: &[&str],
        result: Result<T, MoveError<F>>,
    ) -> Result<Result<T, F>, SimError> {
        match result {
            Ok(item) => {
                self.stats.events += 1;
                Ok(Ok(item))
            }
            Err(e) => match e.refused() {
                Some(refused) if refused_has(refused, allowed) => {
                    self.record(situation, refused);
                    Ok(Err(e.into_item()))
                }
                Some(_) => Err(SimError::Unexpected(format!(
                    "{situation}: expected a refusal for {allowed:?}, got: {}",
                    e.error
                ))),
                None => Err(SimError::Engine(e.error)),
            },
        }
    }

    /// A deliberate mistake: the move must be refused for the reasons `expected`.
    fn refused<F: Typed, T: Typed>(
        &mut self,
        situation: &'static str,
        expected: &[&str],
        result: Result<T, MoveError<F>>,
    ) -> Result<F, SimError> {
        match self.attempt(situation, expected, result)? {
            Err(item) => Ok(item),
            Ok(item) => Err(SimError::Unexpected(format!(
                "{situation}: item {} moved to `{}`, but the move must be refused ({expected:?})",
                item.as_item().id(),
                item.as_item().workstation()
            ))),
        }
    }

    // -- Opening and closing --------------------------------------------------------------
}
