//! The simulation of one evaluation sprint: people, checkers and reviewers acting on a
//! simulated clock, every decision drawn from one seeded generator.
//!
//! It is a discrete-event simulation. Each task, payment and guide change is a job on a
//! queue ordered by simulated time (ties by the order they were queued); the loop pops the
//! next job, sets the [`ManualClock`] to its instant and performs one step: a move through
//! the typed API, a field update, a hold, or a deliberate mistake that the engine must
//! refuse. A refusal that the simulation did not plan for, or a planned one that goes
//! through, stops the run with an error: the checks are part of what a run tests.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fmt;

use chrono::{DateTime, Days, NaiveTime, TimeDelta, TimeZone, Utc};
use serde_json::{Map, Value, json};
use workstream::prelude::*;
use workstream::{BuildError, Sha256Hash, artifact_hash, canonical_json};

use crate::checks::{self, open_findings, packet_hash, signature, submitted_hashes};
use crate::money::format_cents;

workstream::workflow!(
    /// The evaluation task (S1): the lifecycle every task of the sprint goes through.
    pub(crate) mod task = "examples/workflows/evaluation_task.yaml"
);
workstream::workflow!(
    /// The payment record of an accepted task.
    pub(crate) mod payment = "examples/workflows/payment.yaml"
);
workstream::workflow!(
    /// A version of the project guide and its payment policy.
    pub(crate) mod guide = "examples/workflows/project_guide.yaml"
);
workstream::workflow!(
    /// The sprint itself: its tasks are its children.
    pub(crate) mod sprint = "examples/workflows/evaluation_sprint.yaml"
);

/// The award per accepted task, in cents.
pub(crate) const AWARD_CENTS: i64 = 1000;
/// The currency of awards.
pub(crate) const CURRENCY: &str = "USD";
/// Revision requests a task may receive and still be resubmitted.
pub(crate) const MAX_REVISION_ROUNDS: u64 = 2;
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
pub(crate) fn policy() -> Value {
    json!({
        "award": format_cents(AWARD_CENTS),
        "currency": CURRENCY,
        "per": "accepted task",
        "max_revision_rounds": MAX_REVISION_ROUNDS,
        "paid": "when a matching receipt is recorded",
    })
}

/// The policy's hash, as tasks lock it.
pub(crate) fn policy_hash() -> Sha256Hash {
    Sha256Hash::of(canonical_json(&policy()).as_bytes())
}

/// An engine with the sprint's four workflows and every check they name.
pub(crate) fn engine<S: Store>(store: S, clock: ManualClock) -> Result<Engine<S>, SimError> {
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
// The generator

/// splitmix64: small, fast, and the same sequence on every platform.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < per_mille as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------------------
// What a run gives back

/// What the simulation is asked to run.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Tasks in the sprint.
    pub(crate) tasks: u32,
    /// The generator's seed.
    pub(crate) seed: u64,
}

/// One reason id seen in refusals.
#[derive(Clone, Debug)]
pub(crate) struct ReasonStat {
    pub(crate) count: u64,
    /// The check that failed, for reasons that come from a check.
    pub(crate) check: Option<String>,
    pub(crate) message: String,
    /// The first refusal with this reason, as the engine printed it.
    pub(crate) example: String,
}

/// What the simulation counted while it ran (refusals write nothing, so they are counted
/// here, not read from the ledger).
#[derive(Clone, Debug, Default)]
pub(crate) struct Stats {
    /// Events written: every write that committed.
    pub(crate) events: u64,
    /// Moves the engine refused.
    pub(crate) refused: u64,
    /// Refused moves by the situation that led to them.
    pub(crate) situations: BTreeMap<&'static str, u64>,
    /// Refusal reasons by id.
    pub(crate) reasons: BTreeMap<String, ReasonStat>,
}

/// Progress while a sprint runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Progress {
    pub(crate) closed: u32,
    pub(crate) events: u64,
}

/// A sprint that ran to its close.
#[derive(Clone, Debug)]
pub(crate) struct SprintRun {
    pub(crate) number: u64,
    pub(crate) sprint: ItemId,
    pub(crate) seed: u64,
    pub(crate) tasks: u32,
    pub(crate) people: usize,
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    /// The guide versions this sprint created.
    pub(crate) guides: Vec<ItemId>,
    pub(crate) stats: Stats,
}

/// Why a run stopped.
#[derive(Debug)]
pub(crate) enum SimError {
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

const TOPICS: &[&str] = &[
    "label agreement",
    "caption quality",
    "translation fidelity",
    "code review",
    "data provenance",
    "summary accuracy",
];
const FINDINGS: &[&str] = &[
    "the evidence file does not cite the source of the second figure",
    "criterion 2 is answered only in part",
    "the answer contradicts the sample's metadata",
    "the rationale for the label is missing",
    "the edge case named in the acceptance criteria is not covered",
    "units are missing from the reported values",
];
const ANSWERS: &[&str] = &[
    "cited the source in evidence.json",
    "answered criterion 2 in full",
    "corrected the answer against the metadata",
    "added the rationale",
    "covered the edge case",
    "added the units",
];
const SENTENCES: &[&str] = &[
    "The sample meets criteria 1 and 2; criterion 3 holds with one caveat.",
    "Both annotators agree on the label; the disagreement on span 4 is resolved.",
    "The summary keeps every figure of the source and adds none.",
    "The translation keeps the register; two idioms are rendered literally.",
];

struct Sim<'e, S: Store> {
    engine: &'e Engine<S>,
    clock: &'e ManualClock,
    rng: Rng,
    number: u64,
    total: u32,
    start: DateTime<Utc>,
    now: i64,
    seq: u64,
    queue: BinaryHeap<Reverse<(i64, u64, Job)>>,
    sprint: Option<sprint::Item<sprint::Open>>,
    sprint_id: ItemId,
    people: Vec<Actor>,
    active: Vec<u32>,
    operator: Actor,
    manager: Actor,
    checker: Actor,
    treasurer: Actor,
    guide: Option<guide::Item<guide::Active>>,
    guide_version: u64,
    guides: Vec<ItemId>,
    published: u32,
    new_guide_queued: bool,
    tasks: Vec<Task>,
    payments: Vec<Payment>,
    closed: u32,
    outcomes: BTreeMap<&'static str, u64>,
    stats: Stats,
}

/// Runs one sprint on `engine` (built by [`engine`] with `clock`), reporting progress as
/// tasks close.
pub(crate) fn run<S: Store>(
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
        start,
        now: 0,
        seq: 0,
        queue: BinaryHeap::new(),
        sprint: None,
        sprint_id: ItemId(0),
        people: (1..=people)
            .map(|p| Actor::new(format!("p{p:02}"), ["contributor", "reviewer"]))
            .collect(),
        active: vec![0; people],
        operator: Actor::new("ola", ["operator"]),
        manager: Actor::new("mina", ["manager"]),
        checker: Actor::new("checkbot", ["checker"]),
        treasurer: Actor::new("tess", ["treasurer"]),
        guide: None,
        guide_version: 0,
        guides: Vec::new(),
        published: 0,
        new_guide_queued: false,
        tasks: Vec::with_capacity(config.tasks as usize),
        payments: Vec::new(),
        closed: 0,
        outcomes: BTreeMap::new(),
        stats: Stats::default(),
    };
    sim.open(config)?;
    let mut steps = 0u64;
    while let Some(Reverse((at, _, job))) = sim.queue.pop() {
        sim.now = at;
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
        guides: sim.guides,
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
        self.start + TimeDelta::minutes(self.now)
    }

    fn schedule(&mut self, delay: i64, job: Job) {
        self.seq += 1;
        self.queue
            .push(Reverse((self.now + delay.max(0), self.seq, job)));
    }

    fn person(&self, p: usize) -> Actor {
        self.people[p].clone()
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

    fn open(&mut self, config: &Config) -> Result<(), SimError> {
        let fields = json!({
            "number": self.number,
            "seed": config.seed.to_string(),
            "tasks": config.tasks,
            "people": self.people.len(),
            "policy": policy(),
            "policy_hash": policy_hash().to_string(),
        });
        let new = NewItem::of(sprint::NAME)
            .fields(fields)
            .reason("sprint opened");
        let created = sprint::create_with(self.engine, &self.operator, new);
        let open = self.wrote("open the sprint", created)?;
        self.sprint_id = open.id();
        self.sprint = Some(open);
        // Guide versions go on across sprints: the new sprint starts from a new version.
        let guides = self.engine.items(&Query::new().workflow(guide::NAME))?;
        self.guide_version = guides
            .iter()
            .filter_map(|g| g.field("version").and_then(Value::as_u64))
            .max()
            .unwrap_or(0);
        self.activate_guide(false)?;
        for old in guides.into_iter().filter(|g| g.workstation() == "active") {
            if let guide::AnyItem::Active(item) = guide::AnyItem::from_item(old)? {
                let retired = item.retire_with(
                    self.engine,
                    &self.operator,
                    With::new().reason("a new sprint starts from a new guide version"),
                );
                self.moved("retire", retired)?;
            }
        }
        let people = self.people.len() as i64;
        for k in 0..self.total {
            // The operator drafts about one task per person and day.
            let at = i64::from(k) * 1440 / people + self.rng.range(0, 30);
            self.seq += 1;
            self.queue.push(Reverse((at, self.seq, Job::Draft(k))));
        }
        Ok(())
    }

    /// Activates the next guide version and retires the one before it. The mid-sprint
    /// version adds a lesson learned; tasks published before it keep the version they
    /// locked.
    fn activate_guide(&mut self, lesson: bool) -> Result<(), SimError> {
        self.guide_version += 1;
        let version = self.guide_version;
        let mut text = format!(
            "Project guide, version {version} (evaluation sprint {}).\n\
             1. Each task names its acceptance criteria; a submission answers every one.\n\
             2. A submission packet lists its artifacts, each bound by its sha256, and is \
             signed by its contributor.\n\
             3. Automated checkers run before review. A high-severity failure, or a medium \
             one of a required checker, sends the work back.\n\
             4. Reviewers cite evidence. A revision answers every open finding.\n",
            self.number
        );
        if lesson {
            text.push_str("5. Lesson learned: cite the source of every figure in evidence.json.\n");
        }
        let text_hash = artifact_hash(text.as_bytes()).to_string();
        let new = NewItem::of(guide::NAME).fields(json!({
            "sprint": self.number,
            "version": version,
            "text": text,
            "policy": policy(),
        }));
        let created = guide::create_with(self.engine, &self.operator, new);
        let draft = self.wrote("write the guide", created)?;
        self.guides.push(draft.id());
        let patch = json!({ "text_hash": text_hash, "policy_hash": policy_hash().to_string() });
        let activated = draft.activate_with(self.engine, &self.operator, With::new().patch(patch));
        let active = self.moved("activate", activated)?;
        if let Some(old) = self.guide.replace(active) {
            let retired = old.retire_with(
                self.engine,
                &self.operator,
                With::new().reason(format!("replaced by guide version {version}")),
            );
            self.moved("retire", retired)?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), SimError> {
        self.now += 60;
        self.clock.set(self.instant());
        let open = self
            .sprint
            .take()
            .ok_or_else(|| SimError::Unexpected("the sprint is not open".into()))?;
        let totals = json!({ "totals": self.outcomes });
        let closed = open.close_with(
            self.engine,
            &self.operator,
            With::new().patch(totals).reason("every task is closed"),
        );
        self.moved("close the sprint", closed)?;
        Ok(())
    }

    // -- Tasks ----------------------------------------------------------------------------

    fn draft(&mut self, k: u32) -> Result<(), SimError> {
        let number = k + 1;
        let topic = self.rng.pick(TOPICS);
        let fields = json!({
            "sprint": self.number,
            "number": number,
            "title": format!("Evaluate sample {number:05}: {topic}"),
            "criteria": [
                format!("the {topic} of sample {number:05} is judged against the guide"),
                "every judgement cites its evidence",
            ],
        });
        let new = NewItem::of(task::NAME)
            .parent(self.sprint_id)
            .fields(fields);
        let created = task::create_with(self.engine, &self.operator, new);
        let draft = self.wrote("draft a task", created)?;
        let quality = match self.rng.below(1000) {
            0..450 => Quality::Strong,
            450..750 => Quality::Decent,
            750..900 => Quality::Weak,
            _ => Quality::Poor,
        };
        self.tasks.push(Task {
            item: Some(task::AnyItem::Draft(draft)),
            number,
            quality,
            contributor: 0,
            returned: false,
            lock_forgotten: false,
            held: false,
            hold_done: false,
            upload_tried: false,
            signature_tried: false,
            wip_waits: 0,
            reviews: 0,
            runs: 0,
            findings: 0,
            checker_findings: 0,
            partial_tried: false,
            stale_tried: false,
            self_tried: false,
            evidence_tried: false,
            limit_tried: false,
        });
        let delay = self.rng.range(30, 240);
        self.schedule(delay, Job::Task(self.tasks.len() - 1));
        Ok(())
    }

    fn step_task(&mut self, i: usize) -> Result<(), SimError> {
        use task::AnyItem as A;
        let any = self.tasks[i]
            .item
            .take()
            .ok_or_else(|| SimError::Unexpected(format!("task {i} has no item")))?;
        let (next, delay) = match any {
            A::Draft(item) => {
                let screened = item.screen(self.engine, &self.operator);
                let screening = self.moved("screen", screened)?;
                (A::Screening(screening), self.rng.range(60, 480))
            }
            A::Screening(item) => self.screening(i, item)?,
            A::Ready(item) => self.ready(i, item)?,
            A::Claimed(item) => self.claimed(i, item)?,
            A::InProgress(item) => self.in_progress(i, item)?,
            A::Submitted(item) => {
                let evaluated = item.evaluate(self.engine, &self.checker);
                let pending = self.moved("evaluate", evaluated)?;
                (A::EvaluationPending(pending), self.rng.range(10, 90))
            }
            A::EvaluationPending(item) => self.evaluation(i, item)?,
            A::ReviewPending(item) => self.review(i, item)?,
            A::NeedsRevision(item) => self.revision(i, item)?,
            closed @ (A::Accepted(_) | A::Rejected(_) | A::Cancelled(_)) => {
                return Err(SimError::Unexpected(format!(
                    "task {} was scheduled while {}",
                    closed.item().id(),
                    closed.workstation()
                )));
            }
        };
        let outcome = match &next {
            A::Accepted(_) => Some("accepted"),
            A::Rejected(_) => Some("rejected"),
            A::Cancelled(_) => Some("cancelled"),
            _ => None,
        };
        match outcome {
            Some(outcome) => {
                self.closed += 1;
                *self.outcomes.entry(outcome).or_default() += 1;
                if outcome == "accepted" {
                    let delay = self.rng.range(5, 120);
                    self.schedule(delay, Job::Pay(i));
                }
            }
            None => self.schedule(delay, Job::Task(i)),
        }
        self.tasks[i].item = Some(next);
        Ok(())
    }

    fn screening(
        &mut self,
        i: usize,
        item: task::Item<task::Screening>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        if !self.tasks[i].returned && self.rng.chance(60) {
            self.tasks[i].returned = true;
            let with = With::new().reason("the acceptance criteria are ambiguous");
            let returned = item.return_to_draft_with(self.engine, &self.operator, with);
            let draft = self.moved("return_to_draft", returned)?;
            return Ok((A::Draft(draft), self.rng.range(120, 720)));
        }
        if !self.tasks[i].lock_forgotten && self.rng.chance(25) {
            self.tasks[i].lock_forgotten = true;
            let published = item.publish(self.engine, &self.operator);
            let back = self.refused(
                "publish without locking the guide and policy",
                &["guide_version_locked", "policy_hash_locked"],
                published,
            )?;
            return Ok((A::Screening(back), self.rng.range(10, 60)));
        }
        let lock = {
            let guide = self
                .guide
                .as_ref()
                .ok_or_else(|| SimError::Unexpected("no active guide".into()))?;
            json!({
                "guide": guide.id().0,
                "guide_version": guide.field("version").cloned().unwrap_or(Value::Null),
                "guide_hash": guide.field("text_hash").cloned().unwrap_or(Value::Null),
                "policy_hash": guide.field("policy_hash").cloned().unwrap_or(Value::Null),
                "max_revision_rounds": MAX_REVISION_ROUNDS,
            })
        };
        let published = item.publish_with(self.engine, &self.operator, With::new().patch(lock));
        let ready = self.moved("publish", published)?;
        self.published += 1;
        if !self.new_guide_queued && self.published * 2 >= self.total && self.total >= 4 {
            self.new_guide_queued = true;
            self.schedule(1, Job::NewGuide);
        }
        Ok((A::Ready(ready), self.rng.range(30, 240)))
    }

    fn ready(
        &mut self,
        i: usize,
        item: task::Item<task::Ready>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        if self.rng.chance(15) {
            let with = With::new().reason("withdrawn: the sample was removed from the dataset");
            let cancelled = item.cancel_with(self.engine, &self.operator, with);
            return Ok((A::Cancelled(self.moved("cancel", cancelled)?), 0));
        }
        let free: Vec<usize> = (0..self.people.len())
            .filter(|&p| self.active[p] < MAX_ACTIVE)
            .collect();
        if free.is_empty() {
            return Ok((A::Ready(item), self.rng.range(60, 240)));
        }
        let p = free[self.rng.below(free.len())];
        let person = self.person(p);
        let patch = json!({
            "contributor": person.id(),
            "award": { "amount": format_cents(AWARD_CENTS), "currency": CURRENCY },
        });
        let claimed = item.claim_with(self.engine, &person, With::new().patch(patch));
        let claimed = self.moved("claim", claimed)?;
        self.active[p] += 1;
        self.tasks[i].contributor = p;
        Ok((A::Claimed(claimed), self.rng.range(10, 240)))
    }

    fn claimed(
        &mut self,
        i: usize,
        item: task::Item<task::Claimed>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        let p = self.tasks[i].contributor;
        let gives_up = self.rng.chance(10);
        if gives_up || self.tasks[i].wip_waits >= MAX_WIP_WAITS {
            let reason = if gives_up {
                "the contributor released the task"
            } else {
                "the contributor has had no capacity for too long"
            };
            let cancelled =
                item.cancel_with(self.engine, &self.operator, With::new().reason(reason));
            let cancelled = self.moved("cancel", cancelled)?;
            self.active[p] -= 1;
            return Ok((A::Cancelled(cancelled), 0));
        }
        let person = self.person(p);
        let started = item.start(self.engine, &person);
        match self.attempt("start while at the WIP limit", &["wip"], started)? {
            Ok(started) => Ok((A::InProgress(started), self.rng.range(240, 2160))),
            Err(back) => {
                self.tasks[i].wip_waits += 1;
                Ok((A::Claimed(back), self.rng.range(120, 480)))
            }
        }
    }

    fn in_progress(
        &mut self,
        i: usize,
        item: task::Item<task::InProgress>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        let p = self.tasks[i].contributor;
        let person = self.person(p);
        let id = item.id();
        if self.tasks[i].held {
            self.tasks[i].held = false;
            let released = self.engine.release(id, &person, "blocked");
            let released = self.wrote("release", released)?;
            return Ok((A::from_item(released)?, self.rng.range(60, 480)));
        }
        if !self.tasks[i].hold_done && self.rng.chance(30) {
            self.tasks[i].held = true;
            self.tasks[i].hold_done = true;
            let held = self.engine.hold(
                id,
                &person,
                "blocked",
                "waiting for access to the source data",
            );
            let held = self.wrote("hold", held)?;
            return Ok((A::from_item(held)?, self.rng.range(120, 1440)));
        }
        let packet = self.packet(i, 1, Map::new(), None);
        if !self.tasks[i].upload_tried && self.rng.chance(50) {
            self.tasks[i].upload_tried = true;
            let mut corrupted = packet.clone();
            if let Some(content) = corrupted.pointer_mut("/artifacts/0/content")
                && let Some(text) = content.as_str()
            {
                // The upload lost its last byte after the contributor hashed it.
                let mut bytes = text.to_owned();
                bytes.pop();
                *content = Value::from(bytes);
            }
            let patch = submission_patch(person.id(), &corrupted, false);
            let submitted = item.submit_with(self.engine, &person, With::new().patch(patch));
            let back = self.refused(
                "submit an artifact whose bytes do not match its hash",
                &["artifacts_hashed"],
                submitted,
            )?;
            return Ok((A::InProgress(back), self.rng.range(15, 90)));
        }
        if !self.tasks[i].signature_tried && self.rng.chance(50) {
            self.tasks[i].signature_tried = true;
            let patch = submission_patch(person.id(), &packet, true);
            let submitted = item.submit_with(self.engine, &person, With::new().patch(patch));
            let back = self.refused(
                "submit with an attestation signed over another packet",
                &["attestation_signed"],
                submitted,
            )?;
            return Ok((A::InProgress(back), self.rng.range(15, 90)));
        }
        let patch = submission_patch(person.id(), &packet, false);
        let submitted = item.submit_with(self.engine, &person, With::new().patch(patch));
        let submitted = self.moved("submit", submitted)?;
        self.active[p] -= 1;
        Ok((A::Submitted(submitted), self.rng.range(5, 30)))
    }

    fn evaluation(
        &mut self,
        i: usize,
        item: task::Item<task::EvaluationPending>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        let hashes = submitted_hashes(item.fields());
        let stale = item
            .field("checker_run")
            .and_then(|run| run.get("hashes"))
            .and_then(Value::as_array)
            .is_some_and(|admitted| {
                let admitted: BTreeSet<String> = admitted
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                admitted != hashes
            });
        if stale && !self.tasks[i].stale_tried && self.rng.chance(250) {
            // The operator routes the resubmission with the previous round's run.
            self.tasks[i].stale_tried = true;
            let routed = item.route_to_review(self.engine, &self.checker);
            let back = self.refused(
                "route a resubmission with the previous checker run",
                &["checker_allows_review"],
                routed,
            )?;
            return Ok((A::EvaluationPending(back), self.rng.range(5, 20)));
        }
        let rounds = item
            .field("revision_rounds")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let block = match self.tasks[i].quality {
            Quality::Strong => 20,
            Quality::Decent => 60,
            Quality::Weak => 150,
            Quality::Poor => 300,
        } / (1 + rounds as u32);
        let blocking = self.rng.chance(block);
        let run = self.checker_run(i, &hashes, blocking);
        let version = submission_version(item.fields());
        if blocking {
            let mut findings = Map::new();
            for failure in checks::blocking_failures(&run) {
                self.tasks[i].checker_findings += 1;
                let id = format!("C{}", self.tasks[i].checker_findings);
                let text = format!(
                    "checker `{}` failed with {} severity",
                    failure
                        .get("checker")
                        .and_then(Value::as_str)
                        .unwrap_or("?"),
                    failure
                        .get("severity")
                        .and_then(Value::as_str)
                        .unwrap_or("?"),
                );
                findings.insert(
                    id,
                    json!({ "text": text, "by": self.checker.id(), "raised_in": version, "status": "open" }),
                );
            }
            let patch = json!({
                "checker_run": run,
                "findings": findings,
                "revision_rounds": rounds + 1,
            });
            let with = With::new()
                .patch(patch)
                .reason("a blocking checker failure");
            let failed = item.fail_checks_with(self.engine, &self.checker, with);
            let revision = self.moved("fail_checks", failed)?;
            self.new_round(i);
            return Ok((A::NeedsRevision(revision), self.rng.range(30, 240)));
        }
        let mut patch = json!({ "checker_run": run });
        let resolved: Map<String, Value> = open_findings(item.fields())
            .into_iter()
            .filter(|id| id.starts_with('C'))
            .map(|id| (id, json!({ "status": "resolved" })))
            .collect();
        if !resolved.is_empty() {
            patch["findings"] = Value::Object(resolved);
        }
        let routed =
            item.route_to_review_with(self.engine, &self.checker, With::new().patch(patch));
        let review = self.moved("route_to_review", routed)?;
        Ok((A::ReviewPending(review), self.rng.range(60, 2400)))
    }

    fn review(
        &mut self,
        i: usize,
        item: task::Item<task::ReviewPending>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        let p = self.tasks[i].contributor;
        let round = self.tasks[i].reviews + 1;
        let evidence = evidence(item.fields());
        if !self.tasks[i].self_tried && self.rng.chance(40) {
            self.tasks[i].self_tried = true;
            let contributor = self.person(p);
            let review = review_record(contributor.id(), "accepted", round, &evidence);
            let with = With::new().patch(json!({ "review": review }));
            let accepted = item.accept_with(self.engine, &contributor, with);
            let back = self.refused("review one's own work", &["no_self_review"], accepted)?;
            return Ok((A::ReviewPending(back), self.rng.range(10, 60)));
        }
        let mut r = self.rng.below(self.people.len() - 1);
        if r >= p {
            r += 1;
        }
        let reviewer = self.person(r);
        if self.rng.chance(20) {
            let with = With::new().reason("the checker run looks incomplete; run it again");
            let sent = item.reevaluate_with(self.engine, &reviewer, with);
            let pending = self.moved("reevaluate", sent)?;
            return Ok((A::EvaluationPending(pending), self.rng.range(10, 60)));
        }
        let contributor = self.people[p].id().to_owned();
        let decision = self.decide(self.tasks[i].quality, self.tasks[i].reviews);
        self.tasks[i].reviews += 1;
        let review_contribution = json!({ "kind": "review", "by": reviewer.id() });
        match decision {
            Decision::Accept => {
                if !self.tasks[i].evidence_tried && self.rng.chance(50) {
                    self.tasks[i].evidence_tried = true;
                    self.tasks[i].reviews -= 1;
                    let review = review_record(reviewer.id(), "accepted", round, &[]);
                    let with = With::new().patch(json!({ "review": review }));
                    let accepted = item.accept_with(self.engine, &reviewer, with);
                    let back = self.refused(
                        "accept without citing evidence",
                        &["evidence_cited"],
                        accepted,
                    )?;
                    return Ok((A::ReviewPending(back), self.rng.range(10, 60)));
                }
                let findings: Map<String, Value> = item
                    .field("findings")
                    .and_then(Value::as_object)
                    .map(|all| {
                        all.keys()
                            .map(|id| (id.clone(), json!({ "status": "resolved" })))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut patch = json!({
                    "review": review_record(reviewer.id(), "accepted", round, &evidence),
                });
                if !findings.is_empty() {
                    patch["findings"] = Value::Object(findings);
                }
                let award = item.field("award").cloned().unwrap_or(Value::Null);
                let payload = json!({ "contributions": [
                    { "kind": "submission", "by": contributor, "award": award },
                    review_contribution,
                ]});
                let with = With::new()
                    .patch(patch)
                    .payload(payload)
                    .reason("the work meets every criterion");
                let accepted = item.accept_with(self.engine, &reviewer, with);
                Ok((A::Accepted(self.moved("accept", accepted)?), 0))
            }
            Decision::Changes => {
                let version = submission_version(item.fields());
                let mut findings = Map::new();
                let open = open_findings(item.fields());
                let keep = if !open.is_empty() && self.rng.chance(150) {
                    // One answer does not address its finding: it stays open.
                    Some(open[self.rng.below(open.len())].clone())
                } else {
                    None
                };
                for id in open {
                    if Some(&id) != keep.as_ref() {
                        findings.insert(id, json!({ "status": "resolved" }));
                    }
                }
                let new = 1 + self.rng.below(3);
                for _ in 0..new {
                    self.tasks[i].findings += 1;
                    let id = format!("F{}", self.tasks[i].findings);
                    let text = self.rng.pick(FINDINGS);
                    findings.insert(
                        id,
                        json!({ "text": text, "by": reviewer.id(), "raised_in": version, "status": "open" }),
                    );
                }
                let rounds = item
                    .field("revision_rounds")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let patch = json!({
                    "review": review_record(reviewer.id(), "needs_revision", round, &evidence[..evidence.len().min(1)]),
                    "findings": findings,
                    "revision_rounds": rounds + 1,
                });
                let with = With::new()
                    .patch(patch)
                    .payload(json!({ "contributions": [review_contribution] }))
                    .reason("blocking findings");
                let requested = item.request_changes_with(self.engine, &reviewer, with);
                let revision = self.moved("request_changes", requested)?;
                self.new_round(i);
                Ok((A::NeedsRevision(revision), self.rng.range(30, 240)))
            }
            Decision::Reject => {
                let patch = json!({
                    "review": review_record(reviewer.id(), "rejected", round, &evidence[evidence.len().min(1)..]),
                });
                let with = With::new()
                    .patch(patch)
                    .payload(json!({ "contributions": [review_contribution] }))
                    .reason("the work does not meet the criteria");
                let rejected = item.reject_with(self.engine, &reviewer, with);
                Ok((A::Rejected(self.moved("reject", rejected)?), 0))
            }
        }
    }

    fn revision(
        &mut self,
        i: usize,
        item: task::Item<task::NeedsRevision>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        let p = self.tasks[i].contributor;
        let person = self.person(p);
        let fields = item.fields();
        let rounds = fields
            .get("revision_rounds")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let max = fields
            .get("max_revision_rounds")
            .and_then(Value::as_u64)
            .unwrap_or(MAX_REVISION_ROUNDS);
        let open = open_findings(fields);
        let drafted: Map<String, Value> = fields
            .get("draft_answers")
            .and_then(Value::as_object)
            .map(|d| {
                d.iter()
                    .filter(|(id, _)| open.contains(id))
                    .map(|(id, a)| (id.clone(), a.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let version = submission_version(fields) + 1;
        let supersedes = fields
            .get("submission")
            .and_then(|s| s.get("packet"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if rounds > max {
            if !self.tasks[i].limit_tried {
                self.tasks[i].limit_tried = true;
                let answers: Map<String, Value> = open
                    .iter()
                    .map(|id| (id.clone(), Value::from(self.rng.pick(ANSWERS))))
                    .collect();
                let packet = self.packet(i, version, answers, supersedes);
                let patch = submission_patch(person.id(), &packet, false);
                let resubmitted =
                    item.resubmit_with(self.engine, &person, With::new().patch(patch));
                let back = self.refused(
                    "resubmit with no revision rounds left",
                    &["revision_rounds_left"],
                    resubmitted,
                )?;
                return Ok((A::NeedsRevision(back), self.rng.range(60, 240)));
            }
            let with = With::new().reason("no revision rounds are left");
            let cancelled = item.cancel_revision_with(self.engine, &self.manager, with);
            return Ok((A::Cancelled(self.moved("cancel_revision", cancelled)?), 0));
        }
        let undrafted: Vec<&String> = open
            .iter()
            .filter(|id| !drafted.contains_key(*id))
            .collect();
        if let Some(&next) = undrafted.first() {
            if !drafted.is_empty() && !self.tasks[i].partial_tried && self.rng.chance(350) {
                // Resubmitting before every finding is answered.
                self.tasks[i].partial_tried = true;
                let packet = self.packet(i, version, drafted, supersedes);
                let patch = submission_patch(person.id(), &packet, false);
                let resubmitted =
                    item.resubmit_with(self.engine, &person, With::new().patch(patch));
                let back = self.refused(
                    "resubmit answering only some findings",
                    &["findings_answered"],
                    resubmitted,
                )?;
                return Ok((A::NeedsRevision(back), self.rng.range(30, 120)));
            }
            // Findings are answered one by one.
            let answer = self.rng.pick(ANSWERS);
            let patch = json!({ "draft_answers": { next.as_str(): answer } });
            let id = item.id();
            let updated = self.engine.update_fields(id, &person, patch);
            let updated = self.wrote("answer a finding", updated)?;
            return Ok((A::from_item(updated)?, self.rng.range(30, 300)));
        }
        let packet = self.packet(i, version, drafted, supersedes);
        let mut patch = submission_patch(person.id(), &packet, false);
        patch["draft_answers"] = Value::Null;
        let with = With::new()
            .patch(patch)
            .reason(format!("version {version}"));
        let resubmitted = item.resubmit_with(self.engine, &person, with);
        let submitted = self.moved("resubmit", resubmitted)?;
        Ok((A::Submitted(submitted), self.rng.range(5, 30)))
    }

    fn new_round(&mut self, i: usize) {
        let t = &mut self.tasks[i];
        t.partial_tried = false;
        t.stale_tried = false;
        t.self_tried = false;
        t.evidence_tried = false;
    }

    fn decide(&mut self, quality: Quality, reviews: u32) -> Decision {
        let (accept, changes) = match (quality, reviews) {
            (Quality::Strong, 0) => (900, 100),
            (Quality::Strong, _) => (970, 30),
            (Quality::Decent, 0) => (450, 530),
            (Quality::Decent, _) => (800, 180),
            (Quality::Weak, 0) => (100, 780),
            (Quality::Weak, _) => (450, 450),
            (Quality::Poor, 0) => (0, 600),
            (Quality::Poor, _) => (150, 600),
        };
        let x = self.rng.below(1000);
        if x < accept {
            Decision::Accept
        } else if x < accept + changes {
            Decision::Changes
        } else {
            Decision::Reject
        }
    }

    /// A submission packet: two or three artifacts, each with its bytes and hash, the
    /// answers to open findings, and the hash of the packet it supersedes.
    fn packet(
        &mut self,
        i: usize,
        version: u64,
        answers: Map<String, Value>,
        supersedes: Option<String>,
    ) -> Value {
        let number = self.tasks[i].number;
        let answer = format!(
            "# Sample {number:05}, answer v{version}\n{}\nDraft {:016x}.\n",
            self.rng.pick(SENTENCES),
            self.rng.next_u64()
        );
        let evidence = canonical_json(&json!({
            "sample": number,
            "version": version,
            "sources": [format!("src-{:04}", self.rng.below(10_000))],
        }));
        let mut artifacts = vec![
            artifact("answer.md", "text/markdown", answer),
            artifact("evidence.json", "application/json", evidence),
        ];
        if self.rng.chance(200) {
            let notes = format!("Notes for version {version}: {}", self.rng.pick(ANSWERS));
            artifacts.push(artifact("notes.txt", "text/plain", notes));
        }
        let mut packet = json!({ "version": version, "artifacts": artifacts, "answers": answers });
        if let Some(previous) = supersedes {
            packet["supersedes"] = Value::from(previous);
        }
        packet
    }

    fn checker_run(&mut self, i: usize, hashes: &BTreeSet<String>, blocking: bool) -> Value {
        const CHECKERS: [(&str, bool); 4] = [
            ("format", true),
            ("completeness", true),
            ("provenance", true),
            ("style", false),
        ];
        self.tasks[i].runs += 1;
        let mut results: Vec<Value> = CHECKERS
            .iter()
            .map(|(name, required)| {
                json!({ "checker": name, "required": required, "passed": true, "severity": "none" })
            })
            .collect();
        if blocking {
            let k = self.rng.below(CHECKERS.len());
            let severity = if CHECKERS[k].1 && self.rng.chance(500) {
                "medium"
            } else {
                "high"
            };
            results[k]["passed"] = Value::Bool(false);
            results[k]["severity"] = Value::from(severity);
        } else if self.rng.chance(150) {
            // A failure that does not block: low severity, or medium on the optional checker.
            let k = self.rng.below(CHECKERS.len());
            let severity = if !CHECKERS[k].1 && self.rng.chance(500) {
                "medium"
            } else {
                "low"
            };
            results[k]["passed"] = Value::Bool(false);
            results[k]["severity"] = Value::from(severity);
        }
        json!({
            "id": format!("run-s{}-{}-{}", self.number, self.tasks[i].number, self.tasks[i].runs),
            "checker": self.checker.id(),
            "hashes": hashes,
            "results": results,
        })
    }

    // -- Payments -------------------------------------------------------------------------

    fn pay(&mut self, i: usize) -> Result<(), SimError> {
        let Some(task::AnyItem::Accepted(accepted)) = &self.tasks[i].item else {
            return Err(SimError::Unexpected(format!(
                "task {i} is paid but not accepted"
            )));
        };
        let task_id = accepted.id();
        let payee = accepted
            .field("contributor")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let amount = accepted
            .field("award")
            .and_then(|a| a.get("amount"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let fields = json!({
            "sprint": self.number,
            "task": task_id.0,
            "payee": payee,
            "amount": amount,
            "currency": CURRENCY,
            "policy_hash": policy_hash().to_string(),
        });
        let new = NewItem::of(payment::NAME)
            .parent(task_id)
            .fields(fields)
            .reason("the award of an accepted task");
        let created = payment::create_with(self.engine, &self.treasurer, new);
        let pending = self.wrote("record a payment", created)?;
        self.payments.push(Payment {
            id: pending.id(),
            pending: Some(pending),
            payee,
            amount,
            conflict_tried: false,
        });
        let delay = self.rng.range(1440, 5760);
        self.schedule(delay, Job::Receipt(self.payments.len() - 1));
        Ok(())
    }

    fn receipt_for(&mut self, j: usize) -> Value {
        let payment = &self.payments[j];
        json!({
            "external_ref": format!("rcpt-{:012x}", self.rng.next_u64() >> 16),
            "payment": payment.id.0,
            "payee": payment.payee,
            "amount": payment.amount,
            "currency": CURRENCY,
        })
    }

    fn receipt(&mut self, j: usize) -> Result<(), SimError> {
        let pending = self.payments[j]
            .pending
            .take()
            .ok_or_else(|| SimError::Unexpected(format!("payment {j} is not pending")))?;
        let mut receipt = self.receipt_for(j);
        if !self.payments[j].conflict_tried && self.rng.chance(60) {
            // The provider's receipt names another amount.
            self.payments[j].conflict_tried = true;
            receipt["amount"] = Value::from(format_cents(AWARD_CENTS / 10));
            let with = With::new().patch(json!({ "receipt": receipt }));
            let fulfilled = pending.fulfil_with(self.engine, &self.treasurer, with);
            let back = self.refused(
                "a receipt that conflicts with the payment",
                &["receipt_matches"],
                fulfilled,
            )?;
            self.payments[j].pending = Some(back);
            let delay = self.rng.range(720, 2880);
            self.schedule(delay, Job::Receipt(j));
            return Ok(());
        }
        let with = With::new()
            .patch(json!({ "receipt": receipt }))
            .reason("receipt from the payment provider");
        let fulfilled = pending.fulfil_with(self.engine, &self.treasurer, with);
        self.moved("fulfil", fulfilled)?;
        if self.rng.chance(30) {
            let delay = self.rng.range(1440, 14_400);
            self.schedule(delay, Job::LateReceipt(j));
        }
        Ok(())
    }

    /// A second receipt for a fulfilled payment. The typed API cannot express it (a
    /// fulfilled payment has no methods), so it comes through the dynamic API, as a
    /// provider's callback would, and the engine refuses it.
    fn late_receipt(&mut self, j: usize) -> Result<(), SimError> {
        let id = self.payments[j].id;
        let receipt = self.receipt_for(j);
        let mv = Move::transition("fulfil").patch(json!({ "receipt": receipt }));
        match self.engine.advance(id, &self.treasurer, mv) {
            Err(e)
                if e.refused()
                    .is_some_and(|r| refused_has(r, &["not_allowed"])) =>
            {
                if let Some(refused) = e.refused() {
                    self.record("a second receipt for a fulfilled payment", refused);
                }
                Ok(())
            }
            Err(e) if e.refused().is_some() => Err(SimError::Unexpected(format!(
                "a second receipt for payment {id}: {e}"
            ))),
            Err(e) => Err(SimError::Engine(e)),
            Ok(_) => Err(SimError::Unexpected(format!(
                "payment {id} took a second receipt"
            ))),
        }
    }
}

fn artifact(name: &str, media_type: &str, content: String) -> Value {
    json!({
        "name": name,
        "media_type": media_type,
        "hash": artifact_hash(content.as_bytes()).to_string(),
        "content": content,
    })
}

fn submission_version(fields: &Value) -> u64 {
    fields
        .get("submission")
        .and_then(|s| s.get("version"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The patch that records a packet: the packet under its version, the submission pointing
/// at its hash, and the contributor's attestation (signed over another hash when
/// `wrong_signature`).
fn submission_patch(contributor: &str, packet: &Value, wrong_signature: bool) -> Value {
    let version = packet.get("version").and_then(Value::as_u64).unwrap_or(0);
    let hash = packet_hash(packet);
    let signed = if wrong_signature {
        Sha256Hash::of(b"an earlier draft of the packet")
    } else {
        hash
    };
    let mut pointer = json!({ "version": version, "packet": hash.to_string() });
    if let Some(previous) = packet.get("supersedes") {
        pointer["supersedes"] = previous.clone();
    }
    let mut packets = Map::new();
    packets.insert(version.to_string(), packet.clone());
    json!({
        "packets": packets,
        "submission": pointer,
        "attestation": {
            "by": contributor,
            "packet": hash.to_string(),
            "signature": signature(contributor, &signed).to_string(),
        },
    })
}

/// What a reviewer cites: the first artifact's hash and the checker run's id.
fn evidence(fields: &Value) -> Vec<String> {
    let mut cited: Vec<String> = submitted_hashes(fields).into_iter().take(1).collect();
    if let Some(run) = fields
        .get("checker_run")
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
    {
        cited.push(run.to_owned());
    }
    cited
}

fn review_record(by: &str, decision: &str, round: u32, evidence: &[String]) -> Value {
    json!({ "by": by, "decision": decision, "round": round, "evidence": evidence })
}
