//! Errors: why a database could not be opened, and how SQLite's errors become
//! [`StoreError`]s.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::ErrorCode;
use workstream_core::StoreError;

/// Why a database could not be opened. Whatever the reason, a file that is not a
/// workstream database at a schema version this build knows was not written to.
///
/// Every message names the file, and where SQLite gave a reason, SQLite's own words. Those
/// words are part of the message, so no variant has a [`source`](std::error::Error::source)
/// (a message does not repeat its source); [`OpenError::Sqlite`] keeps SQLite's error as a
/// field for callers that look at its code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The path is empty. (SQLite would open a temporary database that vanishes on close.)
    #[error(
        "no path given: a SQLite store needs the path of its database file \
         (`SqliteStore::open_in_memory` makes a database in memory)"
    )]
    NoPath,
    /// The file exists but is not a SQLite database.
    #[error("{path} is not a SQLite database (SQLite says: {message}); it was left untouched")]
    NotSqlite {
        /// The file.
        path: String,
        /// What SQLite said.
        message: String,
    },
    /// The file is a SQLite database, or starts like one, but is damaged: truncated,
    /// overwritten in part, or with a header that contradicts its contents.
    #[error("{path} is a damaged database ({detail}); it was left untouched")]
    Damaged {
        /// The file.
        path: String,
        /// What is wrong, with SQLite's words when SQLite found it.
        detail: String,
    },
    /// The file is a SQLite database of another program.
    #[error(
        "{path} is a SQLite database but not a workstream database: {detail}; it was left untouched"
    )]
    NotWorkstream {
        /// The file.
        path: String,
        /// What gave it away.
        detail: String,
    },
    /// The file was written by a newer version of this crate, with a schema this build does
    /// not know.
    #[error(
        "{path} has workstream schema version {found}, newer than the versions this build \
         knows (up to {supported}); use a newer workstream-store-sqlite. The file was left \
         untouched"
    )]
    NewerSchema {
        /// The file.
        path: String,
        /// The schema version in the file.
        found: i32,
        /// The newest version this build knows.
        supported: i32,
    },
    /// SQLite would not switch the database to write-ahead logging.
    #[error("{path} could not be put in WAL mode (SQLite left its journal mode `{mode}`)")]
    JournalMode {
        /// The file.
        path: String,
        /// The journal mode SQLite answered with.
        mode: String,
    },
    /// SQLite failed otherwise (the file cannot be opened or created, an I/O error, …).
    #[error("SQLite failed on the database {path}: {}", message(.error, .path))]
    Sqlite {
        /// The file.
        path: String,
        /// SQLite's error. It is a field rather than the source because the message already
        /// shows it.
        error: rusqlite::Error,
    },
}

/// The first bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

impl OpenError {
    /// The error for SQLite's error `error` on the database at `path` (`file` on disk, if
    /// it is one): a file SQLite cannot read as a database is [`NotSqlite`](Self::NotSqlite),
    /// or [`Damaged`](Self::Damaged) when it starts as a SQLite database does; a database
    /// SQLite finds malformed is `Damaged`; anything else [`Sqlite`](Self::Sqlite).
    pub(crate) fn sqlite(path: &str, file: Option<&Path>, error: rusqlite::Error) -> Self {
        let path = path.to_owned();
        match error.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) if !file.is_some_and(starts_like_sqlite) => {
                OpenError::NotSqlite {
                    message: message(&error, &path),
                    path,
                }
            }
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => OpenError::Damaged {
                detail: format!("SQLite says: {}", message(&error, &path)),
                path,
            },
            _ => OpenError::Sqlite { path, error },
        }
    }
}

/// Whether the file starts with SQLite's magic bytes.
fn starts_like_sqlite(file: &Path) -> bool {
    let mut head = [0u8; 16];
    std::fs::File::open(file)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == SQLITE_MAGIC)
}

/// SQLite's message for `error`, without the statement it was running (a migration's is the
/// whole schema) and without `path`, which the caller's message names already.
fn message(error: &rusqlite::Error, path: &str) -> String {
    let text = match error {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    };
    match text.strip_suffix(path).and_then(|t| t.strip_suffix(": ")) {
        Some(short) if !path.is_empty() => short.to_owned(),
        _ => text,
    }
}

/// Turns a SQLite error into a [`StoreError`]: a lock held past the busy timeout becomes
/// [`StoreError::Busy`], a damaged file [`StoreError::Corrupt`], the rest
/// [`StoreError::Backend`].
pub(crate) fn store_error(e: rusqlite::Error, busy_timeout: Duration) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
            waited: busy_timeout,
        },
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            StoreError::Corrupt(format!("SQLite reports a damaged database: {e}"))
        }
        _ => StoreError::Backend(Box::new(e)),
    }
}
