//! The `Store` trait: where items and their ledgers are kept.
//!
//! A store keeps, per item, its chain of [`Event`]s and its current state (the projection,
//! an [`Item`]). The engine does every write inside [`Store::write`]: the reads a change
//! depends on, its checks, the append of its event and the update of the projection commit
//! together or not at all. Two writers can therefore never both move one item from the same
//! state: the second reads the first one's result, or its append is refused.
//!
//! The trait is small on purpose. `workstream-store-memory` is the reference implementation;
//! `testing` (feature `testing`) has the conformance suite every store runs.

use std::error::Error as StdError;
use std::hash::Hasher;

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};

use crate::audit::Finding;
use crate::clock::{saturating_add, saturating_sub};
use crate::item::{Item, ItemId};
use crate::ledger::{Event, StoredEvent};

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
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
    /// A write was attempted in a read-only transaction.
    #[error("this transaction is read-only")]
    ReadOnly,
    /// What the store holds cannot be read back as items and events.
    #[error("the store holds data it cannot read: {0}")]
    Corrupt(String),
    /// The store's backend failed (I/O, the database, …).
    #[error("the store failed: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

/// A half-open window of time, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The first instant in the window.
    pub start: DateTime<Utc>,
    /// The first instant after it.
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window `[start, end)`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self { start, end }
    }

    /// Whether `at` falls in the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// The `span` up to and including `now`: `[now - span, now]`.
    ///
    /// It never panics. A span reaching before the first instant chrono can represent starts
    /// the window at [`DateTime::<Utc>::MIN_UTC`]; a negative span counts as none (the
    /// window holds only `now`). The window ends one nanosecond after `now`, or at
    /// [`DateTime::<Utc>::MAX_UTC`] when `now` is that last instant (which is then left out).
    pub fn last(span: TimeDelta, now: DateTime<Utc>) -> Self {
        let start = saturating_sub(now, span.max(TimeDelta::zero()));
        Self::new(start, saturating_add(now, TimeDelta::nanoseconds(1)))
    }

    /// The calendar day of `now` at `offset` (use `FixedOffset::east_opt(0)` for UTC):
    /// from its midnight to the next.
    ///
    /// It never panics, whatever the offset. Near the ends of chrono's range a midnight may
    /// not be representable (the day's local date can even lie outside it); the window is
    /// then clamped to [`DateTime::<Utc>::MIN_UTC`] or [`DateTime::<Utc>::MAX_UTC`], so it
    /// still holds `now` unless `now` is the last instant.
    pub fn today(now: DateTime<Utc>, offset: FixedOffset) -> Self {
        let day = local_day(now, offset);
        Self::new(midnight(day, offset), midnight(day + 1, offset))
    }

    /// The week of `now` at `offset`, from Monday's midnight to the next Monday's.
    ///
    /// It never panics; near the ends of chrono's range it is clamped as
    /// [`today`](Self::today) is.
    pub fn this_week(now: DateTime<Utc>, offset: FixedOffset) -> Self {
        let day = local_day(now, offset);
        // 1970-01-01, day 0, was a Thursday: three days after a Monday.
        let monday = day - (day + 3).rem_euclid(7);
        Self::new(midnight(monday, offset), midnight(monday + 7, offset))
    }

    /// The calendar month of `now` at `offset`, from the midnight that starts its first day
    /// to the one that starts the next month's.
    ///
    /// It never panics; near the ends of chrono's range it is clamped as
    /// [`today`](Self::today) is.
    pub fn this_month(now: DateTime<Utc>, offset: FixedOffset) -> Self {
        let (year, month, _) = civil_from_days(local_day(now, offset));
        let first = days_from_civil(year, month, 1);
        let next = if month == 12 {
            days_from_civil(year + 1, 1, 1)
        } else {
            days_from_civil(year, month + 1, 1)
        };
        Self::new(midnight(first, offset), midnight(next, offset))
    }

    /// How long the window lasts.
    pub fn length(&self) -> TimeDelta {
        self.end - self.start
    }
}

const SECONDS_PER_DAY: i64 = 86_400;

/// The local day `now` falls on at `offset`, counted from 1970-01-01. The count is
/// computed in seconds, not with chrono's dates, so it exists even for the day just past
/// either end of chrono's calendar.
fn local_day(now: DateTime<Utc>, offset: FixedOffset) -> i64 {
    (now.timestamp() + i64::from(offset.local_minus_utc())).div_euclid(SECONDS_PER_DAY)
}

/// The instant local `day` starts at `offset`, clamped to the instants chrono can represent.
fn midnight(day: i64, offset: FixedOffset) -> DateTime<Utc> {
    let seconds = day * SECONDS_PER_DAY - i64::from(offset.local_minus_utc());
    DateTime::from_timestamp(seconds, 0).unwrap_or(if seconds < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// The day number (from 1970-01-01) of a date of the proleptic Gregorian calendar, for any
/// year (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    // Months counted from March, so the leap day ends the year.
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date (year, month, day) of a day number, the inverse of [`days_from_civil`]
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are small: 1..=31 and 1..=12.
    (year, month as u32, day as u32)
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

/// A fast [`Hasher`] for maps and sets keyed by [`ItemId`], for stores and the engine's own
/// graph searches: an id is one integer, and a multiply-rotate spreads integers well enough
/// for a hash table (as rustc's own hasher does), at a fraction of the cost of the default
/// SipHash. It is not resistant to chosen keys flooding one bucket on purpose; use it where
/// ids come from the store.
///
/// ```
/// use std::collections::HashMap;
/// use std::hash::BuildHasherDefault;
/// use workstream_core::ItemId;
/// use workstream_core::store::IdHasher;
///
/// let mut ranks: HashMap<ItemId, u64, BuildHasherDefault<IdHasher>> = HashMap::default();
/// ranks.insert(ItemId(7), 1);
/// assert_eq!(ranks.get(&ItemId(7)), Some(&1));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // The product's low bits depend only on the input's low bits, and a hash table picks
        // a bucket by its low bits: ids that share them (say, multiples of 2^16 chosen by an
        // importer) would all land in one bucket. The rotation brings the well-mixed high
        // bits down, as rustc's own hasher does.
        self.0.rotate_left(26)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
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

    /// An item's events from sequence number `from` on (1 for all), in order.
    fn events(&self, id: ItemId, from: u64) -> Result<Vec<Event>, StoreError>;

    /// The ids of every item, in order.
    fn item_ids(&self) -> Result<Vec<ItemId>, StoreError>;

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
    /// [`audit`](crate::audit::audit) calls it after walking every chain.
    fn check_storage(&self) -> Result<Vec<Finding>, StoreError> {
        Ok(Vec::new())
    }
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
}

/// Where items and their ledgers are kept.
pub trait Store: Send + Sync {
    /// The store's transaction.
    type Tx<'a>: Tx
    where
        Self: 'a;

    /// Runs `f` in one write transaction. When `f` returns `Ok`, everything it appended
    /// commits; when it returns `Err` (or panics), nothing does. Writers are serialized:
    /// what `f` reads cannot change before it commits.
    fn write<R, E>(&self, f: impl FnOnce(&mut Self::Tx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>;

    /// Runs `f` on a consistent read-only view. Appending in it fails with
    /// [`StoreError::ReadOnly`].
    fn read<R, E>(&self, f: impl FnOnce(&Self::Tx<'_>) -> Result<R, E>) -> Result<R, E>
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

    fn write<R, E>(&self, f: impl FnOnce(&mut Self::Tx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        S::write(self, f)
    }

    fn read<R, E>(&self, f: impl FnOnce(&Self::Tx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        S::read(self, f)
    }
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
        .any(|v| crate::item::deeper_than(v, crate::MAX_VALUE_DEPTH))
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
/// use workstream_core::store::{Entered, StoreId};
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::{BuildHasher, BuildHasherDefault};

    use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeDelta, Utc};

    use super::{IdHasher, Window};
    use crate::ItemId;

    const MIN: DateTime<Utc> = DateTime::<Utc>::MIN_UTC;
    const MAX: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;

    /// Instants at, near and far from both ends of chrono's range.
    fn instants() -> Vec<DateTime<Utc>> {
        let near = [
            TimeDelta::zero(),
            TimeDelta::nanoseconds(1),
            TimeDelta::seconds(1),
            TimeDelta::hours(1),
            TimeDelta::hours(23) + TimeDelta::minutes(59),
            TimeDelta::days(1),
            TimeDelta::days(2),
            TimeDelta::days(6),
            TimeDelta::days(8),
            TimeDelta::days(31),
            TimeDelta::days(40),
            TimeDelta::days(400),
        ];
        let mut at = vec![
            DateTime::<Utc>::UNIX_EPOCH,
            DateTime::<Utc>::UNIX_EPOCH - TimeDelta::nanoseconds(1),
            DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
                .unwrap()
                .to_utc(),
        ];
        for d in near {
            at.push(MIN + d);
            at.push(MAX - d);
        }
        at
    }

    fn offsets() -> Vec<FixedOffset> {
        [0, 1, -1, 3600, -3600, 5 * 3600 + 1800, 86_399, -86_399]
            .into_iter()
            .map(|s| FixedOffset::east_opt(s).unwrap())
            .collect()
    }

    fn spans() -> Vec<TimeDelta> {
        let spans = [
            TimeDelta::MAX,
            TimeDelta::MAX - TimeDelta::nanoseconds(1),
            TimeDelta::MIN,
            TimeDelta::MIN + TimeDelta::nanoseconds(1),
            TimeDelta::zero(),
            TimeDelta::nanoseconds(1),
            TimeDelta::hours(1),
            TimeDelta::days(7),
            TimeDelta::days(200_000 * 365),
        ];
        spans
            .iter()
            .chain(spans.iter().map(|d| -*d).collect::<Vec<_>>().iter())
            .copied()
            .collect()
    }

    /// The local date of `at` at `offset`, when chrono can represent it.
    fn local_date(at: DateTime<Utc>, offset: FixedOffset) -> Option<NaiveDate> {
        at.naive_utc().checked_add_offset(offset).map(|t| t.date())
    }

    fn well_formed(w: Window) {
        assert!(w.start <= w.end, "{w:?}");
        assert!((MIN..=MAX).contains(&w.start) && (MIN..=MAX).contains(&w.end));
    }

    #[test]
    fn last_saturates_at_both_ends() {
        for now in instants() {
            for span in spans() {
                let w = Window::last(span, now);
                well_formed(w);
                // `now` is in its own window unless nothing comes after it.
                assert_eq!(w.contains(now), now < MAX, "last({span}, {now})");
                if span >= TimeDelta::zero()
                    && let Some(start) = now.checked_sub_signed(span)
                {
                    assert_eq!(w.start, start, "last({span}, {now})");
                }
                if span > TimeDelta::zero() && now.checked_sub_signed(span).is_none() {
                    assert_eq!(w.start, MIN, "last({span}, {now})");
                }
                if span <= TimeDelta::zero() {
                    assert_eq!(w.start, now, "last({span}, {now})");
                }
            }
        }
    }

    #[test]
    fn calendar_windows_saturate_at_both_ends() {
        for now in instants() {
            for offset in offsets() {
                let windows = [
                    ("today", Window::today(now, offset), 1..=1),
                    ("this_week", Window::this_week(now, offset), 7..=7),
                    ("this_month", Window::this_month(now, offset), 28..=31),
                ];
                for (name, w, days) in windows {
                    well_formed(w);
                    // Clamping keeps `now` inside: the start only moves down to the first
                    // instant, the end only down to the last, which is after `now` unless
                    // `now` is the last instant itself.
                    assert_eq!(w.contains(now), now < MAX, "{name}({now}, {offset}): {w:?}");
                    // Away from the ends, nothing is clamped.
                    if w.start > MIN && w.end < MAX {
                        let length = w.length();
                        assert!(
                            days.contains(&length.num_days())
                                && length == TimeDelta::days(length.num_days()),
                            "{name}({now}, {offset}): {w:?}"
                        );
                        let local = w.start.with_timezone(&offset);
                        assert_eq!(local.time(), chrono::NaiveTime::MIN, "{name}: {w:?}");
                        let next = w.end.with_timezone(&offset);
                        assert_eq!(next.time(), chrono::NaiveTime::MIN, "{name}: {w:?}");
                        if name == "this_week" {
                            assert_eq!(local.weekday(), chrono::Weekday::Mon, "{w:?}");
                        }
                        if name == "this_month" {
                            assert_eq!((local.day(), next.day()), (1, 1), "{w:?}");
                        }
                    }
                    // When the local day is one chrono has, the window is the one its
                    // calendar gives.
                    if let Some(day) = local_date(now, offset)
                        && name == "today"
                    {
                        let start = day.and_time(chrono::NaiveTime::MIN);
                        if let Some(start) = start.checked_sub_offset(offset) {
                            assert_eq!(w.start, start.and_utc(), "{now} {offset}");
                        } else {
                            assert_eq!(w.start, MIN, "{now} {offset}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn calendar_windows_agree_with_chrono_across_its_range() {
        // Every 9,973rd day from the first to the last, at several offsets and times.
        let first = NaiveDate::MIN.num_days_from_ce();
        let last = NaiveDate::MAX.num_days_from_ce();
        for offset in offsets() {
            for ce in (first..=last).step_by(9_973).chain([first, last]) {
                let day = NaiveDate::from_num_days_from_ce_opt(ce).unwrap();
                for time in [(0, 0, 0), (12, 30, 0), (23, 59, 59)] {
                    let local = day.and_hms_opt(time.0, time.1, time.2).unwrap();
                    let Some(utc) = local.checked_sub_offset(offset) else {
                        continue;
                    };
                    let now = utc.and_utc();
                    let expect = |from: NaiveDate| {
                        from.and_time(chrono::NaiveTime::MIN)
                            .checked_sub_offset(offset)
                            .map_or(if from.year() < 0 { MIN } else { MAX }, |t| t.and_utc())
                    };
                    let monday = day.week(chrono::Weekday::Mon).checked_first_day();
                    let first_of_month = day.with_day(1).unwrap();
                    let w = Window::this_week(now, offset);
                    // A Monday before chrono's first day starts the week at the first instant.
                    assert_eq!(w.start, monday.map_or(MIN, expect), "{day} {offset}");
                    let w = Window::this_month(now, offset);
                    assert_eq!(w.start, expect(first_of_month), "{day} {offset}");
                    if let Some(next) = first_of_month.checked_add_months(chrono::Months::new(1)) {
                        assert_eq!(w.end, expect(next), "{day} {offset}");
                    }
                }
            }
        }
    }

    #[test]
    fn ids_that_share_their_low_bits_spread_over_buckets() {
        // 1,024 ids, multiples of 2^20: a table of 1,024 buckets picks by the hash's low ten
        // bits, which must not be the same for all of them.
        let hasher = BuildHasherDefault::<IdHasher>::default();
        let buckets: HashSet<u64> = (0..1024u64)
            .map(|k| hasher.hash_one(ItemId(k << 20)) & 1023)
            .collect();
        assert!(buckets.len() > 512, "{} buckets of 1024", buckets.len());
    }
}
