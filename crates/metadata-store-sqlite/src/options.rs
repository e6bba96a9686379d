//! How a store is opened: [`SqliteOptions`] and the connections they make.

use crate::error::SqliteError;
use crate::{cache, schema};
use metadata_store::feed::Retention;
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::time::Duration;

/// Where the database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    File(PathBuf),
    Memory,
}

/// How to open a [`SqliteStore`](crate::SqliteStore).
///
/// ```
/// use metadata_store_sqlite::SqliteOptions;
/// let options = SqliteOptions::file("/var/lib/app/metadata.db")
///     .readers(4)
///     .synchronous_full(true)
///     .busy_timeout(std::time::Duration::from_secs(10));
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    pub(crate) location: Location,
    pub(crate) readers: usize,
    pub(crate) synchronous_full: bool,
    pub(crate) busy_timeout: Duration,
    pub(crate) cache_bytes: usize,
    pub(crate) page_cache_bytes: usize,
    pub(crate) feed: bool,
    pub(crate) retention: Retention,
    pub(crate) max_size: Option<u64>,
}

impl SqliteOptions {
    /// A database file, created if missing.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            location: Location::File(path.into()),
            readers: 2,
            synchronous_full: false,
            busy_timeout: Duration::from_secs(5),
            cache_bytes: cache::DEFAULT_CACHE_BYTES,
            page_cache_bytes: DEFAULT_PAGE_CACHE_BYTES,
            feed: true,
            retention: Retention::default(),
            max_size: None,
        }
    }

    /// A private in-memory database, gone when the store is dropped. It has one connection, so
    /// reads share its thread with writes.
    pub fn memory() -> Self {
        SqliteOptions {
            location: Location::Memory,
            ..SqliteOptions::file("")
        }
    }

    /// How many reader connections (threads) serve listings of a file database; at least 1.
    ///
    /// Point reads by key run on the caller's thread with a pool of their own that keeps twice
    /// this many connections (at least 4). More point reads at once than it keeps each open a
    /// connection for the read and close it after, which costs far more than the read, and
    /// makes the next reads check their cached records against their rows once: size this for
    /// the point reads a service runs at once.
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers.max(1);
        self
    }

    /// `synchronous=FULL` instead of `NORMAL`: a commit also survives a power cut, at the cost
    /// of an fsync per commit. Either way a commit survives the process being killed.
    pub fn synchronous_full(mut self, full: bool) -> Self {
        self.synchronous_full = full;
        self
    }

    /// The most memory, in bytes, that SQLite's page cache may take on each connection of a
    /// file database (64 MiB by default, where SQLite's own default is 2 MiB; at least 1 KiB).
    /// It is taken only as pages are read. A large file's B-tree interior pages then stay in
    /// memory, so a point read costs one page read whatever the number of records: random
    /// reads over 10,000,000 users cost about what they cost over 1,000,000.
    pub fn page_cache_bytes(mut self, bytes: usize) -> Self {
        self.page_cache_bytes = bytes;
        self
    }

    /// The most memory, in bytes, that parsed records kept for reuse may take (16 MiB by
    /// default; 0 keeps none). A record counts its stored text three times (the text, its
    /// parsed form and the compact text its tiers keep), so an 8 KiB record costs about 24 KiB.
    pub fn cache_bytes(mut self, bytes: usize) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// Whether every commit also writes its events to the change feed, in the same transaction
    /// (on by default). With it off, the feed's calls are [`FeedError::Disabled`](metadata_store::feed::FeedError::Disabled); turn it off
    /// only for a database whose changes nothing follows.
    pub fn feed(mut self, on: bool) -> Self {
        self.feed = on;
        self
    }

    /// How long the change feed keeps its events: seven days by default
    /// ([`Retention::default`]), pruned by the store's own commits as they write (one step every
    /// [`PRUNE_EVERY_EVENTS`](metadata_store::feed::PRUNE_EVERY_EVENTS) events, in the
    /// committing transaction), never past a consumer's cursor. [`Retention::Forever`] keeps
    /// every event until [`Feed::prune`](metadata_store::Feed::prune) is called.
    pub fn feed_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Caps the database file at about `bytes` (SQLite's `max_page_count`, rounded down to whole
    /// pages). A write that would grow the file past it is refused whole with
    /// [`SqliteError::Full`](crate::SqliteError::Full), as a write on a full disk is; reads go
    /// on, and writes succeed again once room is made (records deleted, the feed pruned: their
    /// pages are reused) or the cap is raised ([`SqliteStore::set_max_size`](crate::SqliteStore::set_max_size)).
    /// No cap by default.
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// How long a write waits for another connection or process to release the database.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
}

pub(crate) fn open_connection(
    options: &SqliteOptions,
    writer: bool,
) -> Result<Connection, SqliteError> {
    let mut conn = match &options.location {
        Location::File(path) => {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI;
            Connection::open_with_flags(path, flags)?
        }
        Location::Memory => Connection::open_in_memory()?,
    };
    conn.busy_timeout(options.busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(64);
    // Reading the schema first turns a file that is not a database, or a damaged one, into a
    // typed error before anything else.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    if options.location != Location::Memory {
        if writer {
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
        }
        let sync = if options.synchronous_full {
            "FULL"
        } else {
            "NORMAL"
        };
        conn.pragma_update(None, "synchronous", sync)?;
        // A negative cache_size is in KiB.
        let kib = (options.page_cache_bytes / 1024).max(1) as i64;
        conn.pragma_update(None, "cache_size", -kib)?;
    }
    if writer {
        // SQLite quietly opens a file it cannot write read-only; a store must be able to write.
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(SqliteError::ReadOnly(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
                Some("the database file cannot be opened for writing".into()),
            )));
        }
        schema::migrate(&mut conn)?;
        if let Some(bytes) = options.max_size {
            cap(&conn, Some(bytes))?;
        }
    }
    Ok(conn)
}

/// Caps the database at about `bytes` (`None`: SQLite's own limit), in whole pages, never below
/// the pages it already has.
pub(crate) fn cap(conn: &Connection, bytes: Option<u64>) -> Result<(), SqliteError> {
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let pages = match bytes {
        Some(bytes) => (bytes / page_size.max(1) as u64).clamp(1, i64::MAX as u64) as i64,
        None => 0xFFFF_FFFE,
    };
    conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(())
}

/// The default of [`SqliteOptions::page_cache_bytes`]: 64 MiB.
pub const DEFAULT_PAGE_CACHE_BYTES: usize = 64 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connection_gets_the_page_cache_asked_for() {
        let dir = tempfile::Builder::new()
            .prefix("metadata-sqlite-pages-")
            .tempdir()
            .unwrap();
        let path = dir.path().join("pages.db");
        let cache_size = |options: &SqliteOptions, writer: bool| -> i64 {
            let conn = open_connection(options, writer).unwrap();
            conn.query_row("PRAGMA cache_size", [], |r| r.get(0))
                .unwrap()
        };
        let default = SqliteOptions::file(&path);
        assert_eq!(
            cache_size(&default, true),
            -(DEFAULT_PAGE_CACHE_BYTES as i64 / 1024)
        );
        assert_eq!(
            cache_size(&default, false),
            -(DEFAULT_PAGE_CACHE_BYTES as i64 / 1024)
        );
        let small = SqliteOptions::file(&path).page_cache_bytes(3 << 20);
        assert_eq!(cache_size(&small, false), -3072);
        assert_eq!(
            cache_size(&SqliteOptions::file(&path).page_cache_bytes(0), false),
            -1
        );
        drop(dir);
    }
}
