//! Auditing a store: every chain, every current state, and what the store keeps beside them.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

pub use crate::chain::Finding;
use crate::chain::{Problem, verify_stored_chain};
use crate::digest::{Leaf, LedgerDigest};
use crate::hash::{DefinitionHash, Sha256Hash};
use crate::item::{Item, ItemId};
use crate::store::{Reader, StoreError};

/// The kept workflow texts met so far, by source: the definition hashes each is recorded
/// with, or `None` when the store keeps no such text.
type Texts = HashMap<Sha256Hash, Option<[DefinitionHash; 2]>>;

/// What an audit checked and every problem it found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[must_use = "a report says whether the store checked out; look at `problems` or `is_clean`"]
#[non_exhaustive]
pub struct Report {
    /// Items whose chains were walked.
    pub items: usize,
    /// Events checked.
    pub events: usize,
    /// Every problem, in item order, each item's in chain order; problems of the store as a
    /// whole last.
    pub problems: Vec<Finding>,
}

impl Report {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// The items with at least one problem, in order.
    pub fn broken_items(&self) -> Vec<ItemId> {
        let mut items: Vec<ItemId> = self.problems.iter().filter_map(|p| p.item).collect();
        items.sort_unstable();
        items.dedup();
        items
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return write!(
                f,
                "{} item(s) and {} event(s) check out",
                self.items, self.events
            );
        }
        write!(
            f,
            "{} problem(s) in {} item(s) and {} event(s):",
            self.problems.len(),
            self.items,
            self.events
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// Audits everything `reader` sees: every item's chain and state, and the store's own
/// bookkeeping ([`Reader::check_storage`]). Data that cannot be read is reported as
/// [`Problem::Unreadable`] and the audit goes on; only a failure of the store itself (I/O,
/// a lost connection) ends it with an error.
///
/// It reads the store in one read transaction and reports **every** problem it finds, each
/// naming its item and event where it has them:
///
/// - each item's chain, as the store keeps it ([`verify_stored_chain`]): sequence numbers, links,
///   hashes (over the bytes the store keeps, where it keeps them), the key each event is
///   filed under, one `created` event first;
/// - each item's current state against the replay of its events, naming what differs (when
///   the chain checks out: the replay of a broken chain says nothing about the state);
/// - what the store keeps beside the events and states, through
///   [`Reader::check_storage`]: a database's columns and indexes, its dependency rows, its id
///   counter, events whose item has no state.
///
/// [`Engine::verify_all`](crate::Engine::verify_all) and
/// [`Engine::audit`](crate::Engine::audit) run it over the engine's store.
pub fn audit(reader: &(impl Reader + ?Sized)) -> Result<Report, StoreError> {
    audit_with(reader, None)
}

/// Audits everything `reader` sees, as [`audit`](audit()) does, and checks that the ledger
/// extends `digest`, taken earlier: every item the digest covers is still stored, and the
/// event at the digest's sequence number of each still has the hash the digest recorded.
/// With the chain checks of the audit, that proves every event the digest covers is
/// unchanged, even where a rewrite recomputed every later hash and the item's head. Each
/// item for which that is not so is named: [`Problem::Rewritten`],
/// [`Problem::Truncated`], [`Problem::Removed`]. Events after the digest are checked as
/// the audit checks them, no more.
///
/// The digest's leaves may be kept anywhere, but the summary they are checked against must
/// be one kept out of the writers' reach: a digest file kept beside the database can be
/// rewritten along with it.
///
/// ```
/// # use workstream_core::{audit_against, DigestSummary, LedgerDigest, Reader};
/// fn still_what_was_pinned(reader: &impl Reader, leaves: &str, kept: &DigestSummary) -> bool {
///     let Ok(digest) = LedgerDigest::parse(leaves) else { return false };
///     digest.summary() == *kept
///         && audit_against(reader, &digest).is_ok_and(|report| report.is_clean())
/// }
/// ```
pub fn audit_against(
    reader: &(impl Reader + ?Sized),
    digest: &LedgerDigest,
) -> Result<Report, StoreError> {
    audit_with(reader, Some(digest))
}

fn audit_with(
    reader: &(impl Reader + ?Sized),
    digest: Option<&LedgerDigest>,
) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let mut texts = Texts::new();
    match readable(reader.definitions())? {
        Ok(kept) => {
            for definition in kept {
                if let Some(detail) = definition.problem() {
                    report.problems.push(Finding::store(Problem::BadDefinition {
                        text: definition.source,
                        detail,
                    }));
                }
                texts.insert(
                    definition.source,
                    Some([definition.definition, definition.format1]),
                );
            }
        }
        Err(message) => report
            .problems
            .push(Finding::store(Problem::Unreadable(message))),
    }
    match readable(reader.item_ids())? {
        Ok(ids) => {
            let mut audited = std::collections::HashSet::new();
            for &id in &ids {
                let leaf = digest.and_then(|d| d.leaf(id));
                if audit_into(reader, id, leaf, &mut texts, &mut report)? {
                    audited.insert(id);
                }
            }
            // Items the digest covers that the store did not list or holds nothing of: their
            // events are looked for all the same (a state deleted, its events kept), and
            // an item of which nothing is left is named as removed.
            for leaf in digest.map_or(&[][..], |d| d.leaves()) {
                if audited.contains(&leaf.item) {
                    continue;
                }
                if !audit_into(reader, leaf.item, Some(leaf), &mut texts, &mut report)? {
                    report.problems.push(Finding::item(
                        leaf.item,
                        Problem::Removed { covered: leaf.seq },
                    ));
                }
            }
        }
        Err(message) => report
            .problems
            .push(Finding::store(Problem::Unreadable(message))),
    }
    match readable(reader.check_storage())? {
        Ok(found) => report.problems.extend(found),
        Err(message) => report
            .problems
            .push(Finding::store(Problem::Unreadable(message))),
    }
    // Item by item (a stable sort keeps each item's findings in chain order), then the
    // store's own.
    report.problems.sort_by_key(|f| (f.item.is_none(), f.item));
    Ok(report)
}

/// Audits one item: its chain and its state. `None` when the store holds neither a state
/// nor events for `id`.
pub fn audit_item(
    reader: &(impl Reader + ?Sized),
    id: ItemId,
) -> Result<Option<Report>, StoreError> {
    let mut report = Report::default();
    if !audit_into(reader, id, None, &mut Texts::new(), &mut report)? {
        return Ok(None);
    }
    Ok(Some(report))
}

/// Audits `id` into `report`; false when there is nothing stored for it.
fn audit_into(
    reader: &(impl Reader + ?Sized),
    id: ItemId,
    leaf: Option<&Leaf>,
    texts: &mut Texts,
    report: &mut Report,
) -> Result<bool, StoreError> {
    let chain = readable(reader.stored_events(id))?;
    let state = readable(reader.item(id))?;
    if let (Ok(chain), Ok(None)) = (&chain, &state)
        && chain.is_empty()
    {
        return Ok(false);
    }
    report.items += 1;
    let chain = chain
        .map_err(|message| {
            report
                .problems
                .push(Finding::item(id, Problem::Unreadable(message)));
        })
        .ok();
    let state = state
        .map_err(|message| {
            report
                .problems
                .push(Finding::item(id, Problem::Unreadable(message)));
        })
        .ok();
    let Some(chain) = chain else {
        return Ok(true);
    };
    report.events += chain.len();
    if let Some(leaf) = leaf {
        // The event the digest ended on, found by the key the store files it under.
        match chain.iter().find(|stored| stored.seq == leaf.seq) {
            Some(stored) if stored.event.hash == leaf.head => {}
            Some(stored) => report.problems.push(Finding::event(
                id,
                leaf.seq,
                Problem::Rewritten {
                    seq: leaf.seq,
                    expected: leaf.head,
                    found: stored.event.hash,
                },
            )),
            None => report.problems.push(Finding::item(
                id,
                Problem::Truncated {
                    covered: leaf.seq,
                    found: chain.len() as u64,
                },
            )),
        }
    }
    if let Some(None) = state {
        report.problems.push(Finding::item(
            id,
            Problem::NoState {
                events: chain.len() as u64,
            },
        ));
    }
    let problems = verify_stored_chain(id, &chain);
    let intact = problems.is_empty();
    report
        .problems
        .extend(problems.into_iter().map(Finding::from));
    for stored in &chain {
        let event = &stored.event;
        let Some(text) = event.source() else {
            continue;
        };
        let kept = match texts.get(text) {
            Some(kept) => *kept,
            None => {
                let kept = match readable(reader.definition_text(text))? {
                    Ok(found) => found.map(|d| [d.definition, d.format1]),
                    Err(message) => {
                        report.problems.push(Finding::event(
                            id,
                            stored.seq,
                            Problem::Unreadable(message),
                        ));
                        continue;
                    }
                };
                texts.insert(*text, kept);
                kept
            }
        };
        match kept {
            None => report.problems.push(Finding::event(
                id,
                stored.seq,
                Problem::TextNotKept { text: *text },
            )),
            Some(hashes) if !hashes.contains(event.definition()) => {
                report.problems.push(Finding::event(
                    id,
                    stored.seq,
                    Problem::TextDiffers {
                        text: *text,
                        definition: *event.definition(),
                        kept: hashes[0],
                    },
                ))
            }
            Some(_) => {}
        }
    }
    if let (true, Some(Some(state))) = (intact, &state) {
        match Item::replay(chain.iter().map(|s| &s.event)) {
            Ok(replayed) if replayed == *state => {}
            Ok(replayed) => report.problems.push(Finding::item(
                id,
                Problem::ProjectionMismatch(differences(state, &replayed)),
            )),
            Err(e) => report.problems.push(Finding::item(
                id,
                Problem::ProjectionMismatch(format!("the events do not replay: {e}")),
            )),
        }
    }
    Ok(true)
}

/// Splits a read's result: a store failure ends the audit, unreadable data is a finding.
fn readable<T>(result: Result<T, StoreError>) -> Result<Result<T, String>, StoreError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(StoreError::Corrupt(message)) => Ok(Err(message)),
        Err(e) => Err(e),
    }
}

/// What differs between a stored state and the replay of its events, attribute by
/// attribute: "workstation: stored `review`, replayed `draft`; …".
pub(crate) fn differences(stored: &Item, replayed: &Item) -> String {
    // Each attribute as text, the way the finding shows it.
    type Show = fn(&Item) -> String;
    let attributes: [(&str, Show); 15] = [
        ("id", |i| i.id().to_string()),
        ("workflow", |i| q(i.workflow())),
        ("version", |i| i.version().to_string()),
        ("definition", |i| i.definition().to_string()),
        ("workstation", |i| q(i.workstation())),
        ("outcome", |i| format!("{:?}", i.outcome())),
        ("holds", |i| format!("{:?}", i.holds())),
        ("fields", |i| i.fields().to_string()),
        ("parent", |i| format!("{:?}", i.parent())),
        ("dependencies", |i| format!("{:?}", i.deps())),
        ("created", |i| i.created().to_string()),
        ("entered", |i| i.entered().to_string()),
        ("updated", |i| i.updated().to_string()),
        ("seq", |i| i.seq().to_string()),
        ("head", |i| i.head().to_string()),
    ];
    let mut out: Vec<String> = attributes
        .iter()
        .filter_map(|(what, show)| {
            let (a, b) = (show(stored), show(replayed));
            (a != b).then(|| format!("{what}: stored {a}, replayed {b}"))
        })
        .collect();
    if out.is_empty() {
        out.push("they differ in a way their text does not show".to_owned());
    }
    out.join("; ")
}

fn q(s: &str) -> String {
    format!("`{s}`")
}
