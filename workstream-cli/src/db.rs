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

/// Whether `--db` names a PostgreSQL server: a `postgres://` or `postgresql://` URL (any
/// case), or a key=value connection string (`host=… dbname=…`).
fn is_postgres(db: &str) -> bool {
    let lower = db.to_ascii_lowercase();
    lower.starts_with("postgres://")
        || lower.starts_with("postgresql://")
        || db.split_whitespace().next().is_some_and(|word| {
            ["host=", "hostaddr=", "dbname=", "user=", "port="]
                .iter()
                .any(|key| word.to_ascii_lowercase().starts_with(key))
        })
}

/// `--db` as given.
fn db_arg(matches: &ArgMatches) -> Result<&std::ffi::OsStr, Failure> {
    matches
        .get_one::<std::ffi::OsString>("db")
        .map(|db| db.as_os_str())
        .ok_or_else(|| {
            Failure::new(
                "this command needs a database: give --db PATH (an SQLite file) or --db \
                 postgres://…",
            )
        })
}

/// The database as messages name it: the SQLite path, or the PostgreSQL server without
/// its password.
#[cfg(feature = "serve")]
pub(crate) fn shown(matches: &ArgMatches) -> String {
    match sqlite_path(matches) {
        Some(path) => path.display().to_string(),
        None => "the PostgreSQL database".to_owned(),
    }
}

/// The SQLite file `--db` names, if it names one.
pub(crate) fn sqlite_path(matches: &ArgMatches) -> Option<PathBuf> {
    let db = db_arg(matches).ok()?;
    match db.to_str() {
        Some(text) if is_postgres(text) => None,
        _ => Some(PathBuf::from(db)),
    }
}

/// Removes an SQLite database this command created, with its write-ahead log.
pub(crate) fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Refuses to write `target` over the database `--db` names (or its log).
pub(crate) fn refuse_to_overwrite(matches: &ArgMatches, target: &Path) -> Result<(), Failure> {
    let Some(db) = sqlite_path(matches) else {
        return Ok(());
    };
    let canonical = |p: &Path| {
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::canonicalize(dir)
            .ok()
            .zip(p.file_name().map(std::ffi::OsStr::to_owned))
            .map(|(dir, name)| dir.join(name))
    };
    let (Some(db), Some(target)) = (canonical(&db), canonical(target)) else {
        return Ok(());
    };
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        if name == target.as_os_str() {
            return Err(Failure::new(format!(
                "{} is the database itself; write to another file",
                target.display()
            )));
        }
    }
    Ok(())
}

/// Opens the store `--db` names. An SQLite file must exist unless `create` (and then its
/// directory must); a PostgreSQL schema likewise.
pub(crate) fn open_store(matches: &ArgMatches, create: bool) -> Result<Stores, Failure> {
    let db = db_arg(matches)?;
    match db.to_str() {
        Some(url) if is_postgres(url) => open_postgres(url, matches, create),
        _ => open_sqlite(Path::new(db), create).map(Stores::Sqlite),
    }
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
    // SQLite makes an empty file into a new database; a command that only reads must not.
    if !create && std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
        return Err(Failure::new(format!(
            "{shown} is an empty file, not a workstream database"
        )));
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
/// unknown, never guessed), and the clock at `--now` if given. Without `workflows` the
/// engine loads none: verification and export read the store alone, so a kept text that
/// does not parse is reported by the audit rather than stopping it.
pub(crate) fn open(matches: &ArgMatches, workflows: bool) -> Result<Opened, Failure> {
    Ok(match open_store(matches, false)? {
        Stores::Sqlite(store) => Opened::Sqlite(Box::new(engine(store, matches, workflows)?)),
        #[cfg(feature = "postgres")]
        Stores::Postgres(store) => Opened::Postgres(Box::new(engine(*store, matches, workflows)?)),
    })
}

fn engine<S: Store>(store: S, matches: &ArgMatches, load: bool) -> Result<Engine<S>, Failure> {
    let mut workflows = Vec::new();
    if load {
        workflows = kept_workflows(&store)?;
        if let Some(dir) = matches.get_one::<PathBuf>("workflows") {
            workflows.extend(workflow_files(dir)?);
        }
    }
    // `--now last`: the instant of the latest change the store keeps.
    let last = if matches
        .get_one::<String>("now")
        .is_some_and(|n| n == "last")
    {
        store
            .read(|tx| tx.items(&workstream::Query::new()))
            .map_err(|e: StoreError| Failure::new(format!("cannot read the items: {e}")))?
            .iter()
            .map(workstream::Item::updated)
            .max()
    } else {
        None
    };
    let builder = Engine::builder()
        .store(store)
        .workflows(workflows)
        .allow_missing_checks();
    let built = match matches.get_one::<String>("now").map(String::as_str) {
        Some("last") => builder
            .clock(ManualClock::new(last.ok_or_else(|| {
                Failure::new("`--now last`: the database holds no item yet")
            })?))
            .build(),
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
