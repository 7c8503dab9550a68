//! The PostgreSQL [`Store`] of workstream: one hash-chained ledger shared by many
//! application instances (processes, hosts), with the guarantees of a single writer.
//!
//! ```no_run
//! use workstream_core::{Actor, Engine, Move, NewItem, parse};
//! use workstream_store_postgres::{Options, PostgresStore};
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
//! let store = PostgresStore::open_with(
//!     "postgres://app:secret@db.internal:5432/app",
//!     Options::builder().schema("todo_ledger").build(),
//! )?;
//! let engine = Engine::builder().store(store).workflow(workflow).build()?;
//! let me = Actor::new("me", []);
//! let item = engine.create(&me, NewItem::of("todo"))?;
//! engine.advance(item.id(), &me, Move::transition("finish"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What a schema holds
//!
//! The store keeps its tables in one schema (a PostgreSQL namespace, `workstream` unless
//! [`Options`] names another), so several applications can share a database: the events
//! (one row per event, keyed by item and sequence number, holding the event's canonical
//! JSON, its previous hash and its hash), the projection of each item's current state with
//! the columns queries filter on, the dependencies, the workflow texts, a sequence of item
//! ids and a `meta` table that marks the schema as workstream's and gives its version. The
//! store creates the schema and its tables, and migrates them when a newer build opens an
//! older schema. A schema written by a newer version, one holding another program's tables,
//! a database that keeps text in another encoding than UTF-8, a wrong password, an
//! unreachable server or a missing database: each is a clear [`OpenError`], and nothing is
//! changed.
//!
//! # Transactions, and why a write may run twice
//!
//! [`Store::write`] is one transaction at `SERIALIZABLE`, PostgreSQL's serializable snapshot
//! isolation: whatever the engine reads (the item, the WIP count of a workstation, the
//! dependency graph its cycle check walks, what a custom check reads) and writes commits as
//! if every writer of every process had run one after the other. Two writers never both
//! move an item from the same state, concurrent entries never exceed a WIP limit, and
//! concurrent dependencies never close a cycle. PostgreSQL finds such a conflict when it
//! happens and fails one of the transactions (a serialization failure, or a deadlock); the
//! store rolls it back and runs the closure again on what the other writer committed, after
//! a short random pause that grows with each attempt, for up to the busy timeout (5 seconds
//! unless [`Options`] says otherwise), then fails with [`StoreError::Busy`]. **A write's
//! closure may therefore run more than once**; the engine's closures only read and write
//! through their transaction. ARCHITECTURE.md says why serializable isolation was chosen
//! over explicit locks.
//!
//! [`Store::read`] is a read-only transaction at `REPEATABLE READ`: one consistent snapshot,
//! which neither blocks writers nor waits for them.
//!
//! Every append checks the event against the stored state
//! ([`check_append`](workstream_core::check_append)) and, in the append statement itself,
//! the stored state against the events table: the row at the state's sequence number must
//! carry the state's head and hash to it, and the appended event's key must be free. An
//! append onto a chain changed from outside is refused.
//!
//! # Faults
//!
//! The connections come from an [r2d2] pool. A connection the server closed (a restart, a
//! crash) is dropped from the pool, and the transaction is run again on a new one. While the
//! server is down, calls fail after the busy timeout with [`StoreError::Unavailable`]; when it
//! is back, the store reconnects by itself. A connection that breaks during `COMMIT` leaves
//! the outcome unknown to the client: the store then looks, on a new connection, for the
//! last event the transaction appended, and returns success if it is there, or runs the
//! transaction again if it is not ([`StoreError::CommitUnknown`] only when it cannot find
//! out in time). A client killed mid-transaction leaves nothing: the server rolls back a
//! transaction whose connection went away.
//!
//! # From async code
//!
//! The store's API is synchronous, on the `postgres` crate (the sync client of
//! rust-postgres), which runs its own small runtime and must not be called from inside an
//! async task. From tokio, run each call on the blocking pool:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use workstream_core::{Actor, Engine, Move, ItemId};
//! # use workstream_store_postgres::PostgresStore;
//! async fn finish(engine: Arc<Engine<PostgresStore>>, id: ItemId) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let me = Actor::new("me", []);
//!     tokio::task::spawn_blocking(move || engine.advance(id, &me, Move::transition("finish")))
//!         .await??;
//!     Ok(())
//! }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod pool;
mod schema;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod tx;

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use postgres::IsolationLevel;
use workstream_core::{
    Entered, Event, ItemId, Sha256Hash, Store, StoreError, StoreId, StoredDefinition,
};

pub use error::OpenError;
/// The `native-tls` crate, whose `TlsConnector` [`OptionsBuilder::tls`] takes (feature `tls`).
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use native_tls;
/// The `postgres` crate, whose [`Config`](postgres::Config) [`PostgresStore::connect`] takes.
pub use postgres;
pub use schema::{APPLICATION, SCHEMA_VERSION};
pub use tx::{Imported, PostgresTx};

use error::{Failure, failure, words};
use pool::{Backend, Conn, Manager};
use tx::{Known, Sql};

/// How to open a store.
///
/// ```
/// use std::time::Duration;
/// use workstream_store_postgres::Options;
/// let options = Options::builder()
///     .schema("billing_ledger")
///     .busy_timeout(Duration::from_secs(10))
///     .pool_size(16)
///     .build();
/// assert_eq!(options.schema(), "billing_ledger");
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    schema: String,
    busy_timeout: Duration,
    pool_size: u32,
    create_schema: bool,
    #[cfg(feature = "tls")]
    tls: Option<native_tls::TlsConnector>,
}

impl Default for Options {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl Options {
    /// Starts from the defaults: schema `workstream`, a 5-second busy timeout, a pool of 8
    /// connections, and the schema created when it is missing.
    pub fn builder() -> OptionsBuilder {
        OptionsBuilder {
            options: Options {
                schema: "workstream".to_owned(),
                busy_timeout: Duration::from_secs(5),
                pool_size: 8,
                create_schema: true,
                #[cfg(feature = "tls")]
                tls: None,
            },
        }
    }

    /// The schema the store keeps its tables in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// How long a call keeps trying.
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// The most connections the store opens.
    pub fn pool_size(&self) -> u32 {
        self.pool_size
    }

    /// Whether a missing schema is created.
    pub fn create_schema(&self) -> bool {
        self.create_schema
    }
}

/// Builds [`Options`]; every setting has a default.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct OptionsBuilder {
    options: Options,
}

impl OptionsBuilder {
    /// The schema (namespace) the store keeps its tables in; `workstream` unless set. A
    /// plain lowercase identifier: letters, digits and `_`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.options.schema = schema.into();
        self
    }

    /// How long a call keeps trying before it fails: waiting for a row lock another writer
    /// holds ([`StoreError::Busy`]), running a transaction again after it lost a race
    /// ([`StoreError::Busy`]), or waiting for the server to come back
    /// ([`StoreError::Unavailable`]); 5 seconds unless set.
    pub fn busy_timeout(mut self, busy_timeout: Duration) -> Self {
        self.options.busy_timeout = busy_timeout;
        self
    }

    /// The most connections the store keeps open at once; 8 unless set (at least 1).
    pub fn pool_size(mut self, pool_size: u32) -> Self {
        self.options.pool_size = pool_size.max(1);
        self
    }

    /// Whether to create the schema when it does not exist (`true` unless set). With
    /// `false`, a missing schema is [`OpenError::NoSchema`]; its tables are still created
    /// in an empty one.
    pub fn create_schema(mut self, create: bool) -> Self {
        self.options.create_schema = create;
        self
    }

    /// Connects over TLS with `connector` (feature `tls`): the server's certificate is checked
    /// as the connector says (by default, against the system's roots and the host name).
    /// Whether TLS is required is the connection string's `sslmode` (`prefer` unless it says
    /// `require`, or `disable`).
    ///
    /// ```no_run
    /// use workstream_store_postgres::native_tls::{Certificate, TlsConnector};
    /// use workstream_store_postgres::{Options, PostgresStore};
    /// let root = Certificate::from_pem(&std::fs::read("db-ca.pem")?)?;
    /// let tls = TlsConnector::builder().add_root_certificate(root).build()?;
    /// let store = PostgresStore::open_with(
    ///     "postgres://app:secret@db.internal/app?sslmode=require",
    ///     Options::builder().tls(tls).build(),
    /// )?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, connector: native_tls::TlsConnector) -> Self {
        self.options.tls = Some(connector);
        self
    }

    /// The options.
    pub fn build(self) -> Options {
        self.options
    }
}

/// What the store has done since it was opened: for benches and monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Write transactions asked for.
    pub writes: u64,
    /// Attempts run again after a serialization failure or a deadlock.
    pub retries: u64,
    /// Attempts run again because their connection broke.
    pub reconnects: u64,
}

/// Items and their ledgers in a PostgreSQL schema.
pub struct PostgresStore {
    pool: r2d2::Pool<Manager>,
    /// Makes connections outside the pool: to find out whether a commit took place while
    /// the attempt that made it still holds its pooled connection.
    direct: Manager,
    sql: Sql,
    known: Known,
    options: Options,
    server: String,
    id: StoreId,
    writes: AtomicU64,
    retries: AtomicU64,
    reconnects: AtomicU64,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("server", &self.server)
            .field("schema", &self.options.schema)
            .finish_non_exhaustive()
    }
}

/// The outcome of one attempt at a transaction.
enum Attempt<T> {
    /// Finished: this is the call's result.
    Done(T),
    /// Lost a race: run it again.
    Raced,
    /// The connection broke before the transaction could commit: run it again on another.
    Broken(String),
}

impl PostgresStore {
    /// Opens the store in schema `workstream` of the database a connection string names
    /// (`postgres://user:password@host:port/database` or `host=… user=… dbname=…`).
    pub fn open(url: &str) -> Result<Self, OpenError> {
        Self::open_with(url, Options::default())
    }

    /// Opens the store with `options`.
    pub fn open_with(url: &str, options: Options) -> Result<Self, OpenError> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| OpenError::BadUrl { message: words(&e) })?;
        Self::connect(config, options)
    }

    /// Opens the store with a [`postgres::Config`]. A connect timeout of 5 seconds is set
    /// when the configuration has none.
    pub fn connect(mut config: postgres::Config, options: Options) -> Result<Self, OpenError> {
        if !schema::valid_name(&options.schema) {
            return Err(OpenError::BadSchemaName {
                schema: options.schema,
            });
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("workstream");
        }
        // A server that stops answering (a network partition, a host gone) is noticed
        // within about the busy timeout rather than TCP's quarter of an hour: keepalives
        // on an idle connection, and a limit on unacknowledged data on a busy one.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(2))
            .keepalives_retries(3);
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(options.busy_timeout.max(Duration::from_secs(5)));
        }
        let server = describe(&config);
        let database = config.get_dbname().unwrap_or("").to_owned();
        let millis = options.busy_timeout.as_millis().max(1);
        let manager = Manager {
            config,
            // A lock wait ends at the busy timeout; a transaction left idle by a client that
            // hangs is ended by the server after a minute, so its locks do not stay taken.
            setup: format!(
                "SET lock_timeout = {millis}; SET idle_in_transaction_session_timeout = 60000"
            ),
            #[cfg(feature = "tls")]
            tls: options
                .tls
                .clone()
                .map(postgres_native_tls::MakeTlsConnector::new),
        };
        // The first connection is made here, so that a wrong password or an unreachable host
        // is an `OpenError` saying so.
        let mut first = manager
            .connect()
            .map_err(|e| OpenError::connecting(&server, &database, &e))?;
        schema::prepare(
            &mut first.client,
            &server,
            &options.schema,
            options.create_schema,
        )?;
        let direct = manager.clone();
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size)
            .min_idle(Some(0))
            .connection_timeout(options.busy_timeout)
            // A broken connection is found when it is used, and the transaction run again on
            // another; checking each one out with a query would cost a round trip per call.
            .test_on_check_out(false)
            .build_unchecked(manager);
        // The first connection joins the pool by being used once more through it: r2d2
        // makes its own; this one is closed.
        drop(first);
        Ok(Self {
            pool,
            direct,
            sql: Sql::new(&options.schema),
            known: Known::default(),
            options,
            server,
            id: StoreId::new(),
            writes: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
        })
    }

    /// The options it was opened with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The schema it keeps its tables in.
    pub fn schema(&self) -> &str {
        &self.options.schema
    }

    /// What it has done since it was opened.
    pub fn stats(&self) -> Stats {
        Stats {
            writes: self.writes.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
        }
    }

    /// A connection, waiting for one until `deadline`.
    fn connection(
        &self,
        deadline: Instant,
        started: Instant,
        last: &str,
    ) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.pool
            .get_timeout(left.max(Duration::from_millis(1)))
            .map_err(|e| StoreError::Unavailable {
                message: if last.is_empty() {
                    format!("{} at {}", e, self.server)
                } else {
                    format!("{last}; then {e} at {}", self.server)
                },
                waited: started.elapsed(),
            })
    }

    /// Runs attempts of a transaction until one finishes or the busy timeout passes.
    fn run<T>(&self, mut attempt: impl FnMut(&mut Conn) -> Attempt<T>) -> Result<T, StoreError> {
        let started = Instant::now();
        let deadline = started + self.options.busy_timeout;
        let mut tries: u32 = 0;
        let mut last = String::new();
        loop {
            let mut conn = self.connection(deadline, started, &last)?;
            match attempt(&mut conn) {
                Attempt::Done(value) => return Ok(value),
                Attempt::Raced => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    if Instant::now() >= deadline {
                        return Err(StoreError::Busy {
                            waited: started.elapsed(),
                        });
                    }
                }
                Attempt::Broken(why) => {
                    self.reconnects.fetch_add(1, Ordering::Relaxed);
                    last = why;
                    if Instant::now() >= deadline {
                        return Err(StoreError::Unavailable {
                            message: format!("{last} at {}", self.server),
                            waited: started.elapsed(),
                        });
                    }
                }
            }
            drop(conn);
            tries += 1;
            pause(tries, deadline);
        }
    }

    /// Whether event `seq` of `item` with `hash` is stored: after a commit whose connection
    /// broke, whether the commit took place. The server process that ran the commit may
    /// still be finishing it, so this waits, on a connection of its own, until that process
    /// is gone before it looks; it gives up at the busy timeout.
    fn committed(
        &self,
        (item, seq, hash): (ItemId, u64, Sha256Hash),
        backend: Backend,
    ) -> Result<bool, String> {
        let sql = format!(
            "SELECT hash FROM {}.events WHERE item = $1 AND seq = $2",
            schema::quoted(&self.options.schema)
        );
        let (Ok(item), Ok(seq)) = (i64::try_from(item.0), i64::try_from(seq)) else {
            return Ok(false);
        };
        let deadline = Instant::now() + self.options.busy_timeout;
        let mut tries = 0;
        let mut conn: Option<Conn> = None;
        loop {
            let found = (|| {
                if conn.as_ref().is_none_or(|c| c.client.is_closed()) {
                    conn = Some(self.direct.connect().map_err(|e| words(&e))?);
                }
                let Some(c) = conn.as_mut() else {
                    return Err("no connection".to_owned());
                };
                // The process that ran the commit may still be finishing it (the client's
                // side of the connection broke, not the server's). Ending it is safe: a
                // commit under way is not interrupted, and one not begun rolls back.
                let alive = c
                    .client
                    .query_opt(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE pid = $1 AND backend_start = $2",
                        &[&backend.pid, &backend.started],
                    )
                    .map_err(|e| words(&e))?
                    .is_some();
                if alive {
                    return Err(format!(
                        "the server process {} that ran the commit is still running",
                        backend.pid
                    ));
                }
                c.client
                    .query_opt(&sql, &[&item, &seq])
                    .map_err(|e| words(&e))
            })();
            match found {
                Ok(row) => {
                    let stored: Option<Vec<u8>> = row.and_then(|r| r.try_get(0).ok());
                    return Ok(stored.as_deref() == Some(hash.as_bytes().as_slice()));
                }
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => {
                    tries += 1;
                    pause(tries, deadline);
                }
            }
        }
    }
}

/// What a transaction's connection broke with, for the error the call ends with if it keeps
/// breaking.
fn broken_words(tx: &PostgresTx<'_>) -> String {
    let words = tx.failure_words();
    if words.is_empty() {
        "the connection broke".to_owned()
    } else {
        format!("the connection broke ({words})")
    }
}

/// Sleeps before attempt `tries + 1`: a random pause of up to 1 ms × 2^tries (at most
/// 100 ms), never past `deadline`.
fn pause(tries: u32, deadline: Instant) {
    let cap = Duration::from_micros(1000u64 << tries.min(7)).min(Duration::from_millis(100));
    let random = RandomState::new().hash_one((tries, Instant::now()));
    let wait = cap.mul_f64((random % 1000) as f64 / 1000.0);
    let left = deadline.saturating_duration_since(Instant::now());
    std::thread::sleep(wait.min(left));
}

/// Host, port and database, for messages (never the password).
fn describe(config: &postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}:{port}/{}",
        if hosts.is_empty() {
            "localhost".to_owned()
        } else {
            hosts.join(",")
        },
        config.get_dbname().unwrap_or("")
    )
}

impl PostgresStore {
    /// Keeps many definitions and appends many events in one transaction: a bulk import of
    /// ledgers exported from another store ([`Reader::definitions`] and [`Reader::events`]
    /// there). Each definition's text must hash to its source; each event's hash must match
    /// its content, each must continue its item's chain (as stored, or as the events before
    /// it in `events` left it), and the workflow text it names must be kept (here already,
    /// or among `definitions`); items' states are rebuilt by replay, and the id sequence is
    /// set past every id imported. Nothing is written unless every definition and event is
    /// accepted.
    ///
    /// [`Reader::definitions`]: workstream_core::Reader::definitions
    /// [`Reader::events`]: workstream_core::Reader::events
    pub fn import(
        &self,
        definitions: impl IntoIterator<Item = StoredDefinition>,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<Imported, StoreError> {
        // Collected first: a transaction that meets a serialization failure runs again.
        let definitions: Vec<StoredDefinition> = definitions.into_iter().collect();
        let events: Vec<Event> = events.into_iter().collect();
        self.write(|tx| tx.import(&definitions, &events))
    }
}

impl Store for PostgresStore {
    type Tx<'a> = PostgresTx<'a>;

    fn write<R, E>(&self, mut f: impl FnMut(&mut PostgresTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        let _entered = Entered::enter(self.id)?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        let busy = self.options.busy_timeout;
        let outcome = self.run(|conn| {
            let backend = conn.backend;
            let Conn {
                client, statements, ..
            } = conn;
            let txn = match client
                .build_transaction()
                .isolation_level(IsolationLevel::Serializable)
                .start()
            {
                Ok(txn) => txn,
                Err(e) => {
                    return match failure(&e) {
                        Failure::Broken => Attempt::Broken(words(&e)),
                        Failure::Raced => Attempt::Raced,
                        Failure::Failed => Attempt::Done(Err(E::from(error::store_error(e, busy)))),
                    };
                }
            };
            let mut tx = PostgresTx::new(txn, statements, &self.sql, &self.known, true, busy);
            let result = f(&mut tx);
            // The appends the transaction has not sent yet; a failure is noted in it.
            let flushed = match &result {
                Ok(_) => tx.flush(),
                Err(_) => Ok(()),
            };
            match tx.failure() {
                Some(Failure::Raced) => return Attempt::Raced,
                Some(Failure::Broken) => return Attempt::Broken(broken_words(&tx)),
                _ => {}
            }
            if let Err(e) = flushed {
                return Attempt::Done(Err(E::from(e)));
            }
            if result.is_ok() && tx.failure() == Some(Failure::Failed) {
                return Attempt::Done(Err(E::from(StoreError::Backend(
                    "a statement failed and the transaction went on; it was rolled back".into(),
                ))));
            }
            let value = match result {
                Ok(value) => value,
                // Dropping the transaction rolls it back.
                Err(e) => return Attempt::Done(Err(e)),
            };
            let appended = tx.appended();
            match tx.commit() {
                Ok(kept) => {
                    self.known.add(kept);
                    Attempt::Done(Ok(value))
                }
                Err(e) => match failure(&e) {
                    Failure::Raced => Attempt::Raced,
                    Failure::Failed => Attempt::Done(Err(E::from(error::store_error(e, busy)))),
                    Failure::Broken => match appended {
                        // Nothing was appended: running it again is harmless.
                        None => Attempt::Broken(words(&e)),
                        Some(last) => match self.committed(last, backend) {
                            Ok(true) => Attempt::Done(Ok(value)),
                            Ok(false) => Attempt::Broken(words(&e)),
                            Err(why) => Attempt::Done(Err(E::from(StoreError::CommitUnknown {
                                what: format!("event {} of item {}", last.1, last.0),
                                message: why,
                            }))),
                        },
                    },
                },
            }
        });
        match outcome {
            Ok(result) => result,
            Err(e) => Err(E::from(e)),
        }
    }

    fn read<R, E>(&self, mut f: impl FnMut(&PostgresTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        let _entered = Entered::enter(self.id)?;
        let busy = self.options.busy_timeout;
        let outcome = self.run(|conn| {
            let Conn {
                client, statements, ..
            } = conn;
            let txn = match client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
            {
                Ok(txn) => txn,
                Err(e) => {
                    return match failure(&e) {
                        Failure::Broken => Attempt::Broken(words(&e)),
                        Failure::Raced => Attempt::Raced,
                        Failure::Failed => Attempt::Done(Err(E::from(error::store_error(e, busy)))),
                    };
                }
            };
            let tx = PostgresTx::new(txn, statements, &self.sql, &self.known, false, busy);
            let result = f(&tx);
            match tx.failure() {
                Some(Failure::Raced) => Attempt::Raced,
                Some(Failure::Broken) => Attempt::Broken(broken_words(&tx)),
                Some(Failure::Failed) if result.is_ok() => {
                    Attempt::Done(Err(E::from(StoreError::Backend(
                        "a statement failed and the read went on; its result was dropped".into(),
                    ))))
                }
                // A read-only transaction has nothing to commit; dropping it ends it.
                _ => Attempt::Done(result),
            }
        });
        match outcome {
            Ok(result) => result,
            Err(e) => Err(E::from(e)),
        }
    }
}
