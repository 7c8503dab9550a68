//! The database's schema: how a file is recognised as a workstream database, created and
//! migrated.
//!
//! A workstream database carries [`APPLICATION_ID`] in its header (`PRAGMA application_id`)
//! and its schema version in `PRAGMA user_version`. Opening checks both, reading only,
//! before anything is written, so a file that is not one of ours is never changed.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::OpenError;

/// The `application_id` in the header of every workstream database: the ASCII bytes `wsT1`.
pub const APPLICATION_ID: i32 = 0x7773_5431;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = 3;

/// Version 1: events, the projection of current states, dependencies, and the id counter.
///
/// - `events`: one row per event. `body` is the event's canonical JSON (every field but the
///   two hashes), so `sha256(prev ‖ body)` must equal `hash`; `item` and `seq` repeat what the
///   body says, as the key the chain is read by.
/// - `items`: the current state of each item (`state`, the serde JSON of its `Item`), and
///   the columns the engine's queries filter on. `created` and `updated` are nanoseconds
///   since the Unix epoch, clamped to the range of an i64 (a monotone key; queries filter
///   exactly after the index has narrowed the rows).
/// - `deps`: one row per dependency, indexed both ways.
/// - `meta`: `next_item`, the last item id handed out.
const V1: &str = "
CREATE TABLE events (
    item INTEGER NOT NULL,
    seq  INTEGER NOT NULL,
    body TEXT    NOT NULL,
    prev BLOB    NOT NULL,
    hash BLOB    NOT NULL,
    PRIMARY KEY (item, seq)
) WITHOUT ROWID;
CREATE TABLE items (
    id          INTEGER PRIMARY KEY,
    workflow    TEXT    NOT NULL,
    workstation TEXT    NOT NULL,
    parent      INTEGER,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    head        BLOB    NOT NULL,
    state       TEXT    NOT NULL
);
CREATE INDEX items_place   ON items (workflow, workstation);
CREATE INDEX items_parent  ON items (parent) WHERE parent IS NOT NULL;
CREATE INDEX items_created ON items (created);
CREATE INDEX items_updated ON items (updated);
CREATE TABLE deps (
    item    INTEGER NOT NULL,
    on_item INTEGER NOT NULL,
    PRIMARY KEY (item, on_item)
) WITHOUT ROWID;
CREATE INDEX deps_on ON deps (on_item, item);
CREATE TABLE meta (
    key   TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('next_item', 0);
";

/// Version 2: the workflow texts items were written under (`definitions`), one row per text,
/// by the sha256 of the text (`source`), in the order they were kept (`n`), with the
/// definition hash and the hash workstream 0.1 gave it (each indexed with `n`, for lookups
/// by the hash an item carries that meet the first text kept first). Hashes are their 32
/// raw bytes.
///
/// `replaced_rows` keeps each `items` row the upgrade from version 1 rewrote from its chain,
/// as it was, and why: workstream 0.1 could read a float back one ulp off and write that
/// into an item's row, while its ledger kept the exact text.
const V2: &str = "
CREATE TABLE definitions (
    n          INTEGER PRIMARY KEY,
    source     BLOB    NOT NULL UNIQUE,
    definition BLOB    NOT NULL,
    format1    BLOB    NOT NULL,
    workflow   TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    origin     TEXT    NOT NULL,
    text       TEXT    NOT NULL
);
CREATE INDEX definitions_definition ON definitions (definition, n);
CREATE INDEX definitions_format1    ON definitions (format1, n);
CREATE TABLE replaced_rows (
    item     INTEGER NOT NULL,
    state    TEXT    NOT NULL,
    replaced TEXT    NOT NULL
);
";

/// Version 3: the feed. Each event's `pos` is its place in the store-wide order of commits
/// (writers hold the database's write lock, so the next number is the next commit's).
/// Events stored before are numbered in the order of their instants, each taken as the
/// latest instant of its chain so far (a clock set back cannot put an event before the one
/// it follows), then item, then sequence number; a body that is not JSON sorts last. A
/// process still running the previous version would insert events without a place: the
/// trigger refuses them, so that no event is ever left out of the feed.
const V3: &str = "
ALTER TABLE events ADD COLUMN pos INTEGER;
UPDATE events SET pos = ordered.n
FROM (SELECT item, seq, row_number() OVER (ORDER BY at IS NULL, at, item, seq) AS n
      FROM (SELECT item, seq,
                   max(CASE WHEN json_valid(body) THEN json_extract(body, '$.at') END)
                       OVER (PARTITION BY item ORDER BY seq ROWS UNBOUNDED PRECEDING) AS at
            FROM events)) AS ordered
WHERE ordered.item = events.item AND ordered.seq = events.seq;
CREATE UNIQUE INDEX events_pos ON events (pos);
CREATE TRIGGER events_need_pos BEFORE INSERT ON events WHEN NEW.pos IS NULL
BEGIN
    SELECT RAISE(ABORT, 'this database was upgraded to workstream schema 3: restart the program with a newer workstream');
END;
";

/// The steps from one schema version to the next: `MIGRATIONS[v]` takes a database at
/// version `v` to `v + 1` (version 0 is an empty file).
const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// A schema object: its kind (`table`, `index`, …), its name and the SQL that made it.
pub(crate) type Object = (String, String, String);

/// The tables, indexes, triggers and views of `conn`, by kind and name (SQLite's own
/// objects, such as automatic indexes, left out).
pub(crate) fn objects_of(conn: &Connection) -> rusqlite::Result<Vec<Object>> {
    let mut stmt = conn.prepare(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_schema \
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
    )?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect()
}

/// The objects the current schema creates, read from a database made with it in memory.
pub(crate) fn objects() -> rusqlite::Result<Vec<Object>> {
    let conn = Connection::open_in_memory()?;
    for step in MIGRATIONS {
        conn.execute_batch(step)?;
    }
    objects_of(&conn)
}

/// What the header and catalogue of a file say, read without writing.
struct Found {
    application_id: i32,
    user_version: i32,
    tables: i64,
}

fn inspect(conn: &Connection) -> rusqlite::Result<Found> {
    Ok(Found {
        application_id: conn.pragma_query_value(None, "application_id", |r| r.get(0))?,
        user_version: conn.pragma_query_value(None, "user_version", |r| r.get(0))?,
        tables: conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?,
    })
}

/// What to do with a file, from what its header says.
enum Plan {
    /// It is a workstream database at the current version.
    Ready,
    /// It is an empty SQLite file (or a new one), or a workstream database at an older
    /// version: bring it to the current version.
    Migrate,
}

fn plan(found: &Found, path: &str) -> Result<Plan, OpenError> {
    match found.application_id {
        // Ours, at the version of an empty file, yet with tables: the header was changed,
        // or a migration was cut short. Creating the schema again would meet its tables.
        APPLICATION_ID if found.user_version == 0 && found.tables > 0 => Err(OpenError::Damaged {
            path: path.to_owned(),
            detail: format!(
                "it carries the workstream mark (application_id {APPLICATION_ID:#010x}) \
                     but schema version 0, the version of an empty file, and holds {} \
                     table(s)",
                found.tables
            ),
        }),
        APPLICATION_ID if found.user_version > SCHEMA_VERSION => Err(OpenError::NewerSchema {
            path: path.to_owned(),
            found: found.user_version,
            supported: SCHEMA_VERSION,
        }),
        APPLICATION_ID if found.user_version == SCHEMA_VERSION => Ok(Plan::Ready),
        APPLICATION_ID if found.user_version >= 0 => Ok(Plan::Migrate),
        APPLICATION_ID => Err(OpenError::Damaged {
            path: path.to_owned(),
            detail: format!(
                "it carries the workstream mark but schema version {}, which no version of \
                 workstream writes",
                found.user_version
            ),
        }),
        0 if found.tables == 0 && found.user_version == 0 => Ok(Plan::Migrate),
        0 => Err(OpenError::NotWorkstream {
            path: path.to_owned(),
            detail: format!(
                "it holds {} table(s) (schema version {}) but not the workstream mark \
                 (application_id {APPLICATION_ID:#010x})",
                found.tables, found.user_version
            ),
        }),
        other => Err(OpenError::NotWorkstream {
            path: path.to_owned(),
            detail: format!(
                "its application_id is {other:#010x}, another program's \
                 (workstream's is {APPLICATION_ID:#010x})"
            ),
        }),
    }
}

/// Checks that `conn` is a workstream database at the current schema version, creating or
/// migrating it when it is empty or older. A file that is not SQLite, damaged, not ours, or
/// newer is refused before anything is written to it. `path` is the database as messages
/// show it; `file` the file on disk, if it is one (then the database is put in WAL mode).
pub(crate) fn prepare(
    conn: &mut Connection,
    path: &str,
    file: Option<&Path>,
) -> Result<(), OpenError> {
    let fail = |e: rusqlite::Error| OpenError::sqlite(path, file, e);
    let found = inspect(conn).map_err(fail)?;
    if let Plan::Ready = plan(&found, path)? {
        if file.is_some() {
            set_wal(conn, path, fail)?;
        }
        return Ok(());
    }
    // Ours (older) or empty: from here on the file may be written.
    if file.is_some() {
        set_wal(conn, path, fail)?;
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    // Another process may have created or migrated it meanwhile: look again, under the
    // write lock.
    let found = inspect(&tx).map_err(fail)?;
    if let Plan::Ready = plan(&found, path)? {
        return Ok(());
    }
    let from = usize::try_from(found.user_version).unwrap_or(0);
    for step in MIGRATIONS.iter().skip(from) {
        tx.execute_batch(step).map_err(fail)?;
    }
    if from == 1 {
        crate::tx::rebuild_rows(&tx).map_err(|e| OpenError::Damaged {
            path: path.to_owned(),
            detail: format!("its rows could not be rebuilt from their chains: {e}"),
        })?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(fail)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(fail)?;
    tx.commit().map_err(fail)?;
    Ok(())
}

/// Puts the database in WAL mode; `fail` makes SQLite's errors [`OpenError`]s.
fn set_wal(
    conn: &Connection,
    path: &str,
    fail: impl Fn(rusqlite::Error) -> OpenError,
) -> Result<(), OpenError> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(fail)?;
    // An in-memory database answers `memory`; a file must be in WAL mode now.
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        return Err(OpenError::JournalMode {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}
