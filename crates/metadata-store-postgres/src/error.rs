//! The PostgreSQL store's own errors, kept whole inside [`metadata_store::StoreError`].

use metadata_store::StoreError;
use tokio_postgres::error::SqlState;

/// What can go wrong in the PostgreSQL store. Inside a [`StoreError::Backend`] it is the
/// `source`, so a host can downcast to it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// The connection URL does not parse.
    #[error("invalid PostgreSQL connection URL: {0}")]
    InvalidUrl(#[source] tokio_postgres::Error),
    /// The schema name is not 1 to 63 characters of `a-z 0-9 _`.
    #[error("invalid schema name {0:?}: use 1 to 63 characters of a-z, 0-9 and '_'")]
    InvalidSchemaName(String),
    /// The database was migrated by a newer version of this library.
    #[error("the database has schema version {found}, newer than the {supported} this library knows; upgrade the library")]
    SchemaTooNew {
        /// The stored schema version.
        found: i32,
        /// The newest version this library writes.
        supported: i32,
    },
    /// No connection could be had from the pool (the server is down or unreachable, or it
    /// refused the connection).
    #[error("no PostgreSQL connection: {}", describe_pool(.0))]
    Pool(#[source] deadpool_postgres::PoolError),
    /// The pool's settings were refused.
    #[error("the connection pool could not be built")]
    PoolConfig(#[source] deadpool_postgres::BuildError),
    /// The server or the connection failed. The message carries the server's SQLSTATE code and
    /// message where the server answered; [`PostgresError::sql_state`] gives the code.
    #[error("postgres: {}", describe(.0))]
    Postgres(#[source] tokio_postgres::Error),
    /// A stored record does not parse: the table was changed outside this library.
    #[error("stored record {key} does not parse")]
    BadRecord {
        /// The record's storage key.
        key: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The store's background runtime has stopped.
    #[error("the store's background runtime has stopped")]
    RuntimeGone,
    /// The background runtime could not be started.
    #[error("could not start the store's background runtime")]
    Runtime(#[source] std::io::Error),
}

/// The server's own words where it answered (severity, SQLSTATE, message, detail), else the
/// client's description of what failed.
fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => {
            let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            text
        }
        None => err.to_string(),
    }
}

fn describe_pool(err: &deadpool_postgres::PoolError) -> String {
    match err {
        deadpool_postgres::PoolError::Backend(e) => describe(e),
        other => other.to_string(),
    }
}

/// Whether a server or connection error may go away if the call is tried again.
pub(crate) fn retryable(err: &tokio_postgres::Error) -> bool {
    match err.code() {
        None => true, // I/O, a closed connection, a timeout
        Some(code) => {
            let c = code.code();
            c.starts_with("08")
                || c.starts_with("40")
                || c.starts_with("57P")
                || c.starts_with("53")
        }
    }
}

/// Whether an error answering COMMIT says for certain that nothing was committed.
pub(crate) fn commit_definitely_failed(err: &tokio_postgres::Error) -> bool {
    match err.code() {
        Some(code) => {
            code == &SqlState::T_R_SERIALIZATION_FAILURE
                || code == &SqlState::T_R_DEADLOCK_DETECTED
                || code.code().starts_with("23")
        }
        None => false,
    }
}

impl PostgresError {
    /// The SQLSTATE code the server answered with (for example `"3D000"` for a database that
    /// does not exist), if it answered.
    pub fn sql_state(&self) -> Option<&str> {
        let err = match self {
            PostgresError::Postgres(e) => e,
            PostgresError::Pool(deadpool_postgres::PoolError::Backend(e)) => e,
            _ => return None,
        };
        err.code().map(SqlState::code)
    }

    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            PostgresError::Pool(deadpool_postgres::PoolError::Backend(e)) => retryable(e),
            PostgresError::Pool(_) => true,
            PostgresError::Postgres(e) => retryable(e),
            _ => false,
        }
    }
}

impl From<tokio_postgres::Error> for PostgresError {
    fn from(e: tokio_postgres::Error) -> Self {
        PostgresError::Postgres(e)
    }
}

impl PostgresError {
    /// The variant's name, for logs: never the message, which may quote what was sent.
    fn kind(&self) -> &'static str {
        match self {
            PostgresError::InvalidUrl { .. } => "invalid_url",
            PostgresError::InvalidSchemaName { .. } => "invalid_schema_name",
            PostgresError::SchemaTooNew { .. } => "schema_too_new",
            PostgresError::Pool { .. } => "pool",
            PostgresError::PoolConfig { .. } => "pool_config",
            PostgresError::Postgres { .. } => "postgres",
            PostgresError::BadRecord { .. } => "bad_record",
            PostgresError::RuntimeGone => "runtime_gone",
            PostgresError::Runtime { .. } => "runtime",
        }
    }

    /// The server's SQLSTATE, if it answered with one.
    fn sqlstate(&self) -> &str {
        match self {
            PostgresError::Postgres(e) => e.code().map_or("", |c| c.code()),
            _ => "",
        }
    }
}

impl From<PostgresError> for StoreError {
    fn from(err: PostgresError) -> Self {
        let retryable = err.is_retryable();
        tracing::warn!(
            store = "postgres",
            error = err.kind(),
            sqlstate = err.sqlstate(),
            retryable,
            "store fault"
        );
        StoreError::backend("postgres", retryable, err)
    }
}

pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    PostgresError::Postgres(e).into()
}
