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

/// A connection string as a report may show it: the user, hosts, ports and database the
/// client reads from it (never the password, nor the rest of the options).
pub fn redacted(url: &str) -> String {
    let Ok(config) = url.parse::<workstream::postgres::postgres::Config>() else {
        return "a PostgreSQL server (the connection string does not parse)".to_owned();
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            workstream::postgres::postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            workstream::postgres::postgres::config::Host::Unix(path) => {
                format!("{}:{port}", path.display())
            }
        })
        .collect();
    let user = config.get_user().map_or(String::new(), |u| format!("{u}@"));
    format!(
        "postgres://{user}{}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
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
