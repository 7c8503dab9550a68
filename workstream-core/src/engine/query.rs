//! The engine's reads: items, histories, `explain`, verification, signals, readiness, the
//! dependency order, and flow metrics, each on one consistent view of the store.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::assess::Scene;
use super::{Engine, Error, Explanation, NextMove, Result, Verified};
use crate::audit::{self, Report};
use crate::dag::{self, CriticalPath};
use crate::digest::LedgerDigest;
use crate::feed::{FeedEvent, Position};
use crate::item::{Actor, Item, ItemId};
use crate::ledger::Event;
use crate::metrics::{FlowReport, ItemMetrics, metrics_across};
use crate::signals::{self, Signal, Signals};
use crate::store::{Query, Reader, Store, StoreError};
use crate::window::Window;

/// A workflow or workstation that a query names and no loaded workflow has
/// ([`Engine::query_for`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnknownPlace {
    /// No workflow of that name is loaded.
    #[error("there is no workflow `{name}` (loaded: {})", if .loaded.is_empty() { "none".to_owned() } else { .loaded.join(", ") })]
    Workflow {
        /// The name asked for.
        name: String,
        /// The names of the workflows loaded, sorted.
        loaded: Vec<String>,
    },
    /// No workflow (or not the one named) has a workstation of that name.
    #[error("no workflow{} has a workstation `{name}`", .workflow.as_ref().map(|w| format!(" `{w}`")).unwrap_or_default())]
    Workstation {
        /// The workflow the query named, if any.
        workflow: Option<String>,
        /// The workstation asked for.
        name: String,
    },
}

impl<S: Store> Engine<S> {
    /// A query for the items of `workflow` in `workstation` (either may be left out),
    /// checked against the workflows loaded: a name none of them has is a mistake, not an
    /// empty result. The command line's `ls` and the service's item lists ask this way.
    pub fn query_for(
        &self,
        workflow: Option<&str>,
        workstation: Option<&str>,
    ) -> std::result::Result<Query, UnknownPlace> {
        let mut query = Query::new();
        if let Some(name) = workflow {
            if self.workflow(name).is_none() {
                let mut loaded: Vec<String> =
                    self.workflows().map(|w| w.name().to_owned()).collect();
                loaded.sort_unstable();
                loaded.dedup();
                return Err(UnknownPlace::Workflow {
                    name: name.to_owned(),
                    loaded,
                });
            }
            query = query.workflow(name);
        }
        if let Some(station) = workstation {
            let declared = self
                .workflows()
                .filter(|w| workflow.is_none_or(|name| w.name() == name))
                .any(|w| w.workstation_id(station).is_some());
            if !declared {
                return Err(UnknownPlace::Workstation {
                    workflow: workflow.map(str::to_owned),
                    name: station.to_owned(),
                });
            }
            query = query.workstation(station);
        }
        Ok(query)
    }

    /// The current state of an item.
    pub fn item(&self, id: ItemId) -> Result<Item> {
        self.store
            .read(|tx| tx.item(id)?.ok_or(Error::NotFound(id)))
    }

    /// The items that meet `query`, in id order.
    pub fn items(&self, query: &Query) -> Result<Vec<Item>> {
        self.store.read(|tx| Ok(tx.items(query)?))
    }

    /// An item's events, in order.
    pub fn history(&self, id: ItemId) -> Result<Vec<Event>> {
        self.store.read(|tx| {
            let events = tx.events(id, 1)?;
            if events.is_empty() {
                return Err(Error::NotFound(id));
            }
            Ok(events)
        })
    }

    /// Where an item is and, for each transition out of its workstation, whether `actor`
    /// could fire it now and every reason why not.
    pub fn explain(&self, id: ItemId, actor: &Actor) -> Result<Explanation> {
        let now = self.clock.now();
        self.store.read(|tx| {
            let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
            let workflow = self.workflow_of(&item)?;
            let from = self.current(workflow, &item)?;
            let mut transitions = Vec::new();
            let scene = Scene {
                reader: tx,
                workflow,
                item: &item,
                actor,
                now,
            };
            for &t in workflow.outgoing(from) {
                let a = self.assess(&scene, from, t)?;
                let def = workflow.transition(t);
                transitions.push(NextMove {
                    transition: def.name().to_owned(),
                    to: workflow.workstation(def.to()).name().to_owned(),
                    reasons: a.reasons,
                    warnings: a.warnings,
                });
            }
            let signals = signals::compute(&item, workflow, tx, &self.checks, now)?;
            Ok(Explanation {
                item,
                transitions,
                signals,
            })
        })
    }

    /// Verifies one item: its chain as stored (sequence numbers, links, the hash of every
    /// event over the bytes the store keeps, the key each event is filed under) and that its
    /// stored state equals the replay of its events. Returns the number of events; fails
    /// with [`Error::NotFound`] when the store holds nothing for `id`, and with
    /// [`Error::Verify`] naming every problem of the item otherwise.
    pub fn verify(&self, id: ItemId) -> Result<usize> {
        let report = self
            .store
            .read(|tx| audit::audit_item(tx, id))?
            .ok_or(Error::NotFound(id))?;
        Ok(into_verified(report)?.events)
    }

    /// Verifies everything in the store, in one read transaction: every item's chain and
    /// state as [`verify`](Self::verify) does, and what the store keeps beside them (its
    /// indexes and columns, dependency rows, id counter; see [`Reader::check_storage`]).
    /// Returns what was checked when all of it checks out, and otherwise fails with
    /// [`Error::Verify`], whose [`Report`] names **every** problem found, not only the
    /// first. [`audit`](Self::audit) returns the report either way.
    pub fn verify_all(&self) -> Result<Verified> {
        into_verified(self.audit()?)
    }

    /// Audits the whole store, as [`verify_all`](Self::verify_all) does, and returns the
    /// report whether or not it found problems; it fails only when the store cannot be
    /// read at all.
    pub fn audit(&self) -> Result<Report> {
        Ok(self.store.read(|tx| audit::audit(tx))?)
    }

    /// The committed events after `after` in the store's feed, in its one store-wide order
    /// (commit order on SQLite and in memory; by transaction on PostgreSQL), at most `limit`
    /// ([`Reader::events_since`], which says when an event becomes listable). Keep the position
    /// of the last event handled and ask again from it: a program that reacts to changes
    /// (notifications, payments, search indexes) misses none and handles none twice, across
    /// restarts.
    ///
    /// ```
    /// # use workstream_core::{Engine, Position, Store};
    /// fn drain<S: Store>(engine: &Engine<S>, mut cursor: Position) -> workstream_core::Result<Position> {
    ///     loop {
    ///         let batch = engine.events_since(cursor, 100)?;
    ///         let Some(last) = batch.last() else { return Ok(cursor) };
    ///         for fed in &batch {
    ///             println!("{} {} {}", fed.position, fed.event.item(), fed.event.change().kind());
    ///         }
    ///         cursor = last.position; // keep it, durably, once the batch is handled
    ///     }
    /// }
    /// ```
    pub fn events_since(&self, after: Position, limit: usize) -> Result<Vec<FeedEvent>> {
        Ok(self.store.read(|tx| tx.events_since(after, limit))?)
    }

    /// A digest of the whole ledger as it is now, read in one transaction: every item's
    /// last sequence number and head, and their Merkle root ([`LedgerDigest`]). Keep its
    /// [`summary`](LedgerDigest::summary) where the store's writers cannot reach it; later,
    /// [`verify_against`](Self::verify_against) proves the ledger still holds every event
    /// the digest covers.
    pub fn digest(&self) -> Result<LedgerDigest> {
        Ok(self.store.read(|tx| LedgerDigest::of(tx))?)
    }

    /// Verifies everything, as [`verify_all`](Self::verify_all) does, and that the ledger
    /// extends `digest`: fails with [`Error::Verify`] naming each item whose history up to
    /// the digest was rewritten, cut short or removed, beside every other problem.
    pub fn verify_against(&self, digest: &LedgerDigest) -> Result<Verified> {
        into_verified(self.audit_against(digest)?)
    }

    /// Audits the store against `digest` ([`audit_against`](crate::audit_against)) and
    /// returns the report whether or not it found problems.
    pub fn audit_against(&self, digest: &LedgerDigest) -> Result<Report> {
        Ok(self.store.read(|tx| audit::audit_against(tx, digest))?)
    }

    /// An item's signals now (see [`Signal`](crate::Signal) for their definitions).
    pub fn signals(&self, id: ItemId) -> Result<Signals> {
        let now = self.clock.now();
        self.store.read(|tx| {
            let item = tx.item(id)?.ok_or(Error::NotFound(id))?;
            let workflow = self.workflow_of(&item)?;
            Ok(signals::compute(&item, workflow, tx, &self.checks, now)?)
        })
    }

    /// The items that meet `query` and have `signal` on now, with all their signals.
    pub fn with_signal(&self, signal: Signal, query: &Query) -> Result<Vec<(Item, Signals)>> {
        let now = self.clock.now();
        self.store.read(|tx| {
            let mut found = Vec::new();
            for item in tx.items(query)? {
                let workflow = self.workflow_of(&item)?;
                let signals = signals::compute(&item, workflow, tx, &self.checks, now)?;
                if signals.has(signal) {
                    found.push((item, signals));
                }
            }
            Ok(found)
        })
    }

    /// The open items that meet `query` whose dependencies are all closed `done` (items
    /// without dependencies included), in id order.
    pub fn ready(&self, query: &Query) -> Result<Vec<Item>> {
        self.store.read(|tx| {
            let mut ready = Vec::new();
            let mut done: HashMap<ItemId, bool> = HashMap::new();
            for item in tx.items(query)? {
                if item.is_closed() {
                    continue;
                }
                let mut all_done = true;
                for &dep in item.deps() {
                    let is_done = match done.get(&dep) {
                        Some(&d) => d,
                        None => {
                            let d = tx
                                .item(dep)?
                                .is_some_and(|d| d.outcome() == Some(crate::Outcome::Done));
                            done.insert(dep, d);
                            d
                        }
                    };
                    if !is_done {
                        all_done = false;
                        break;
                    }
                }
                if all_done {
                    ready.push(item);
                }
            }
            Ok(ready)
        })
    }

    /// The items that meet `query`, each after the items (among them) it depends on.
    pub fn topological_order(&self, query: &Query) -> Result<Vec<ItemId>> {
        let items = self.items(query)?;
        Ok(dag::topological_order(&items)?)
    }

    /// The chain of dependencies among the items that meet `query` whose weights, the number
    /// in each item's field `field` (0 when absent), sum highest.
    pub fn critical_path(&self, query: &Query, field: &str) -> Result<CriticalPath> {
        let items = self.items(query)?;
        Ok(dag::critical_path(&items, field)?)
    }

    /// An item's flow metrics now, from its ledger (see [`ItemMetrics`](crate::ItemMetrics) for their definitions).
    pub fn metrics(&self, id: ItemId) -> Result<ItemMetrics> {
        let now = self.clock.now();
        self.store.read(|tx| self.item_metrics(tx, id, now))
    }

    fn item_metrics(
        &self,
        reader: &dyn Reader,
        id: ItemId,
        now: DateTime<Utc>,
    ) -> Result<ItemMetrics> {
        let item = reader.item(id)?.ok_or(Error::NotFound(id))?;
        self.workflow_of(&item)?;
        let events = reader.events(id, 1)?;
        // Each event judged by the version it was written under, where that is loaded.
        let version = |v: u32| self.workflow_version(item.workflow(), v);
        metrics_across(&events, &version, now).ok_or_else(|| {
            Error::Store(StoreError::Corrupt(format!(
                "item {id}: its chain does not start with its creation"
            )))
        })
    }

    /// Flow over the items that meet `query` during `window`, with rates per `period`
    /// (see [`FlowReport`]). Items still open are measured up to the window's end.
    pub fn flow(
        &self,
        query: &Query,
        window: Window,
        period: chrono::TimeDelta,
    ) -> Result<FlowReport> {
        self.store.read(|tx| {
            let mut metrics = Vec::new();
            for item in tx.items(query)? {
                if item.created() >= window.end {
                    continue;
                }
                metrics.push(self.item_metrics(tx, item.id(), window.end)?);
            }
            Ok(FlowReport::from_metrics(&metrics, window, period))
        })
    }

    /// How many of the items that meet `query` were open at `at`, from their ledgers.
    pub fn wip_at(&self, query: &Query, at: DateTime<Utc>) -> Result<usize> {
        self.store.read(|tx| {
            let mut open = 0;
            for item in tx.items(query)? {
                if item.created() > at {
                    continue;
                }
                if self.item_metrics(tx, item.id(), at)?.open_at(at) {
                    open += 1;
                }
            }
            Ok(open)
        })
    }
}

/// A clean report as what was verified; any problem as [`Error::Verify`].
fn into_verified(report: Report) -> Result<Verified> {
    if report.is_clean() {
        Ok(Verified {
            items: report.items,
            events: report.events,
        })
    } else {
        Err(Error::Verify(Box::new(report)))
    }
}
