//! The database file the sprint runs on: opening it with a clear error for every way it can
//! fail, and measuring what one fsync costs on the disk under it.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use workstream::SqliteStore;
use workstream::sqlite::{Durability, OpenError, Options};

/// Opens (or creates) the workstream database at `path`. An existing database is reused as
/// it is; a file that is not one is refused untouched. The error is a sentence for people.
pub fn open(
    path: &Path,
    durability: Durability,
    busy_timeout: Duration,
) -> Result<SqliteStore, String> {
    let shown = path.display();
    if path.as_os_str().is_empty() {
        return Err("the database path is empty".to_owned());
    }
    if path.is_dir() {
        return Err(format!(
            "{shown} is a directory; give the path of a database file in it"
        ));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(format!(
            "cannot create the database {shown}: the directory {} does not exist",
            dir.display()
        ));
    }
    let options = Options::builder()
        .durability(durability)
        .busy_timeout(busy_timeout)
        .build();
    SqliteStore::open_with(path, options).map_err(|e| match &e {
        OpenError::Sqlite { error, .. } => {
            let text = error.to_string();
            let hint = if text.contains("locked") || text.contains("busy") {
                "; another program holds a lock on it"
            } else {
                ""
            };
            format!("{e}{hint}")
        }
        // Every `OpenError` names the file and, where SQLite found the problem, its reason.
        other => other.to_string(),
    })
}

/// Opens (or creates) the store in `schema` of the PostgreSQL database `url` names. The
/// error is a sentence for people, naming the server but never the password.
pub fn open_postgres(url: &str, schema: &str) -> Result<workstream::PostgresStore, String> {
    let options = workstream::postgres::Options::builder()
        .schema(schema)
        .busy_timeout(Duration::from_secs(30))
        .build();
    workstream::PostgresStore::open_with(url, options).map_err(|e| e.to_string())
}

/// A connection URL as a report may show it: the password, if any, replaced by `***`, and
/// the query (which may hold one) left out.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "a PostgreSQL server".to_owned();
    };
    let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
    match rest.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(name, _)| name);
            format!("{scheme}://{user}:***@{host}")
        }
        None => format!("{scheme}://{rest}"),
    }
}

/// The median time of one 4 KiB write + `fdatasync` on a scratch file in `dir` (the disk
/// the database is on), over `samples` writes. The file is removed afterwards.
pub fn fsync_cost(dir: &Path, samples: usize) -> std::io::Result<Duration> {
    let path = dir.join(format!(".sprint-fsync-probe-{}", std::process::id()));
    let measured = (|| {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)?;
        let page = [7u8; 4096];
        let mut times = Vec::with_capacity(samples);
        for k in 0..samples.max(1) as u64 {
            let start = Instant::now();
            file.seek(SeekFrom::Start((k % 16) * 4096))?;
            file.write_all(&page)?;
            file.sync_data()?;
            times.push(start.elapsed());
        }
        times.sort_unstable();
        Ok(times[times.len() / 2])
    })();
    let _ = std::fs::remove_file(&path);
    measured
}
