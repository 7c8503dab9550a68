//! The `Store` trait: where items and their ledgers are kept.

use std::error::Error as StdError;

use crate::chain::{Finding, StoredEvent};
use crate::definition::StoredDefinition;
use crate::feed::{FeedEvent, Position};
use crate::hash::{DefinitionHash, Sha256Hash};
use crate::item::{Item, ItemId};
use crate::ledger::Event;
use crate::window::Window;

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A feed position past the last event this store holds. Events are never removed, so
    /// no position this store gave can be past its end: the position comes from another
    /// store, or from a copy of this one that held more (restored from an older backup, or
    /// an operating-system crash under relaxed durability took back the last commits).
    #[error(
        "the feed position {after} is past the last event of this store ({last}): it comes from another store, or from a copy of this one that held more events"
    )]
    FeedAhead {
        /// The position asked from.
        after: Position,
        /// The store's last position ([`Position::START`] when it holds no events).
        last: Position,
    },
    /// The append does not continue the item's stored chain: another writer appended first,
    /// or the event was made from a stale state. Nothing was written.
    #[error(
        "item {item}: the event does not continue the stored chain (expected event {expected}, got {found}); another writer changed the item"
    )]
    Conflict {
        /// The item.
        item: ItemId,
        /// The sequence number the store expected next.
        expected: u64,
        /// The sequence number of the refused event.
        found: u64,
    },
    /// The event and the state offered with it do not agree (the state is not the event
    /// applied to the stored state). Nothing was written.
    #[error(
        "item {item}: the state offered with event {seq} is not that event applied to the stored state"
    )]
    Mismatch {
        /// The item.
        item: ItemId,
        /// The sequence number of the refused event.
        seq: u64,
    },
    /// A `created` event names an id the store already holds: the id was handed out twice,
    /// which the engine does only when a store's id counter was set back outside workstream
    /// (or a caller appended a `created` event of its own). Nothing was written.
    #[error(
        "item {item} already exists, but a `created` event was appended for its id: the id \
         was handed out twice (is the store's id counter behind the stored items, set back \
         outside workstream?)"
    )]
    IdReused {
        /// The id handed out twice.
        item: ItemId,
    },
    /// An appended event carries a value nested deeper than
    /// [`MAX_VALUE_DEPTH`](crate::MAX_VALUE_DEPTH), which a store could not read back.
    /// Nothing was written.
    #[error(
        "item {item}, event {seq}: a value in it is nested deeper than {} levels, more than \
         a store reads back; nothing was written",
        crate::MAX_VALUE_DEPTH
    )]
    TooDeep {
        /// The item.
        item: ItemId,
        /// The event's sequence number.
        seq: u64,
    },
    /// A transaction of this store was begun while another of the same store was open on
    /// the same thread: a check (or a `Store::write`/`Store::read` closure) called back into
    /// the engine or the store. Waiting would deadlock, so the inner call fails instead.
    #[error(
        "a transaction of this store is already open on this thread: a check or a store \
         closure called back into the engine or the store; use the `Reader` it was given"
    )]
    Reentered,
    /// The store stayed locked by another writer (another connection, process or host),
    /// or the write lost every race against other writers (a database that detects
    /// conflicts and runs the loser again), for longer than the store waits. Nothing was
    /// written; the write may be tried again.
    #[error(
        "the store stayed locked by other writers, or they won every race for it, for longer \
         than {waited:?}, the longest it waits; nothing was written"
    )]
    Busy {
        /// How long the store waited.
        waited: std::time::Duration,
    },
    /// The store's database could not be reached (the server is down, restarting or out of
    /// reach) for as long as the store waits for it. Nothing was written; the store
    /// reconnects by itself once the database is back.
    #[error(
        "the database could not be reached ({message}); waited {waited:?}. Nothing was \
         written; the store reconnects by itself when the database is back"
    )]
    Unavailable {
        /// What the connection failed with.
        message: String,
        /// How long the store tried.
        waited: std::time::Duration,
    },
    /// The connection broke while a transaction was committing and the store could not
    /// find out, within the time it waits, whether the commit took place. Read the item
    /// (its chain's head) to see.
    #[error(
        "the connection broke while committing {what}, and whether the commit took place \
         could not be checked ({message}); read the item to see"
    )]
    CommitUnknown {
        /// What was being committed (the last event appended).
        what: String,
        /// Why it could not be checked.
        message: String,
    },
    /// A definition offered to [`Tx::put_definition`] does not hash to the source it names.
    /// Nothing was written.
    #[error("a definition text hashes to {actual}, not to the source {named} it names")]
    DefinitionMismatch {
        /// The source the definition names.
        named: Sha256Hash,
        /// What its text hashes to.
        actual: Sha256Hash,
    },
    /// What the store holds cannot be read back as items and events.
    #[error("the store holds data it cannot read: {0}")]
    Corrupt(String),
    /// The store's backend failed (I/O, the database, …).
    #[error("the store failed: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

/// Which items to list. Every condition set must hold; items come in id order.
///
/// ```
/// use workstream_core::Query;
/// let q = Query::new().workflow("evaluation_task").workstation("review_pending");
/// assert_eq!(q.workstation_filter(), Some("review_pending"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    workflow: Option<String>,
    workstation: Option<String>,
    parent: Option<ItemId>,
    created: Option<Window>,
    updated: Option<Window>,
    limit: Option<usize>,
}

impl Query {
    /// Every item.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only items of this workflow (any version).
    pub fn workflow(mut self, name: impl Into<String>) -> Self {
        self.workflow = Some(name.into());
        self
    }
    /// Only items in this workstation.
    pub fn workstation(mut self, name: impl Into<String>) -> Self {
        self.workstation = Some(name.into());
        self
    }
    /// Only children of this item.
    pub fn parent(mut self, parent: ItemId) -> Self {
        self.parent = Some(parent);
        self
    }
    /// Only items created in the window.
    pub fn created_in(mut self, window: Window) -> Self {
        self.created = Some(window);
        self
    }
    /// Only items whose last event falls in the window.
    pub fn updated_in(mut self, window: Window) -> Self {
        self.updated = Some(window);
        self
    }
    /// At most this many items (the lowest ids).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The workflow condition.
    pub fn workflow_filter(&self) -> Option<&str> {
        self.workflow.as_deref()
    }
    /// The workstation condition.
    pub fn workstation_filter(&self) -> Option<&str> {
        self.workstation.as_deref()
    }
    /// The parent condition.
    pub fn parent_filter(&self) -> Option<ItemId> {
        self.parent
    }
    /// The creation window.
    pub fn created_filter(&self) -> Option<Window> {
        self.created
    }
    /// The last-event window.
    pub fn updated_filter(&self) -> Option<Window> {
        self.updated
    }
    /// The limit.
    pub fn limit_filter(&self) -> Option<usize> {
        self.limit
    }

    /// Whether `item` meets every condition but the limit; stores may use it to filter what
    /// their indexes return.
    pub fn matches(&self, item: &Item) -> bool {
        self.workflow
            .as_deref()
            .is_none_or(|w| w == item.workflow())
            && self
                .workstation
                .as_deref()
                .is_none_or(|w| w == item.workstation())
            && self.parent.is_none_or(|p| item.parent() == Some(p))
            && self.created.is_none_or(|w| w.contains(item.created()))
            && self.updated.is_none_or(|w| w.contains(item.updated()))
    }
}

/// Reads, inside a transaction (or a read-only snapshot).
///
/// Custom checks see the store through this trait, so it is object safe.
pub trait Reader {
    /// The current state of an item.
    fn item(&self, id: ItemId) -> Result<Option<Item>, StoreError>;

    /// The items that meet `query`, in id order.
    fn items(&self, query: &Query) -> Result<Vec<Item>, StoreError>;

    /// How many items of `workflow` are in `workstation`.
    fn count(&self, workflow: &str, workstation: &str) -> Result<usize, StoreError> {
        Ok(self
            .items(&Query::new().workflow(workflow).workstation(workstation))?
            .len())
    }

    /// The ids of the items that depend on `id`.
    fn dependents(&self, id: ItemId) -> Result<Vec<ItemId>, StoreError>;

    /// The ids of the items `id` depends on (none for an unknown id). Stores may answer
    /// from an index without reading the whole item.
    fn deps(&self, id: ItemId) -> Result<Vec<ItemId>, StoreError> {
        Ok(self
            .item(id)?
            .map(|item| item.deps().iter().copied().collect())
            .unwrap_or_default())
    }

    /// The item's rank in an order of the items the store keeps up to date as dependencies
    /// change, if it keeps one: whenever `a` depends on `b`, `b` ranks below `a` (a
    /// topological order, dependencies first). `None` when the store keeps no such order (the
    /// default) or has no rank for this item.
    ///
    /// The engine's cycle check uses it to bound its search: a new dependency of `a` on `b`
    /// that already agrees with the order (`b` ranks below `a`) cannot close a cycle, and any
    /// path that would close one only passes through ranks between the two. A store that
    /// reports ranks must keep them true for every dependency it stores, whoever wrote it.
    fn dependency_rank(&self, id: ItemId) -> Result<Option<u64>, StoreError> {
        let _ = id;
        Ok(None)
    }

    /// Reads `ids` ahead, in one go, for a transaction about to read them one at a time: a
    /// store over a network answers the later [`item`](Self::item) calls of the same
    /// transaction from what it fetched, saving a round trip each. Unknown ids are left
    /// out. The default does nothing (a local store reads an item as fast either way).
    fn prefetch(&self, ids: &[ItemId]) -> Result<(), StoreError> {
        let _ = ids;
        Ok(())
    }

    /// An item's events from sequence number `from` on (1 for all), in order.
    fn events(&self, id: ItemId, from: u64) -> Result<Vec<Event>, StoreError>;

    /// The ids of every item, in order.
    fn item_ids(&self) -> Result<Vec<ItemId>, StoreError>;

    /// The committed events after `after` in the store's feed, in feed order, at most
    /// `limit` of them ([`Position`]): every event exactly once, in one order fixed when it
    /// commits, in which no event is ever placed before one a reader has already been given.
    /// A reader that polls with the last position it handled, while writers commit, misses
    /// none and sees none twice.
    ///
    /// A store may list a committed event only once every transaction begun before it has
    /// ended (the PostgreSQL store does, so that none is ever placed behind one listed): a
    /// reader can lag a commit while other transactions are open, so an empty answer means
    /// "nothing to list yet", not "nothing will come". A position past the store's last event
    /// is refused with [`StoreError::FeedAhead`] (when nothing follows it).
    ///
    /// Meant for read views ([`Store::read`]); in a write transaction a store may or may not
    /// list that transaction's own events. A store that keeps no feed returns
    /// [`StoreError::Backend`] (the default); the stores of this workspace all keep one.
    fn events_since(&self, after: Position, limit: usize) -> Result<Vec<FeedEvent>, StoreError> {
        let _ = (after, limit);
        Err(StoreError::Backend(
            "this store keeps no feed of its events".into(),
        ))
    }

    /// An item's whole chain as the store keeps it, for verification: each event with the
    /// key the store files it under and, where the store keeps them, the exact bytes its
    /// hash was computed over ([`StoredEvent`]). A store that keeps events as bytes must
    /// return those bytes, so that verification hashes what is stored rather than a
    /// re-encoding of what was read. The default, for stores that keep the events
    /// themselves, returns [`events`](Self::events) as they are.
    fn stored_events(&self, id: ItemId) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self
            .events(id, 1)?
            .into_iter()
            .map(StoredEvent::kept)
            .collect())
    }

    /// Checks what the store keeps beside the events and the current states (columns and
    /// indexes that repeat them, dependency rows, the id counter, events whose item has no
    /// state) against them, and returns every disagreement. The engine decides on these
    /// (queries, WIP counts, cycle checks, new ids), so a store that keeps such copies must
    /// check them here. The default has nothing to check.
    ///
    /// [`audit`](crate::audit()) calls it after walking every chain.
    fn check_storage(&self) -> Result<Vec<Finding>, StoreError> {
        Ok(Vec::new())
    }

    /// The workflow text kept under `source` (the sha256 of the text).
    fn definition_text(&self, source: &Sha256Hash) -> Result<Option<StoredDefinition>, StoreError>;

    /// Whether a text is kept under `source`. Stores may answer without reading the text.
    fn has_definition_text(&self, source: &Sha256Hash) -> Result<bool, StoreError> {
        Ok(self.definition_text(source)?.is_some())
    }

    /// A kept text of the definition `hash` (its definition hash, or the hash workstream 0.1
    /// gave it), the first kept when there are several: they all decide the same moves.
    fn definition(&self, hash: &DefinitionHash) -> Result<Option<StoredDefinition>, StoreError>;

    /// Every kept text, by workflow, version and the order they were kept in.
    fn definitions(&self) -> Result<Vec<StoredDefinition>, StoreError>;
}

/// A write transaction: reads, and appends that commit together when the transaction ends
/// well.
pub trait Tx: Reader {
    /// A new item id, never handed out before (the id is used even if the transaction rolls
    /// back in some stores; ids are unique, not dense).
    fn next_id(&mut self) -> Result<ItemId, StoreError>;

    /// Appends `event` to its item's chain and makes `item` the item's current state.
    ///
    /// The store refuses, writing nothing, when the event does not continue the stored chain
    /// (its `seq` is not one past the stored one, or its `prev` is not the stored head):
    /// [`StoreError::Conflict`]. It also refuses when `item` does not carry the event's
    /// sequence number and hash: [`StoreError::Mismatch`].
    fn append(&mut self, event: Event, item: Item) -> Result<(), StoreError>;

    /// Keeps a workflow text under its source hash, once: a text already kept under that
    /// hash is left as it is. It commits with the transaction, so with the first event that
    /// names it.
    fn put_definition(&mut self, definition: &StoredDefinition) -> Result<(), StoreError>;
}

/// Where items and their ledgers are kept.
///
/// A store keeps, per item, its chain of [`Event`]s and its current state (the projection,
/// an [`Item`]). The engine does every write inside [`Store::write`]: the reads a change
/// depends on, its checks, the append of its event and the update of the projection commit
/// together or not at all. Two writers can therefore never both move one item from the same
/// state: the second reads the first one's result, or its append is refused.
///
/// The trait is small on purpose. `workstream-store-memory` is the reference implementation;
/// `testing` (feature `testing`) has the conformance suite every store runs.
pub trait Store: Send + Sync {
    /// The store's transaction.
    type Tx<'a>: Tx
    where
        Self: 'a;

    /// Runs `f` in one write transaction. When `f` returns `Ok`, everything it appended
    /// commits; when it returns `Err` (or panics), nothing does. Writers are serialized:
    /// what `f` reads cannot change before it commits.
    ///
    /// **`f` may run more than once.** A store whose database detects conflicts when they
    /// happen rather than by locking first (PostgreSQL at `SERIALIZABLE`) rolls an attempt
    /// back and runs `f` again in a new transaction, on what the other writer committed; so
    /// may a store whose connection broke before the attempt could commit. Only the last
    /// attempt's result is returned and only its writes commit. `f` must therefore do
    /// nothing but read and write through its transaction: no I/O of its own, no messages
    /// sent, no counters outside it changed. The engine's closures are of this kind.
    fn write<R, E>(&self, f: impl FnMut(&mut Self::Tx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>;

    /// Runs `f` on a consistent read-only view. The view is lent as `&Self::Tx`, and
    /// [`Tx`]'s writes take `&mut`, so nothing can be written through it. As with
    /// [`write`](Self::write), `f` may run more than once (a store may retry on a new
    /// connection), so it should only read.
    fn read<R, E>(&self, f: impl FnMut(&Self::Tx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>;
}

/// A store shared by several engines, as processes share a database file: an engine is
/// built once, so loading a new version of a workflow means a new engine over the same
/// store. Each engine holds a clone of the `Arc`; every call goes to the one store.
///
/// ```
/// use std::sync::Arc;
/// # use workstream_core::Store;
/// fn two_engines_one_store<S: Store + 'static>(store: S) -> (Arc<S>, Arc<S>) {
///     let shared = Arc::new(store);
///     // Each is a `Store` in its own right: `Engine::builder().store(...)` takes either.
///     (shared.clone(), shared)
/// }
/// ```
impl<S: Store + 'static> Store for std::sync::Arc<S> {
    type Tx<'a>
        = S::Tx<'a>
    where
        Self: 'a;

    fn write<R, E>(&self, f: impl FnMut(&mut Self::Tx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        S::write(self, f)
    }

    fn read<R, E>(&self, f: impl FnMut(&Self::Tx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        S::read(self, f)
    }
}

/// Checks a definition before a store keeps it: its text must hash to its source. Stores
/// call it in [`Tx::put_definition`].
pub fn check_definition(definition: &StoredDefinition) -> Result<(), StoreError> {
    let actual = Sha256Hash::of(definition.text.as_bytes());
    if actual != definition.source {
        return Err(StoreError::DefinitionMismatch {
            named: definition.source,
            actual,
        });
    }
    Ok(())
}

/// Checks an append against the stored head: the event must continue the chain (a `created`
/// event must name an id not stored yet), its values must be within
/// [`MAX_VALUE_DEPTH`](crate::MAX_VALUE_DEPTH), and the state must carry the event. Stores
/// call it before writing.
pub fn check_append(stored: Option<&Item>, event: &Event, item: &Item) -> Result<(), StoreError> {
    if stored.is_some() && matches!(event.change, crate::Change::Created { .. }) {
        return Err(StoreError::IdReused { item: event.item });
    }
    if event
        .values()
        .any(|v| crate::value::is_deeper_than(v, crate::MAX_VALUE_DEPTH))
    {
        return Err(StoreError::TooDeep {
            item: event.item,
            seq: event.seq,
        });
    }
    let (seq, head) = stored.map_or((0, crate::Sha256Hash::ZERO), |s| (s.seq(), *s.head()));
    if event.seq != seq + 1 || event.prev != head {
        return Err(StoreError::Conflict {
            item: event.item,
            expected: seq + 1,
            found: event.seq,
        });
    }
    if item.id() != event.item || item.seq() != event.seq || *item.head() != event.hash {
        return Err(StoreError::Mismatch {
            item: event.item,
            seq: event.seq,
        });
    }
    Ok(())
}

/// A store's identity for [`Entered`]: unique among every store made in the process, so two
/// stores never share one, whatever their addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StoreId(u64);

impl StoreId {
    /// A new identity, never handed out before in this process.
    pub fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Self(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl Default for StoreId {
    fn default() -> Self {
        Self::new()
    }
}

/// Marks a transaction of one store as open on this thread, so that a second transaction of
/// the same store begun on the same thread (a check calling back into the engine) fails with
/// [`StoreError::Reentered`] rather than waiting for a lock its own thread holds. A store
/// keeps a [`StoreId`], takes the mark before it locks, and holds it for the transaction. The
/// mark belongs to its thread: it cannot be sent to another.
///
/// ```
/// use workstream_core::StoreError;
/// use workstream_core::{Entered, StoreId};
/// let store = StoreId::new();
/// let outer = Entered::enter(store)?;
/// assert!(matches!(Entered::enter(store), Err(StoreError::Reentered)));
/// let _other = Entered::enter(StoreId::new())?; // another store is free
/// drop(outer);
/// let _again = Entered::enter(store)?;
/// # Ok::<(), StoreError>(())
/// ```
#[derive(Debug)]
#[must_use = "the mark lasts as long as the value"]
pub struct Entered {
    store: StoreId,
    /// Not `Send`: the mark is of this thread.
    _thread: std::marker::PhantomData<*const ()>,
}

thread_local! {
    /// The stores with a transaction open on this thread.
    static OPEN: std::cell::RefCell<Vec<StoreId>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Entered {
    /// Marks `store` as in a transaction on this thread, or fails with
    /// [`StoreError::Reentered`] when it already is.
    pub fn enter(store: StoreId) -> Result<Self, StoreError> {
        OPEN.with_borrow_mut(|open| {
            if open.contains(&store) {
                return Err(StoreError::Reentered);
            }
            open.push(store);
            Ok(Self {
                store,
                _thread: std::marker::PhantomData,
            })
        })
    }

    /// Whether `store` has a transaction open on this thread.
    pub fn is_open(store: StoreId) -> bool {
        OPEN.try_with(|open| open.borrow().contains(&store))
            .unwrap_or(false)
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        // `try_with`: a thread being torn down has no list left to clean.
        let _ = OPEN.try_with(|open| {
            let mut open = open.borrow_mut();
            if let Some(i) = open.iter().rposition(|&k| k == self.store) {
                open.swap_remove(i);
            }
        });
    }
}
