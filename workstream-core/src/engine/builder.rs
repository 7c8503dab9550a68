//! Building an engine: a store, workflows, checks and a clock.

use std::collections::HashMap;
use std::sync::Arc;

use super::{BuildError, Engine, MissingCheck};
use crate::check::{CheckContext, Checks, Verdict};
use crate::clock::{Clock, SystemClock};
use crate::store::Store;
use crate::workflow::Workflow;

/// Builds an [`Engine`]: a store (required), workflows (`.workflow(w)`, repeatable), checks
/// (`.check(name, f)`, repeatable) and a clock (the system clock unless given).
/// [`build`](EngineBuilder::build) exists once a store is given, and fails when a workflow
/// names a check that is not registered.
#[must_use = "a builder does nothing until `build` is called"]
pub struct EngineBuilder<S = ()> {
    store: S,
    workflows: Vec<Workflow>,
    checks: Checks,
    clock: Arc<dyn Clock>,
    allow_missing_checks: bool,
}

impl<S> std::fmt::Debug for EngineBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field(
                "workflows",
                &self
                    .workflows
                    .iter()
                    .map(|w| format!("{} v{}", w.name(), w.version()))
                    .collect::<Vec<_>>(),
            )
            .field("checks", &self.checks)
            .finish_non_exhaustive()
    }
}

impl<S> EngineBuilder<S> {
    /// The store items and events are kept in.
    pub fn store<T: Store>(self, store: T) -> EngineBuilder<T> {
        EngineBuilder {
            store,
            workflows: self.workflows,
            checks: self.checks,
            clock: self.clock,
            allow_missing_checks: self.allow_missing_checks,
        }
    }

    /// Loads a workflow. Several versions of one workflow may be loaded; new items use the
    /// newest.
    pub fn workflow(mut self, workflow: Workflow) -> Self {
        self.workflows.push(workflow);
        self
    }

    /// Loads several workflows.
    pub fn workflows(mut self, workflows: impl IntoIterator<Item = Workflow>) -> Self {
        self.workflows.extend(workflows);
        self
    }

    /// Registers a check under `name`.
    pub fn check(
        mut self,
        name: impl Into<String>,
        check: impl Fn(&CheckContext<'_>) -> Verdict + Send + Sync + 'static,
    ) -> Self {
        self.checks = self.checks.add(name, check);
        self
    }

    /// Registers every check of a set (replacing checks of the same names).
    pub fn checks(mut self, checks: impl Into<Checks>) -> Self {
        self.checks.extend(checks.into());
        self
    }

    /// Builds the engine even when workflows name checks that are not registered, for a
    /// program that inspects a store without the program that writes it (the `workstream`
    /// command does). An assertion that needs a missing check is then neither true nor
    /// false but unknown, and combines as in three-valued logic (`not` of unknown is
    /// unknown, `any` with one member true is true): `explain` shows it as a reason of kind
    /// [`ReasonKind::Unevaluable`](crate::ReasonKind::Unevaluable), signals set it apart
    /// ([`Signals::unevaluable`](crate::Signals::unevaluable)) rather than guessing, and a
    /// move that needs it is refused.
    pub fn allow_missing_checks(mut self) -> Self {
        self.allow_missing_checks = true;
        self
    }

    /// The clock events are stamped with.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

impl<S: Store> EngineBuilder<S> {
    /// Builds the engine. Fails when a workflow names a check that is not registered (all
    /// are listed), or when two different definitions claim one workflow version.
    pub fn build(self) -> Result<Engine<S>, BuildError> {
        let mut workflows: HashMap<String, Vec<Arc<Workflow>>> = HashMap::new();
        let mut missing = Vec::new();
        for workflow in self.workflows {
            for check in workflow.checks() {
                if !self.checks.contains(check) {
                    missing.push(MissingCheck {
                        workflow: workflow.name().to_owned(),
                        version: workflow.version(),
                        check: check.clone(),
                    });
                }
            }
            let versions = workflows.entry(workflow.name().to_owned()).or_default();
            match versions.binary_search_by_key(&workflow.version(), |w| w.version()) {
                Ok(i) if versions[i].definition_hash() == workflow.definition_hash() => {}
                Ok(i) => {
                    return Err(BuildError::ConflictingVersions {
                        workflow: workflow.name().to_owned(),
                        version: workflow.version(),
                        first: *versions[i].definition_hash(),
                        second: *workflow.definition_hash(),
                    });
                }
                Err(i) => versions.insert(i, Arc::new(workflow)),
            }
        }
        if !missing.is_empty() && !self.allow_missing_checks {
            missing.sort_by(|a, b| {
                (&a.workflow, a.version, &a.check).cmp(&(&b.workflow, b.version, &b.check))
            });
            missing.dedup();
            return Err(BuildError::MissingChecks(missing));
        }
        // Each version's migrations against the older versions loaded beside it.
        let mut problems = Vec::new();
        let mut names: Vec<&String> = workflows.keys().collect();
        names.sort();
        for versions in names.into_iter().map(|name| &workflows[name]) {
            for newer in versions {
                for older in versions.iter().filter(|o| o.version() < newer.version()) {
                    if let Err(d) = newer.check_migration(older) {
                        problems.extend(d);
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(BuildError::Migrations(crate::Diagnostics::new(problems)));
        }
        Ok(Engine {
            store: self.store,
            workflows,
            checks: self.checks,
            clock: self.clock,
        })
    }
}

impl Engine<()> {
    /// Starts building an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            store: (),
            workflows: Vec::new(),
            checks: Checks::new(),
            clock: Arc::new(SystemClock),
            allow_missing_checks: false,
        }
    }
}
