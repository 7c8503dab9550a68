//! The SQLite [`Store`] of workstream: items and their hash-chained ledgers in one database
//! file, durable, safe under concurrent writers (threads and processes), and tamper-evident.
//!
//! ```
//! use workstream_core::{Actor, Engine, Move, NewItem, parse};
//! use workstream_store_sqlite::SqliteStore;
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
//! let dir = std::env::temp_dir().join(format!("workstream-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("todo.db");
//! # let _ = std::fs::remove_file(&path);
//!
//! let me = Actor::new("me", []);
//! let id = {
//!     let store = SqliteStore::open(&path)?;
//!     let engine = Engine::builder().store(store).workflow(workflow.clone()).build()?;
//!     let item = engine.create(&me, NewItem::of("todo"))?;
//!     engine.advance(item.id(), &me, Move::transition("finish"))?;
//!     item.id()
//! };
//! // Reopened, the file holds the item, its two events, and a chain that verifies.
//! let engine = Engine::builder().store(SqliteStore::open(&path)?).workflow(workflow).build()?;
//! assert_eq!(engine.item(id)?.workstation(), "done");
//! assert_eq!(engine.verify_all()?.events, 2);
//! # drop(engine);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What a database holds
//!
//! A table of events (one row per event, keyed by item and sequence number; the row holds
//! the event's canonical JSON, its previous hash, its hash and its place in the feed, the
//! order of commits that `Reader::events_since` lists), the projection of each
//! item's current state with the columns queries filter on (workflow, workstation, parent,
//! creation and update times, each indexed), the dependencies between items, and the id
//! counter. The schema is versioned (`PRAGMA user_version`) and the file is marked as a
//! workstream database (`PRAGMA application_id`). Opening a file written by a newer schema,
//! a SQLite file of another program, a damaged one (truncated, overwritten, or marked as ours
//! with a header that contradicts its tables), or a file that is not SQLite fails with an
//! [`OpenError`] that says which, names the file, gives SQLite's own reason where it has one,
//! and leaves the file untouched. An empty path is refused before SQLite sees it.
//!
//! # Transactions
//!
//! [`Store::write`] is one SQLite transaction begun with `BEGIN IMMEDIATE`: it takes the
//! database's write lock first, so the engine's reads, its checks, the event and the new
//! state commit together or not at all, and no other writer (thread or process) can change
//! what it read. A writer that finds the lock taken waits up to the busy timeout (5 seconds
//! unless [`Options`] says otherwise), then fails with [`StoreError::Busy`]. [`Store::read`] is a
//! read transaction: one consistent snapshot, which under write-ahead logging does not block
//! writers nor wait for them.
//!
//! Every append checks the event against the stored state
//! ([`check_append`](workstream_core::check_append)) and the stored state against
//! the events table: the chain's last row must be the state's sequence number and head,
//! and its content must hash to that head. An append onto a chain changed from outside is
//! refused.
//!
//! # Durability
//!
//! The database runs in write-ahead-log mode. [`Durability::Full`], the default, syncs the
//! log to disk on every commit (`synchronous=FULL`): a write that returned `Ok` survives an
//! application crash, an operating-system crash and a power loss. [`Durability::Normal`]
//! (`synchronous=NORMAL`) syncs only at checkpoints: an application crash still loses
//! nothing that committed, and the database is never corrupted, but an operating-system
//! crash or a power loss may roll back the last commits before it. It saves one fsync of
//! the disk per commit, which is most of a commit's time on a slow disk.
//!
//! # Connections
//!
//! A [`SqliteStore`] owns one connection behind a mutex: the transactions of one store run
//! one at a time. Several stores, or several processes, may open one file; SQLite's locks
//! serialize their writers.

mod error;
mod schema;
mod tx;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use workstream_core::{Entered, StoreId};
use workstream_core::{Event, Store, StoreError, StoredDefinition};

pub use error::OpenError;

/// An `items` row the upgrade from schema version 1 rewrote from its chain
/// ([`SqliteStore::replaced_rows`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplacedRow {
    /// The item.
    pub item: workstream_core::ItemId,
    /// Its state as the row held it (the serde JSON of an `Item`).
    pub state: String,
    /// Why it was rewritten.
    pub why: String,
}
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use tx::{Imported, SqliteTx};

/// How hard a commit works to survive a crash of the machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: every commit is on disk before the write returns. Nothing that
    /// returned `Ok` is lost, whatever crashes.
    #[default]
    Full,
    /// `synchronous=NORMAL`: the write-ahead log is synced at checkpoints, not at every
    /// commit. An application crash loses nothing; an operating-system crash or a power loss
    /// may drop the last commits (the database stays consistent, as of an earlier commit).
    Normal,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

/// How to open a database.
///
/// ```
/// use std::time::Duration;
/// use workstream_store_sqlite::{Durability, Options};
/// let options = Options::builder()
///     .durability(Durability::Normal)
///     .busy_timeout(Duration::from_secs(30))
///     .build();
/// assert_eq!(options.durability(), Durability::Normal);
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    durability: Durability,
    busy_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self::builder().build()
    }
}

/// Builds [`Options`]; every setting has a default.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct OptionsBuilder {
    options: Options,
}

impl OptionsBuilder {
    /// How hard a commit works to survive a crash of the machine; [`Durability::Full`]
    /// unless set.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.options.durability = durability;
        self
    }

    /// How long a writer waits for another connection's write lock before it fails with
    /// [`StoreError::Busy`]; 5 seconds unless set.
    pub fn busy_timeout(mut self, busy_timeout: Duration) -> Self {
        self.options.busy_timeout = busy_timeout;
        self
    }

    /// The options.
    pub fn build(self) -> Options {
        self.options
    }
}

impl Options {
    /// Starts from the defaults: [`Durability::Full`], a 5-second busy timeout.
    pub fn builder() -> OptionsBuilder {
        OptionsBuilder {
            options: Options {
                durability: Durability::default(),
                busy_timeout: Duration::from_secs(5),
            },
        }
    }

    /// The durability.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// The busy timeout.
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }
}

/// How messages name a database in memory.
const MEMORY: &str = ":memory:";

/// Items and their ledgers in a SQLite database.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
    options: Options,
    /// Marks this store's transactions on their thread, so a transaction begun inside
    /// another fails instead of deadlocking on the connection's mutex.
    id: StoreId,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` with the default [`Options`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, Options::default())
    }

    /// Opens (or creates) the database at `path`.
    ///
    /// An empty path is refused ([`OpenError::NoPath`]): SQLite would take it for a
    /// temporary database that vanishes when closed.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Self, OpenError> {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(OpenError::NoPath);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| OpenError::sqlite(&path.display().to_string(), Some(path), e))?;
        Self::setup(conn, Some(path.to_owned()), options)
    }

    /// A new database in memory, gone when the store is dropped; for tests.
    pub fn open_in_memory() -> Result<Self, OpenError> {
        let conn = Connection::open_in_memory().map_err(|e| OpenError::sqlite(MEMORY, None, e))?;
        Self::setup(conn, None, Options::default())
    }

    fn setup(
        mut conn: Connection,
        path: Option<PathBuf>,
        options: Options,
    ) -> Result<Self, OpenError> {
        let shown = path
            .as_deref()
            .map_or_else(|| MEMORY.to_owned(), |p| p.display().to_string());
        let fail = |e| OpenError::sqlite(&shown, path.as_deref(), e);
        conn.busy_timeout(options.busy_timeout).map_err(fail)?;
        schema::prepare(&mut conn, &shown, path.as_deref())?;
        conn.pragma_update(None, "synchronous", options.durability.pragma())
            .map_err(fail)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Self {
            conn: Mutex::new(conn),
            path,
            options,
            id: StoreId::new(),
        })
    }

    /// The database file, or `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The options it was opened with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Keeps many definitions and appends many events in one transaction: a bulk import of
    /// ledgers exported from another store ([`Reader::definitions`] and [`Reader::events`]
    /// there). Each definition's text must hash to its source; each event's hash must match
    /// its content, each must continue its item's chain (as stored, or as the events before
    /// it in `events` left it), and the workflow text it names must be kept (here already,
    /// or among `definitions`); items' states are rebuilt by replay. Nothing is written
    /// unless every definition and event is accepted.
    ///
    /// [`Reader::definitions`]: workstream_core::Reader::definitions
    /// [`Reader::events`]: workstream_core::Reader::events
    pub fn import(
        &self,
        definitions: impl IntoIterator<Item = StoredDefinition>,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<Imported, StoreError> {
        // This store runs a write's closure once (SQLite's write lock is taken first, so
        // there is nothing to retry), so the iterators can be handed over as they are.
        let mut input = Some((definitions, events));
        self.write(|tx| {
            let (definitions, events) = input.take().ok_or_else(|| {
                StoreError::Backend("an import's transaction was begun twice".into())
            })?;
            tx.import(definitions, events)
        })
    }

    /// The `items` rows the upgrade from schema version 1 rewrote from their chains, as they
    /// were (workstream 0.1 could store a float one ulp off in a row while its ledger kept the
    /// exact text), in the order they were rewritten.
    pub fn replaced_rows(&self) -> Result<Vec<ReplacedRow>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT item, state, replaced FROM replaced_rows ORDER BY rowid")
            .map_err(|e| error::store_error(e, self.options.busy_timeout()))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ReplacedRow {
                    item: workstream_core::ItemId(r.get::<_, i64>(0)?.max(0) as u64),
                    state: r.get(1)?,
                    why: r.get(2)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| error::store_error(e, self.options.busy_timeout()))?;
        Ok(rows)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A transaction rolls back when it is dropped, which happens while a panic unwinds,
        // so the connection behind a poisoned lock is consistent.
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if !conn.is_autocommit() {
            // A transaction left open by a failed commit or rollback: end it.
            let _ = conn.execute_batch("ROLLBACK");
        }
        conn
    }

    fn transaction<'c>(
        &self,
        conn: &'c mut Connection,
        behavior: TransactionBehavior,
    ) -> Result<rusqlite::Transaction<'c>, StoreError> {
        conn.transaction_with_behavior(behavior)
            .map_err(|e| error::store_error(e, self.options.busy_timeout))
    }
}

impl Store for SqliteStore {
    type Tx<'a> = SqliteTx<'a>;

    fn write<R, E>(&self, mut f: impl FnMut(&mut SqliteTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        let _entered = Entered::enter(self.id)?;
        let mut conn = self.lock();
        let txn = self.transaction(&mut conn, TransactionBehavior::Immediate)?;
        let mut tx = SqliteTx::new(&txn, true, self.options.busy_timeout);
        // A panic in `f` drops `txn`, which rolls back.
        let result = f(&mut tx);
        let broken = tx.is_broken();
        drop(tx);
        match result {
            Ok(_) if broken => {
                drop(txn);
                Err(StoreError::Backend(
                    "an append failed part-way and the transaction went on; it was rolled back"
                        .into(),
                )
                .into())
            }
            Ok(value) => {
                txn.commit()
                    .map_err(|e| error::store_error(e, self.options.busy_timeout))?;
                Ok(value)
            }
            Err(e) => Err(e),
        }
    }

    fn read<R, E>(&self, mut f: impl FnMut(&SqliteTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        let _entered = Entered::enter(self.id)?;
        let mut conn = self.lock();
        let txn = self.transaction(&mut conn, TransactionBehavior::Deferred)?;
        let tx = SqliteTx::new(&txn, false, self.options.busy_timeout);
        f(&tx)
    }
}
