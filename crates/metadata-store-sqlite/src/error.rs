//! The SQLite store's own errors, kept whole inside [`metadata_store::StoreError`].

use metadata_store::StoreError;
use rusqlite::ErrorCode;

/// What can go wrong in the SQLite store. Inside a [`StoreError::Backend`] it is the `source`,
/// so a host can downcast to it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// The file was written by a newer version of this library; it is left untouched.
    #[error("the database has schema version {found}, newer than the {supported} this library knows; upgrade the library")]
    SchemaTooNew {
        /// The file's schema version (`PRAGMA user_version`).
        found: i64,
        /// The newest schema version this library writes.
        supported: i64,
    },
    /// The file is not a SQLite database.
    #[error("the file is not a SQLite database")]
    NotADatabase(#[source] rusqlite::Error),
    /// The database is damaged (for example truncated).
    #[error("the database file is damaged")]
    Corrupt(#[source] rusqlite::Error),
    /// The file cannot be written.
    #[error("the database file is read-only")]
    ReadOnly(#[source] rusqlite::Error),
    /// The database stayed locked by another connection past the busy timeout.
    #[error("the database is busy")]
    Busy(#[source] rusqlite::Error),
    /// The database hit its size cap (`max_page_count`) or the disk is full: the write was
    /// refused whole; reads go on, and writes succeed again once room is made.
    #[error("the database or its disk is full")]
    Full(#[source] rusqlite::Error),
    /// A backup or restore would overwrite a file that exists.
    #[error("{0} exists; a backup or restore never overwrites a file")]
    Exists(std::path::PathBuf),
    /// A backup to restore fails SQLite's integrity check (the first problem it reports).
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    /// A file could not be read, written or moved.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// Any other SQLite failure.
    #[error("sqlite: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// A stored record does not parse: the file was changed outside this library.
    #[error("stored record {key} does not parse: {source}")]
    BadRecord {
        /// The record's storage key.
        key: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A job panicked on the connection thread; the connection lives on.
    #[error("a database job panicked: {0}")]
    Panicked(String),
    /// The connection thread is gone (the store was shut down).
    #[error("the database connection thread has stopped")]
    Closed,
    /// A connection thread could not be started.
    #[error("could not start a connection thread")]
    Spawn(#[source] std::io::Error),
}

impl From<rusqlite::Error> for SqliteError {
    fn from(err: rusqlite::Error) -> Self {
        match err.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => SqliteError::NotADatabase(err),
            Some(ErrorCode::DatabaseCorrupt) => SqliteError::Corrupt(err),
            Some(ErrorCode::ReadOnly) | Some(ErrorCode::CannotOpen) => SqliteError::ReadOnly(err),
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
                SqliteError::Busy(err)
            }
            Some(ErrorCode::DiskFull) => SqliteError::Full(err),
            _ => SqliteError::Sqlite(err),
        }
    }
}

impl SqliteError {
    /// The variant's name, for logs: never the message, which may quote a stored text.
    fn kind(&self) -> &'static str {
        match self {
            SqliteError::SchemaTooNew { .. } => "schema_too_new",
            SqliteError::NotADatabase { .. } => "not_a_database",
            SqliteError::Corrupt { .. } => "corrupt",
            SqliteError::ReadOnly { .. } => "read_only",
            SqliteError::Busy { .. } => "busy",
            SqliteError::Full { .. } => "full",
            SqliteError::Exists { .. } => "exists",
            SqliteError::Damaged { .. } => "damaged",
            SqliteError::Io { .. } => "io",
            SqliteError::Sqlite { .. } => "sqlite",
            SqliteError::BadRecord { .. } => "bad_record",
            SqliteError::Panicked { .. } => "panicked",
            SqliteError::Closed => "closed",
            SqliteError::Spawn { .. } => "spawn",
        }
    }

    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SqliteError::Busy(_))
    }
}

impl From<SqliteError> for StoreError {
    fn from(err: SqliteError) -> Self {
        let retryable = err.is_retryable();
        tracing::warn!(
            store = "sqlite",
            error = err.kind(),
            retryable,
            "store fault"
        );
        StoreError::backend("sqlite", retryable, err)
    }
}

impl From<SqliteError> for metadata_store::feed::FeedError {
    fn from(err: SqliteError) -> Self {
        metadata_store::feed::FeedError::Store(err.into())
    }
}
