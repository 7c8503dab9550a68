//! Engine benchmarks, each measured against a baseline in the same run.
//!
//! 1. `advance` on the memory store (a transition with two built-in assertions, ledger hash)
//!    against a hand-written transition doing the same work: a `match`, the same two guards
//!    on a `serde_json::Value`, an event serialized with serde_json, a sha256 chain, a `Vec`
//!    push and a state update. Target: engine ≤ 1.5× the baseline.
//! 2. Definition lookup, "may transition T fire from W, and to where", on the 12-workstation
//!    `evaluation_task` workflow: `Workflow::target` against rust-fsm 0.8 `consume` on the
//!    same machine, statig 0.4 `handle` (blocking, no macro) on the same machine, and a
//!    hand-written `match` for reference. Target: ≤ 3× rust-fsm (and statig). Two
//!    mixes of questions: every (workstation, transition) pair once (mostly "no"), and a walk
//!    round the review loop (always "yes", each move starting where the last ended).
//!
//! Every routine is timed with `iter_custom`, and the samples criterion takes are kept, so
//! after criterion's own report the bench prints the ratio of the medians (per operation) of
//! each pair: `ratio engine/baseline = X.XX (target ≤ 1.5)`. Absolute times on a shared
//! machine are noise; the ratios, measured in one run, are the result.
//!
//! 3. The same moves through the typed API `workflow!` generates, against the dynamic
//!    `advance` by name. Target: typed ≤ 1.05× dynamic.
//!
//! Run: `cargo bench --bench engine`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use serde_json::{Value, json};
use workstream::prelude::*;

// ---------------------------------------------------------------------------------------------
// Sample bookkeeping: every timed call is recorded, the last `sample_size` of a benchmark are
// the samples criterion measured (the calls before them are its warm-up).

/// Samples per benchmark in the `advance` group.
const ADVANCE_SAMPLES: usize = 30;
/// Samples per benchmark in the `lookup_*` groups.
const LOOKUP_SAMPLES: usize = 50;
/// Rounds of the review loop in one iteration of the walk (5 moves each).
const WALK_ROUNDS: usize = 40;

thread_local! {
    /// Benchmark id → (operations, elapsed) of each timed call, in order.
    static RECORDED: RefCell<HashMap<String, Vec<(u64, Duration)>>> =
        RefCell::new(HashMap::new());
}

fn record(id: &str, ops: u64, elapsed: Duration) -> Duration {
    RECORDED.with(|r| {
        r.borrow_mut()
            .entry(id.to_owned())
            .or_default()
            .push((ops, elapsed))
    });
    elapsed
}

/// The median time per operation over the last `samples` calls, in nanoseconds; `None` when
/// criterion did not take that many (a filtered run, or `cargo test` mode).
fn median_ns(id: &str, samples: usize) -> Option<f64> {
    RECORDED.with(|r| {
        let r = r.borrow();
        let calls = r.get(id)?;
        if calls.len() < samples || samples == 0 {
            return None;
        }
        let mut per_op: Vec<f64> = calls[calls.len() - samples..]
            .iter()
            .map(|&(ops, d)| d.as_secs_f64() * 1e9 / ops as f64)
            .collect();
        per_op.sort_by(f64::total_cmp);
        let mid = per_op.len() / 2;
        Some(if per_op.len().is_multiple_of(2) {
            (per_op[mid - 1] + per_op[mid]) / 2.0
        } else {
            per_op[mid]
        })
    })
}

/// Registers a benchmark whose routine times `iters` repetitions itself.
fn bench(
    group: &mut BenchmarkGroup<'_, WallTime>,
    group_name: &str,
    name: &str,
    ops_per_iter: u64,
    mut routine: impl FnMut(u64) -> Duration,
) {
    let id = format!("{group_name}/{name}");
    group.bench_function(name, |b| {
        b.iter_custom(|iters| record(&id, iters * ops_per_iter, routine(iters)))
    });
}

// ---------------------------------------------------------------------------------------------
// 1. `advance` on the memory store against a hand-written transition.

/// A workflow whose items cycle (`ping`, `pong`), so one item can be moved millions of times;
/// both require the same two comparisons on small fields. `done` only makes it valid (a
/// workflow must be able to end).
const PING_PONG: &str = include_str!("ping_pong.yaml");

// The same file through `workflow!`: the typed side of the typed/dynamic comparison.
workstream::workflow!(mod typed = "benches/ping_pong.yaml");

/// The memory store keeps every event, so both sides start afresh (outside the timed
/// section) after this many moves; memory stays bounded and equal on both sides.
const CHUNK: u64 = 10_000;

fn fixed_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
}

fn fields() -> Value {
    json!({ "n": 3, "s": "ok" })
}

/// An engine on a fresh memory store, with a fixed clock, and the item to move.
fn ping_pong_engine(workflow: &Workflow, actor: &Actor) -> (Engine<MemoryStore>, ItemId) {
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(workflow.clone())
        .clock(ManualClock::new(fixed_instant()))
        .build()
        .expect("the engine builds");
    let item = engine
        .create(actor, NewItem::of("ping_pong").fields(fields()))
        .expect("the item is created");
    (engine, item.id())
}

/// Runs `iters` moves through the engine, alternating ping and pong; `mv(k)` makes the
/// `k`-th move of a fresh item.
fn time_engine(
    workflow: &Workflow,
    actor: &Actor,
    iters: u64,
    mv: impl Fn(u64) -> Move<'static>,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = CHUNK.min(iters - done);
        let (engine, id) = ping_pong_engine(workflow, actor);
        let start = Instant::now();
        for k in 0..n {
            let item = engine.advance(black_box(id), actor, black_box(mv(k)));
            black_box(item.expect("the move is allowed"));
        }
        total += start.elapsed();
        done += n;
        drop(black_box(engine));
    }
    total
}

/// The hand-written side: the same machine as an enum and a `match`.
mod baseline {
    use chrono::{DateTime, Utc};
    use serde::Serialize;
    use serde_json::Value;
    use sha2::{Digest, Sha256};
    use workstream::prelude::Clock;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum State {
        A,
        B,
    }

    impl State {
        fn name(self) -> &'static str {
            match self {
                State::A => "a",
                State::B => "b",
            }
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Transition {
        Ping,
        Pong,
    }

    impl Transition {
        fn name(self) -> &'static str {
            match self {
                Transition::Ping => "ping",
                Transition::Pong => "pong",
            }
        }
    }

    /// The event, as a hand-written ledger would keep it.
    #[derive(Serialize)]
    pub(super) struct Event {
        item: u64,
        seq: u64,
        at: DateTime<Utc>,
        actor: String,
        change: Change,
        reason: Option<String>,
        payload: Value,
        definition: &'static str,
        #[serde(skip)]
        prev: [u8; 32],
        #[serde(skip)]
        hash: [u8; 32],
    }

    #[derive(Serialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Change {
        Transitioned {
            transition: &'static str,
            from: &'static str,
            to: &'static str,
            outcome: Option<&'static str>,
            patch: Option<Value>,
            warnings: Vec<String>,
        },
    }

    /// An item and its ledger.
    pub(super) struct Item {
        id: u64,
        state: State,
        seq: u64,
        head: [u8; 32],
        fields: Value,
        events: Vec<Event>,
    }

    /// A definition hash, as a hand-written program would carry it.
    const DEFINITION: &str = "5f1c0e0d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d";

    impl Item {
        pub(super) fn new(fields: Value) -> Self {
            Self {
                id: 1,
                state: State::A,
                seq: 1,
                head: [0; 32],
                fields,
                events: Vec::new(),
            }
        }

        /// Moves the item along `t` if the machine and the two guards allow it.
        pub(super) fn advance(
            &mut self,
            clock: &dyn Clock,
            actor: &str,
            t: Transition,
        ) -> Result<State, &'static str> {
            let now = clock.now();
            let to = match (self.state, t) {
                (State::A, Transition::Ping) => State::B,
                (State::B, Transition::Pong) => State::A,
                _ => return Err("not allowed from here"),
            };
            let n_ok = self
                .fields
                .get("n")
                .and_then(Value::as_f64)
                .is_some_and(|n| n >= 1.0);
            let s_ok = self.fields.get("s").and_then(Value::as_str) == Some("ok");
            if !(n_ok && s_ok) {
                return Err("a guard fails");
            }
            let mut event = Event {
                item: self.id,
                seq: self.seq + 1,
                at: now,
                actor: actor.to_owned(),
                change: Change::Transitioned {
                    transition: t.name(),
                    from: self.state.name(),
                    to: to.name(),
                    outcome: None,
                    patch: None,
                    warnings: Vec::new(),
                },
                reason: None,
                payload: Value::Null,
                definition: DEFINITION,
                prev: self.head,
                hash: [0; 32],
            };
            let json = serde_json::to_vec(&event).map_err(|_| "the event does not serialize")?;
            let mut hasher = Sha256::new();
            hasher.update(event.prev);
            hasher.update(&json);
            event.hash = hasher.finalize().into();
            self.head = event.hash;
            self.seq = event.seq;
            self.state = to;
            self.events.push(event);
            Ok(to)
        }
    }
}

/// Runs `iters` moves through the typed API: `ping` on an `Item<A>`, `pong` on an `Item<B>`.
fn time_typed(workflow: &Workflow, actor: &Actor, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        // An even number of moves per round, so every round ends where it started.
        let n = (CHUNK.min(iters - done) + 1) & !1;
        let engine = Engine::builder()
            .store(MemoryStore::new())
            .workflow(workflow.clone())
            .clock(ManualClock::new(fixed_instant()))
            .build()
            .expect("the engine builds");
        let mut item = typed::create(&engine, actor, fields()).expect("the item is created");
        let start = Instant::now();
        for _ in 0..n / 2 {
            let b = item
                .ping(&engine, black_box(actor))
                .expect("the move is allowed");
            item = b
                .pong(&engine, black_box(actor))
                .expect("the move is allowed");
        }
        total += start.elapsed();
        done += n;
        drop(black_box((item, engine)));
    }
    // `n` may round an odd count up by one move; time per move stays exact enough, but say
    // the moves made rather than the moves asked for.
    total.mul_f64(iters as f64 / done as f64)
}

fn time_baseline(clock: &ManualClock, actor: &str, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = CHUNK.min(iters - done);
        let mut item = baseline::Item::new(fields());
        let start = Instant::now();
        for k in 0..n {
            let t = if k.is_multiple_of(2) {
                baseline::Transition::Ping
            } else {
                baseline::Transition::Pong
            };
            let to = item.advance(clock, black_box(actor), black_box(t));
            black_box(to.expect("the move is allowed"));
        }
        total += start.elapsed();
        done += n;
        drop(black_box(item));
    }
    total
}

fn advance_benches(c: &mut Criterion) {
    let workflow = parse("ping_pong.yaml", PING_PONG).unwrap_or_else(|d| panic!("{d}"));
    let actor = Actor::new("bench", []);
    let ping = workflow.transition_id("ping").expect("ping exists");
    let pong = workflow.transition_id("pong").expect("pong exists");
    let clock = ManualClock::new(fixed_instant());

    // Both sides make the same moves and accept them; a refusal would abort the bench.
    let mut item = baseline::Item::new(fields());
    assert_eq!(
        item.advance(&clock, "bench", baseline::Transition::Ping),
        Ok(baseline::State::B)
    );
    assert!(
        item.advance(&clock, "bench", baseline::Transition::Ping)
            .is_err()
    );
    let (engine, id) = ping_pong_engine(&workflow, &actor);
    let moved = engine
        .advance(id, &actor, Move::transition("ping"))
        .unwrap();
    assert_eq!(moved.workstation(), "b");
    assert!(
        engine
            .advance(id, &actor, Move::transition("ping"))
            .is_err()
    );

    let name = "advance";
    let mut group = c.benchmark_group(name);
    group
        .sample_size(ADVANCE_SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    bench(&mut group, name, "baseline_hand_written", 1, |iters| {
        time_baseline(&clock, "bench", iters)
    });
    bench(&mut group, name, "engine_by_name", 1, |iters| {
        time_engine(&workflow, &actor, iters, |k| {
            Move::transition(if k.is_multiple_of(2) { "ping" } else { "pong" })
        })
    });
    bench(&mut group, name, "engine_by_id", 1, |iters| {
        time_engine(&workflow, &actor, iters, |k| {
            Move::transition_id(if k.is_multiple_of(2) { ping } else { pong })
        })
    });
    let compiled = typed::workflow().expect("the compiled workflow loads");
    assert_eq!(compiled.definition_hash(), workflow.definition_hash());
    bench(&mut group, name, "typed", 1, |iters| {
        time_typed(&compiled, &actor, iters)
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// 2. Definition lookup against rust-fsm.

/// The evaluation task workflow of the examples: 12 workstations, 16 transitions.
const EVALUATION_TASK: &str = include_str!("../examples/workflows/evaluation_task.yaml");

/// The same machine in rust-fsm's DSL (workstations are states, transitions are inputs).
mod fsm {
    rust_fsm::state_machine! {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) evaluation_task(Draft)

        Draft => {
            Screen => Screening,
            Cancel => Cancelled,
        },
        Screening => {
            Publish => Ready,
            ReturnToDraft => Draft,
            Cancel => Cancelled,
        },
        Ready => {
            Claim => Claimed,
            Cancel => Cancelled,
        },
        Claimed => {
            Start => InProgress,
            Cancel => Cancelled,
        },
        InProgress => {
            Submit => Submitted,
            Cancel => Cancelled,
        },
        Submitted(Evaluate) => EvaluationPending,
        EvaluationPending => {
            RouteToReview => ReviewPending,
            FailChecks => NeedsRevision,
        },
        ReviewPending => {
            Reevaluate => EvaluationPending,
            Accept => Accepted,
            RequestChanges => NeedsRevision,
            Reject => Rejected,
        },
        NeedsRevision => {
            Resubmit => Submitted,
            CancelRevision => Cancelled,
        },
    }
}

use fsm::evaluation_task::{Input as FsmInput, State as FsmState, StateMachine as Fsm};

/// rust-fsm's states by workstation name.
const FSM_STATES: [(&str, FsmState); 12] = [
    ("draft", FsmState::Draft),
    ("screening", FsmState::Screening),
    ("ready", FsmState::Ready),
    ("claimed", FsmState::Claimed),
    ("in_progress", FsmState::InProgress),
    ("submitted", FsmState::Submitted),
    ("evaluation_pending", FsmState::EvaluationPending),
    ("review_pending", FsmState::ReviewPending),
    ("needs_revision", FsmState::NeedsRevision),
    ("accepted", FsmState::Accepted),
    ("rejected", FsmState::Rejected),
    ("cancelled", FsmState::Cancelled),
];

/// rust-fsm's inputs by transition name.
const FSM_INPUTS: [(&str, FsmInput); 16] = [
    ("screen", FsmInput::Screen),
    ("publish", FsmInput::Publish),
    ("return_to_draft", FsmInput::ReturnToDraft),
    ("claim", FsmInput::Claim),
    ("start", FsmInput::Start),
    ("submit", FsmInput::Submit),
    ("resubmit", FsmInput::Resubmit),
    ("evaluate", FsmInput::Evaluate),
    ("route_to_review", FsmInput::RouteToReview),
    ("fail_checks", FsmInput::FailChecks),
    ("reevaluate", FsmInput::Reevaluate),
    ("accept", FsmInput::Accept),
    ("request_changes", FsmInput::RequestChanges),
    ("reject", FsmInput::Reject),
    ("cancel", FsmInput::Cancel),
    ("cancel_revision", FsmInput::CancelRevision),
];

fn fsm_state(name: &str) -> FsmState {
    FSM_STATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, s)| s)
        .unwrap_or_else(|| panic!("no rust-fsm state for `{name}`"))
}

fn fsm_input(name: &str) -> FsmInput {
    FSM_INPUTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, i)| i)
        .unwrap_or_else(|| panic!("no rust-fsm input for `{name}`"))
}

fn fsm_name(state: FsmState) -> &'static str {
    FSM_STATES
        .iter()
        .find(|&&(_, s)| s == state)
        .map(|&(n, _)| n)
        .expect("every state has a name")
}

/// rust-fsm: a machine in `from` consumes `t`; where it ends up, if it may.
#[inline(never)]
fn fsm_lookup(from: FsmState, t: FsmInput) -> Option<FsmState> {
    let mut machine = Fsm::from_state(from);
    machine.consume(&t).ok().map(|_| *machine.state())
}

/// The same machine in statig (blocking, without its macro): one state enum (rust-fsm's,
/// reused), a handler per event. statig's handlers are code the user writes; here each is the
/// reference `match`, and a refused event is left to the (empty) superstate, as statig
/// leaves an event no state handles. What statig adds is its own dispatch: the outcome,
/// entry and exit actions, and superstate depth on each transition.
#[derive(Default)]
struct StatigTask {
    /// Set by the handler when the event moved the machine.
    moved: bool,
}

impl statig::blocking::IntoStateMachine for StatigTask {
    type Event<'evt> = FsmInput;
    type Context<'ctx> = ();
    type State = FsmState;
    type Superstate<'sub> = ();

    fn initial() -> FsmState {
        FsmState::Draft
    }
}

impl statig::blocking::State<StatigTask> for FsmState {
    fn call_handler(
        &mut self,
        shared: &mut StatigTask,
        event: &FsmInput,
        _: &mut (),
    ) -> statig::Outcome<Self> {
        match match_step(*self, *event) {
            Some(to) => {
                shared.moved = true;
                statig::Outcome::Transition(to)
            }
            None => statig::Outcome::Super,
        }
    }
}

/// statig: a machine set to `from` handles `t`; where it ends up, if it moved.
#[inline(never)]
fn statig_lookup(from: FsmState, t: FsmInput) -> Option<FsmState> {
    use statig::blocking::IntoStateMachineExt;
    let mut machine = StatigTask::default().uninitialized_state_machine();
    *machine.state_mut() = from;
    let mut machine = machine.init();
    machine.handle(&t);
    machine.moved.then(|| *machine.state())
}

/// The engine's interned lookup.
#[inline(never)]
fn engine_lookup(
    workflow: &Workflow,
    from: WorkstationId,
    t: TransitionId,
) -> Option<WorkstationId> {
    workflow.target(from, t)
}

/// The hand-written reference, called as rust-fsm and the engine are in the all-pairs
/// benchmark (not inlined).
#[inline(never)]
fn match_lookup(from: FsmState, t: FsmInput) -> Option<FsmState> {
    match_step(from, t)
}

/// The hand-written reference: one `match` on (state, transition).
fn match_step(from: FsmState, t: FsmInput) -> Option<FsmState> {
    use FsmInput as I;
    use FsmState as S;
    Some(match (from, t) {
        (S::Draft, I::Screen) => S::Screening,
        (S::Screening, I::Publish) => S::Ready,
        (S::Screening, I::ReturnToDraft) => S::Draft,
        (S::Ready, I::Claim) => S::Claimed,
        (S::Claimed, I::Start) => S::InProgress,
        (S::InProgress, I::Submit) => S::Submitted,
        (S::NeedsRevision, I::Resubmit) => S::Submitted,
        (S::Submitted, I::Evaluate) => S::EvaluationPending,
        (S::EvaluationPending, I::RouteToReview) => S::ReviewPending,
        (S::EvaluationPending, I::FailChecks) => S::NeedsRevision,
        (S::ReviewPending, I::Reevaluate) => S::EvaluationPending,
        (S::ReviewPending, I::Accept) => S::Accepted,
        (S::ReviewPending, I::RequestChanges) => S::NeedsRevision,
        (S::ReviewPending, I::Reject) => S::Rejected,
        (S::Draft | S::Screening | S::Ready | S::Claimed | S::InProgress, I::Cancel) => {
            S::Cancelled
        }
        (S::NeedsRevision, I::CancelRevision) => S::Cancelled,
        _ => return None,
    })
}

fn lookup_benches(c: &mut Criterion) {
    let workflow = parse("evaluation_task.yaml", EVALUATION_TASK).unwrap_or_else(|d| panic!("{d}"));
    // Every (workstation, transition) pair once, in file order: 192 questions, 20 of them
    // answered "yes, to …". Each side gets the same questions in its own types.
    let mut engine_q = Vec::new();
    let mut fsm_q = Vec::new();
    for w in workflow.workstations() {
        for t in workflow.transitions() {
            engine_q.push((
                workflow.workstation_id(w.name()).expect("interned"),
                workflow.transition_id(t.name()).expect("interned"),
            ));
            fsm_q.push((fsm_state(w.name()), fsm_input(t.name())));
        }
    }
    assert_eq!(engine_q.len(), 12 * 16);
    // The three answer every question alike: the machines are equivalent.
    let mut allowed = 0;
    for (&(w, t), &(s, i)) in engine_q.iter().zip(&fsm_q) {
        let engine = engine_lookup(&workflow, w, t).map(|to| workflow.workstation(to).name());
        let fsm = fsm_lookup(s, i).map(fsm_name);
        let hand = match_lookup(s, i).map(fsm_name);
        let statig = statig_lookup(s, i).map(fsm_name);
        assert_eq!(engine, fsm, "{s:?} + {i:?}");
        assert_eq!(engine, statig, "{s:?} + {i:?}");
        assert_eq!(engine, hand, "{s:?} + {i:?}");
        allowed += usize::from(engine.is_some());
    }
    assert_eq!(allowed, 20);

    let ops = engine_q.len() as u64;
    let name = "lookup_all_pairs";
    let mut group = c.benchmark_group(name);
    group
        .sample_size(LOOKUP_SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    bench(&mut group, name, "rust_fsm_consume", ops, |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            for &(s, i) in black_box(&fsm_q) {
                black_box(fsm_lookup(black_box(s), black_box(i)));
            }
        }
        start.elapsed()
    });
    bench(&mut group, name, "statig_handle", ops, |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            for &(s, i) in black_box(&fsm_q) {
                black_box(statig_lookup(black_box(s), black_box(i)));
            }
        }
        start.elapsed()
    });
    bench(&mut group, name, "engine_target", ops, |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            for &(w, t) in black_box(&engine_q) {
                black_box(engine_lookup(
                    black_box(&workflow),
                    black_box(w),
                    black_box(t),
                ));
            }
        }
        start.elapsed()
    });
    bench(&mut group, name, "hand_written_match", ops, |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            for &(s, i) in black_box(&fsm_q) {
                black_box(match_lookup(black_box(s), black_box(i)));
            }
        }
        start.elapsed()
    });
    group.finish();

    // A walk: a machine that keeps its state and moves round the review loop (evaluate,
    // route_to_review, reevaluate, fail_checks, resubmit: back to `submitted`), as a running
    // machine is used. Every answer is "yes", and each question starts where the last ended.
    let cycle = [
        "evaluate",
        "route_to_review",
        "reevaluate",
        "fail_checks",
        "resubmit",
    ];
    let engine_walk: Vec<TransitionId> = (0..WALK_ROUNDS)
        .flat_map(|_| {
            cycle
                .iter()
                .map(|t| workflow.transition_id(t).expect("interned"))
        })
        .collect();
    let fsm_walk: Vec<FsmInput> = (0..WALK_ROUNDS)
        .flat_map(|_| cycle.iter().map(|t| fsm_input(t)))
        .collect();
    let submitted = workflow.workstation_id("submitted").expect("interned");
    let ops = engine_walk.len() as u64;
    let name = "lookup_walk";
    let mut group = c.benchmark_group(name);
    group
        .sample_size(LOOKUP_SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    bench(&mut group, name, "rust_fsm_consume", ops, |iters| {
        let mut machine = Fsm::from_state(FsmState::Submitted);
        let start = Instant::now();
        for _ in 0..iters {
            for input in black_box(&fsm_walk) {
                black_box(machine.consume(input).expect("the move is allowed"));
                black_box(machine.state());
            }
        }
        let elapsed = start.elapsed();
        assert_eq!(*machine.state(), FsmState::Submitted);
        elapsed
    });
    bench(&mut group, name, "statig_handle", ops, |iters| {
        use statig::blocking::IntoStateMachineExt;
        let mut machine = StatigTask::default().uninitialized_state_machine();
        *machine.state_mut() = FsmState::Submitted;
        let mut machine = machine.init();
        let start = Instant::now();
        for _ in 0..iters {
            for input in black_box(&fsm_walk) {
                machine.handle(input);
                black_box(machine.state());
            }
        }
        let elapsed = start.elapsed();
        assert_eq!(*machine.state(), FsmState::Submitted);
        elapsed
    });
    bench(&mut group, name, "engine_target", ops, |iters| {
        let mut at = submitted;
        let start = Instant::now();
        for _ in 0..iters {
            for &t in black_box(&engine_walk) {
                at = workflow.target(at, t).expect("the move is allowed");
                black_box(&at);
            }
        }
        let elapsed = start.elapsed();
        assert_eq!(at, submitted);
        elapsed
    });
    bench(&mut group, name, "hand_written_match", ops, |iters| {
        let mut at = FsmState::Submitted;
        let start = Instant::now();
        for _ in 0..iters {
            for &input in black_box(&fsm_walk) {
                at = match_step(at, input).expect("the move is allowed");
                black_box(&at);
            }
        }
        let elapsed = start.elapsed();
        assert_eq!(at, FsmState::Submitted);
        elapsed
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// The summary.

/// Samples of an interleaved pair.
const PAIR_SAMPLES: usize = 41;
/// Moves per sample of an interleaved pair.
const PAIR_MOVES: u64 = 10_000;

/// Times `a` and `b` alternately, `PAIR_SAMPLES` times each, and prints the median of the
/// per-sample ratios a/b. Load that comes and goes on a shared machine falls on both sides
/// of a pair alike, which it does not when all of one side's samples run before the other's.
fn print_interleaved(
    label: &str,
    target: f64,
    mut a: impl FnMut(u64) -> Duration,
    mut b: impl FnMut(u64) -> Duration,
) {
    // One warm-up round each.
    a(PAIR_MOVES);
    b(PAIR_MOVES);
    let mut ratios = Vec::with_capacity(PAIR_SAMPLES);
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for i in 0..PAIR_SAMPLES {
        // Alternate which side goes first.
        let (x, y) = if i % 2 == 0 {
            let x = a(PAIR_MOVES);
            (x, b(PAIR_MOVES))
        } else {
            let y = b(PAIR_MOVES);
            (a(PAIR_MOVES), y)
        };
        ratios.push(x.as_secs_f64() / y.as_secs_f64());
        ta.push(x.as_secs_f64() * 1e9 / PAIR_MOVES as f64);
        tb.push(y.as_secs_f64() * 1e9 / PAIR_MOVES as f64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ratio = median(&mut ratios);
    let verdict = if ratio <= target { "met" } else { "MISSED" };
    println!("ratio {label} = {ratio:.2} (target ≤ {target}) {verdict}");
    println!(
        "    interleaved, {PAIR_SAMPLES} samples of {PAIR_MOVES} moves: medians {:.1} ns/op and {:.1} ns/op",
        median(&mut ta),
        median(&mut tb)
    );
}

/// Whether criterion measured every one of these benchmarks in this run (not filtered out,
/// not in test mode).
fn criterion_ran(ids: &[&str]) -> bool {
    ids.iter()
        .all(|id| median_ns(id, ADVANCE_SAMPLES).is_some())
}

/// Prints one ratio line (and the medians it is made of), or why it cannot.
fn print_ratio(label: &str, num: &str, den: &str, samples: usize, target: Option<f64>) {
    match (median_ns(num, samples), median_ns(den, samples)) {
        (Some(n), Some(d)) => {
            let ratio = n / d;
            let verdict = match target {
                Some(t) if ratio <= t => format!(" (target ≤ {t}) met"),
                Some(t) => format!(" (target ≤ {t}) MISSED"),
                None => " (reference)".to_owned(),
            };
            println!("ratio {label} = {ratio:.2}{verdict}");
            println!("    {num}: {n:.1} ns/op, {den}: {d:.1} ns/op (medians of {samples} samples)");
        }
        _ => println!(
            "ratio {label}: not measured in this run ({num} or {den} took fewer than \
             {samples} samples: filtered out, test mode or --profile-time)"
        ),
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    advance_benches(&mut criterion);
    lookup_benches(&mut criterion);
    criterion.final_summary();

    println!();
    println!("== ratios (same run)");
    if criterion_ran(&["advance/engine_by_name", "advance/baseline_hand_written"]) {
        let workflow = parse("ping_pong.yaml", PING_PONG).unwrap_or_else(|d| panic!("{d}"));
        let compiled = typed::workflow().expect("the compiled workflow loads");
        let actor = Actor::new("bench", []);
        let clock = ManualClock::new(fixed_instant());
        let by_name = |k: u64| Move::transition(if k.is_multiple_of(2) { "ping" } else { "pong" });
        print_interleaved(
            "engine/baseline",
            1.5,
            |n| time_engine(&workflow, &actor, n, by_name),
            |n| time_baseline(&clock, "bench", n),
        );
        print_interleaved(
            "typed/dynamic",
            1.05,
            |n| time_typed(&compiled, &actor, n),
            |n| time_engine(&workflow, &actor, n, by_name),
        );
    }
    print_ratio(
        "engine/baseline (criterion, one side after the other)",
        "advance/engine_by_name",
        "advance/baseline_hand_written",
        ADVANCE_SAMPLES,
        None,
    );
    print_ratio(
        "engine_by_id/baseline (criterion, one side after the other)",
        "advance/engine_by_id",
        "advance/baseline_hand_written",
        ADVANCE_SAMPLES,
        None,
    );
    for group in ["lookup_all_pairs", "lookup_walk"] {
        print_ratio(
            &format!("engine/rust-fsm ({group})"),
            &format!("{group}/engine_target"),
            &format!("{group}/rust_fsm_consume"),
            LOOKUP_SAMPLES,
            Some(3.0),
        );
        print_ratio(
            &format!("engine/statig ({group})"),
            &format!("{group}/engine_target"),
            &format!("{group}/statig_handle"),
            LOOKUP_SAMPLES,
            Some(3.0),
        );
        print_ratio(
            &format!("match/rust-fsm ({group})"),
            &format!("{group}/hand_written_match"),
            &format!("{group}/rust_fsm_consume"),
            LOOKUP_SAMPLES,
            None,
        );
    }
}
