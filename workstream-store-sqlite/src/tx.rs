//! [`SqliteTx`]: reads and appends inside one SQLite transaction.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row, params};
use workstream_core::chain_hash;
use workstream_core::is_deeper_than;
use workstream_core::{
    Change, DefinitionHash, Event, FeedEvent, Finding, Item, ItemId, MAX_VALUE_DEPTH, Position,
    Problem, Query, Reader, Sha256Hash, StoreError, StoredDefinition, StoredEvent, Tx,
};
use workstream_core::{check_append, check_definition};

use crate::error::store_error;

/// A transaction on a [`SqliteStore`](crate::SqliteStore): a write transaction
/// (`BEGIN IMMEDIATE`, inside [`Store::write`](workstream_core::Store::write)) or a read-only
/// snapshot (inside [`Store::read`](workstream_core::Store::read)).
pub struct SqliteTx<'a> {
    conn: &'a Connection,
    writable: bool,
    busy_timeout: Duration,
    /// The last item this write transaction read or wrote, so an append right after the
    /// engine's read does not parse the stored state again. Nothing else writes while the
    /// transaction holds the write lock, and every append of this transaction updates it.
    recent: RefCell<Option<Recent>>,
    /// Set when an append failed after it began writing: the transaction must not commit.
    broken: Cell<bool>,
}

struct Recent {
    item: Item,
    /// Whether the events table's last row for the item was checked against its state in
    /// this transaction (or written by it).
    head_checked: bool,
}

impl std::fmt::Debug for SqliteTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx")
            .field("writable", &self.writable)
            .field("broken", &self.broken.get())
            .finish_non_exhaustive()
    }
}

impl<'a> SqliteTx<'a> {
    pub(crate) fn new(conn: &'a Connection, writable: bool, busy_timeout: Duration) -> Self {
        Self {
            conn,
            writable,
            busy_timeout,
            recent: RefCell::new(None),
            broken: Cell::new(false),
        }
    }

    /// Whether an append failed part-way, so the transaction must roll back.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken.get()
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        store_error(e, self.busy_timeout)
    }

    /// The kept definitions whose `column` holds `hash` (all of them for `None`), in the
    /// order they were kept.
    fn definitions_where(
        &self,
        filter: Option<(&str, &Sha256Hash)>,
    ) -> Result<Vec<StoredDefinition>, StoreError> {
        const COLUMNS: &str = "SELECT n, source, definition, format1, workflow, version, origin, \
                               text FROM definitions";
        let (sql, hash) = match filter {
            Some((column, hash)) => (
                format!("{COLUMNS} WHERE {column} = ?1 ORDER BY n"),
                Some(hash.as_bytes().to_vec()),
            ),
            None => (format!("{COLUMNS} WHERE ?1 IS NULL ORDER BY n"), None),
        };
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([hash]).map_err(|e| self.err(e))?;
        let mut found = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            found.push(definition_row(row)?);
        }
        Ok(found)
    }

    fn read_item(&self, id: ItemId) -> Result<Option<Item>, StoreError> {
        let Some(key) = key(id.0) else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT state FROM items WHERE id = ?1")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([key]).map_err(|e| self.err(e))?;
        match rows.next().map_err(|e| self.err(e))? {
            Some(row) => parse_item(id, row).map(Some),
            None => Ok(None),
        }
    }

    /// The stored state of `id`, checked against the events table ([`check_head`]).
    ///
    /// [`check_head`]: Self::check_head
    fn stored_head(&self, id: ItemId) -> Result<Option<Item>, StoreError> {
        let stored = self.read_item(id)?;
        self.check_head(id, stored.as_ref())?;
        Ok(stored)
    }

    /// Checks that the events table ends where the stored state `stored` says the item's
    /// chain ends: at its sequence number, with its head hash, and that the last row's
    /// content hashes to that head.
    fn check_head(&self, id: ItemId, stored: Option<&Item>) -> Result<(), StoreError> {
        let Some(k) = key(id.0) else {
            return Ok(());
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, prev, hash, body FROM events WHERE item = ?1 ORDER BY seq DESC LIMIT 1",
            )
            .map_err(|e| self.err(e))?;
        let last = stmt
            .query_row([k], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    blob32(row.get_ref(1)?),
                    blob32(row.get_ref(2)?),
                    row.get_ref(3)?.as_str().ok().map(str::to_owned),
                ))
            })
            .optional()
            .map_err(|e| self.err(e))?;
        let corrupt = |what: String| StoreError::Corrupt(format!("item {id}: {what}"));
        match (stored, last) {
            (None, None) => {}
            (None, Some((seq, ..))) => {
                return Err(corrupt(format!(
                    "the events table holds events (up to {seq}) but there is no stored state"
                )));
            }
            (Some(item), None) => {
                return Err(corrupt(format!(
                    "the stored state is at event {} but the events table holds none",
                    item.seq()
                )));
            }
            (Some(item), Some((seq, prev, hash, body))) => {
                if u64::try_from(seq).ok() != Some(item.seq()) || hash != Some(*item.head()) {
                    return Err(corrupt(format!(
                        "the stored state is at event {} ({}), but the events table ends at \
                         event {seq} ({}); the chain was changed outside workstream",
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
                        "event {seq}, the head of the chain, does not hash to its stored hash; \
                         it was changed outside workstream"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Writes `event` and makes `item` the item's state; `before` is the state stored before.
    /// The caller has checked that the event continues the chain.
    fn write_append(
        &self,
        event: &Event,
        body: &str,
        item: &Item,
        before: Option<&Item>,
    ) -> Result<(), StoreError> {
        self.write_event(event, body)?;
        self.write_item(item, before)
    }

    fn write_event(&self, event: &Event, body: &str) -> Result<(), StoreError> {
        let (Some(item), Some(seq)) = (key(event.item().0), key(event.seq())) else {
            return Err(too_large(event.item(), event.seq()));
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO events (item, seq, body, prev, hash, pos) VALUES (?1, ?2, ?3, ?4, ?5, \
                 (SELECT coalesce(max(pos), 0) + 1 FROM events))",
            )
            .map_err(|e| self.err(e))?;
        stmt.execute(params![
            item,
            seq,
            body,
            event.prev().as_bytes(),
            event.hash().as_bytes()
        ])
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn write_item(&self, item: &Item, before: Option<&Item>) -> Result<(), StoreError> {
        let (Some(id), Some(seq)) = (key(item.id().0), key(item.seq())) else {
            return Err(too_large(item.id(), item.seq()));
        };
        let state = serde_json::to_string(item).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let parent = item.parent().map(|p| key(p.0).ok_or(p)).transpose();
        let parent = parent.map_err(|p| too_large(p, 0))?;
        match before {
            None => {
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "INSERT INTO items (id, workflow, workstation, parent, created, updated, seq, head, state)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )
                    .map_err(|e| self.err(e))?;
                stmt.execute(params![
                    id,
                    item.workflow(),
                    item.workstation(),
                    parent,
                    instant_key(item.created()),
                    instant_key(item.updated()),
                    seq,
                    item.head().as_bytes(),
                    state,
                ])
                .map_err(|e| self.err(e))?;
            }
            Some(before) => {
                // Only the indexed columns that changed are set, so an event that does not
                // move the item or change its parent leaves those indexes' pages alone (each
                // page a commit touches is a page written to the log).
                let place = before.workstation() != item.workstation()
                    || before.workflow() != item.workflow();
                let parent_changed = before.parent() != item.parent();
                let sql = match (place, parent_changed) {
                    (false, false) => {
                        "UPDATE items SET updated = ?2, seq = ?3, head = ?4, state = ?5 WHERE id = ?1"
                    }
                    (true, false) => {
                        "UPDATE items SET updated = ?2, seq = ?3, head = ?4, state = ?5, workflow = ?6, workstation = ?7 WHERE id = ?1"
                    }
                    (false, true) => {
                        "UPDATE items SET updated = ?2, seq = ?3, head = ?4, state = ?5, parent = ?6 WHERE id = ?1"
                    }
                    (true, true) => {
                        "UPDATE items SET updated = ?2, seq = ?3, head = ?4, state = ?5, workflow = ?6, workstation = ?7, parent = ?8 WHERE id = ?1"
                    }
                };
                let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
                let updated = instant_key(item.updated());
                let head = item.head().as_bytes();
                let result = match (place, parent_changed) {
                    (false, false) => stmt.execute(params![id, updated, seq, head, state]),
                    (true, false) => stmt.execute(params![
                        id,
                        updated,
                        seq,
                        head,
                        state,
                        item.workflow(),
                        item.workstation()
                    ]),
                    (false, true) => stmt.execute(params![id, updated, seq, head, state, parent]),
                    (true, true) => stmt.execute(params![
                        id,
                        updated,
                        seq,
                        head,
                        state,
                        item.workflow(),
                        item.workstation(),
                        parent
                    ]),
                };
                let changed = result.map_err(|e| self.err(e))?;
                if changed != 1 {
                    return Err(StoreError::Corrupt(format!(
                        "item {}: its stored state vanished during the transaction",
                        item.id()
                    )));
                }
            }
        }

        let empty = BTreeSet::new();
        let old = before.map_or(&empty, Item::deps);
        let new = item.deps();
        if old != new {
            for on in old.difference(new) {
                let on = key(on.0).ok_or_else(|| too_large(*on, 0))?;
                self.conn
                    .prepare_cached("DELETE FROM deps WHERE item = ?1 AND on_item = ?2")
                    .and_then(|mut s| s.execute([id, on]))
                    .map_err(|e| self.err(e))?;
            }
            for on in new.difference(old) {
                let on = key(on.0).ok_or_else(|| too_large(*on, 0))?;
                self.conn
                    .prepare_cached("INSERT OR IGNORE INTO deps (item, on_item) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute([id, on]))
                    .map_err(|e| self.err(e))?;
            }
        }
        if before.is_none() {
            // An item new to this store (perhaps imported with an id of its own): never hand
            // its id out again.
            self.conn
                .prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'next_item' AND value < ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Runs `f`, marking the transaction broken (it will roll back) if `f` fails: `f` writes.
    fn writing<T>(&self, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        let result = f();
        if result.is_err() {
            self.broken.set(true);
            self.recent.replace(None);
        }
        result
    }

    /// Appends the events of an import, checking each one: its hash matches its content,
    /// and it continues its item's chain (stored, or imported before it). Each item's state
    /// is written once, at the end.
    pub(crate) fn import(
        &mut self,
        definitions: impl IntoIterator<Item = StoredDefinition>,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<Imported, StoreError> {
        self.recent.replace(None);
        for definition in definitions {
            self.put_definition(&definition)?;
        }
        // item → (state before the import, state now); in the order first seen.
        let mut touched: Vec<(Option<Item>, Item)> = Vec::new();
        let mut index: std::collections::HashMap<ItemId, usize> = Default::default();
        let mut imported = Imported::default();
        for event in events {
            // Before anything walks the values recursively: a store reads back only values
            // within the engine's limit.
            if event.values().any(|v| is_deeper_than(v, MAX_VALUE_DEPTH)) {
                let refused = StoreError::TooDeep {
                    item: event.item(),
                    seq: event.seq(),
                };
                // Taken apart without recursion: dropped as it is, it could overflow the stack.
                event.dismantle();
                return Err(refused);
            }
            if let Some(text) = event.source()
                && !self.has_definition_text(text)?
            {
                return Err(StoreError::Corrupt(format!(
                    "item {}, event {}: it was written under the workflow text {text}, which \
                     neither the store nor the import keeps",
                    event.item(),
                    event.seq()
                )));
            }
            let body = event.canonical_json();
            let computed = chain_hash(event.prev(), body.as_bytes());
            if computed != *event.hash() {
                return Err(StoreError::Corrupt(format!(
                    "item {}, event {}: its content does not match its hash (stored {}, computed {computed})",
                    event.item(),
                    event.seq(),
                    event.hash()
                )));
            }
            let slot = match index.get(&event.item()) {
                Some(&i) => Some(i),
                None => {
                    let before = self.stored_head(event.item())?;
                    match before {
                        Some(before) => {
                            touched.push((Some(before.clone()), before));
                            index.insert(event.item(), touched.len() - 1);
                            Some(touched.len() - 1)
                        }
                        None => None,
                    }
                }
            };
            match slot {
                Some(_) if matches!(event.change(), &Change::Created { .. }) => {
                    return Err(StoreError::IdReused { item: event.item() });
                }
                Some(i) => {
                    let state = &mut touched[i].1;
                    let expected = state.seq() + 1;
                    if event.seq() != expected || *event.prev() != *state.head() {
                        return Err(StoreError::Conflict {
                            item: event.item(),
                            expected,
                            found: event.seq(),
                        });
                    }
                    state.apply(&event).map_err(|e| {
                        StoreError::Corrupt(format!("the imported events do not replay: {e}"))
                    })?;
                }
                None => {
                    check_created(&event)?;
                    let item = Item::replay([&event]).map_err(|e| {
                        StoreError::Corrupt(format!("the imported events do not replay: {e}"))
                    })?;
                    touched.push((None, item));
                    index.insert(event.item(), touched.len() - 1);
                }
            }
            self.writing(|| self.write_event(&event, &body))?;
            imported.events += 1;
        }
        for (before, item) in &touched {
            self.writing(|| self.write_item(item, before.as_ref()))?;
        }
        imported.items = touched.len();
        Ok(imported)
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

fn check_created(event: &Event) -> Result<(), StoreError> {
    if event.seq() != 1 || *event.prev() != Sha256Hash::ZERO {
        return Err(StoreError::Conflict {
            item: event.item(),
            expected: 1,
            found: event.seq(),
        });
    }
    if !matches!(event.change(), &Change::Created { .. }) {
        return Err(StoreError::Corrupt(format!(
            "item {}: its first event is not `created`",
            event.item()
        )));
    }
    Ok(())
}

/// Rewrites every item's row whose chain verifies but whose replay differs from it, keeping
/// the row it replaced in `replaced_rows`: the upgrade from schema version 1, whose writer
/// (workstream 0.1) could store a float one ulp off in a row while its ledger kept the exact
/// text. A chain that does not verify is left as it is, for the audit to name. Returns how
/// many rows were rewritten.
pub(crate) fn rebuild_rows(conn: &Connection) -> Result<usize, StoreError> {
    let tx = SqliteTx::new(conn, true, Duration::ZERO);
    let mut rewritten = 0;
    // Ids that do not read are left for the audit too.
    let Ok(ids) = tx.item_ids() else {
        return Ok(0);
    };
    for id in ids {
        // A row or chain that does not read is left as it is, for the audit to name.
        let Ok(Some(stored)) = tx.read_item(id) else {
            continue;
        };
        let Ok(chain) = tx.stored_events(id) else {
            continue;
        };
        if !workstream_core::verify_stored_chain(id, &chain).is_empty() {
            continue;
        }
        let Ok(replayed) = Item::replay(chain.iter().map(|s| &s.event)) else {
            continue;
        };
        if replayed == stored {
            continue;
        }
        let state = serde_json::to_string(&stored).map_err(|e| StoreError::Backend(Box::new(e)))?;
        conn.execute(
            "INSERT INTO replaced_rows (item, state, replaced) VALUES (?1, ?2, ?3)",
            params![
                key(id.0),
                state,
                "rebuilt from its chain when the file was taken from schema version 1 to 2"
            ],
        )
        .map_err(|e| tx.err(e))?;
        tx.write_item(&replayed, Some(&stored))?;
        if replayed.created() != stored.created() {
            conn.execute(
                "UPDATE items SET created = ?2 WHERE id = ?1",
                params![key(id.0), instant_key(replayed.created())],
            )
            .map_err(|e| tx.err(e))?;
        }
        rewritten += 1;
    }
    Ok(rewritten)
}

impl Reader for SqliteTx<'_> {
    fn item(&self, id: ItemId) -> Result<Option<Item>, StoreError> {
        let item = self.read_item(id)?;
        if self.writable
            && let Some(item) = &item
        {
            let mut recent = self.recent.borrow_mut();
            let checked = recent
                .as_ref()
                .is_some_and(|r| r.head_checked && r.item.id() == id && r.item == *item);
            *recent = Some(Recent {
                item: item.clone(),
                head_checked: checked,
            });
        }
        Ok(item)
    }

    fn items(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        let mut sql = String::from("SELECT id, state FROM items WHERE 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, value: rusqlite::types::Value| {
            args.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(workflow) = query.workflow_filter() {
            arg(&mut sql, " AND workflow = ?", workflow.to_owned().into());
        }
        if let Some(workstation) = query.workstation_filter() {
            arg(
                &mut sql,
                " AND workstation = ?",
                workstation.to_owned().into(),
            );
        }
        if let Some(parent) = query.parent_filter() {
            let Some(parent) = key(parent.0) else {
                return Ok(Vec::new());
            };
            arg(&mut sql, " AND parent = ?", parent.into());
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
                    instant_key(window.start).into(),
                );
                arg(
                    &mut sql,
                    &format!(" AND {column} <= ?"),
                    instant_key(window.end).into(),
                );
            }
        }
        sql.push_str(" ORDER BY id");
        let limit = query.limit_filter().unwrap_or(usize::MAX);
        let mut found = Vec::new();
        if limit == 0 {
            return Ok(found);
        }
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args))
            .map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let id = row.get::<_, i64>(0).map_err(|e| self.err(e))?;
            let item = parse_item(ItemId(id as u64), row)?;
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
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM items WHERE workflow = ?1 AND workstation = ?2")
            .and_then(|mut s| s.query_row([workflow, workstation], |r| r.get(0)))
            .map_err(|e| self.err(e))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn dependents(&self, id: ItemId) -> Result<Vec<ItemId>, StoreError> {
        let Some(k) = key(id.0) else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT item FROM deps WHERE on_item = ?1 ORDER BY item")
            .map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map([k], |r| r.get::<_, i64>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(ids.into_iter().map(|i| ItemId(i as u64)).collect())
    }

    fn events(&self, id: ItemId, from: u64) -> Result<Vec<Event>, StoreError> {
        let Some(k) = key(id.0) else {
            return Ok(Vec::new());
        };
        let from = key(from).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, body, prev, hash FROM events WHERE item = ?1 AND seq >= ?2 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([k, from]).map_err(|e| self.err(e))?;
        let mut events = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            events.push(parse_event(id, row)?);
        }
        Ok(events)
    }

    fn item_ids(&self) -> Result<Vec<ItemId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM items ORDER BY id")
            .map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(ids.into_iter().map(|i| ItemId(i as u64)).collect())
    }

    /// The events by their `pos`, the order their writes committed in.
    fn events_since(&self, after: Position, limit: usize) -> Result<Vec<FeedEvent>, StoreError> {
        let ahead = || -> Result<Vec<FeedEvent>, StoreError> {
            let last: i64 = self
                .conn
                .query_row("SELECT coalesce(max(pos), 0) FROM events", [], |r| r.get(0))
                .map_err(|e| self.err(e))?;
            let last = Position::new(0, last.unsigned_abs());
            if after > last {
                Err(StoreError::FeedAhead { after, last })
            } else {
                Ok(Vec::new())
            }
        };
        // Positions here are `0.n`; one with a first part is past every event.
        let (0, Some(from)) = (after.major(), key(after.minor())) else {
            return ahead();
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, body, prev, hash, pos, item FROM events WHERE pos > ?1 \
                 ORDER BY pos LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params![from, limit]).map_err(|e| self.err(e))?;
        let mut fed = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let item = row.get::<_, i64>(5).map_err(|e| self.err(e))?;
            let pos = row.get::<_, i64>(4).map_err(|e| self.err(e))?;
            let event = parse_event(ItemId(item as u64), row)?;
            fed.push(FeedEvent::new(Position::new(0, pos as u64), event));
        }
        if fed.is_empty() && limit > 0 {
            return ahead();
        }
        Ok(fed)
    }

    /// The rows of the item's events: each event read from its `body`, filed under the row's
    /// `item` and `seq` columns, with the body's exact text, which its hash is checked
    /// against.
    fn stored_events(&self, id: ItemId) -> Result<Vec<StoredEvent>, StoreError> {
        let Some(k) = key(id.0) else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, body, prev, hash FROM events WHERE item = ?1 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([k]).map_err(|e| self.err(e))?;
        let mut events = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let seq = row.get_ref(0).map_err(|e| self.err(e))?;
            let Some(seq) = seq.as_i64().ok().and_then(|n| u64::try_from(n).ok()) else {
                return Err(StoreError::Corrupt(format!(
                    "item {id}: an event row's `seq` column holds {}, not a sequence number",
                    show_value(Some(seq))
                )));
            };
            let event = parse_event(id, row)?;
            // `parse_event` has read the body as text.
            let body = row.get::<_, String>(1).map_err(|e| self.err(e))?;
            events.push(StoredEvent {
                event,
                seq,
                body: Some(body),
            });
        }
        Ok(events)
    }

    /// Checks what the database keeps beside the events and states: its schema (no table,
    /// index, trigger or view added, dropped or changed) and SQLite's own integrity check
    /// (every index agrees with its table), keys that are not ids, each `items` row's
    /// columns against its state, the `deps` table against the states' dependencies, events
    /// whose item has no `items` row, and the id counter against the ids stored.
    fn definition_text(&self, source: &Sha256Hash) -> Result<Option<StoredDefinition>, StoreError> {
        self.definitions_where(Some(("source", source)))
            .map(|mut found| found.pop())
    }

    fn has_definition_text(&self, source: &Sha256Hash) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT 1 FROM definitions WHERE source = ?1")
            .and_then(|mut s| s.exists([source.as_bytes()]))
            .map_err(|e| self.err(e))
    }

    fn definition(&self, hash: &DefinitionHash) -> Result<Option<StoredDefinition>, StoreError> {
        // The first text kept of the definition, by either hash. Each is indexed with `n`,
        // so an equality lookup meets that text first; an `ORDER BY n` here would make
        // SQLite sort on every lookup (measured: ~8 µs against ~0.7 µs without).
        for sql in [
            "SELECT n, source, definition, format1, workflow, version, origin, text \
             FROM definitions WHERE definition = ?1 LIMIT 1",
            "SELECT n, source, definition, format1, workflow, version, origin, text \
             FROM definitions WHERE format1 = ?1 LIMIT 1",
        ] {
            let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
            let mut rows = stmt
                .query([hash.as_bytes().as_slice()])
                .map_err(|e| self.err(e))?;
            if let Some(row) = rows.next().map_err(|e| self.err(e))? {
                return definition_row(row).map(Some);
            }
        }
        Ok(None)
    }

    fn definitions(&self) -> Result<Vec<StoredDefinition>, StoreError> {
        let mut all = self.definitions_where(None)?;
        all.sort_by(|a, b| (&a.workflow, a.version).cmp(&(&b.workflow, b.version)));
        Ok(all)
    }

    fn check_storage(&self) -> Result<Vec<Finding>, StoreError> {
        let mut found = Vec::new();
        self.check_schema(&mut found)?;
        self.check_integrity(&mut found)?;
        self.check_keys(&mut found)?;
        let seen = self.check_items_columns(&mut found)?;
        self.check_deps(&seen, &mut found)?;
        self.check_orphan_events(&mut found)?;
        self.check_feed(&mut found)?;
        self.check_counter(&mut found)?;
        Ok(found)
    }
}

impl SqliteTx<'_> {
    /// The file's tables, indexes, triggers and views against those the schema creates.
    fn check_schema(&self, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let expected = crate::schema::objects().map_err(|e| self.err(e))?;
        let stored = crate::schema::objects_of(self.conn).map_err(|e| self.err(e))?;
        for (kind, name, sql) in &stored {
            match expected.iter().find(|(k, n, _)| k == kind && n == name) {
                None => found.push(Finding::store(Problem::Disagrees {
                    what: "the database's schema".to_owned(),
                    stored: format!("a {kind} `{name}`"),
                    expected: format!("no {kind} of that name"),
                })),
                Some((_, _, want)) if want != sql => {
                    found.push(Finding::store(Problem::Disagrees {
                        what: format!("the definition of the {kind} `{name}`"),
                        stored: format!("`{sql}`"),
                        expected: format!("`{want}`"),
                    }))
                }
                Some(_) => {}
            }
        }
        for (kind, name, _) in &expected {
            if !stored.iter().any(|(k, n, _)| k == kind && n == name) {
                found.push(Finding::store(Problem::Disagrees {
                    what: "the database's schema".to_owned(),
                    stored: format!("no {kind} `{name}`"),
                    expected: format!("the {kind} `{name}`"),
                }));
            }
        }
        Ok(())
    }

    /// SQLite's `integrity_check`: pages, records, and every index entry against its table
    /// (the engine's counts, dependents and windows are answered from indexes).
    fn check_integrity(&self, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| self.err(e))?;
        let lines: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        for line in lines.into_iter().filter(|l| l != "ok") {
            found.push(Finding::store(Problem::Unreadable(format!(
                "SQLite's integrity check: {line}"
            ))));
        }
        Ok(())
    }

    /// Keys that cannot be ids or sequence numbers: SQLite keeps whatever a column is given.
    fn check_keys(&self, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let checks = [
            (
                "an `events` row's key (item, seq)",
                "SELECT item, seq FROM events WHERE typeof(item) != 'integer' OR item < 1 \
                 OR typeof(seq) != 'integer' OR seq < 1",
            ),
            (
                "a `deps` row (item, on_item)",
                "SELECT item, on_item FROM deps WHERE typeof(item) != 'integer' OR item < 1 \
                 OR typeof(on_item) != 'integer' OR on_item < 1",
            ),
            (
                "an `items` row's id",
                "SELECT id, NULL FROM items WHERE id < 1",
            ),
        ];
        for (what, sql) in checks {
            let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
            let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
            while let Some(row) = rows.next().map_err(|e| self.err(e))? {
                let (a, b) = (
                    show_value(row.get_ref(0).ok()),
                    show_value(row.get_ref(1).ok()),
                );
                found.push(Finding::store(Problem::Disagrees {
                    what: what.to_owned(),
                    stored: if b == "NULL" {
                        a
                    } else {
                        format!("({a}, {b})")
                    },
                    expected: "positive integers".to_owned(),
                }));
            }
        }
        Ok(())
    }

    /// Each `items` row's columns against the state it holds. Returns the dependencies the
    /// states hold, and the rows whose state does not read (which the audit of the item
    /// names, and the other checks leave out).
    fn check_items_columns(&self, found: &mut Vec<Finding>) -> Result<Seen, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, workflow, workstation, parent, created, updated, seq, head, state \
                 FROM items WHERE id >= 1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut seen = Seen::default();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let id = row.get::<_, i64>(0).map_err(|e| self.err(e))?;
            let item_id = ItemId(id as u64);
            let Ok(item) = parse_item(item_id, row) else {
                seen.unread.insert(id);
                continue;
            };
            seen.deps
                .extend(item.deps().iter().map(|on| (id, on.0 as i64)));
            let column = |i: usize| -> String { show_value(row.get_ref(i).ok()) };
            let expected: [(usize, &str, String); 7] = [
                (1, "workflow", quoted(item.workflow())),
                (2, "workstation", quoted(item.workstation())),
                (
                    3,
                    "parent",
                    item.parent().map_or("NULL".to_owned(), |p| p.0.to_string()),
                ),
                (4, "created", instant_key(item.created()).to_string()),
                (5, "updated", instant_key(item.updated()).to_string()),
                (6, "seq", item.seq().to_string()),
                (7, "head", hex(item.head().as_bytes())),
            ];
            for (i, name, want) in expected {
                let have = column(i);
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

    /// The `deps` table against the dependencies the states hold (items whose state does not
    /// read left out).
    fn check_deps(&self, seen: &Seen, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT item, on_item FROM deps WHERE typeof(item) = 'integer' AND item >= 1 \
                 AND typeof(on_item) = 'integer' AND on_item >= 1",
            )
            .map_err(|e| self.err(e))?;
        let stored: BTreeSet<(i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        // Both sets hold positive ids only (rows with others are named by `check_keys`).
        let named = |item: i64| ItemId(item.unsigned_abs());
        let wanted = &seen.deps;
        for &(item, on) in stored.difference(wanted) {
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
        for &(item, on) in wanted.difference(&stored) {
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

    /// Events whose item has no `items` row: the state was deleted, the chain stayed.
    fn check_orphan_events(&self, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT item, count(*) FROM events WHERE typeof(item) = 'integer' AND item >= 1 \
                 AND item NOT IN (SELECT id FROM items) GROUP BY item ORDER BY item",
            )
            .map_err(|e| self.err(e))?;
        let orphans: Vec<(i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        for (item, events) in orphans {
            found.push(Finding::item(
                ItemId(item as u64),
                Problem::NoState {
                    events: events as u64,
                },
            ));
        }
        Ok(())
    }

    /// Every event must have its place in the feed: a positive whole `pos` (the unique index
    /// keeps two from sharing one).
    fn check_feed(&self, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT item, seq, coalesce(quote(pos), 'NULL') FROM events \
                 WHERE typeof(pos) != 'integer' OR pos < 1 ORDER BY item, seq",
            )
            .map_err(|e| self.err(e))?;
        let bad: Vec<(i64, i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        for (item, seq, pos) in bad {
            found.push(Finding::event(
                ItemId(item as u64),
                seq as u64,
                Problem::Disagrees {
                    what: "the `pos` column of `events` (its place in the feed)".to_owned(),
                    stored: pos,
                    expected: "a positive whole number".to_owned(),
                },
            ));
        }
        Ok(())
    }

    /// The id counter must be at least the highest id stored, or new items would be given
    /// ids already taken.
    fn check_counter(&self, found: &mut Vec<Finding>) -> Result<(), StoreError> {
        let counter: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'next_item'", [], |r| {
                Ok(show_value(Some(r.get_ref(0)?)))
            })
            .optional()
            .map_err(|e| self.err(e))?;
        let highest: i64 = self
            .conn
            .query_row(
                "SELECT max(coalesce((SELECT max(id) FROM items), 0), \
                            coalesce((SELECT max(item) FROM events \
                                      WHERE typeof(item) = 'integer'), 0))",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let what = "the item id counter (`meta.next_item`)".to_owned();
        let expected = format!("an integer of at least {highest}, the highest item id stored");
        match counter {
            Some(counter) if counter.parse::<i64>().is_ok_and(|n| n >= highest) => {}
            Some(counter) => found.push(Finding::store(Problem::Disagrees {
                what,
                stored: counter,
                expected,
            })),
            None => found.push(Finding::store(Problem::Disagrees {
                what,
                stored: "no row".to_owned(),
                expected,
            })),
        }
        Ok(())
    }
}

/// What the check of the `items` rows saw, for the checks after it.
#[derive(Default)]
struct Seen {
    /// Every dependency the states hold, as (item, on_item).
    deps: BTreeSet<(i64, i64)>,
    /// The rows whose state does not read.
    unread: BTreeSet<i64>,
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A column's value as the checks above spell what they expect: text in quotes, integers
/// as they are, blobs in hex, `NULL`.
fn show_value(value: Option<ValueRef<'_>>) -> String {
    match value {
        None | Some(ValueRef::Null) => "NULL".to_owned(),
        Some(ValueRef::Integer(n)) => n.to_string(),
        Some(ValueRef::Real(x)) => x.to_string(),
        Some(ValueRef::Text(t)) => quoted(&String::from_utf8_lossy(t)),
        Some(ValueRef::Blob(b)) => hex(b),
    }
}

impl Tx for SqliteTx<'_> {
    fn next_id(&mut self) -> Result<ItemId, StoreError> {
        let next: Option<i64> = self
            .conn
            .prepare_cached(
                "UPDATE meta SET value = value + 1 WHERE key = 'next_item' RETURNING value",
            )
            .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?;
        match next {
            Some(n) if n > 0 => Ok(ItemId(n as u64)),
            _ => Err(StoreError::Corrupt(
                "the item id counter (meta.next_item) is missing or invalid".into(),
            )),
        }
    }

    fn append(&mut self, event: Event, item: Item) -> Result<(), StoreError> {
        let id = event.item();
        let recent = self.recent.get_mut().take();
        let stored = match recent {
            Some(r) if r.item.id() == id && r.head_checked => Some(r.item),
            Some(r) if r.item.id() == id => {
                // The state was read in this transaction; the events table has not been
                // checked against it yet.
                self.check_head(id, Some(&r.item))?;
                Some(r.item)
            }
            _ => self.stored_head(id)?,
        };
        check_append(stored.as_ref(), &event, &item)?;
        let body = event.canonical_json();
        self.writing(|| self.write_append(&event, &body, &item, stored.as_ref()))?;
        *self.recent.get_mut() = Some(Recent {
            item,
            head_checked: true,
        });
        Ok(())
    }

    fn put_definition(&mut self, definition: &StoredDefinition) -> Result<(), StoreError> {
        check_definition(definition)?;
        let version = i64::from(definition.version);
        self.writing(|| {
            self.conn
                .prepare_cached(
                    "INSERT INTO definitions \
                     (source, definition, format1, workflow, version, origin, text) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (source) DO NOTHING",
                )
                .and_then(|mut s| {
                    s.execute(rusqlite::params![
                        definition.source.as_bytes(),
                        definition.definition.as_bytes(),
                        definition.format1.as_bytes(),
                        definition.workflow,
                        version,
                        definition.origin,
                        definition.text,
                    ])
                })
                .map(drop)
                .map_err(|e| self.err(e))
        })
    }
}

/// An id or sequence number as SQLite's INTEGER; none above `i64::MAX` can be stored.
fn key(n: u64) -> Option<i64> {
    i64::try_from(n).ok()
}

fn too_large(item: ItemId, seq: u64) -> StoreError {
    StoreError::Backend(
        format!(
            "item {item}, event {seq}: ids and sequence numbers above {} cannot be stored in SQLite",
            i64::MAX
        )
        .into(),
    )
}

/// The index key of an instant: nanoseconds since the Unix epoch, clamped to an i64. It
/// never decreases as the instant grows, so a window's keys bound its rows' keys.
fn instant_key(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

fn blob32(value: ValueRef<'_>) -> Option<Sha256Hash> {
    let bytes: [u8; 32] = value.as_blob().ok()?.try_into().ok()?;
    Some(Sha256Hash::from_bytes(bytes))
}

/// A row of `definitions`: `n, source, definition, format1, workflow, version, origin, text`.
fn definition_row(row: &Row<'_>) -> Result<StoredDefinition, StoreError> {
    let n: i64 = row.get(0).unwrap_or(-1);
    let corrupt = || {
        StoreError::Corrupt(format!(
            "definition row {n} has a hash that is not 32 bytes, a version out of range or a \
             column of the wrong type"
        ))
    };
    let hash = |i| row.get_ref(i).ok().and_then(blob32).ok_or_else(corrupt);
    let text = |i| row.get::<_, String>(i).map_err(|_| corrupt());
    let version: i64 = row.get(5).map_err(|_| corrupt())?;
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

/// The state in column `state` (index 1 in `items`' queries, 0 in point reads: the last
/// column) of `row`.
fn parse_item(id: ItemId, row: &Row<'_>) -> Result<Item, StoreError> {
    let column = row.as_ref().column_count() - 1;
    let text = row
        .get_ref(column)
        .ok()
        .and_then(|v| v.as_str().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("item {id}: its stored state is not text")))?;
    let item: Item = serde_json::from_str(text).map_err(|e| {
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

/// The event in a row of `SELECT seq, body, prev, hash FROM events`. The event is rebuilt
/// from what the row holds, so a change to any column shows when its chain is verified.
fn parse_event(id: ItemId, row: &Row<'_>) -> Result<Event, StoreError> {
    let seq = row.get::<_, i64>(0).unwrap_or(-1);
    let corrupt = |what: &str| StoreError::Corrupt(format!("item {id}, event {seq}: {what}"));
    let text = row
        .get_ref(1)
        .ok()
        .and_then(|v| v.as_str().ok())
        .ok_or_else(|| corrupt("its body is not text"))?;
    let prev = row
        .get_ref(2)
        .ok()
        .and_then(blob32)
        .ok_or_else(|| corrupt("its previous hash is not 32 bytes"))?;
    let hash = row
        .get_ref(3)
        .ok()
        .and_then(blob32)
        .ok_or_else(|| corrupt("its hash is not 32 bytes"))?;
    Event::from_canonical(text, prev, hash)
        .map_err(|e| corrupt(&format!("its body does not read as an event: {e}")))
}
