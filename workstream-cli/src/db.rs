//! Opening the database `--db` names, and an engine over it with the workflows it keeps.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ArgMatches;
use workstream::sqlite::{OpenError, Options};
use workstream::{Engine, ManualClock, Reader, SqliteStore, Store, StoreError, Workflow};

use crate::{Failure, time};

/// How long a command waits for a database another program holds locked.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// A store, of either kind.
pub(crate) enum Stores {
    Sqlite(SqliteStore),
    #[cfg(feature = "postgres")]
    Postgres(Box<workstream::PostgresStore>),
}

/// An engine over the database, of either kind.
pub(crate) enum Opened {
    Sqlite(Box<Engine<SqliteStore>>),
    #[cfg(feature = "postgres")]
    Postgres(Box<Engine<workstream::PostgresStore>>),
}

fn is_postgres(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// Opens the store `--db` names. An SQLite file must exist unless `create` (and then its
/// directory must); a PostgreSQL schema likewise.
pub(crate) fn open_store(matches: &ArgMatches, create: bool) -> Result<Stores, Failure> {
    let Some(db) = matches.get_one::<String>("db") else {
        return Err(Failure::new(
            "this command needs a database: give --db PATH (an SQLite file) or --db \
             postgres://…",
        ));
    };
    if is_postgres(db) {
        return open_postgres(db, matches, create);
    }
    let path = PathBuf::from(db);
    open_sqlite(&path, create).map(Stores::Sqlite)
}

fn open_sqlite(path: &Path, create: bool) -> Result<SqliteStore, Failure> {
    let shown = path.display();
    if path.is_dir() {
        return Err(Failure::new(format!(
            "{shown} is a directory, not a database file"
        )));
    }
    if !create && !path.exists() {
        return Err(Failure::new(format!("there is no database at {shown}")));
    }
    let options = Options::builder().busy_timeout(BUSY_TIMEOUT).build();
    SqliteStore::open_with(path, options).map_err(|e| {
        let text = e.to_string();
        match &e {
            OpenError::Sqlite { .. } if text.contains("locked") || text.contains("busy") => {
                Failure::new(format!(
                    "{text}: another program holds the database locked (waited {}s)",
                    BUSY_TIMEOUT.as_secs()
                ))
            }
            _ => Failure::new(text),
        }
    })
}

#[cfg(feature = "postgres")]
fn open_postgres(db: &str, matches: &ArgMatches, create: bool) -> Result<Stores, Failure> {
    let schema = matches
        .get_one::<String>("schema")
        .map_or("workstream", String::as_str);
    let options = workstream::postgres::Options::builder()
        .schema(schema)
        .busy_timeout(Duration::from_secs(10))
        .create_schema(create)
        .build();
    workstream::PostgresStore::open_with(db, options)
        .map(|store| Stores::Postgres(Box::new(store)))
        .map_err(|e| Failure::new(e.to_string()))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_: &str, _: &ArgMatches, _: bool) -> Result<Stores, Failure> {
    Err(Failure::new(
        "this `workstream` was built without PostgreSQL (the `postgres` feature)",
    ))
}

/// Opens the database and builds an engine over it: the workflow versions the store keeps,
/// those in `--workflows`, the checks of neither (a Rust check is the program's; here it is
/// unknown, never guessed), and the clock at `--now` if given.
pub(crate) fn open(matches: &ArgMatches) -> Result<Opened, Failure> {
    Ok(match open_store(matches, false)? {
        Stores::Sqlite(store) => Opened::Sqlite(Box::new(engine(store, matches)?)),
        #[cfg(feature = "postgres")]
        Stores::Postgres(store) => Opened::Postgres(Box::new(engine(*store, matches)?)),
    })
}

fn engine<S: Store>(store: S, matches: &ArgMatches) -> Result<Engine<S>, Failure> {
    let mut workflows = kept_workflows(&store)?;
    if let Some(dir) = matches.get_one::<PathBuf>("workflows") {
        workflows.extend(workflow_files(dir)?);
    }
    let builder = Engine::builder()
        .store(store)
        .workflows(workflows)
        .allow_missing_checks();
    let built = match matches.get_one::<String>("now") {
        Some(now) => builder.clock(ManualClock::new(time::instant(now)?)).build(),
        None => builder.build(),
    };
    built.map_err(|e| Failure::new(format!("the workflows do not load: {e}")))
}

/// Every workflow version whose text the store keeps.
fn kept_workflows(store: &impl Store) -> Result<Vec<Workflow>, Failure> {
    let kept = store
        .read(|tx| tx.definitions())
        .map_err(|e: StoreError| Failure::new(format!("cannot read the workflows kept: {e}")))?;
    kept.iter()
        .map(|definition| {
            definition.parse().map_err(|d| {
                Failure::new(format!(
                    "the kept text of workflow `{}` version {} does not parse: {}",
                    definition.workflow,
                    definition.version,
                    d.to_string().lines().next().unwrap_or_default()
                ))
            })
        })
        .collect()
}

/// The workflow files (`*.yaml`, `*.yml`) in `dir`, in name order.
fn workflow_files(dir: &Path) -> Result<Vec<Workflow>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::new(format!(
            "cannot read the workflows directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let shown = path.display().to_string();
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::new(format!("cannot read {shown}: {e}")))?;
            workstream::parse_bytes(&shown, &bytes).map_err(|d| {
                Failure::new(format!(
                    "{shown} does not validate ({} error(s)); run `workstream check {shown}`",
                    d.error_count()
                ))
            })
        })
        .collect()
}
