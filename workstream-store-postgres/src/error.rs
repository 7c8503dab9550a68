//! Errors: why a store could not be opened, and how PostgreSQL's errors become
//! [`StoreError`]s.

use std::time::Duration;

use postgres::error::SqlState;
use workstream_core::StoreError;

/// Why a store could not be opened. Whatever the reason, a schema that is not a workstream
/// schema at a version this build knows was not written to.
///
/// Every message names the server (host, port and database, never the password) or the
/// schema, and gives PostgreSQL's own words where it gave a reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The connection string does not parse.
    #[error(
        "the connection string does not parse ({message}); write it as \
         `postgres://user:password@host:5432/database` or `host=… user=… dbname=…`"
    )]
    BadUrl {
        /// What the parser said.
        message: String,
    },
    /// The schema name is not a plain lowercase identifier.
    #[error(
        "`{schema}` is not a schema name workstream uses: write 1 to 63 lowercase ASCII \
         letters, digits and `_`, starting with a letter or `_`"
    )]
    BadSchemaName {
        /// The name given.
        schema: String,
    },
    /// The server could not be reached: nothing listens there, the host is unknown, or it
    /// did not answer within the connect timeout.
    #[error("the PostgreSQL server at {server} could not be reached: {message}")]
    Unreachable {
        /// Host, port and database.
        server: String,
        /// Why.
        message: String,
    },
    /// The server refused the credentials.
    #[error("the PostgreSQL server at {server} refused the login: {message}")]
    Authentication {
        /// Host, port and database.
        server: String,
        /// PostgreSQL's words.
        message: String,
    },
    /// The database does not exist.
    #[error("the PostgreSQL server at {server} has no database `{database}`: {message}")]
    NoDatabase {
        /// Host, port and database.
        server: String,
        /// The database asked for.
        database: String,
        /// PostgreSQL's words.
        message: String,
    },
    /// The schema does not exist, and the options say not to create it.
    #[error(
        "the database at {server} has no schema `{schema}`, and the store was opened with \
         `create_schema(false)`; create it, or let the store create it"
    )]
    NoSchema {
        /// Host, port and database.
        server: String,
        /// The schema.
        schema: String,
    },
    /// The schema holds tables of another program.
    #[error(
        "the schema `{schema}` at {server} is not a workstream schema: {detail}; it was left \
         untouched (open the store with another schema)"
    )]
    NotWorkstream {
        /// Host, port and database.
        server: String,
        /// The schema.
        schema: String,
        /// What gave it away.
        detail: String,
    },
    /// The schema was written by a newer version of this crate.
    #[error(
        "the schema `{schema}` at {server} has workstream schema version {found}, newer than \
         the versions this build knows (up to {supported}); use a newer \
         workstream-store-postgres. It was left untouched"
    )]
    NewerSchema {
        /// Host, port and database.
        server: String,
        /// The schema.
        schema: String,
        /// The version it holds.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The schema is marked as workstream's but does not read as one.
    #[error("the schema `{schema}` at {server} is damaged: {detail}; it was left untouched")]
    Damaged {
        /// Host, port and database.
        server: String,
        /// The schema.
        schema: String,
        /// What is wrong.
        detail: String,
    },
    /// The server is older than PostgreSQL 11, the oldest the store runs on.
    #[error(
        "the PostgreSQL server at {server} is version {version} (server_version_num); the \
         store needs PostgreSQL 11 or newer"
    )]
    OldServer {
        /// Host, port and database.
        server: String,
        /// Its `server_version_num`.
        version: i64,
    },
    /// The database keeps text in an encoding other than UTF-8, so text would not read back
    /// as it was written.
    #[error(
        "the database at {server} keeps text as {encoding}, not UTF8: events would not read \
         back byte for byte; create the database with `ENCODING 'UTF8'`"
    )]
    Encoding {
        /// Host, port and database.
        server: String,
        /// The server's encoding.
        encoding: String,
    },
    /// PostgreSQL failed otherwise (no right to create the schema, …).
    #[error("PostgreSQL failed on {server}: {message}")]
    Postgres {
        /// Host, port and database.
        server: String,
        /// PostgreSQL's words.
        message: String,
    },
}

/// What went wrong with a statement, for the store to decide whether to try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The transaction lost a race (a serialization failure or a deadlock): run it again.
    Raced,
    /// The connection broke: run it again on another connection.
    Broken,
    /// The statement failed for another reason; the transaction cannot go on.
    Failed,
}

/// How a PostgreSQL error is to be treated.
pub(crate) fn failure(e: &postgres::Error) -> Failure {
    match e.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE => Failure::Raced,
        Some(code) if *code == SqlState::T_R_DEADLOCK_DETECTED => Failure::Raced,
        // The server is shutting down or restarting, or killed this backend.
        Some(code)
            if *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CRASH_SHUTDOWN
                || *code == SqlState::CANNOT_CONNECT_NOW =>
        {
            Failure::Broken
        }
        // A connection exception (class 08), or an error that ended the session (a timeout
        // of an idle session or transaction, an administrator's termination, …).
        Some(code) if code.code().starts_with("08") => Failure::Broken,
        Some(_)
            if e.as_db_error()
                .is_some_and(|db| matches!(db.severity(), "FATAL" | "PANIC")) =>
        {
            Failure::Broken
        }
        Some(_) => Failure::Failed,
        None if e.is_closed() || io_error(e) => Failure::Broken,
        None => Failure::Failed,
    }
}

fn io_error(e: &postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The words of a PostgreSQL error: the server's message (and detail) for a database error,
/// the client's otherwise.
pub(crate) fn words(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                let more = s.to_string();
                if !text.contains(&more) {
                    text = format!("{text}: {more}");
                }
                source = s.source();
            }
            text
        }
    }
}

/// Turns a statement's error into a [`StoreError`]: a lock not granted within the lock
/// timeout is [`StoreError::Busy`]; a broken connection [`StoreError::Unavailable`]; the
/// rest [`StoreError::Backend`].
pub(crate) fn store_error(e: postgres::Error, busy_timeout: Duration) -> StoreError {
    if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
        return StoreError::Busy {
            waited: busy_timeout,
        };
    }
    match failure(&e) {
        Failure::Broken => StoreError::Unavailable {
            message: words(&e),
            waited: Duration::ZERO,
        },
        _ => StoreError::Backend(Box::new(e)),
    }
}

impl OpenError {
    /// The error for a failed connection to `server` (of database `database`).
    pub(crate) fn connecting(server: &str, database: &str, e: &postgres::Error) -> OpenError {
        let server = server.to_owned();
        let message = words(e);
        match e.code() {
            Some(code)
                if *code == SqlState::INVALID_PASSWORD
                    || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                OpenError::Authentication { server, message }
            }
            Some(code) if *code == SqlState::INVALID_CATALOG_NAME => OpenError::NoDatabase {
                server,
                database: database.to_owned(),
                message,
            },
            Some(_) => OpenError::Postgres { server, message },
            None => OpenError::Unreachable { server, message },
        }
    }
}
