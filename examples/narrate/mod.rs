//! Runs a scenario step by step and prints what happens: each change that was attempted,
//! whether it was allowed, and, when it was refused, every reason with its id. Shared by
//! the `flowos`, `ai_stream` and `state_hub` examples.
//!
//! An example tells a story it knows the end of: a step that was meant to be allowed and is
//! refused, or the other way round, stops it with a panic (and a non-zero exit).

// Each example uses a part of it.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use workstream::prelude::*;
use workstream::{Change, ItemMetrics, Signals};

/// An engine on a manual clock, and the names the story gives its items.
pub(crate) struct Narrator<S: Store> {
    pub(crate) engine: Engine<S>,
    pub(crate) clock: ManualClock,
    names: RefCell<HashMap<ItemId, String>>,
}

impl<S: Store> Narrator<S> {
    pub(crate) fn new(engine: Engine<S>, clock: ManualClock) -> Self {
        Self {
            engine,
            clock,
            names: RefCell::new(HashMap::new()),
        }
    }

    /// The same story, told on by another engine (the same store, other workflows loaded).
    pub(crate) fn with_engine<T: Store>(self, engine: Engine<T>) -> Narrator<T> {
        Narrator {
            engine,
            clock: self.clock,
            names: self.names,
        }
    }

    /// The story's name for an item (its id when it has none).
    pub(crate) fn name(&self, id: ItemId) -> String {
        self.names
            .borrow()
            .get(&id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    pub(crate) fn section(&self, title: &str) {
        println!("\n== {title}");
    }

    /// Moves the clock to `at`.
    pub(crate) fn at(&self, at: DateTime<Utc>) {
        self.clock.set(at);
    }

    fn say(&self, line: impl AsRef<str>) {
        let now = self.engine.now().format("%a %d %b %H:%M");
        println!("[{now}] {}", line.as_ref());
    }

    /// A line of commentary.
    pub(crate) fn note(&self, line: impl AsRef<str>) {
        println!("        {}", line.as_ref());
    }

    pub(crate) fn item(&self, id: ItemId) -> Item {
        self.engine.item(id).expect("the item exists")
    }

    /// A reason, with the story's names of the items it is about.
    fn reason(&self, reason: &Reason) -> String {
        let items: Vec<String> = reason.items.iter().map(|&i| self.name(i)).collect();
        let about = if items.is_empty() {
            String::new()
        } else {
            format!(" (items: {})", items.join(", "))
        };
        format!("[{}] {}{about}", reason.id, reason.message)
    }

    /// Creates an item and names it.
    pub(crate) fn create(&self, actor: &Actor, new: NewItem<'_>, name: &str) -> ItemId {
        let item = self
            .engine
            .create(actor, new)
            .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        self.names.borrow_mut().insert(item.id(), name.to_owned());
        self.say(format!(
            "{} creates {name} ({} v{}) in `{}`",
            actor.id(),
            item.workflow(),
            item.version(),
            item.workstation()
        ));
        item.id()
    }

    /// A move that the story expects to be allowed.
    pub(crate) fn go(&self, id: ItemId, actor: &Actor, transition: &str, with: With) -> Item {
        self.take(
            id,
            actor,
            transition,
            Move::transition(transition).with(with),
        )
    }

    /// A move made elsewhere (a step of `workstream_seeds`) that the story expects to be
    /// allowed; `transition` names it in the story.
    pub(crate) fn take(&self, id: ItemId, actor: &Actor, transition: &str, mv: Move<'_>) -> Item {
        let from = self.item(id).workstation().to_owned();
        let item = self.engine.advance(id, actor, mv).unwrap_or_else(|e| {
            panic!(
                "{transition} of {} was meant to be allowed: {e}",
                self.name(id)
            )
        });
        let outcome = item
            .outcome()
            .map(|o| format!(" (closed: {o})"))
            .unwrap_or_default();
        self.say(format!(
            "{} {transition} {}: `{from}` -> `{}`{outcome}  allowed",
            actor.id(),
            self.name(id),
            item.workstation()
        ));
        item
    }

    /// A move that the story expects to be refused with exactly the reasons `ids`.
    pub(crate) fn refused(
        &self,
        id: ItemId,
        actor: &Actor,
        transition: &str,
        with: With,
        ids: &[&str],
    ) -> Refused {
        let what = format!("{} {transition} {}", actor.id(), self.name(id));
        self.expect_refusal(what, ids, || {
            let mv = Move::transition(transition).with(with);
            self.engine.advance(id, actor, mv)
        })
    }

    /// Any change that the story expects to be refused with exactly the reasons `ids`.
    pub(crate) fn expect_refusal(
        &self,
        what: String,
        ids: &[&str],
        change: impl FnOnce() -> Result<Item, Error>,
    ) -> Refused {
        match change() {
            Err(Error::Refused(refused)) => {
                self.say(format!("{what}  REFUSED, nothing written:"));
                for reason in &refused.reasons {
                    self.note(format!("- {}", self.reason(reason)));
                }
                assert_eq!(refused.ids(), ids, "{what}: other reasons than the story's");
                *refused
            }
            Err(e) => panic!("{what}: expected a refusal, got the error {e}"),
            Ok(item) => panic!(
                "{what}: expected a refusal, but it moved to {}",
                item.workstation()
            ),
        }
    }

    /// Records `patch` on an item's fields; `what` says what it is, for the story.
    pub(crate) fn update(&self, id: ItemId, actor: &Actor, patch: Value, what: &str) -> Item {
        let item = self
            .engine
            .update_fields(id, actor, patch)
            .unwrap_or_else(|e| panic!("updating {}: {e}", self.name(id)));
        self.say(format!(
            "{} records on {}: {what}",
            actor.id(),
            self.name(id)
        ));
        item
    }

    pub(crate) fn hold(&self, id: ItemId, actor: &Actor, hold: &str, reason: &str) -> Item {
        let item = self
            .engine
            .hold(id, actor, hold, reason)
            .unwrap_or_else(|e| panic!("holding {}: {e}", self.name(id)));
        let name = self.name(id);
        self.say(format!("{} holds {name} `{hold}`: {reason}", actor.id()));
        item
    }

    pub(crate) fn release(&self, id: ItemId, actor: &Actor, hold: &str) -> Item {
        let item = self
            .engine
            .release(id, actor, hold)
            .unwrap_or_else(|e| panic!("releasing {}: {e}", self.name(id)));
        self.say(format!(
            "{} releases {} from `{hold}`; it is in `{}`",
            actor.id(),
            self.name(id),
            item.workstation()
        ));
        item
    }

    pub(crate) fn depend(&self, id: ItemId, on: ItemId, actor: &Actor) {
        let (name, on_name) = (self.name(id), self.name(on));
        self.engine
            .add_dependency(id, on, actor)
            .unwrap_or_else(|e| panic!("{name} depending on {on_name}: {e}"));
        self.say(format!("{} makes {name} depend on {on_name}", actor.id()));
    }

    /// Prints what `actor` could do with an item now, and what blocks each way out.
    pub(crate) fn explain(&self, id: ItemId, actor: &Actor) {
        let why = self.engine.explain(id, actor).expect("explain");
        self.say(format!(
            "explain {} for {}: in `{}`, signals: {}",
            self.name(id),
            actor.id(),
            why.item.workstation(),
            why.signals
        ));
        for t in &why.transitions {
            let verdict = if t.allowed() { "allowed" } else { "blocked" };
            self.note(format!("{} -> {}: {verdict}", t.transition, t.to));
            for reason in &t.reasons {
                self.note(format!("  - {}", self.reason(reason)));
            }
        }
    }

    /// Prints an item's signals now, with what blocks it.
    pub(crate) fn signals(&self, id: ItemId) -> Signals {
        let signals = self.engine.signals(id).expect("signals");
        self.say(format!("signals of {}: {signals}", self.name(id)));
        for reason in &signals.blocked {
            self.note(format!("blocked: {}", self.reason(reason)));
        }
        signals
    }

    /// Prints an item's flow metrics, from its ledger.
    pub(crate) fn metrics(&self, id: ItemId) -> ItemMetrics {
        let m = self.engine.metrics(id).expect("metrics");
        self.say(format!("metrics of {}, from its ledger:", self.name(id)));
        self.note(format!("lead time        {}", hours(m.lead)));
        // In the order of the workflow's workstations.
        let item = self.item(id);
        let workflow = self.engine.workflow_of(&item).expect("its workflow");
        let stays: Vec<String> = workflow
            .workstations()
            .iter()
            .filter_map(|w| {
                let stayed = m.per_workstation.get(w.name())?;
                Some(format!("{} {}", w.name(), hours(*stayed)))
            })
            .collect();
        self.note(format!("time per stage   {}", stays.join(", ")));
        let holds: Vec<String> = m
            .per_hold
            .iter()
            .map(|(k, d)| format!("{k} {}", hours(*d)))
            .collect();
        if !holds.is_empty() {
            self.note(format!("time per hold    {}", holds.join(", ")));
        }
        self.note(format!(
            "held / active    {} / {}",
            hours(m.held),
            hours(m.active)
        ));
        if let Some(e) = m.flow_efficiency() {
            self.note(format!("flow efficiency  {:.0}%", e * 100.0));
        }
        self.note(format!("rework moves     {}", m.rework_moves));
        m
    }

    /// Prints an item's history, one line per event.
    pub(crate) fn history(&self, id: ItemId) {
        for event in self.engine.history(id).expect("history") {
            let change = match &event.change() {
                Change::Transitioned {
                    transition,
                    from,
                    to,
                    ..
                } => format!("{transition}: `{from}` -> `{to}`"),
                Change::Held { hold } => format!("held `{hold}`"),
                Change::Released { hold } => format!("released `{hold}`"),
                other => other.kind().replace('_', " "),
            };
            let reason = event
                .reason()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let at = event.at().format("%a %d %b %H:%M");
            let actor = &event.actor();
            self.note(format!("#{} {at} {actor}: {change}{reason}", event.seq()));
        }
    }

    /// Verifies every chain in the store and prints the result.
    pub(crate) fn verify(&self) {
        let verified = self.engine.verify_all().expect("every chain verifies");
        println!(
            "\nledger: {} items, {} events, every chain verifies",
            verified.items, verified.events
        );
    }
}

/// A duration in hours, e.g. `5h` or `2.5h`.
pub(crate) fn hours(d: TimeDelta) -> String {
    let minutes = d.num_minutes();
    if minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{:.1}h", minutes as f64 / 60.0)
    }
}
