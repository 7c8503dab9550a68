//! The validated workflow: workstations and transitions interned as indices, so that "is
//! transition T allowed from W, and to where" is a bit test and an array read.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::assertion::{Assertion, Path};
use crate::diagnostic::{Diagnostic, Span};
use crate::hash::{DefinitionHash, Sha256Hash, canonical_json};

mod canonical;
mod migration;

pub use canonical::FORMAT_VERSION;
pub use migration::Migration;
pub(crate) use migration::Spans as MigrationSpans;

/// The index of a workstation in its [`Workflow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkstationId(pub(crate) u16);

impl WorkstationId {
    /// The position of the workstation in file order.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// The index of a transition in its [`Workflow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransitionId(pub(crate) u16);

impl TransitionId {
    /// The position of the transition in file order.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The id of the transition at `index` in file order. An id is meaningful only for the
    /// definition it was taken from; the engine checks it against the item's definition.
    pub const fn from_index(index: u16) -> Self {
        Self(index)
    }
}

/// How work that reached a terminal workstation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The work was done (the default).
    Done,
    /// The work was refused.
    Rejected,
    /// The work was called off.
    Cancelled,
    /// The work could not be done.
    Failed,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: &'static [Outcome] = &[
        Outcome::Done,
        Outcome::Rejected,
        Outcome::Cancelled,
        Outcome::Failed,
    ];

    /// The outcome's name in workflow files.
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Rejected => "rejected",
            Outcome::Cancelled => "cancelled",
            Outcome::Failed => "failed",
        }
    }

    /// Looks an outcome up by its name.
    pub fn from_name(name: &str) -> Option<Outcome> {
        Outcome::ALL.iter().copied().find(|o| o.name() == name)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A capacity limit on a workstation.
#[derive(Clone, Debug, PartialEq)]
pub struct Wip {
    pub(crate) max: u32,
    pub(crate) per: Option<Path>,
    pub(crate) soft: bool,
}

impl Wip {
    /// The most items allowed in the workstation (per value of [`per`](Self::per), if set).
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The field whose values the limit is counted per, if any.
    pub fn per(&self) -> Option<&Path> {
        self.per.as_ref()
    }

    /// Whether exceeding the limit only records a warning instead of refusing the move.
    pub fn soft(&self) -> bool {
        self.soft
    }
}

/// A workstation: a state an item can be in.
#[derive(Clone, Debug, PartialEq)]
pub struct Workstation {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) initial: bool,
    pub(crate) terminal: bool,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) entry: Vec<Assertion>,
    pub(crate) exit: Vec<Assertion>,
    pub(crate) wip: Option<Wip>,
    pub(crate) sla: Option<Duration>,
    pub(crate) span: Span,
}

impl Workstation {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its description, if the file gives one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    /// Whether items are created here.
    pub fn is_initial(&self) -> bool {
        self.initial
    }
    /// Whether work ends here.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }
    /// How work that ends here ended (`None` for a non-terminal workstation).
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }
    /// Assertions that must hold to enter.
    pub fn entry(&self) -> &[Assertion] {
        &self.entry
    }
    /// Assertions that must hold to leave.
    pub fn exit(&self) -> &[Assertion] {
        &self.exit
    }
    /// Its capacity limit, if any.
    pub fn wip(&self) -> Option<&Wip> {
        self.wip.as_ref()
    }
    /// How long an item may stay before it is `overdue`, if set.
    pub fn sla(&self) -> Option<Duration> {
        self.sla
    }
    /// Where it is declared in the file.
    pub fn span(&self) -> Span {
        self.span
    }
}

/// A transition: a named move from one or more workstations to one target.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) from: Vec<WorkstationId>,
    pub(crate) to: WorkstationId,
    pub(crate) by: Option<Vec<String>>,
    pub(crate) requires: Vec<Assertion>,
    pub(crate) rework: bool,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) allow_held: bool,
    pub(crate) span: Span,
}

impl Transition {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its description, if the file gives one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    /// The workstations it may fire from (`"*"` already resolved), in file order.
    pub fn from(&self) -> &[WorkstationId] {
        &self.from
    }
    /// Its target.
    pub fn to(&self) -> WorkstationId {
        self.to
    }
    /// The roles allowed to fire it; `None` means any actor.
    pub fn by(&self) -> Option<&[String]> {
        self.by.as_deref()
    }
    /// Assertions that guard this edge only.
    pub fn requires(&self) -> &[Assertion] {
        &self.requires
    }
    /// Whether the move sends work back.
    pub fn is_rework(&self) -> bool {
        self.rework
    }
    /// The outcome it gives when its target is terminal, overriding the target's.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }
    /// Whether it may fire while the item is held.
    pub fn allows_held(&self) -> bool {
        self.allow_held
    }
    /// Where it is declared in the file.
    pub fn span(&self) -> Span {
        self.span
    }
}

/// Thresholds of the time-derived signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalConfig {
    pub(crate) stalled_idle_for: Duration,
    pub(crate) oldies_age: Duration,
}

impl SignalConfig {
    /// The default for both thresholds: seven days.
    pub const DEFAULT_THRESHOLD: Duration = Duration::from_secs(7 * 86_400);

    /// An item with done and open children and no event for this long is `stalled`.
    pub fn stalled_idle_for(&self) -> Duration {
        self.stalled_idle_for
    }
    /// An item with no done children created longer ago than this is an `oldie`.
    pub fn oldies_age(&self) -> Duration {
        self.oldies_age
    }
}

/// A validated workflow definition.
///
/// The only way to get one is [`parse`](crate::parse), so every `Workflow` satisfies the
/// rules of format v1: names resolve, exactly one workstation is initial, every workstation is
/// reachable and can reach a terminal one, and every assertion fits its path.
#[derive(Clone, Debug)]
pub struct Workflow {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) description: Option<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) checks: Vec<String>,
    pub(crate) holds: Vec<String>,
    pub(crate) workstations: Vec<Workstation>,
    pub(crate) transitions: Vec<Transition>,
    pub(crate) initial: WorkstationId,
    pub(crate) signals: SignalConfig,
    pub(crate) migrations: Vec<Migration>,
    /// One bit per (transition, workstation): set when the transition may fire from it.
    pub(crate) from_bits: Vec<u64>,
    /// Words of `from_bits` per transition.
    pub(crate) words: usize,
    pub(crate) outgoing: Vec<Vec<TransitionId>>,
    pub(crate) workstation_index: HashMap<String, WorkstationId>,
    pub(crate) transition_index: HashMap<String, TransitionId>,
    pub(crate) hash: DefinitionHash,
    pub(crate) canonical: String,
    /// The hash workstream 0.1 computed (over the texts too), which its items carry.
    pub(crate) format1_hash: DefinitionHash,
    /// The file's exact text, and its sha256.
    pub(crate) source: Arc<str>,
    pub(crate) source_hash: Sha256Hash,
    pub(crate) origin: String,
    pub(crate) warnings: Vec<Diagnostic>,
}

impl PartialEq for Workflow {
    /// Two workflows are equal when their definitions are: same definition hash.
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
    }
}

impl Eq for Workflow {}

impl Workflow {
    /// The workflow's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its version.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// Its description, if the file gives one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    /// The declared roles.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }
    /// The declared checks (predicates the engine must have registered).
    pub fn checks(&self) -> &[String] {
        &self.checks
    }
    /// The declared hold kinds.
    pub fn holds(&self) -> &[String] {
        &self.holds
    }
    /// The signal thresholds.
    pub fn signals(&self) -> SignalConfig {
        self.signals
    }
    /// The name the file was read from.
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// Warnings found while validating (the file was accepted despite them).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The definition hash, `sha256:<hex>` over the canonical JSON form: what decides moves.
    /// Items are locked to it. Editing a description, a message, an assertion id, a comment
    /// or the layout keeps it; any change of what a move needs changes it (the keys are listed
    /// in the format reference, "What the definition hash covers").
    pub fn definition_hash(&self) -> &DefinitionHash {
        &self.hash
    }

    /// The canonical JSON form the definition hash is computed over: sorted keys, compact,
    /// UTF-8, defaults written out, `"*"` resolved, texts for people left out.
    pub fn canonical_json(&self) -> &str {
        &self.canonical
    }

    /// The hash workstream 0.1 computed for this definition, over its texts too. Items that
    /// release created carry it; the engine and the typed API take it for this definition.
    pub fn format1_hash(&self) -> &DefinitionHash {
        &self.format1_hash
    }

    /// Whether `hash` names this definition: its definition hash, or the hash 0.1 gave it.
    pub fn is_definition(&self, hash: &DefinitionHash) -> bool {
        *hash == self.hash || *hash == self.format1_hash
    }

    /// The exact text the workflow was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The sha256 of [`source`](Self::source): it names the exact text, where the
    /// definition hash names only what decides moves. Every event records the one its engine
    /// had loaded.
    pub fn source_hash(&self) -> &Sha256Hash {
        &self.source_hash
    }

    /// The workstations, in file order (`WorkstationId` indexes this slice).
    pub fn workstations(&self) -> &[Workstation] {
        &self.workstations
    }

    /// The transitions, in file order (`TransitionId` indexes this slice).
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// The initial workstation.
    pub fn initial(&self) -> WorkstationId {
        self.initial
    }

    /// A workstation by id.
    ///
    /// # Panics
    /// If `id` belongs to another workflow with more workstations.
    pub fn workstation(&self, id: WorkstationId) -> &Workstation {
        &self.workstations[id.index()]
    }

    /// A transition by id.
    ///
    /// # Panics
    /// If `id` belongs to another workflow with more transitions.
    pub fn transition(&self, id: TransitionId) -> &Transition {
        &self.transitions[id.index()]
    }

    /// Looks a workstation up by name.
    pub fn workstation_id(&self, name: &str) -> Option<WorkstationId> {
        self.workstation_index.get(name).copied()
    }

    /// Looks a transition up by name.
    pub fn transition_id(&self, name: &str) -> Option<TransitionId> {
        self.transition_index.get(name).copied()
    }

    /// Where `transition` leads from `from`, or `None` if it may not fire there.
    ///
    /// This is the hot path of every move: a bounds check, one bit test and one array read,
    /// with no hashing.
    #[inline]
    pub fn target(&self, from: WorkstationId, transition: TransitionId) -> Option<WorkstationId> {
        let (w, t) = (from.index(), transition.index());
        if w >= self.workstations.len() {
            return None;
        }
        let word = *self.from_bits.get(t * self.words + w / 64)?;
        if word >> (w % 64) & 1 == 1 {
            Some(self.transitions[t].to)
        } else {
            None
        }
    }

    /// The transitions that may fire from `from`, in file order.
    pub fn outgoing(&self, from: WorkstationId) -> &[TransitionId] {
        self.outgoing.get(from.index()).map_or(&[], Vec::as_slice)
    }

    /// The transitions that lead from `from` to `to`, in file order.
    pub fn transitions_between(
        &self,
        from: WorkstationId,
        to: WorkstationId,
    ) -> impl Iterator<Item = TransitionId> + '_ {
        self.outgoing(from)
            .iter()
            .copied()
            .filter(move |&t| self.transitions[t.index()].to == to)
    }
}

/// What the validator hands [`Workflow::from_parts`]: every part checked, nothing built.
pub(crate) struct Parts {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) description: Option<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) checks: Vec<String>,
    pub(crate) holds: Vec<String>,
    pub(crate) workstations: Vec<Workstation>,
    pub(crate) transitions: Vec<Transition>,
    pub(crate) initial: WorkstationId,
    pub(crate) signals: SignalConfig,
    pub(crate) migrations: Vec<Migration>,
    pub(crate) workstation_index: HashMap<String, WorkstationId>,
    pub(crate) transition_index: HashMap<String, TransitionId>,
}

impl Workflow {
    /// The workflow with the warnings its file gave.
    pub(crate) fn with_warnings(mut self, warnings: Vec<Diagnostic>) -> Workflow {
        self.warnings = warnings;
        self
    }

    /// Builds the lookup tables and the definition hash of the parts the validator checked;
    /// nothing else makes a `Workflow`.
    pub(crate) fn from_parts(p: Parts, origin: &str) -> Workflow {
        let n = p.workstations.len();
        let words = n.div_ceil(64).max(1);
        let mut from_bits = vec![0u64; words * p.transitions.len()];
        let mut outgoing: Vec<Vec<TransitionId>> = vec![Vec::new(); n];
        for (t, tr) in p.transitions.iter().enumerate() {
            for &f in &tr.from {
                from_bits[t * words + f.index() / 64] |= 1 << (f.index() % 64);
                outgoing[f.index()].push(TransitionId(t as u16));
            }
        }
        let mut wf = Workflow {
            name: p.name,
            version: p.version,
            description: p.description,
            roles: p.roles,
            checks: p.checks,
            holds: p.holds,
            workstations: p.workstations,
            transitions: p.transitions,
            initial: p.initial,
            signals: p.signals,
            migrations: p.migrations,
            from_bits,
            words,
            outgoing,
            workstation_index: p.workstation_index,
            transition_index: p.transition_index,
            hash: Sha256Hash::from_bytes([0; 32]),
            canonical: String::new(),
            format1_hash: Sha256Hash::from_bytes([0; 32]),
            source: Arc::from(""),
            source_hash: Sha256Hash::of(b""),
            origin: origin.to_owned(),
            warnings: Vec::new(),
        };
        wf.canonical = canonical_json(&canonical::definition_json(&wf));
        wf.hash = Sha256Hash::of(wf.canonical.as_bytes());
        wf.format1_hash = Sha256Hash::of(canonical_json(&canonical::format1_json(&wf)).as_bytes());
        wf
    }

    /// The workflow with the text it was parsed from.
    pub(crate) fn with_source(mut self, text: &str) -> Workflow {
        self.source = Arc::from(text);
        self.source_hash = Sha256Hash::of(text.as_bytes());
        self
    }
}
