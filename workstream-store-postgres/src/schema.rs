//! The store's schema (a PostgreSQL namespace): how it is recognised as workstream's,
//! created and migrated, and the statements the store runs on it.
//!
//! A workstream schema holds a `meta` table whose `application` row is `workstream` and
//! whose `schema_version` row is the version of its tables. Opening reads both before
//! anything is written, under an advisory lock that serializes the programs opening one
//! schema, so a schema that is not ours is never changed and two programs never both create
//! the tables.

use postgres::{Client, GenericClient};

use crate::error::{OpenError, words};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 2;

/// The oldest server the store runs on, as `server_version_num`: PostgreSQL 11 (the append
/// statement hashes the chain's head with `sha256`).
pub(crate) const MIN_SERVER: i64 = 110_000;

/// What `meta.application` holds in every workstream schema.
pub const APPLICATION: &str = "workstream";

/// Version 1, with `{s}` for the quoted schema name.
///
/// - `events`: one row per event. `body` is the event's canonical JSON (every field but the
///   two hashes), so `sha256(prev ‖ body)` must equal `hash`; `item` and `seq` repeat what the
///   body says, as the key the chain is read by.
/// - `items`: the current state of each item (`state`, the serde JSON of its `Item`) and the
///   columns queries filter on; `created` and `updated` are nanoseconds since the Unix epoch,
///   clamped to a bigint.
/// - `deps`: one row per dependency, indexed both ways.
/// - `item_ids`: the sequence new item ids come from.
/// - `definitions`: the workflow texts items were written under, by the sha256 of the text.
/// - `meta`: what the schema is and its version.
const V1: &str = r#"
CREATE TABLE {s}.events (
    item bigint NOT NULL,
    seq  bigint NOT NULL,
    body text   NOT NULL,
    prev bytea  NOT NULL,
    hash bytea  NOT NULL,
    PRIMARY KEY (item, seq)
);
CREATE TABLE {s}.items (
    id          bigint PRIMARY KEY,
    workflow    text   NOT NULL,
    workstation text   NOT NULL,
    parent      bigint,
    created     bigint NOT NULL,
    updated     bigint NOT NULL,
    seq         bigint NOT NULL,
    head        bytea  NOT NULL,
    state       text   NOT NULL
);
CREATE INDEX items_place   ON {s}.items (workflow, workstation);
CREATE INDEX items_parent  ON {s}.items (parent) WHERE parent IS NOT NULL;
CREATE INDEX items_created ON {s}.items (created);
CREATE INDEX items_updated ON {s}.items (updated);
CREATE TABLE {s}.deps (
    item    bigint NOT NULL,
    on_item bigint NOT NULL,
    PRIMARY KEY (item, on_item)
);
CREATE INDEX deps_on ON {s}.deps (on_item, item);
CREATE SEQUENCE {s}.item_ids AS bigint MINVALUE 1;
CREATE TABLE {s}.definitions (
    n          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source     bytea  NOT NULL UNIQUE,
    definition bytea  NOT NULL,
    format1    bytea  NOT NULL,
    workflow   text   NOT NULL,
    version    bigint NOT NULL,
    origin     text   NOT NULL,
    text       text   NOT NULL
);
CREATE INDEX definitions_definition ON {s}.definitions (definition, n);
CREATE INDEX definitions_format1    ON {s}.definitions (format1, n);
CREATE TABLE {s}.meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
"#;

/// Version 2: the feed. Each event's place in the store-wide order is `(txid, n)`: the
/// number of the transaction that wrote it (`txid_current()`) and a number that grows
/// within it (`event_order`), both set by the columns' defaults. Readers list only events of
/// transactions below the oldest one still running (`txid_snapshot_xmin`), so no event can
/// later appear before one already listed. Events stored before are given `txid` 0 and
/// numbered in the order of their instants, each the latest of its chain so far (a clock set
/// back cannot put an event before the one it follows), then item, then sequence number.
const V2: &str = r#"
CREATE SEQUENCE {s}.event_order AS bigint MINVALUE 1;
ALTER TABLE {s}.events ADD COLUMN txid bigint, ADD COLUMN n bigint;
UPDATE {s}.events e SET txid = 0, n = o.n
FROM (SELECT item, seq,
             row_number() OVER (ORDER BY at COLLATE "C" NULLS LAST, item, seq) AS n
      FROM (SELECT item, seq,
                   max(substring(body from '"at":"([^"]*)"'))
                       OVER (PARTITION BY item ORDER BY seq ROWS UNBOUNDED PRECEDING) AS at
            FROM {s}.events) r) o
WHERE o.item = e.item AND o.seq = e.seq;
SELECT setval('{s}.event_order', greatest((SELECT max(n) FROM {s}.events), 1));
ALTER TABLE {s}.events
    ALTER COLUMN txid SET DEFAULT txid_current(),
    ALTER COLUMN txid SET NOT NULL,
    ALTER COLUMN n SET DEFAULT nextval('{s}.event_order'),
    ALTER COLUMN n SET NOT NULL;
CREATE UNIQUE INDEX events_feed ON {s}.events (txid, n);
"#;

/// The steps from one version to the next: `MIGRATIONS[v]` takes a schema at version `v` to
/// `v + 1` (version 0 is an empty schema).
const MIGRATIONS: &[&str] = &[V1, V2];

/// The relations a schema at the current version holds: name and kind (`r` table, `i`
/// index, `S` sequence), in name order.
pub(crate) const RELATIONS: &[(&str, char)] = &[
    ("definitions", 'r'),
    ("definitions_definition", 'i'),
    ("definitions_format1", 'i'),
    ("definitions_n_seq", 'S'),
    ("definitions_pkey", 'i'),
    ("definitions_source_key", 'i'),
    ("deps", 'r'),
    ("deps_on", 'i'),
    ("deps_pkey", 'i'),
    ("event_order", 'S'),
    ("events", 'r'),
    ("events_feed", 'i'),
    ("events_pkey", 'i'),
    ("item_ids", 'S'),
    ("items", 'r'),
    ("items_created", 'i'),
    ("items_parent", 'i'),
    ("items_pkey", 'i'),
    ("items_place", 'i'),
    ("items_updated", 'i'),
    ("meta", 'r'),
    ("meta_pkey", 'i'),
];

/// Whether `name` is a schema name the store accepts: a plain lowercase identifier, so it
/// needs no quoting rules and reads the same in `psql`.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    first_ok
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The quoted schema name, for statements.
pub(crate) fn quoted(schema: &str) -> String {
    format!("\"{schema}\"")
}

/// Where the schema stands, from what the catalogue and `meta` say.
enum Found {
    /// No schema of that name.
    Missing,
    /// The schema holds no relations.
    Empty,
    /// The schema is workstream's, at this version.
    Ours(i64),
}

fn inspect(
    client: &mut impl GenericClient,
    server: &str,
    schema: &str,
) -> Result<Found, OpenError> {
    let fail = |e: postgres::Error| OpenError::Postgres {
        server: server.to_owned(),
        message: words(&e),
    };
    let exists = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .map_err(fail)?
        .get::<_, bool>(0);
    if !exists {
        return Ok(Found::Missing);
    }
    let relations: Vec<String> = client
        .query(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') \
             ORDER BY c.relname",
            &[&schema],
        )
        .map_err(fail)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if relations.is_empty() {
        // No tables, but perhaps another program's functions or types: not ours either.
        let others: i64 = client
            .query_one(
                "SELECT (SELECT count(*) FROM pg_proc p JOIN pg_namespace n \
                 ON n.oid = p.pronamespace WHERE n.nspname = $1) + (SELECT count(*) FROM \
                 pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 \
                 AND t.typrelid = 0 AND t.typelem = 0)",
                &[&schema],
            )
            .map_err(fail)?
            .get(0);
        if others > 0 {
            return Err(OpenError::NotWorkstream {
                server: server.to_owned(),
                schema: schema.to_owned(),
                detail: format!("it holds no tables but {others} function(s) or type(s)"),
            });
        }
        return Ok(Found::Empty);
    }
    let not_ours = |detail: String| OpenError::NotWorkstream {
        server: server.to_owned(),
        schema: schema.to_owned(),
        detail,
    };
    if !relations.iter().any(|r| r == "meta") {
        let shown: Vec<&str> = relations.iter().take(5).map(String::as_str).collect();
        return Err(not_ours(format!(
            "it holds {} table(s) or other relations ({}{}) but no `meta` table",
            relations.len(),
            shown.join(", "),
            if relations.len() > 5 { ", …" } else { "" }
        )));
    }
    let q = quoted(schema);
    let meta = client
        .query(&format!("SELECT key, value FROM {q}.meta"), &[])
        .map_err(|e| {
            not_ours(format!(
                "its `meta` table does not read as ours: {}",
                words(&e)
            ))
        })?;
    let value = |key: &str| {
        meta.iter().find_map(|r| {
            let k: Option<String> = r.try_get(0).ok();
            (k.as_deref() == Some(key))
                .then(|| r.try_get::<_, String>(1).ok())
                .flatten()
        })
    };
    match value("application") {
        Some(app) if app == APPLICATION => {}
        Some(app) => {
            return Err(not_ours(format!(
                "its `meta` table names the application `{app}`"
            )));
        }
        None => {
            return Err(not_ours(
                "its `meta` table has no `application` row".to_owned(),
            ));
        }
    }
    let damaged = |detail: String| OpenError::Damaged {
        server: server.to_owned(),
        schema: schema.to_owned(),
        detail,
    };
    let version = value("schema_version")
        .ok_or_else(|| damaged("its `meta` table has no `schema_version` row".to_owned()))?;
    let version: i64 = version.parse().map_err(|_| {
        damaged(format!(
            "its `meta.schema_version` is `{version}`, not a number"
        ))
    })?;
    if version < 1 {
        return Err(damaged(format!(
            "its schema version is {version}, which no version of workstream writes"
        )));
    }
    Ok(Found::Ours(version))
}

/// Makes sure `schema` is a workstream schema at the current version, creating it (when
/// `create` allows) or migrating it. A schema that is not ours, or newer, is refused before
/// anything is written. Everything happens in one transaction under an advisory lock.
pub(crate) fn prepare(
    client: &mut Client,
    server: &str,
    schema: &str,
    create: bool,
) -> Result<(), OpenError> {
    let fail = |e: postgres::Error| OpenError::Postgres {
        server: server.to_owned(),
        message: words(&e),
    };
    let version: i64 = client
        .query_one("SELECT current_setting('server_version_num')::bigint", &[])
        .map_err(fail)?
        .get(0);
    if version < MIN_SERVER {
        return Err(OpenError::OldServer {
            server: server.to_owned(),
            version,
        });
    }
    let encoding: String = client
        .query_one("SHOW server_encoding", &[])
        .map_err(fail)?
        .get(0);
    if !encoding.eq_ignore_ascii_case("UTF8") {
        return Err(OpenError::Encoding {
            server: server.to_owned(),
            encoding,
        });
    }
    // Reading first, without a lock: a schema that is ready costs no write.
    if let Found::Ours(SCHEMA_VERSION) = inspect(client, server, schema)? {
        return Ok(());
    }
    let mut tx = client.transaction().map_err(fail)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        &[&format!("workstream schema {schema}")],
    )
    .map_err(fail)?;
    let q = quoted(schema);
    let from = match inspect(&mut tx, server, schema)? {
        Found::Ours(v) if v == SCHEMA_VERSION => return Ok(()),
        Found::Ours(v) if v > SCHEMA_VERSION => {
            return Err(OpenError::NewerSchema {
                server: server.to_owned(),
                schema: schema.to_owned(),
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        Found::Ours(v) => v,
        Found::Missing if !create => {
            return Err(OpenError::NoSchema {
                server: server.to_owned(),
                schema: schema.to_owned(),
            });
        }
        Found::Missing => {
            tx.batch_execute(&format!("CREATE SCHEMA {q}"))
                .map_err(fail)?;
            0
        }
        Found::Empty => 0,
    };
    let from = usize::try_from(from).unwrap_or(0);
    for step in MIGRATIONS.iter().skip(from) {
        tx.batch_execute(&step.replace("{s}", &q)).map_err(fail)?;
    }
    tx.execute(
        &format!(
            "INSERT INTO {q}.meta (key, value) VALUES ('application', $1), ('schema_version', $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        &[&APPLICATION, &SCHEMA_VERSION.to_string()],
    )
    .map_err(fail)?;
    tx.commit().map_err(fail)
}
