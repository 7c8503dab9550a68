//! The in-memory reference [`Store`] of workstream.
//!
//! Items, their current states and their hash-chained events live in memory behind one
//! read-write lock: writers take it exclusively, so a write transaction sees nothing change
//! under it, and readers share it. A transaction that ends in an error, or panics, is rolled
//! back from an undo log before the lock is released, so no half-written state is ever seen.
//!
//! It is the store the others are measured against: it passes the conformance suite of
//! `workstream-core` (feature `testing`), and is the fastest way to run an engine in tests.
//!
//! ```
//! use workstream_core::{Actor, Engine, NewItem, parse};
//! use workstream_store_memory::MemoryStore;
//!
//! let workflow = parse("todo.yaml", "
//! workflow: todo
//! version: 1
//! workstations:
//!   open: { initial: true }
//!   done: { terminal: true }
//! transitions:
//!   finish: { from: open, to: done }
//! ")?;
//! let engine = Engine::builder().store(MemoryStore::new()).workflow(workflow).build()?;
//! let me = Actor::new("me", []);
//! let item = engine.create(&me, NewItem::of("todo"))?;
//! assert_eq!(engine.store().len(), 1);
//! # let _ = item;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, btree_map};
use std::hash::BuildHasherDefault;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use workstream_core::IdHasher;
use workstream_core::{
    DefinitionHash, Event, FeedEvent, Item, ItemId, Position, Query, Reader, Sha256Hash, Store,
    StoreError, StoredDefinition, Tx,
};
use workstream_core::{Entered, StoreId, check_append, check_definition};

/// Items and their ledgers, in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<State>,
    /// Marks this store's transactions on their thread, so a transaction begun inside
    /// another fails instead of deadlocking.
    id: StoreId,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many items it holds.
    ///
    /// # Panics
    ///
    /// When called inside a transaction of this store on the same thread (from a check, or
    /// a `Store::write` closure), where waiting for the lock would deadlock; count through
    /// the transaction's `Reader` there.
    pub fn len(&self) -> usize {
        self.outside().entries.len()
    }

    /// Whether it holds no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many events it holds.
    ///
    /// # Panics
    ///
    /// As [`len`](Self::len) does, inside a transaction of this store on the same thread.
    pub fn event_count(&self) -> usize {
        self.outside()
            .entries
            .values()
            .map(|entry| entry.events.len())
            .sum()
    }

    /// The state for a count outside any transaction.
    fn outside(&self) -> RwLockReadGuard<'_, State> {
        assert!(
            !Entered::is_open(self.id),
            "MemoryStore::len or event_count was called inside a transaction of the same store \
             on the same thread, which would deadlock; use the transaction's Reader"
        );
        self.read_state()
    }

    fn read_state(&self) -> RwLockReadGuard<'_, State> {
        // A panicking writer rolls back before the lock is released, so the state behind a
        // poisoned lock is consistent.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A map keyed by item id, hashed with [`IdHasher`].
type IdMap<V> = HashMap<ItemId, V, BuildHasherDefault<IdHasher>>;

/// What the store keeps of one item: its current state and its chain.
#[derive(Debug)]
struct Entry {
    item: Item,
    events: Vec<Event>,
}

#[derive(Debug, Default)]
struct State {
    /// One boxed entry per item: a B-tree node then holds ids and pointers, so it stays
    /// small and dense (~30 bytes per item at the nodes' usual fill, against ~400 with the
    /// states inline), a lookup touches fewer cache lines, and the chain needs no map of its
    /// own.
    entries: BTreeMap<ItemId, Box<Entry>>,
    /// workflow → workstation → items there.
    places: HashMap<String, HashMap<String, BTreeSet<ItemId>>>,
    children: IdMap<BTreeSet<ItemId>>,
    dependents: IdMap<BTreeSet<ItemId>>,
    /// A topological rank per item: whenever `a` depends on `b`, `b` ranks below `a` (see
    /// [`Reader::dependency_rank`] and [`State::order`]). A map of its own, hashed: the
    /// cycle check reads the rank of every item it meets.
    ranks: IdMap<u64>,
    /// The rank the next new item gets.
    next_rank: u64,
    /// Set if the stored dependencies ever formed a cycle (only appends that bypass the
    /// engine's check can make one): no order exists, so no ranks are reported from then on.
    cyclic: bool,
    next_id: u64,
    /// The feed: every event, by item and sequence number, in the order appends committed
    /// (writers hold the lock, so the order of appends is the order of commits; a rolled
    /// back append is taken off the end). An event's position is its index plus one.
    feed: Vec<(ItemId, u64)>,
    /// The workflow texts kept, in the order they were kept, and where each is by source.
    definitions: Vec<StoredDefinition>,
    by_source: HashMap<Sha256Hash, usize>,
}

impl State {
    /// The current state of an item.
    fn item(&self, id: ItemId) -> Option<&Item> {
        self.entries.get(&id).map(|entry| &entry.item)
    }

    /// An item's rank, if it has one.
    fn rank_of(&self, id: ItemId) -> Option<u64> {
        self.ranks.get(&id).copied()
    }

    /// Makes `item` the current state of its id, keeping the indexes in step; returns the
    /// state it replaces.
    fn put(&mut self, item: Item) -> Option<Item> {
        let id = item.id();
        let stored = self.entries.get(&id).map(|entry| &entry.item);
        reindex(
            &mut self.places,
            &mut self.children,
            &mut self.dependents,
            stored,
            Some(&item),
        );
        // A new state goes into the entry of the old one: an allocation per item, not per
        // change.
        let old = match self.entries.entry(id) {
            btree_map::Entry::Occupied(mut slot) => {
                Some(std::mem::replace(&mut slot.get_mut().item, item))
            }
            btree_map::Entry::Vacant(slot) => {
                slot.insert(Box::new(Entry {
                    item,
                    // Most items have few events: start a chain's vector at one, not four.
                    events: Vec::with_capacity(1),
                }));
                None
            }
        };
        self.rank(id, old.as_ref());
        old
    }

    /// Removes an item, its chain and its rank. Removing an item (and its dependencies)
    /// leaves the others' order true.
    fn remove(&mut self, id: ItemId) {
        if let Some(old) = self.entries.remove(&id) {
            reindex(
                &mut self.places,
                &mut self.children,
                &mut self.dependents,
                Some(&old.item),
                None,
            );
        }
        self.ranks.remove(&id);
    }

    /// Keeps the ranks true after `id` was stored (replacing `old`): a new item ranks above
    /// every other; each dependency that is new, or that names an item stored only now, is
    /// ordered. Dependencies removed need nothing.
    fn rank(&mut self, id: ItemId, old: Option<&Item>) {
        if self.cyclic {
            return;
        }
        let new_item = !self.ranks.contains_key(&id);
        if new_item {
            self.ranks.insert(id, self.next_rank);
            self.next_rank += 1;
        }
        let mut edges = Vec::new();
        if let Some(item) = self.item(id)
            && old.is_none_or(|old| old.deps() != item.deps())
        {
            edges.extend(
                item.deps()
                    .iter()
                    .filter(|on| old.is_none_or(|old| !old.deps().contains(on)))
                    .map(|&on| (id, on)),
            );
        }
        if new_item && let Some(dependents) = self.dependents.get(&id) {
            edges.extend(dependents.iter().map(|&d| (d, id)));
        }
        for (a, b) in edges {
            self.order(a, b);
        }
    }

    /// Makes `b` rank below `a`, which depends on it (Pearce and Kelly, "A dynamic
    /// topological sort algorithm for directed acyclic graphs", 2006). When `b` already ranks
    /// below, nothing moves. Otherwise only items ranked between the two can be out of order:
    /// `a` with the items that depend on it up to `b`'s rank, and `b` with the items it
    /// depends on down to `a`'s rank. The second group takes the lowest of their ranks,
    /// pooled, and the first the highest, each group in its old order. Reaching `b` from `a`
    /// means the dependencies form a cycle: ranks are then dropped for good.
    fn order(&mut self, a: ItemId, b: ItemId) {
        let (Some(low), Some(high)) = (self.rank_of(a), self.rank_of(b)) else {
            // `b` is not stored (yet): it is ordered when it is.
            return;
        };
        if high < low {
            return;
        }
        let mut seen: HashSet<ItemId, BuildHasherDefault<IdHasher>> = HashSet::default();
        seen.extend([a, b]);
        // `a` and what depends on it, ranked below `b`.
        let mut above = vec![(low, a)];
        let mut stack = vec![a];
        while let Some(x) = stack.pop() {
            for &d in self.dependents.get(&x).into_iter().flatten() {
                if d == b {
                    // No order exists: ranks are not read again, unless the transaction
                    // that stored the cycle rolls back (`Undo::Acyclic`). They are left as
                    // they are: still true for every dependency but the ones this
                    // transaction adds, all of which a rollback removes.
                    self.cyclic = true;
                    return;
                }
                if let Some(r) = self.rank_of(d)
                    && r < high
                    && seen.insert(d)
                {
                    above.push((r, d));
                    stack.push(d);
                }
            }
        }
        // `b` and what it depends on, ranked above `a`.
        let mut below = vec![(high, b)];
        let mut stack = vec![b];
        while let Some(x) = stack.pop() {
            for &d in self.item(x).map(Item::deps).into_iter().flatten() {
                if let Some(r) = self.rank_of(d)
                    && r > low
                    && seen.insert(d)
                {
                    below.push((r, d));
                    stack.push(d);
                }
            }
        }
        below.sort_unstable();
        above.sort_unstable();
        // The pooled ranks in order: a merge of the two sorted groups.
        let mut slots = Vec::with_capacity(below.len() + above.len());
        let (mut i, mut j) = (0, 0);
        while i < below.len() || j < above.len() {
            if j == above.len() || (i < below.len() && below[i].0 < above[j].0) {
                slots.push(below[i].0);
                i += 1;
            } else {
                slots.push(above[j].0);
                j += 1;
            }
        }
        for (&(_, x), slot) in below.iter().chain(&above).zip(slots) {
            self.ranks.insert(x, slot);
        }
    }
}

/// Brings the indexes from `old` (the stored state of an item, if any) to `new` (the state
/// replacing it, if any), touching only what differs: most changes (fields, holds, a move
/// within a workflow) leave the parent and the dependencies as they were.
fn reindex(
    places: &mut HashMap<String, HashMap<String, BTreeSet<ItemId>>>,
    children: &mut IdMap<BTreeSet<ItemId>>,
    dependents: &mut IdMap<BTreeSet<ItemId>>,
    old: Option<&Item>,
    new: Option<&Item>,
) {
    let Some(id) = new.or(old).map(Item::id) else {
        return;
    };
    let place = |item: &Item| (item.workflow().to_owned(), item.workstation().to_owned());
    let (old_place, new_place) = (
        old.map(|i| (i.workflow(), i.workstation())),
        new.map(|i| (i.workflow(), i.workstation())),
    );
    if old_place != new_place {
        if let Some((workflow, workstation)) = old_place
            && let Some(set) = places
                .get_mut(workflow)
                .and_then(|w| w.get_mut(workstation))
        {
            set.remove(&id);
        }
        if let Some(item) = new {
            // Look keys up by `&str` first: building `String` keys for places that exist
            // would allocate on every move.
            match places
                .get_mut(item.workflow())
                .and_then(|w| w.get_mut(item.workstation()))
            {
                Some(set) => {
                    set.insert(id);
                }
                None => {
                    let (workflow, workstation) = place(item);
                    places
                        .entry(workflow)
                        .or_default()
                        .entry(workstation)
                        .or_default()
                        .insert(id);
                }
            }
        }
    }
    let (old_parent, new_parent) = (old.and_then(Item::parent), new.and_then(Item::parent));
    if old_parent != new_parent {
        if let Some(parent) = old_parent
            && let Some(set) = children.get_mut(&parent)
        {
            set.remove(&id);
        }
        if let Some(parent) = new_parent {
            children.entry(parent).or_default().insert(id);
        }
    }
    let none = BTreeSet::new();
    let (old_deps, new_deps) = (old.map_or(&none, Item::deps), new.map_or(&none, Item::deps));
    if old_deps != new_deps {
        for on in old_deps.difference(new_deps) {
            if let Some(set) = dependents.get_mut(on) {
                set.remove(&id);
            }
        }
        for &on in new_deps.difference(old_deps) {
            dependents.entry(on).or_default().insert(id);
        }
    }
}

enum Guard<'a> {
    Read(RwLockReadGuard<'a, State>),
    Write(RwLockWriteGuard<'a, State>),
}

// The log lives for one transaction and holds a step or two; boxing the item would cost an
// allocation on every append.
#[allow(clippy::large_enum_variant)]
enum Undo {
    Append {
        id: ItemId,
        prev: Option<Item>,
    },
    NextId(u64),
    /// The append that stored a cycle: rolling it back makes the ranks usable again.
    Acyclic,
    /// A definition kept: the last one.
    Definition,
}

/// A transaction on a [`MemoryStore`]: the store's lock, and an undo log that rolls every
/// append back unless the transaction commits.
pub struct MemoryTx<'a> {
    guard: Guard<'a>,
    undo: Vec<Undo>,
    committed: bool,
}

impl std::fmt::Debug for MemoryTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTx")
            .field("writable", &matches!(self.guard, Guard::Write(_)))
            .field("items", &self.state().entries.len())
            .finish_non_exhaustive()
    }
}

impl MemoryTx<'_> {
    fn state(&self) -> &State {
        match &self.guard {
            Guard::Read(g) => g,
            Guard::Write(g) => g,
        }
    }

    fn state_mut(&mut self) -> &mut State {
        match &mut self.guard {
            // A read transaction is only ever lent as `&MemoryTx` (`Store::read`), and every
            // write takes `&mut self`: a write cannot reach a read guard.
            Guard::Read(_) => unreachable!("a read transaction is never lent mutably"),
            Guard::Write(g) => g,
        }
    }
}

impl Drop for MemoryTx<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let undo = std::mem::take(&mut self.undo);
        let Guard::Write(state) = &mut self.guard else {
            return;
        };
        for step in undo.into_iter().rev() {
            match step {
                Undo::Append { id, prev } => {
                    if let Some(entry) = state.entries.get_mut(&id) {
                        entry.events.pop();
                    }
                    state.feed.pop();
                    // A state before means the item stays, with the rest of its chain; none
                    // means the event created it, and it goes with its (now empty) chain.
                    match prev {
                        Some(prev) => {
                            state.put(prev);
                        }
                        None => state.remove(id),
                    }
                }
                Undo::NextId(n) => state.next_id = n,
                Undo::Acyclic => state.cyclic = false,
                Undo::Definition => {
                    if let Some(definition) = state.definitions.pop() {
                        state.by_source.remove(&definition.source);
                    }
                }
            }
        }
    }
}

impl Reader for MemoryTx<'_> {
    fn item(&self, id: ItemId) -> Result<Option<Item>, StoreError> {
        Ok(self.state().item(id).cloned())
    }

    fn items(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        let state = self.state();
        let limit = query.limit_filter().unwrap_or(usize::MAX);
        let pick = |ids: &mut dyn Iterator<Item = &ItemId>| -> Vec<Item> {
            ids.filter_map(|&id| state.item(id))
                .filter(|item| query.matches(item))
                .take(limit)
                .cloned()
                .collect()
        };
        let found = match (
            query.workflow_filter(),
            query.workstation_filter(),
            query.parent_filter(),
        ) {
            (_, _, Some(parent)) => pick(&mut state.children.get(&parent).into_iter().flatten()),
            (Some(workflow), Some(workstation), None) => pick(
                &mut state
                    .places
                    .get(workflow)
                    .and_then(|w| w.get(workstation))
                    .into_iter()
                    .flatten(),
            ),
            _ => state
                .entries
                .values()
                .map(|entry| &entry.item)
                .filter(|item| query.matches(item))
                .take(limit)
                .cloned()
                .collect(),
        };
        Ok(found)
    }

    fn count(&self, workflow: &str, workstation: &str) -> Result<usize, StoreError> {
        Ok(self
            .state()
            .places
            .get(workflow)
            .and_then(|w| w.get(workstation))
            .map_or(0, BTreeSet::len))
    }

    fn dependents(&self, id: ItemId) -> Result<Vec<ItemId>, StoreError> {
        Ok(self
            .state()
            .dependents
            .get(&id)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default())
    }

    fn deps(&self, id: ItemId) -> Result<Vec<ItemId>, StoreError> {
        Ok(self
            .state()
            .item(id)
            .map(|item| item.deps().iter().copied().collect())
            .unwrap_or_default())
    }

    fn dependency_rank(&self, id: ItemId) -> Result<Option<u64>, StoreError> {
        let state = self.state();
        Ok(if state.cyclic {
            None
        } else {
            state.rank_of(id)
        })
    }

    fn events(&self, id: ItemId, from: u64) -> Result<Vec<Event>, StoreError> {
        let events = self
            .state()
            .entries
            .get(&id)
            .map_or(&[][..], |entry| entry.events.as_slice());
        let skip = from.saturating_sub(1).min(events.len() as u64) as usize;
        Ok(events[skip..].to_vec())
    }

    fn item_ids(&self) -> Result<Vec<ItemId>, StoreError> {
        Ok(self.state().entries.keys().copied().collect())
    }

    fn events_since(&self, after: Position, limit: usize) -> Result<Vec<FeedEvent>, StoreError> {
        let state = self.state();
        let last = Position::new(0, state.feed.len() as u64);
        // Positions are `0.n`, up to the number of events.
        if after > last {
            return Err(StoreError::FeedAhead { after, last });
        }
        let from = usize::try_from(after.minor()).unwrap_or(usize::MAX);
        let fed = state.feed.get(from..).unwrap_or_default();
        Ok(fed
            .iter()
            .take(limit)
            .zip(from..)
            .filter_map(|(&(id, seq), i)| {
                let event = state.entries.get(&id)?.events.get((seq - 1) as usize)?;
                Some(FeedEvent::new(
                    Position::new(0, i as u64 + 1),
                    event.clone(),
                ))
            })
            .collect())
    }

    fn definition_text(&self, source: &Sha256Hash) -> Result<Option<StoredDefinition>, StoreError> {
        let state = self.state();
        Ok(state
            .by_source
            .get(source)
            .map(|&i| state.definitions[i].clone()))
    }

    fn has_definition_text(&self, source: &Sha256Hash) -> Result<bool, StoreError> {
        Ok(self.state().by_source.contains_key(source))
    }

    fn definition(&self, hash: &DefinitionHash) -> Result<Option<StoredDefinition>, StoreError> {
        Ok(self
            .state()
            .definitions
            .iter()
            .find(|d| d.definition == *hash || d.format1 == *hash)
            .cloned())
    }

    fn definitions(&self) -> Result<Vec<StoredDefinition>, StoreError> {
        let mut all = self.state().definitions.clone();
        // Stable: texts of one version stay in the order they were kept.
        all.sort_by(|a, b| (&a.workflow, a.version).cmp(&(&b.workflow, b.version)));
        Ok(all)
    }
}

impl Tx for MemoryTx<'_> {
    fn next_id(&mut self) -> Result<ItemId, StoreError> {
        let state = self.state_mut();
        let before = state.next_id;
        state.next_id += 1;
        self.undo.push(Undo::NextId(before));
        Ok(ItemId(before + 1))
    }

    fn append(&mut self, event: Event, item: Item) -> Result<(), StoreError> {
        let state = self.state_mut();
        let id = event.item();
        check_append(state.item(id), &event, &item)?;
        // An imported item with an id of its own: never hand that id out again.
        let bumped = (id.0 > state.next_id).then(|| std::mem::replace(&mut state.next_id, id.0));
        let was_cyclic = state.cyclic;
        let prev = state.put(item);
        let made_cyclic = !was_cyclic && state.cyclic;
        // `put` made the entry if there was none.
        state.feed.push((id, event.seq()));
        if let Some(entry) = state.entries.get_mut(&id) {
            entry.events.push(event);
        }
        if let Some(before) = bumped {
            self.undo.push(Undo::NextId(before));
        }
        self.undo.push(Undo::Append { id, prev });
        if made_cyclic {
            self.undo.push(Undo::Acyclic);
        }
        Ok(())
    }

    fn put_definition(&mut self, definition: &StoredDefinition) -> Result<(), StoreError> {
        check_definition(definition)?;
        let state = self.state_mut();
        if state.by_source.contains_key(&definition.source) {
            return Ok(());
        }
        state
            .by_source
            .insert(definition.source, state.definitions.len());
        state.definitions.push(definition.clone());
        self.undo.push(Undo::Definition);
        Ok(())
    }
}

impl Store for MemoryStore {
    type Tx<'a> = MemoryTx<'a>;

    fn write<R, E>(&self, mut f: impl FnMut(&mut MemoryTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        // Dropped last, after the transaction and its lock.
        let _entered = Entered::enter(self.id)?;
        let mut tx = MemoryTx {
            guard: Guard::Write(self.write_state()),
            undo: Vec::new(),
            committed: false,
        };
        let result = f(&mut tx);
        tx.committed = result.is_ok();
        result
    }

    fn read<R, E>(&self, mut f: impl FnMut(&MemoryTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        let _entered = Entered::enter(self.id)?;
        let tx = MemoryTx {
            guard: Guard::Read(self.read_state()),
            undo: Vec::new(),
            committed: true,
        };
        f(&tx)
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use workstream_core::{Store, StoreError};

    use super::MemoryStore;

    #[test]
    fn counting_inside_a_transaction_panics_with_a_message_rather_than_deadlocking() {
        let store = MemoryStore::new();
        let result = catch_unwind(AssertUnwindSafe(|| {
            store.write(|_| Ok::<_, StoreError>(store.len()))
        }));
        let panic = result.expect_err("counting inside a write must not return");
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        assert!(message.contains("would deadlock"), "{message}");
        // The store works afterwards.
        assert_eq!(store.len(), 0);
        assert_eq!(store.event_count(), 0);
    }
}
