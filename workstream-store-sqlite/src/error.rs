//! Errors: why a database could not be opened, and how SQLite's errors become
//! [`StoreError`]s.

use std::time::Duration;

use rusqlite::ErrorCode;
use workstream_core::StoreError;

/// Why a database could not be opened. Whatever the reason, a file that is not a
/// workstream database at a schema version this build knows was not written to.
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
    #[error("{path} is not a SQLite database; it was left untouched")]
    NotSqlite {
        /// The file.
        path: String,
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
    #[error("the database could not be put in WAL mode (its journal mode is `{0}`)")]
    JournalMode(String),
    /// SQLite failed.
    #[error("SQLite failed while opening the database")]
    Sqlite(#[from] rusqlite::Error),
}

/// A writer waited for the database's lock for the whole busy timeout.
#[derive(Debug, thiserror::Error)]
#[error(
    "the database stayed locked by another connection for longer than the busy timeout \
     ({0:?}); another writer holds a long transaction"
)]
pub struct Busy(pub Duration);

/// Turns a SQLite error into a [`StoreError`]: a lock held past the busy timeout becomes
/// [`Busy`], a damaged file [`StoreError::Corrupt`], the rest [`StoreError::Backend`].
pub(crate) fn store_error(e: rusqlite::Error, busy_timeout: Duration) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Backend(Box::new(Busy(busy_timeout)))
        }
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            StoreError::Corrupt(format!("SQLite reports a damaged database: {e}"))
        }
        _ => StoreError::Backend(Box::new(e)),
    }
}
