//! [`PostgresTx`]: reads and appends inside one PostgreSQL transaction.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};
use workstream_core::{
    Change, DefinitionHash, Event, FeedEvent, Finding, Item, ItemId, MAX_VALUE_DEPTH, Position,
    Problem, Query, Reader, ReplayError, Sha256Hash, StoreError, StoredDefinition, StoredEvent, Tx,
    chain_hash, check_append, check_definition, is_deeper_than,
};

use crate::error::{Failure, failure, store_error};
use crate::schema::{RELATIONS, quoted};

/// The statements of one store, with its schema's name in them.
#[derive(Debug)]
pub(crate) struct Sql {
    schema: String,
    item: String,
    items_any: String,
    last_event: String,
    bulk_events: String,
    bulk_created: String,
    bulk_updated: String,
    insert_created: String,
    append_update: String,
    dep_delete: String,
    dep_insert: String,
    next_id: String,
    count: String,
    dependents: String,
    deps: String,
    events: String,
    item_ids: String,
    events_since: String,
    last_position: String,
    has_definition: String,
    put_definition: String,
    definition_columns: String,
    items: String,
}

impl Sql {
    pub(crate) fn new(schema: &str) -> Self {
        let s = quoted(schema);
        Sql {
            schema: schema.to_owned(),
            item: format!("SELECT state FROM {s}.items WHERE id = $1"),
            items_any: format!("SELECT id, state FROM {s}.items WHERE id = ANY($1)"),
            bulk_events: format!(
                "INSERT INTO {s}.events (item, seq, body, prev, hash) SELECT * FROM \
                 unnest($1::bigint[], $2::bigint[], $3::text[], $4::bytea[], $5::bytea[])"
            ),
            bulk_created: format!(
                "INSERT INTO {s}.items (id, workflow, workstation, parent, created, updated, \
                 seq, head, state) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], \
                 $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bytea[], $9::text[])"
            ),
            bulk_updated: format!(
                "UPDATE {s}.items AS i SET workflow = u.workflow, workstation = u.workstation, \
                 parent = u.parent, updated = u.updated, seq = u.seq, head = u.head, \
                 state = u.state FROM unnest($1::bigint[], $2::text[], $3::text[], \
                 $4::bigint[], $5::bigint[], $6::bigint[], $7::bytea[], $8::text[], \
                 $9::bigint[], $10::bytea[]) AS u(id, workflow, workstation, parent, updated, seq, head, \
                 state, before, before_head) WHERE i.id = u.id AND i.seq = u.before \
                 AND i.head = u.before_head AND EXISTS (SELECT 1 FROM {s}.events h \
                 WHERE h.item = u.id AND h.seq = u.before AND h.hash = u.before_head \
                 AND sha256(h.prev || convert_to(h.body, 'UTF8')) = h.hash) RETURNING i.id"
            ),
            last_event: format!(
                "SELECT seq, prev, hash, body FROM {s}.events WHERE item = $1 \
                 ORDER BY seq DESC LIMIT 1"
            ),
            insert_created: format!(
                "WITH e AS (INSERT INTO {s}.events (item, seq, body, prev, hash) \
                 VALUES ($1, $2, $3, $4, $5)) \
                 INSERT INTO {s}.items (id, workflow, workstation, parent, created, updated, \
                 seq, head, state) VALUES ($1, $6, $7, $8, $9, $10, $2, $5, $11)"
            ),
            // The chain's head must be the event the state names (its sequence number and
            // hash, and its content must hash to it): an append onto a chain changed from
            // outside is refused. Checked here, in the write, by key, rather than by reading
            // the chain first. The state's row is updated first and the event inserted only
            // if it was: a writer that lost a race fails on the row (a serialization
            // failure, run again), so a taken event key means rows added from outside.
            append_update: format!(
                "WITH u AS (UPDATE {s}.items SET workflow = $6, workstation = $7, \
                 parent = $8, updated = $9, seq = $2, head = $5, state = $10 \
                 WHERE id = $1 AND seq = $11 AND head = $4 AND EXISTS (SELECT 1 FROM \
                 {s}.events h WHERE h.item = $1 AND h.seq = $11 AND h.hash = $4 \
                 AND sha256(h.prev || convert_to(h.body, 'UTF8')) = h.hash) RETURNING id) \
                 INSERT INTO {s}.events (item, seq, body, prev, hash) \
                 SELECT u.id, $2, $3, $4, $5 FROM u"
            ),
            dep_delete: format!("DELETE FROM {s}.deps WHERE item = $1 AND on_item = $2"),
            dep_insert: format!(
                "INSERT INTO {s}.deps (item, on_item) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            ),
            next_id: format!("SELECT nextval('{s}.item_ids')"),
            count: format!(
                "SELECT count(*) FROM {s}.items WHERE workflow = $1 AND workstation = $2"
            ),
            dependents: format!("SELECT item FROM {s}.deps WHERE on_item = $1 ORDER BY item"),
            deps: format!("SELECT on_item FROM {s}.deps WHERE item = $1 ORDER BY on_item"),
            events: format!(
                "SELECT seq, body, prev, hash FROM {s}.events WHERE item = $1 AND seq >= $2 \
                 ORDER BY seq"
            ),
            item_ids: format!("SELECT id FROM {s}.items ORDER BY id"),
            last_position: format!(
                "SELECT txid, n FROM {s}.events ORDER BY txid DESC, n DESC LIMIT 1"
            ),
            events_since: format!(
                "SELECT seq, body, prev, hash, txid, n, item FROM {s}.events \
                 WHERE (txid, n) > ($1, $2) AND txid < txid_snapshot_xmin(txid_current_snapshot()) \
                 ORDER BY txid, n LIMIT $3"
            ),
            has_definition: format!("SELECT 1 FROM {s}.definitions WHERE source = $1"),
            put_definition: format!(
                "INSERT INTO {s}.definitions \
                 (source, definition, format1, workflow, version, origin, text) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source) DO NOTHING"
            ),
            definition_columns: format!(
                "SELECT n, source, definition, format1, workflow, version, origin, text \
                 FROM {s}.definitions"
            ),
            items: format!("SELECT id, state FROM {s}.items WHERE true"),
        }
    }
}

/// What the store keeps between transactions: the workflow texts known to be kept (a kept
/// text is never removed, so a write need not ask again).
#[derive(Debug, Default)]
pub(crate) struct Known {
    pub(crate) texts: Mutex<HashSet<Sha256Hash>>,
}

impl Known {
    fn has(&self, source: &Sha256Hash) -> bool {
        self.texts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(source)
    }

    pub(crate) fn add(&self, sources: impl IntoIterator<Item = Sha256Hash>) {
        self.texts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(sources);
    }
}

/// The sequence number and head hash an item's stored row holds.
type StoredHead = (u64, Sha256Hash);

/// Appends not yet sent: the events in order, and each item's state after its last one.
#[derive(Default)]
struct Pending {
    events: Vec<Event>,
    /// Each item appended to, in the order first appended: the sequence number and head
    /// its stored row holds (`None` for an item created in the transaction) and its state
    /// now.
    items: Vec<(ItemId, Option<StoredHead>, Item)>,
    index: HashMap<ItemId, usize>,
}

impl Pending {
    fn add(&mut self, event: Event, item: &Item, before: Option<&Item>) {
        self.events.push(event);
        match self.index.get(&item.id()) {
            Some(&i) => self.items[i].2 = item.clone(),
            None => {
                self.index.insert(item.id(), self.items.len());
                self.items.push((
                    item.id(),
                    before.map(|b| (b.seq(), *b.head())),
                    item.clone(),
                ));
            }
        }
    }
}

/// A transaction on a [`PostgresStore`](crate::PostgresStore): a write transaction at
/// `SERIALIZABLE` (inside [`Store::write`](workstream_core::Store::write)) or a read-only
/// snapshot at `REPEATABLE READ` (inside [`Store::read`](workstream_core::Store::read)).
pub struct PostgresTx<'a> {
    tx: RefCell<Transaction<'a>>,
    statements: RefCell<&'a mut HashMap<String, Statement>>,
    sql: &'a Sql,
    known: &'a Known,
    writable: bool,
    busy_timeout: Duration,
    /// The items this write transaction read (each with its chain's head checked) or
    /// wrote, as they are in it: a second read of an item in one transaction returns what
    /// the first did (the snapshot and the transaction's own writes), so it is answered
    /// from here, without a round trip.
    cache: RefCell<HashMap<ItemId, Item>>,
    /// The appends not yet sent to the server: written together, in as few statements as
    /// possible, before the next read that could see them and before the commit.
    pending: RefCell<Pending>,
    /// The first failure of a statement in this transaction, which decides what becomes of
    /// it: run again, on another connection, or rolled back with an error.
    failure: Cell<Option<Failure>>,
    /// What the server or the client said of that failure.
    failure_words: RefCell<String>,
    /// The last event appended: (item, seq, hash), to find out whether a commit the
    /// connection broke under took place.
    appended: Cell<Option<(ItemId, u64, Sha256Hash)>>,
    /// The texts kept in this transaction, known kept once it commits.
    putting: RefCell<Vec<Sha256Hash>>,
}

impl std::fmt::Debug for PostgresTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresTx")
            .field("schema", &self.sql.schema)
            .field("writable", &self.writable)
            .field("failure", &self.failure.get())
            .finish_non_exhaustive()
    }
}

/// A parameter of a statement built at run time.
enum Param {
    Int(i64),
    Text(String),
}

impl<'a> PostgresTx<'a> {
    pub(crate) fn new(
        tx: Transaction<'a>,
        statements: &'a mut HashMap<String, Statement>,
        sql: &'a Sql,
        known: &'a Known,
        writable: bool,
        busy_timeout: Duration,
    ) -> Self {
        Self {
            tx: RefCell::new(tx),
            statements: RefCell::new(statements),
            sql,
            known,
            writable,
            busy_timeout,
            cache: RefCell::new(HashMap::new()),
            pending: RefCell::new(Pending::default()),
            failure: Cell::new(None),
            failure_words: RefCell::new(String::new()),
            appended: Cell::new(None),
            putting: RefCell::new(Vec::new()),
        }
    }

    /// The first failure of a statement, if any.
    pub(crate) fn failure(&self) -> Option<Failure> {
        self.failure.get()
    }

    /// What was said of the first failure (empty when there was none, or it was not
    /// PostgreSQL's).
    pub(crate) fn failure_words(&self) -> String {
        self.failure_words.borrow().clone()
    }

    /// The last event appended.
    pub(crate) fn appended(&self) -> Option<(ItemId, u64, Sha256Hash)> {
        self.appended.get()
    }

    /// Ends the transaction: commits it, handing back the texts it kept.
    pub(crate) fn commit(self) -> Result<Vec<Sha256Hash>, postgres::Error> {
        let putting = self.putting.into_inner();
        self.tx.into_inner().commit()?;
        Ok(putting)
    }

    /// Notes a failed statement and makes its error a [`StoreError`].
    fn fail(&self, e: postgres::Error) -> StoreError {
        let kind = failure(&e);
        if self.failure.get().is_none() {
            self.failure.set(Some(kind));
            *self.failure_words.borrow_mut() = crate::error::words(&e);
        }
        self.forget();
        match kind {
            Failure::Raced => StoreError::Busy {
                waited: Duration::ZERO,
            },
            _ => store_error(e, self.busy_timeout),
        }
    }

    /// A store error that is not PostgreSQL's, which also ends the transaction (a write
    /// that failed part-way must not commit).
    fn broken(&self, e: StoreError) -> StoreError {
        if self.failure.get().is_none() {
            self.failure.set(Some(Failure::Failed));
        }
        self.forget();
        e
    }

    /// Drops what the transaction remembers (after a failure, which ends it).
    fn forget(&self) {
        if let Ok(mut cache) = self.cache.try_borrow_mut() {
            cache.clear();
        }
        if let Ok(mut pending) = self.pending.try_borrow_mut() {
            *pending = Pending::default();
        }
    }

    /// Sends the pending appends: one statement for a single event, otherwise one for the
    /// events, one for the new items and one for the changed ones.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        if pending.events.is_empty() {
            return Ok(());
        }
        let written = match (&pending.events[..], &pending.items[..]) {
            ([event], [(_, before, item)]) => self.write_append(event, item, *before),
            _ => self.write_bulk(&pending),
        };
        // Whatever failed, the appends taken from `pending` are lost to this transaction,
        // which must therefore not commit.
        written.map_err(|e| self.broken(e))
    }

    fn write_bulk(&self, pending: &Pending) -> Result<(), StoreError> {
        let n = pending.events.len();
        let (mut items, mut seqs, mut bodies, mut prevs, mut hashes) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for event in &pending.events {
            let (Some(id), Some(seq)) = (key(event.item().0), key(event.seq())) else {
                return Err(self.broken(too_large(event.item(), event.seq())));
            };
            items.push(id);
            seqs.push(seq);
            bodies.push(event.canonical_json());
            prevs.push(event.prev().as_bytes().to_vec());
            hashes.push(event.hash().as_bytes().to_vec());
        }
        #[derive(Default)]
        struct Rows {
            id: Vec<i64>,
            workflow: Vec<String>,
            workstation: Vec<String>,
            parent: Vec<Option<i64>>,
            created: Vec<i64>,
            updated: Vec<i64>,
            seq: Vec<i64>,
            head: Vec<Vec<u8>>,
            state: Vec<String>,
            before: Vec<i64>,
            before_head: Vec<Vec<u8>>,
        }
        let (mut new, mut changed) = (Rows::default(), Rows::default());
        for (id, before, item) in &pending.items {
            let rows = if before.is_some() {
                &mut changed
            } else {
                &mut new
            };
            let (Some(k), Some(seq)) = (key(id.0), key(item.seq())) else {
                return Err(self.broken(too_large(*id, item.seq())));
            };
            let parent = match item.parent() {
                Some(p) => Some(key(p.0).ok_or_else(|| self.broken(too_large(p, 0)))?),
                None => None,
            };
            rows.id.push(k);
            rows.workflow.push(item.workflow().to_owned());
            rows.workstation.push(item.workstation().to_owned());
            rows.parent.push(parent);
            rows.created.push(instant_key(item.created()));
            rows.updated.push(instant_key(item.updated()));
            rows.seq.push(seq);
            rows.head.push(item.head().as_bytes().to_vec());
            rows.state.push(
                serde_json::to_string(item)
                    .map_err(|e| self.broken(StoreError::Backend(Box::new(e))))?,
            );
            rows.before
                .push(before.and_then(|(seq, _)| key(seq)).unwrap_or_default());
            rows.before_head
                .push(before.map_or_else(Vec::new, |(_, head)| head.as_bytes().to_vec()));
        }
        // The changed states first: a writer that lost a race fails there (a
        // serialization failure, run again) before its events meet the winner's keys.
        if !changed.id.is_empty() {
            let r = &changed;
            let rows = self.query(
                &self.sql.bulk_updated,
                &[
                    &r.id,
                    &r.workflow,
                    &r.workstation,
                    &r.parent,
                    &r.updated,
                    &r.seq,
                    &r.head,
                    &r.state,
                    &r.before,
                    &r.before_head,
                ],
            )?;
            if rows.len() != r.id.len() {
                // The items not updated: their chain or state is not what the appends
                // expected; the first one says why.
                let updated: HashSet<i64> =
                    rows.iter().filter_map(|row| row.try_get(0).ok()).collect();
                let missed = r.id.iter().find(|id| !updated.contains(id)).copied();
                return Err(match missed {
                    Some(id) => self.why_not_appended(ItemId(id.unsigned_abs())),
                    None => self.broken(StoreError::Corrupt(format!(
                        "{} of {} items' stored states were updated twice",
                        rows.len(),
                        r.id.len()
                    ))),
                });
            }
        }
        let written = self
            .execute(
                &self.sql.bulk_events,
                &[&items, &seqs, &bodies, &prevs, &hashes],
            )
            .map_err(|e| match unique_violation(&e) {
                Some(_) => StoreError::Corrupt(
                    "an appended event's key is already in the events table: rows were added \
                     to a chain outside workstream"
                        .to_owned(),
                ),
                None => e,
            })?;
        if written != n as u64 {
            return Err(self.broken(StoreError::Backend(
                format!("{written} of {n} events were written").into(),
            )));
        }
        if !new.id.is_empty() {
            let r = &new;
            let first_new = pending
                .events
                .iter()
                .find(|e| e.seq() == 1)
                .ok_or_else(|| self.broken(StoreError::Backend("no created event".into())))?;
            self.execute(
                &self.sql.bulk_created,
                &[
                    &r.id,
                    &r.workflow,
                    &r.workstation,
                    &r.parent,
                    &r.created,
                    &r.updated,
                    &r.seq,
                    &r.head,
                    &r.state,
                ],
            )
            .map_err(|e| match unique_violation(&e).as_deref() {
                // Which of the new ids was taken is in the error's detail.
                Some("items_pkey") => StoreError::IdReused {
                    item: taken_id(&e).unwrap_or(first_new.item()),
                },
                _ => e,
            })?;
        }
        Ok(())
    }

    fn statement(&self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self
            .tx
            .borrow_mut()
            .prepare(sql)
            .map_err(|e| self.fail(e))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let statement = self.statement(sql)?;
        self.tx
            .borrow_mut()
            .query(&statement, params)
            .map_err(|e| self.fail(e))
    }

    fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let statement = self.statement(sql)?;
        self.tx
            .borrow_mut()
            .query_opt(&statement, params)
            .map_err(|e| self.fail(e))
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        self.tx
            .borrow_mut()
            .execute(&statement, params)
            .map_err(|e| self.fail(e))
    }

    /// A statement of the audit, not kept prepared.
    fn query_once(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        self.tx
            .borrow_mut()
            .query(sql, params)
            .map_err(|e| self.fail(e))
    }

    /// The stored state of `id`, with the events table checked against it in a writable
    /// transaction.
    fn read_item(&self, id: ItemId) -> Result<Option<Item>, StoreError> {
        let Some(k) = key(id.0) else {
            return Ok(None);
        };
        match self.query_opt(&self.sql.item, &[&k])? {
            Some(row) => parse_item(id, &row, 0).map(Some),
            None => Ok(None),
        }
    }

    /// Why an append onto `id`'s chain changed no row: the chain's head is not the event its
    /// stored state names (changed outside workstream), or the state changed under the
    /// transaction.
    fn why_not_appended(&self, id: ItemId) -> StoreError {
        let explained = (|| {
            let k = key(id.0).ok_or_else(|| too_large(id, 0))?;
            let Some(item) = self.read_item(id)? else {
                return Ok(StoreError::Corrupt(format!(
                    "item {id}: its stored state vanished during the transaction"
                )));
            };
            let last = self
                .query_opt(&self.sql.last_event, &[&k])?
                .and_then(|row| last_event(&row, 0));
            Ok(match check_head(id, &item, last) {
                Err(e) => e,
                Ok(()) => StoreError::Corrupt(format!(
                    "item {id}: its stored state changed during the transaction"
                )),
            })
        })();
        self.broken(explained.unwrap_or_else(|e| e))
    }

    /// The kept definitions whose `column` holds `hash` (all of them for `None`), in the
    /// order they were kept.
    fn definitions_where(
        &self,
        filter: Option<(&str, &Sha256Hash)>,
        limit_one: bool,
    ) -> Result<Vec<StoredDefinition>, StoreError> {
        let limit = if limit_one { " LIMIT 1" } else { "" };
        let rows = match filter {
            Some((column, hash)) => {
                let sql = format!(
                    "{} WHERE {column} = $1 ORDER BY n{limit}",
                    self.sql.definition_columns
                );
                self.query(&sql, &[&hash.as_bytes().as_slice()])?
            }
            None => {
                let sql = format!("{} ORDER BY n", self.sql.definition_columns);
                self.query(&sql, &[])?
            }
        };
        rows.iter().map(definition_row).collect()
    }

    fn write_deps(&self, id: i64, before: Option<&Item>, item: &Item) -> Result<(), StoreError> {
        let empty = BTreeSet::new();
        let old = before.map_or(&empty, Item::deps);
        let new = item.deps();
        if old == new {
            return Ok(());
        }
        for on in old.difference(new) {
            let on = key(on.0).ok_or_else(|| too_large(*on, 0))?;
            self.execute(&self.sql.dep_delete, &[&id, &on])?;
        }
        for on in new.difference(old) {
            let on = key(on.0).ok_or_else(|| too_large(*on, 0))?;
            self.execute(&self.sql.dep_insert, &[&id, &on])?;
        }
        Ok(())
    }

    /// Writes `event` and makes `item` the item's state, in one statement; `before` is the
    /// sequence number and head the item's stored row holds (`None` for a new item).
    fn write_append(
        &self,
        event: &Event,
        item: &Item,
        before: Option<StoredHead>,
    ) -> Result<(), StoreError> {
        let (Some(id), Some(seq)) = (key(event.item().0), key(event.seq())) else {
            return Err(too_large(event.item(), event.seq()));
        };
        let body = event.canonical_json();
        let state = serde_json::to_string(item).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let parent = match item.parent() {
            Some(p) => Some(key(p.0).ok_or_else(|| too_large(p, 0))?),
            None => None,
        };
        let prev = event.prev().as_bytes().as_slice();
        let hash = event.hash().as_bytes().as_slice();
        let updated = instant_key(item.updated());
        let result = match before {
            None => {
                let created = instant_key(item.created());
                self.execute(
                    &self.sql.insert_created,
                    &[
                        &id,
                        &seq,
                        &body,
                        &prev,
                        &hash,
                        &item.workflow(),
                        &item.workstation(),
                        &parent,
                        &created,
                        &updated,
                        &state,
                    ],
                )
            }
            Some((before, _)) => {
                let before_seq = key(before).ok_or_else(|| too_large(item.id(), 0))?;
                self.execute(
                    &self.sql.append_update,
                    &[
                        &id,
                        &seq,
                        &body,
                        &prev,
                        &hash,
                        &item.workflow(),
                        &item.workstation(),
                        &parent,
                        &updated,
                        &state,
                        &before_seq,
                    ],
                )
            }
        };
        match result {
            Ok(1) => Ok(()),
            Ok(_) => Err(self.why_not_appended(item.id())),
            Err(e) => Err(key_taken(e, event)),
        }
    }
}

/// A unique violation on an append made a clear error: the item's id is taken (it was
/// handed out twice), or its chain holds an event with the appended key (rows added to it
/// outside workstream; a racing writer is reported as a serialization failure instead).
fn key_taken(e: StoreError, event: &Event) -> StoreError {
    match unique_violation(&e).as_deref() {
        Some("items_pkey") => StoreError::IdReused { item: event.item() },
        Some(_) => StoreError::Corrupt(format!(
            "item {}: the events table already holds an event with the key of an appended \
             event (up to event {}): rows were added to its chain outside workstream",
            event.item(),
            event.seq()
        )),
        None => e,
    }
}

/// The constraint a unique violation broke, if `e` is one.
fn unique_violation(e: &StoreError) -> Option<String> {
    let StoreError::Backend(source) = e else {
        return None;
    };
    let db = source.downcast_ref::<postgres::Error>()?.as_db_error()?;
    (*db.code() == SqlState::UNIQUE_VIOLATION)
        .then(|| db.constraint().unwrap_or_default().to_owned())
}

/// The last event row of a chain as stored: seq, prev, hash (each `None` when not 32
/// bytes) and body.
type LastEvent = (i64, Option<Sha256Hash>, Option<Sha256Hash>, Option<String>);

/// The last event row of an item's chain, from the columns at `at..at + 4` (seq, prev,
/// hash, body) of `row`; `None` when the chain is empty.
fn last_event(row: &Row, at: usize) -> Option<LastEvent> {
    let seq: Option<i64> = row.try_get(at).ok().flatten();
    let seq = seq?;
    let prev = row.try_get::<_, Option<Vec<u8>>>(at + 1).ok().flatten();
    let hash = row.try_get::<_, Option<Vec<u8>>>(at + 2).ok().flatten();
    let body = row.try_get::<_, Option<String>>(at + 3).ok().flatten();
    Some((seq, prev.and_then(hash32), hash.and_then(hash32), body))
}

/// Checks that the events table ends where the stored state says the item's chain ends: at
/// its sequence number, with its head hash, and that the last row's content hashes to that
/// head.
fn check_head(id: ItemId, item: &Item, last: Option<LastEvent>) -> Result<(), StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("item {id}: {what}"));
    let Some((seq, prev, hash, body)) = last else {
        return Err(corrupt(format!(
            "the stored state is at event {} but the events table holds none",
            item.seq()
        )));
    };
    if u64::try_from(seq).ok() != Some(item.seq()) || hash != Some(*item.head()) {
        return Err(corrupt(format!(
            "the stored state is at event {} ({}), but the events table ends at event {seq} \
             ({}); the chain was changed outside workstream",
            item.seq(),
            item.head(),
            hash.map_or_else(|| "no valid hash".to_owned(), |h| h.to_string()),
        )));
    }
    let intact = match (prev, body) {
        (Some(prev), Some(body)) => chain_hash(&prev, body.as_bytes()) == *item.head(),
        _ => false,
    };
    if !intact {
        return Err(corrupt(format!(
            "event {seq}, the head of the chain, does not hash to its stored hash; it was \
             changed outside workstream"
        )));
    }
    Ok(())
}

impl Reader for PostgresTx<'_> {
    fn item(&self, id: ItemId) -> Result<Option<Item>, StoreError> {
        if !self.writable {
            return self.read_item(id);
        }
        if let Some(item) = self.cache.borrow().get(&id) {
            return Ok(Some(item.clone()));
        }
        let item = self.read_item(id)?;
        if let Some(item) = &item {
            self.cache.borrow_mut().insert(id, item.clone());
        }
        Ok(item)
    }

    fn prefetch(&self, ids: &[ItemId]) -> Result<(), StoreError> {
        if !self.writable {
            return Ok(());
        }
        let wanted: Vec<i64> = {
            let cache = self.cache.borrow();
            ids.iter()
                .filter(|id| !cache.contains_key(id))
                .filter_map(|id| key(id.0))
                .collect()
        };
        if wanted.is_empty() {
            return Ok(());
        }
        let rows = self.query(&self.sql.items_any, &[&wanted])?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get(0).map_err(|e| self.fail(e))?;
            let id = ItemId(id.unsigned_abs());
            found.push((id, parse_item(id, row, 1)?));
        }
        self.cache.borrow_mut().extend(found);
        Ok(())
    }

    fn items(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        self.flush()?;
        let mut sql = self.sql.items.clone();
        let mut params: Vec<Param> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, value: Param| {
            params.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", params.len())));
        };
        if let Some(workflow) = query.workflow_filter() {
            arg(
                &mut sql,
                " AND workflow = ?",
                Param::Text(workflow.to_owned()),
            );
        }
        if let Some(workstation) = query.workstation_filter() {
            arg(
                &mut sql,
                " AND workstation = ?",
                Param::Text(workstation.to_owned()),
            );
        }
        if let Some(parent) = query.parent_filter() {
            let Some(parent) = key(parent.0) else {
                return Ok(Vec::new());
            };
            arg(&mut sql, " AND parent = ?", Param::Int(parent));
        }
        // The keys are a monotone function of the instants, so these bounds keep every row
        // in the window; `Query::matches` below makes the window exact.
        for (column, window) in [
            ("created", query.created_filter()),
            ("updated", query.updated_filter()),
        ] {
            if let Some(window) = window {
                arg(
                    &mut sql,
                    &format!(" AND {column} >= ?"),
                    Param::Int(instant_key(window.start)),
                );
                arg(
                    &mut sql,
                    &format!(" AND {column} <= ?"),
                    Param::Int(instant_key(window.end)),
                );
            }
        }
        sql.push_str(" ORDER BY id");
        let limit = query.limit_filter().unwrap_or(usize::MAX);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| match p {
                Param::Int(n) => n as &(dyn ToSql + Sync),
                Param::Text(t) => t as &(dyn ToSql + Sync),
            })
            .collect();
        let rows = self.query(&sql, &refs)?;
        let mut found = Vec::new();
        for row in &rows {
            let id: i64 = row.try_get(0).map_err(|e| self.fail(e))?;
            let item = parse_item(ItemId(id.unsigned_abs()), row, 1)?;
            if query.matches(&item) {
                found.push(item);
                if found.len() == limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    fn count(&self, workflow: &str, workstation: &str) -> Result<usize, StoreError> {
        self.flush()?;
        let rows = self.query(&self.sql.count, &[&workflow, &workstation])?;
        let n: i64 = rows
            .first()
            .and_then(|r| r.try_get(0).ok())
            .unwrap_or_default();
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn dependents(&self, id: ItemId) -> Result<Vec<ItemId>, StoreError> {
        self.ids(&self.sql.dependents, id)
    }

    fn deps(&self, id: ItemId) -> Result<Vec<ItemId>, StoreError> {
        self.ids(&self.sql.deps, id)
    }

    fn events(&self, id: ItemId, from: u64) -> Result<Vec<Event>, StoreError> {
        self.flush()?;
        let Some(k) = key(id.0) else {
            return Ok(Vec::new());
        };
        let from = key(from).unwrap_or(i64::MAX);
        let rows = self.query(&self.sql.events, &[&k, &from])?;
        rows.iter().map(|row| parse_event(id, row)).collect()
    }

    /// The events by `(txid, n)`, of transactions below the oldest still running: every
    /// transaction below it has ended, and every later one gets a higher number, so nothing
    /// can appear behind what this lists. A transaction left open holds the feed back until
    /// it ends.
    fn events_since(&self, after: Position, limit: usize) -> Result<Vec<FeedEvent>, StoreError> {
        self.flush()?;
        // A position beyond what a bigint holds lists nothing, and is then found to be past
        // the last event.
        let txid = key(after.major()).unwrap_or(i64::MAX);
        let n = key(after.minor()).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query(&self.sql.events_since, &[&txid, &n, &limit])?;
        if rows.is_empty() && limit > 0 {
            // Nothing follows: the position must not be past the last event stored.
            let last = self.query(&self.sql.last_position, &[])?;
            let last = last.first().map_or(Position::START, |row| {
                let txid: i64 = row.try_get(0).unwrap_or_default();
                let n: i64 = row.try_get(1).unwrap_or_default();
                Position::new(txid.unsigned_abs(), n.unsigned_abs())
            });
            if after > last {
                return Err(StoreError::FeedAhead { after, last });
            }
        }
        rows.iter()
            .map(|row| {
                let item: i64 = row.try_get(6).map_err(|e| self.fail(e))?;
                let txid: i64 = row.try_get(4).map_err(|e| self.fail(e))?;
                let n: i64 = row.try_get(5).map_err(|e| self.fail(e))?;
                let event = parse_event(ItemId(item.unsigned_abs()), row)?;
                Ok(FeedEvent::new(
                    Position::new(txid.unsigned_abs(), n.unsigned_abs()),
                    event,
                ))
            })
            .collect()
    }

    fn item_ids(&self) -> Result<Vec<ItemId>, StoreError> {
        self.flush()?;
        let rows = self.query(&self.sql.item_ids, &[])?;
        rows.iter()
            .map(|r| {
                r.try_get::<_, i64>(0)
                    .map(|id| ItemId(id.unsigned_abs()))
                    .map_err(|e| self.fail(e))
            })
            .collect()
    }

    /// The rows of the item's events: each event read from its `body`, filed under the row's
    /// `seq` column, with the body's exact text, which its hash is checked against.
    fn stored_events(&self, id: ItemId) -> Result<Vec<StoredEvent>, StoreError> {
        self.flush()?;
        let Some(k) = key(id.0) else {
            return Ok(Vec::new());
        };
        let rows = self.query(&self.sql.events, &[&k, &1i64])?;
        let mut events = Vec::new();
        for row in &rows {
            let seq: i64 = row.try_get(0).map_err(|e| self.fail(e))?;
            let Ok(seq) = u64::try_from(seq) else {
                return Err(StoreError::Corrupt(format!(
                    "item {id}: an event row's `seq` column holds {seq}, not a sequence number"
                )));
            };
            let event = parse_event(id, row)?;
            let body: String = row.try_get(1).map_err(|e| self.fail(e))?;
            events.push(StoredEvent {
                event,
                seq,
                body: Some(body),
            });
        }
        Ok(events)
    }

    fn definition_text(&self, source: &Sha256Hash) -> Result<Option<StoredDefinition>, StoreError> {
        self.definitions_where(Some(("source", source)), true)
            .map(|mut found| found.pop())
    }

    fn has_definition_text(&self, source: &Sha256Hash) -> Result<bool, StoreError> {
        if self.known.has(source) || self.putting.borrow().contains(source) {
            return Ok(true);
        }
        let found = self
            .query_opt(&self.sql.has_definition, &[&source.as_bytes().as_slice()])?
            .is_some();
        if found {
            // Seen in this transaction's snapshot, so committed.
            self.known.add([*source]);
        }
        Ok(found)
    }

    fn definition(&self, hash: &DefinitionHash) -> Result<Option<StoredDefinition>, StoreError> {
        for column in ["definition", "format1"] {
            if let Some(found) = self.definitions_where(Some((column, hash)), true)?.pop() {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn definitions(&self) -> Result<Vec<StoredDefinition>, StoreError> {
        let mut all = self.definitions_where(None, false)?;
        all.sort_by(|a, b| (&a.workflow, a.version).cmp(&(&b.workflow, b.version)));
        Ok(all)
    }

    /// Checks what the schema keeps beside the events and states: its relations, columns and
    /// indexes (none added, dropped or changed, no trigger or rule on its tables), its `meta`
    /// rows, keys that are not ids, each `items` row's columns against its state, the `deps`
    /// table against the states' dependencies, events whose item has no `items` row, and the
    /// id sequence against the ids stored.
    fn check_storage(&self) -> Result<Vec<Finding>, StoreError> {
        self.flush()?;
        let mut found = Vec::new();
        self.check_schema(&mut found)?;
        self.check_keys(&mut found)?;
        let seen = self.check_items_columns(&mut found)?;
        self.check_deps(&seen, &mut found)?;
        self.check_orphan_events(&mut found)?;
        self.check_counter(&mut found)?;
        self.check_feed(&mut found)?;
        Ok(found)
    }
}

/// The columns each table has: name, type and whether it may be null, in order.
const COLUMNS: &[(&str, &str)] = &[
    (
        "definitions",
        "n bigint NO, source bytea NO, definition bytea NO, format1 bytea NO, workflow text NO, \
         version bigint NO, origin text NO, text text NO",
    ),
    ("deps", "item bigint NO, on_item bigint NO"),
    (
        "events",
        "item bigint NO, seq bigint NO, body text NO, prev bytea NO, hash bytea NO, txid bigint \
         NO, n bigint NO",
    ),
    (
        "items",
        "id bigint NO, workflow text NO, workstation text NO, parent bigint YES, created bigint \
         NO, updated bigint NO, seq bigint NO, head bytea NO, state text NO",
    ),
    ("meta", "key text NO, value text NO"),
];

/// Each index: its definition as PostgreSQL prints it, with the schema's name left out.
const INDEXES: &[(&str, &str)] = &[
    (
        "events_feed",
        "CREATE UNIQUE INDEX events_feed ON events USING btree (txid, n)",
    ),
    (
        "definitions_definition",
        "CREATE INDEX definitions_definition ON definitions USING btree (definition, n)",
    ),
    (
        "definitions_format1",
        "CREATE INDEX definitions_format1 ON definitions USING btree (format1, n)",
    ),
    (
        "definitions_pkey",
        "CREATE UNIQUE INDEX definitions_pkey ON definitions USING btree (n)",
    ),
    (
        "definitions_source_key",
        "CREATE UNIQUE INDEX definitions_source_key ON definitions USING btree (source)",
    ),
    (
        "deps_on",
        "CREATE INDEX deps_on ON deps USING btree (on_item, item)",
    ),
    (
        "deps_pkey",
        "CREATE UNIQUE INDEX deps_pkey ON deps USING btree (item, on_item)",
    ),
    (
        "events_pkey",
        "CREATE UNIQUE INDEX events_pkey ON events USING btree (item, seq)",
    ),
    (
        "items_created",
        "CREATE INDEX items_created ON items USING btree (created)",
    ),
    (
        "items_parent",
        "CREATE INDEX items_parent ON items USING btree (parent) WHERE (parent IS NOT NULL)",
    ),
    (
        "items_pkey",
        "CREATE UNIQUE INDEX items_pkey ON items USING btree (id)",
    ),
    (
        "items_place",
        "CREATE INDEX items_place ON items USING btree (workflow, workstation)",
    ),
    (
        "items_updated",
        "CREATE INDEX items_updated ON items USING btree (updated)",
    ),
    (
        "meta_pkey",
        "CREATE UNIQUE INDEX meta_pkey ON meta USING btree (key)",
    ),
];

/// What the check of the `items` rows saw, for the checks after it.
#[derive(Default)]
struct Seen {
    /// Every dependency the states hold, as (item, on_item).
    deps: BTreeSet<(i64, i64)>,
    /// The rows whose state does not read.
    unread: BTreeSet<i64>,
}

impl PostgresTx<'_> {
    fn ids(&self, sql: &str, id: ItemId) -> Result<Vec<ItemId>, StoreError> {
        let Some(k) = key(id.0) else {
            return Ok(Vec::new());
        };
        let rows = self.query(sql, &[&k])?;
        rows.iter()
            .map(|r| {
                r.try_get::<_, i64>(0)
                    .map(|id| ItemId(id.unsigned_abs()))
                    .map_err(|e| self.fail(e))
            })
            .collect()
    }

    fn disagrees(found: &mut Vec<Finding>, what: String, stored: String, expected: String) {
        found.push(Finding::store(Problem::Disagrees {
            what,
            stored,
            expected,
        }));
    }

    /// The schema's relations, columns, indexes, triggers, rules and `meta` rows against
    /// those the store creates.
    fn check_schema(&self, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let schema = self.sql.schema.as_str();
        let rows = self.query_once(
            "SELECT c.relname::text, c.relkind::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 \
             ORDER BY c.relname",
            &[&schema],
        )?;
        let stored: Vec<(String, String)> = rows.iter().map(|r| (text(r, 0), text(r, 1))).collect();
        for (name, kind) in &stored {
            match RELATIONS.iter().find(|(n, _)| n == name) {
                None => Self::disagrees(
                    found,
                    "the schema".to_owned(),
                    format!("a relation `{name}` (kind {kind})"),
                    "no relation of that name".to_owned(),
                ),
                Some((_, want)) if !kind.starts_with(*want) => Self::disagrees(
                    found,
                    format!("the relation `{name}`"),
                    format!("kind {kind}"),
                    format!("kind {want}"),
                ),
                Some(_) => {}
            }
        }
        for (name, kind) in RELATIONS {
            if !stored.iter().any(|(n, _)| n == name) {
                Self::disagrees(
                    found,
                    "the schema".to_owned(),
                    format!("no relation `{name}`"),
                    format!("the relation `{name}` (kind {kind})"),
                );
            }
        }
        let rows = self.query_once(
            "SELECT table_name::text, string_agg(column_name || ' ' || data_type || ' ' || \
             is_nullable, ', ' ORDER BY ordinal_position) FROM information_schema.columns \
             WHERE table_schema = $1 GROUP BY table_name ORDER BY table_name",
            &[&schema],
        )?;
        for row in &rows {
            let table = text(row, 0);
            let columns = text(row, 1);
            if let Some((_, want)) = COLUMNS.iter().find(|(t, _)| *t == table)
                && columns != *want
            {
                Self::disagrees(
                    found,
                    format!("the columns of the table `{table}`"),
                    format!("`{columns}`"),
                    format!("`{want}`"),
                );
            }
        }
        let rows = self.query_once(
            "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = $1 \
             ORDER BY indexname",
            &[&schema],
        )?;
        let prefix = format!("{schema}.");
        for row in &rows {
            let name = text(row, 0);
            let def = text(row, 1).replace(&prefix, "");
            if let Some((_, want)) = INDEXES.iter().find(|(n, _)| *n == name)
                && def != *want
            {
                Self::disagrees(
                    found,
                    format!("the definition of the index `{name}`"),
                    format!("`{def}`"),
                    format!("`{want}`"),
                );
            }
        }
        let rows = self.query_once(
            "SELECT t.tgname::text, c.relname::text FROM pg_trigger t \
             JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND NOT t.tgisinternal \
             UNION ALL SELECT rulename::text, tablename::text FROM pg_rules WHERE schemaname = $1 \
             ORDER BY 1",
            &[&schema],
        )?;
        for row in &rows {
            let (name, table) = (text(row, 0), text(row, 1));
            Self::disagrees(
                found,
                format!("the table `{table}`"),
                format!("a trigger or rule `{name}`, which can change what is written"),
                "no trigger or rule".to_owned(),
            );
        }
        let rows = self.query_once(
            &format!(
                "SELECT key, value FROM {}.meta ORDER BY key",
                quoted(schema)
            ),
            &[],
        )?;
        let meta: HashMap<String, String> = rows.iter().map(|r| (text(r, 0), text(r, 1))).collect();
        for (key, want) in [
            ("application", crate::schema::APPLICATION.to_owned()),
            ("schema_version", crate::schema::SCHEMA_VERSION.to_string()),
        ] {
            let have = meta.get(key).cloned();
            if have.as_deref() != Some(want.as_str()) {
                Self::disagrees(
                    found,
                    format!("the `{key}` row of `meta`"),
                    have.map_or("no row".to_owned(), |v| format!("'{v}'")),
                    format!("'{want}'"),
                );
            }
        }
        Ok(())
    }

    /// Keys that cannot be ids or sequence numbers.
    fn check_keys(&self, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let s = quoted(&self.sql.schema);
        let checks = [
            (
                "an `events` row's key (item, seq)",
                format!("SELECT item, seq FROM {s}.events WHERE item < 1 OR seq < 1"),
            ),
            (
                "a `deps` row (item, on_item)",
                format!("SELECT item, on_item FROM {s}.deps WHERE item < 1 OR on_item < 1"),
            ),
            (
                "an `items` row's id",
                format!("SELECT id, NULL::bigint FROM {s}.items WHERE id < 1"),
            ),
        ];
        for (what, sql) in checks {
            for row in self.query_once(&sql, &[])? {
                let a: i64 = row.try_get(0).unwrap_or_default();
                let b: Option<i64> = row.try_get(1).unwrap_or_default();
                Self::disagrees(
                    found,
                    what.to_owned(),
                    b.map_or(a.to_string(), |b| format!("({a}, {b})")),
                    "positive integers".to_owned(),
                );
            }
        }
        Ok(())
    }

    /// Each `items` row's columns against the state it holds.
    fn check_items_columns(&self, found: &mut Vec<Finding>) -> Result<Seen, StoreError> {
        let s = quoted(&self.sql.schema);
        let rows = self.query_once(
            &format!(
                "SELECT id, workflow, workstation, parent, created, updated, seq, head, state \
                 FROM {s}.items WHERE id >= 1 ORDER BY id"
            ),
            &[],
        )?;
        let mut seen = Seen::default();
        for row in &rows {
            let Ok(id) = row.try_get::<_, i64>(0) else {
                continue;
            };
            let item_id = ItemId(id.unsigned_abs());
            let Ok(item) = parse_item(item_id, row, 8) else {
                seen.unread.insert(id);
                continue;
            };
            seen.deps.extend(
                item.deps()
                    .iter()
                    .filter_map(|on| key(on.0))
                    .map(|on| (id, on)),
            );
            let stored: [(&str, String, String); 7] = [
                ("workflow", shown(row, 1), format!("'{}'", item.workflow())),
                (
                    "workstation",
                    shown(row, 2),
                    format!("'{}'", item.workstation()),
                ),
                (
                    "parent",
                    shown(row, 3),
                    item.parent().map_or("NULL".to_owned(), |p| p.0.to_string()),
                ),
                (
                    "created",
                    shown(row, 4),
                    instant_key(item.created()).to_string(),
                ),
                (
                    "updated",
                    shown(row, 5),
                    instant_key(item.updated()).to_string(),
                ),
                ("seq", shown(row, 6), item.seq().to_string()),
                ("head", shown(row, 7), hex(item.head().as_bytes())),
            ];
            for (name, have, want) in stored {
                if have != want {
                    found.push(Finding::item(
                        item_id,
                        Problem::Disagrees {
                            what: format!("the `{name}` column of its `items` row"),
                            stored: have,
                            expected: want,
                        },
                    ));
                }
            }
        }
        Ok(seen)
    }

    /// The `deps` table against the dependencies the states hold.
    fn check_deps(&self, seen: &Seen, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let s = quoted(&self.sql.schema);
        let rows = self.query_once(
            &format!("SELECT item, on_item FROM {s}.deps WHERE item >= 1 AND on_item >= 1"),
            &[],
        )?;
        let stored: BTreeSet<(i64, i64)> = rows
            .iter()
            .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
            .collect();
        let named = |item: i64| ItemId(item.unsigned_abs());
        for &(item, on) in stored.difference(&seen.deps) {
            if seen.unread.contains(&item) {
                continue;
            }
            found.push(Finding::item(
                named(item),
                Problem::Disagrees {
                    what: "the `deps` table".to_owned(),
                    stored: format!("a dependency of #{item} on #{on}"),
                    expected: format!("#{item} does not depend on #{on}"),
                },
            ));
        }
        for &(item, on) in seen.deps.difference(&stored) {
            found.push(Finding::item(
                named(item),
                Problem::Disagrees {
                    what: "the `deps` table".to_owned(),
                    stored: format!("no dependency of #{item} on #{on}"),
                    expected: format!("#{item} depends on #{on}"),
                },
            ));
        }
        Ok(())
    }

    /// Events whose item has no `items` row.
    fn check_orphan_events(&self, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let s = quoted(&self.sql.schema);
        let rows = self.query_once(
            &format!(
                "SELECT e.item, count(*) FROM {s}.events e WHERE e.item >= 1 AND NOT EXISTS \
                 (SELECT 1 FROM {s}.items i WHERE i.id = e.item) GROUP BY e.item ORDER BY e.item"
            ),
            &[],
        )?;
        for row in &rows {
            let (item, events): (i64, i64) = (
                row.try_get(0).unwrap_or_default(),
                row.try_get(1).unwrap_or_default(),
            );
            found.push(Finding::item(
                ItemId(item.unsigned_abs()),
                Problem::NoState {
                    events: events.unsigned_abs(),
                },
            ));
        }
        Ok(())
    }

    /// The feed depends on the defaults of `txid` and `n` and on every stored `txid` being a
    /// transaction of this server's past: a schema restored into another server whose
    /// transaction numbers are lower would give new events places behind old ones.
    fn check_feed(&self, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let schema = self.sql.schema.as_str();
        let rows = self.query_once(
            "SELECT column_name::text, coalesce(column_default::text, '') FROM \
             information_schema.columns WHERE table_schema = $1 AND table_name = 'events' \
             AND column_name IN ('txid', 'n') ORDER BY column_name",
            &[&schema],
        )?;
        for row in &rows {
            let (column, default) = (text(row, 0), text(row, 1));
            let (want, ok) = match column.as_str() {
                "txid" => ("txid_current()", default == "txid_current()"),
                _ => (
                    "nextval of event_order",
                    default.starts_with("nextval(") && default.contains("event_order"),
                ),
            };
            if !ok {
                Self::disagrees(
                    found,
                    format!("the default of the column `events.{column}`"),
                    format!("`{default}`"),
                    format!("`{want}`"),
                );
            }
        }
        let s = quoted(schema);
        let rows = self.query_once(
            &format!(
                "SELECT count(*) FROM {s}.events \
                 WHERE txid >= txid_snapshot_xmax(txid_current_snapshot())"
            ),
            &[],
        )?;
        let future: i64 = rows.first().and_then(|r| r.try_get(0).ok()).unwrap_or(0);
        if future > 0 {
            Self::disagrees(
                found,
                "the `txid` column of `events` (the feed's order)".to_owned(),
                format!("{future} event(s) stamped with transaction numbers this server has not reached"),
                "numbers of this server's past transactions (was the schema restored into another server?)".to_owned(),
            );
        }
        Ok(())
    }

    /// The id sequence must hand out ids above every id stored.
    fn check_counter(&self, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let s = quoted(&self.sql.schema);
        let rows = self.query_once(
            &format!(
                "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END, \
                 greatest((SELECT max(id) FROM {s}.items), (SELECT max(item) FROM {s}.events), 0) \
                 FROM {s}.item_ids"
            ),
            &[],
        )?;
        let Some(row) = rows.first() else {
            Self::disagrees(
                found,
                "the item id sequence (`item_ids`)".to_owned(),
                "no value".to_owned(),
                "the last id handed out".to_owned(),
            );
            return Ok(());
        };
        let (last, highest): (i64, i64) = (
            row.try_get(0).unwrap_or_default(),
            row.try_get(1).unwrap_or_default(),
        );
        if last < highest {
            Self::disagrees(
                found,
                "the item id sequence (`item_ids`)".to_owned(),
                format!("{last} as the last id handed out"),
                format!("at least {highest}, the highest item id stored"),
            );
        }
        Ok(())
    }
}

/// What an import wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Imported {
    /// Items created or continued.
    pub items: usize,
    /// Events appended.
    pub events: usize,
}

impl PostgresTx<'_> {
    /// Keeps the definitions and appends the events, each checked: its hash against its
    /// content, its place in its chain, the text it names kept; states rebuilt by replay.
    /// The id sequence is then set past every id stored.
    pub(crate) fn import(
        &mut self,
        definitions: &[StoredDefinition],
        events: &[Event],
    ) -> Result<Imported, StoreError> {
        for definition in definitions {
            self.put_definition(definition)?;
        }
        let mut states: HashMap<ItemId, Item> = HashMap::new();
        let mut imported = Imported::default();
        for event in events {
            let (id, seq) = (event.item(), event.seq());
            if event.values().any(|v| is_deeper_than(v, MAX_VALUE_DEPTH)) {
                return Err(StoreError::TooDeep { item: id, seq });
            }
            if let Some(text) = event.source()
                && !self.has_definition_text(text)?
            {
                return Err(StoreError::Corrupt(format!(
                    "item {id}, event {seq}: it was written under the workflow text {text}, \
                     which neither the store nor the import keeps"
                )));
            }
            let computed = event.compute_hash();
            if computed != *event.hash() {
                return Err(StoreError::Corrupt(format!(
                    "item {id}, event {seq}: its content does not match its hash (stored {}, \
                     computed {computed})",
                    event.hash()
                )));
            }
            let before = match states.get(&id) {
                Some(state) => Some(state.clone()),
                None => self.item(id)?,
            };
            let replayed = |e: ReplayError| {
                StoreError::Corrupt(format!("the imported events do not replay: {e}"))
            };
            let state = match before {
                Some(mut state) => {
                    state.apply(event).map_err(replayed)?;
                    state
                }
                None => Item::replay([event]).map_err(replayed)?,
            };
            // `append` checks the event continues the chain as stored or as imported so far.
            self.append(event.clone(), state.clone())?;
            states.insert(id, state);
            imported.events += 1;
        }
        imported.items = states.len();
        self.flush()?;
        let s = quoted(&self.sql.schema);
        self.query(
            &format!(
                "SELECT setval('{s}.item_ids', greatest((SELECT max(id) FROM {s}.items), \
                 (SELECT last_value FROM {s}.item_ids)))"
            ),
            &[],
        )?;
        Ok(imported)
    }
}

impl Tx for PostgresTx<'_> {
    fn next_id(&mut self) -> Result<ItemId, StoreError> {
        let rows = self.query(&self.sql.next_id, &[])?;
        match rows.first().and_then(|r| r.try_get::<_, i64>(0).ok()) {
            Some(n) if n > 0 => Ok(ItemId(n.unsigned_abs())),
            _ => Err(StoreError::Corrupt(
                "the item id sequence (item_ids) gave no positive id".into(),
            )),
        }
    }

    fn append(&mut self, event: Event, item: Item) -> Result<(), StoreError> {
        let id = event.item();
        let cached = self.cache.get_mut().get(&id).cloned();
        let stored = match cached {
            Some(item) => Some(item),
            // A new id: the insert refuses one that is taken (`IdReused`), without a read.
            None if matches!(event.change(), Change::Created { .. }) => None,
            None => self.read_item(id)?,
        };
        check_append(stored.as_ref(), &event, &item)?;
        let (Some(k), Some(_)) = (key(id.0), key(event.seq())) else {
            return Err(too_large(id, event.seq()));
        };
        // Dependencies are written now; the event and the state wait for the next flush.
        self.write_deps(k, stored.as_ref(), &item)
            .map_err(|e| self.broken(e))?;
        self.appended.set(Some((id, event.seq(), *event.hash())));
        self.pending.get_mut().add(event, &item, stored.as_ref());
        self.cache.get_mut().insert(id, item);
        Ok(())
    }

    fn put_definition(&mut self, definition: &StoredDefinition) -> Result<(), StoreError> {
        check_definition(definition)?;
        let version = i64::from(definition.version);
        self.execute(
            &self.sql.put_definition,
            &[
                &definition.source.as_bytes().as_slice(),
                &definition.definition.as_bytes().as_slice(),
                &definition.format1.as_bytes().as_slice(),
                &definition.workflow,
                &version,
                &definition.origin,
                &definition.text,
            ],
        )?;
        self.putting.get_mut().push(definition.source);
        Ok(())
    }
}

/// An id or sequence number as a bigint; none above `i64::MAX` can be stored.
fn key(n: u64) -> Option<i64> {
    i64::try_from(n).ok()
}

fn too_large(item: ItemId, seq: u64) -> StoreError {
    StoreError::Backend(
        format!(
            "item {item}, event {seq}: ids and sequence numbers above {} cannot be stored in \
             PostgreSQL",
            i64::MAX
        )
        .into(),
    )
}

/// The index key of an instant: nanoseconds since the Unix epoch, clamped to an i64.
fn instant_key(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

fn hash32(bytes: Vec<u8>) -> Option<Sha256Hash> {
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    Some(Sha256Hash::from_bytes(bytes))
}

/// A text column of the catalogue, or empty when it does not read as text.
fn text(row: &Row, i: usize) -> String {
    row.try_get::<_, Option<String>>(i)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// A column as the audit shows it, whatever its type now: text in quotes, integers as they
/// are, bytes in hex, `NULL`.
fn shown(row: &Row, i: usize) -> String {
    if let Ok(v) = row.try_get::<_, Option<String>>(i) {
        return v.map_or("NULL".to_owned(), |t| format!("'{t}'"));
    }
    if let Ok(v) = row.try_get::<_, Option<i64>>(i) {
        return v.map_or("NULL".to_owned(), |n| n.to_string());
    }
    if let Ok(v) = row.try_get::<_, Option<Vec<u8>>>(i) {
        return v.map_or("NULL".to_owned(), |b| hex(&b));
    }
    "a value of another type".to_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A row of `definitions`: `n, source, definition, format1, workflow, version, origin, text`.
fn definition_row(row: &Row) -> Result<StoredDefinition, StoreError> {
    let n: i64 = row.try_get(0).unwrap_or(-1);
    let corrupt = || {
        StoreError::Corrupt(format!(
            "definition row {n} has a hash that is not 32 bytes or a version out of range"
        ))
    };
    let hash = |i| {
        row.try_get::<_, Vec<u8>>(i)
            .ok()
            .and_then(hash32)
            .ok_or_else(corrupt)
    };
    let text = |i| row.try_get::<_, String>(i).map_err(|_| corrupt());
    let version: i64 = row.try_get(5).map_err(|_| corrupt())?;
    Ok(StoredDefinition {
        source: hash(1)?,
        definition: hash(2)?,
        format1: hash(3)?,
        workflow: text(4)?,
        version: u32::try_from(version).map_err(|_| corrupt())?,
        origin: text(6)?,
        text: text(7)?,
    })
}

/// The state in column `at` of `row`.
fn parse_item(id: ItemId, row: &Row, at: usize) -> Result<Item, StoreError> {
    let text: String = row
        .try_get(at)
        .map_err(|_| StoreError::Corrupt(format!("item {id}: its stored state is not text")))?;
    let item: Item = serde_json::from_str(&text).map_err(|e| {
        StoreError::Corrupt(format!("item {id}: its stored state does not read: {e}"))
    })?;
    if item.id() != id {
        return Err(StoreError::Corrupt(format!(
            "the stored state in the row of item {id} is that of item {}",
            item.id()
        )));
    }
    Ok(item)
}

/// The event in a row of `SELECT seq, body, prev, hash FROM events`, rebuilt from what the
/// row holds, so a change to any column shows when its chain is verified.
fn parse_event(id: ItemId, row: &Row) -> Result<Event, StoreError> {
    let seq = row.try_get::<_, i64>(0).unwrap_or(-1);
    let corrupt = |what: &str| StoreError::Corrupt(format!("item {id}, event {seq}: {what}"));
    let text: String = row
        .try_get(1)
        .map_err(|_| corrupt("its body is not text"))?;
    let prev = row
        .try_get::<_, Vec<u8>>(2)
        .ok()
        .and_then(hash32)
        .ok_or_else(|| corrupt("its previous hash is not 32 bytes"))?;
    let hash = row
        .try_get::<_, Vec<u8>>(3)
        .ok()
        .and_then(hash32)
        .ok_or_else(|| corrupt("its hash is not 32 bytes"))?;
    Event::from_canonical(&text, prev, hash)
        .map_err(|e| corrupt(&format!("its body does not read as an event: {e}")))
}

/// The id in a unique violation's detail (`Key (id)=(7) already exists.`).
fn taken_id(e: &StoreError) -> Option<ItemId> {
    let StoreError::Backend(source) = e else {
        return None;
    };
    let detail = source
        .downcast_ref::<postgres::Error>()?
        .as_db_error()?
        .detail()?;
    let digits: String = detail
        .split("=(")
        .nth(1)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().map(ItemId)
}
