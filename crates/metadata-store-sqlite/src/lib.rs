//! The embedded default [`MetadataStore`], on SQLite (bundled, no system library needed).
//!
//! A file database in WAL mode (or an in-memory one), with no async runtime needed: reads by
//! key run on the caller's thread, writes commit in groups, one fsync a group, and an update is
//! one trip. Point reads remember parsed records while the database has not changed; the change
//! feed ([`SqliteOptions::feed`]) is written in each commit's own transaction;
//! [`SqliteStore::declare_index`] adds an expression index for a lookup path. How it works, and
//! why: `docs/architecture.md` in the repository.
//!
//! ```
//! use metadata_core::{Change, ResourceKind, Tier, User, UserId};
//! use metadata_store::{MetadataService, PageRequest};
//! use metadata_store_sqlite::SqliteStore;
//! use serde_json::json;
//!
//! # futures::executor::block_on(async {
//! let dir = std::env::temp_dir().join(format!("metadata-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! std::fs::create_dir_all(&dir).unwrap();
//! let store = SqliteStore::open_file(dir.join("doc.db")).unwrap();
//! store.declare_index(ResourceKind::User, Tier::Public, "role").await.unwrap();
//! let metadata = MetadataService::new(store);
//! let id = UserId::new("user_1").unwrap();
//! let change = Change::new().replace_json(Tier::Public, json!({"role": "admin"})).unwrap();
//! metadata.backend().create_user(&id, change).await.unwrap();
//! let admins = metadata.backend().find_users(Tier::Public, "role", "admin", PageRequest::first(10)).await.unwrap();
//! assert_eq!(admins.items[0].id, id);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod backup;
mod bridge;
mod cache;
mod error;
mod feed;
mod feed_store;
mod lookup;
mod options;
mod readers;
mod schema;
mod sql;
mod update;
mod writer;

pub use backup::Backup;
pub use error::SqliteError;
pub use feed::advance_cursor_in;
pub use options::{SqliteOptions, DEFAULT_PAGE_CACHE_BYTES};
pub use schema::SCHEMA_VERSION;

use async_trait::async_trait;
use bridge::Worker;
use metadata_core::{
    feed::Stamp, Filter, ListQuery, MetadataPath, Page, Record, RecordKey, ResourceKind, Tier,
    Write,
};
use metadata_store::feed::{FeedError, FeedSignal, FeedStore, RetentionSchedule};
use metadata_store::{Applied, ApplyFn};
use metadata_store::{MetadataStore, ReadFn, StoreError, StoreResult};
use options::{open_connection, Location};
use readers::ReaderPool;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use writer::Writer;

/// Counts of the writer's group commits, from [`SqliteStore::commit_stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed together (one `COMMIT` each).
    pub groups: u64,
    /// Write transactions in them.
    pub transactions: u64,
}

struct Inner {
    cache: cache::ParsedCache,
    /// Records the writer last wrote, tagged with the writer connection's `PRAGMA
    /// data_version` at the time: while it has not changed, no other connection (or process)
    /// has committed, so the record is exactly the stored one and an update need not read it.
    written: metadata_store_sql::memo::Memo<i64>,
    /// Commits that deleted records, counted inside their transactions.
    deletions: std::sync::atomic::AtomicU64,
    writer: Arc<Writer>,
    /// Connections for point reads on the calling thread (file databases).
    point_readers: Option<ReaderPool>,
    /// Connection threads for listings (file databases).
    readers: Vec<Worker>,
    next_reader: AtomicUsize,
    location: Location,
    feed: bool,
    /// When commits prune the feed.
    retention: RetentionSchedule,
    signal: FeedSignal,
}

/// A [`MetadataStore`] on SQLite. Cloning shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.inner.location)
            .field("readers", &self.inner.readers.len())
            .finish()
    }
}

impl Inner {
    /// A record from its stored text, reusing the record parsed from the same text before; a
    /// point read passes the epoch it read the row in (see [`readers`]).
    fn parse(
        &self,
        kind: ResourceKind,
        key: String,
        body: String,
        seen: Option<u64>,
    ) -> Result<Record, SqliteError> {
        if self.cache.is_off() {
            return sql::parse(kind, &key, &body);
        }
        if let Some(record) = self.cache.get(kind, &key, &body, seen) {
            return Ok(record);
        }
        let record = sql::parse(kind, &key, &body)?;
        let seen = seen.unwrap_or(cache::UNSEEN);
        self.cache.put(kind, key, body, record.clone(), seen);
        Ok(record)
    }

    /// A point read by kind and storage key, on the calling thread. On a file database, a
    /// record seen in its row since the database last changed is answered without reading the
    /// table.
    fn get(&self, kind: ResourceKind, storage_key: &str) -> Result<Option<Record>, SqliteError> {
        let (body, seen) = match &self.point_readers {
            // Without a cache no record is trusted across reads: `PRAGMA data_version` (about
            // a microsecond) would buy nothing.
            Some(pool) if self.cache.is_off() => {
                (pool.with(|conn| sql::get(conn, kind, storage_key))?, None)
            }
            Some(pool) => match pool.with_epoch(|conn, epoch| {
                Ok::<_, SqliteError>(match self.cache.get_current(kind, storage_key, epoch) {
                    Some(record) => PointRead::Current(record),
                    None => PointRead::Row(sql::get(conn, kind, storage_key)?, epoch),
                })
            })? {
                PointRead::Current(record) => {
                    metrics::counter!("metadata_sqlite_cache_hits_total").increment(1);
                    return Ok(Some(record));
                }
                PointRead::Row(body, epoch) => {
                    metrics::counter!("metadata_sqlite_cache_misses_total").increment(1);
                    (body, Some(epoch))
                }
            },
            None => (
                self.writer
                    .alone(|conn| sql::get(conn, kind, storage_key))?,
                None,
            ),
        };
        body.map(|body| self.parse(kind, storage_key.to_owned(), body, seen))
            .transpose()
    }
}

/// What a point read on a pooled connection found.
enum PointRead {
    /// The cached record, current since nothing changed.
    Current(Record),
    /// The row's text (`None`: no row), read in this epoch.
    Row(Option<String>, u64),
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates a database. This blocks the calling thread while
    /// the connections open: call it at start-up, not inside async code on a busy executor.
    pub fn open(options: SqliteOptions) -> Result<Self, SqliteError> {
        let writer = Arc::new(Writer::new(open_connection(&options, true)?));
        let point_readers = match &options.location {
            Location::Memory => None,
            Location::File(_) => {
                let opts = options.clone();
                Some(ReaderPool::new(options.readers.max(2) * 2, move || {
                    open_connection(&opts, false)
                })?)
            }
        };
        let readers = match &options.location {
            Location::Memory => Vec::new(),
            Location::File(_) => (0..options.readers)
                .map(|i| {
                    let opts = options.clone();
                    Worker::spawn(&format!("metadata-sqlite-reader-{i}"), move || {
                        open_connection(&opts, false)
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                cache: cache::ParsedCache::new(options.cache_bytes),
                written: metadata_store_sql::memo::Memo::new(
                    Duration::from_secs(3600),
                    options.cache_bytes,
                ),
                deletions: std::sync::atomic::AtomicU64::new(0),
                writer,
                point_readers,
                readers,
                next_reader: AtomicUsize::new(0),
                location: options.location,
                feed: options.feed,
                retention: RetentionSchedule::new(options.retention),
                signal: FeedSignal::new(),
            }),
        })
    }

    /// Opens a database file with the default options.
    pub fn open_file(path: impl Into<PathBuf>) -> Result<Self, SqliteError> {
        Self::open(SqliteOptions::file(path))
    }

    /// Opens a private in-memory database.
    pub fn open_in_memory() -> Result<Self, SqliteError> {
        Self::open(SqliteOptions::memory())
    }

    /// Runs a read on a listing connection thread (the writer's, for an in-memory database).
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = &self.inner.readers;
        if readers.is_empty() {
            // An in-memory database has one connection; its reads are short.
            return self.inner.writer.alone(f);
        }
        let i = self.inner.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
        readers[i].call(f).await
    }

    /// Runs a short read on the calling thread: a pooled reader (file databases) or the one
    /// connection (in-memory databases).
    fn point_read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, FeedError>,
    ) -> Result<T, FeedError> {
        match &self.inner.point_readers {
            Some(pool) => pool.with(f),
            None => self.inner.writer.alone(|conn| f(conn)),
        }
    }

    /// Runs a feed job alone on the write connection, on a thread of its own.
    async fn feed_job<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, FeedError> + Send + 'static,
    ) -> Result<T, FeedError> {
        if !self.inner.feed {
            return Err(FeedError::Disabled);
        }
        self.inner.writer.call(f).await
    }

    /// A stored record from its text (read outside the point readers' epochs), reusing the
    /// record parsed from the same text before.
    fn parse(&self, kind: ResourceKind, key: String, body: String) -> Result<Record, SqliteError> {
        self.inner.parse(kind, key, body, None)
    }

    /// Sets the cap on the database's size (see [`SqliteOptions::max_size`]); `None` lifts it.
    /// A cap below the file's present size holds it where it is.
    pub async fn set_max_size(&self, bytes: Option<u64>) -> Result<(), StoreError> {
        self.inner
            .writer
            .call(move |conn| options::cap(conn, bytes).map_err(StoreError::from))
            .await
    }

    /// Declares an expression index on a metadata path, so that finding `kind` records by the
    /// value at `path` in `tier` (R7.2) reads the index instead of scanning. Idempotent; every
    /// distinct path gets an index of its own. A path that does not parse is
    /// [`Error::InvalidQuery`](metadata_core::Error::InvalidQuery), as it is in a lookup.
    pub async fn declare_index(
        &self,
        kind: ResourceKind,
        tier: Tier,
        path: &str,
    ) -> Result<(), metadata_core::Error> {
        let path = MetadataPath::parse(path)?;
        if !kind.has_tier(tier) {
            return Err(metadata_core::Error::UnsupportedTier { kind, tier });
        }
        self.inner
            .writer
            .call(move |conn| {
                schema::declare_index(conn, kind, tier, &path).map_err(StoreError::from)
            })
            .await
            .map_err(|e| e.into_error(None))
    }

    /// How many write groups the store has committed and how many transactions they held: with
    /// concurrent writers, groups are fewer than transactions (group commit).
    pub fn commit_stats(&self) -> CommitStats {
        let c = &self.inner.writer.counters;
        CommitStats {
            groups: c.groups.load(Ordering::Relaxed),
            transactions: c.transactions.load(Ordering::Relaxed),
        }
    }

    /// How many parsed records the store keeps for reuse, and the bytes they are counted at
    /// (never more than [`SqliteOptions::cache_bytes`]).
    pub fn cache_usage(&self) -> (usize, usize) {
        self.inner.cache.usage()
    }

    /// Runs `PRAGMA integrity_check`: `"ok"` for a sound database.
    pub async fn integrity_check(&self) -> Result<String, SqliteError> {
        self.inner
            .writer
            .call(|conn| {
                Ok(conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))?)
            })
            .await
    }

    /// The query plan SQLite chooses for a listing, one line per step (to check index use).
    pub fn explain_list(&self, query: &ListQuery) -> Result<Vec<String>, StoreError> {
        let prepared = sql::prepare_list(query)?;
        Ok(self
            .inner
            .writer
            .call_blocking(move |conn| sql::explain(conn, &prepared))?)
    }
}

#[async_trait]
impl MetadataStore for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    /// A point read by key. On a file database it runs on the calling thread, on a pooled
    /// reader connection: it blocks the caller for `PRAGMA data_version` and, unless the record
    /// was seen in its row since the database last changed, one indexed `SELECT` (a few
    /// microseconds when the page is cached, one disk read when it is not) instead of waking a
    /// connection thread.
    async fn get(&self, key: &RecordKey) -> StoreResult<Option<Record>> {
        Ok(self.inner.get(key.kind(), &key.storage_key_cow())?)
    }

    /// [`MetadataStore::get`] itself on a file database, whose point reads run on the calling
    /// thread with a pooled connection anyway: answering here spares the facade a boxed future.
    /// An in-memory database answers `None`: its one connection may be busy with a write.
    fn read_now(&self, kind: ResourceKind, key: &str, read: ReadFn<'_>) -> Option<StoreResult<()>> {
        self.inner.point_readers.as_ref()?;
        Some(match self.inner.get(kind, key) {
            Ok(found) => {
                read(found.as_ref());
                Ok(())
            }
            Err(e) => Err(e.into()),
        })
    }

    /// Commits on the writer thread, grouped with the commits queued at the same time (each in
    /// a savepoint of its own), acknowledged after the group's COMMIT.
    async fn commit(&self, writes: &[Write], stamp: &Stamp) -> StoreResult<Vec<u64>> {
        let stamp = stamp.clone();
        let prepared = Arc::new(metadata_store_sql::prepared::prepare(writes));
        let sent = prepared.clone();
        // The writes themselves go along only when their events are to be derived.
        let originals = if self.inner.feed {
            writes.to_vec()
        } else {
            Vec::new()
        };
        let feed = self.inner.feed;
        // A record deleted may be created again at a version an update prepared ahead of its
        // transaction expects; counting deletions lets such an update notice (see `update`).
        let deletes = writes.iter().any(|w| {
            !matches!(
                w,
                Write::Create(_) | Write::Update { .. } | Write::Require(_)
            )
        });
        let inner = self.inner.clone();
        self.inner.written.forget_written(writes);
        let (counts, last) = self
            .inner
            .writer
            .transact(move |conn| {
                if deletes {
                    inner
                        .deletions
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                let mut changes = Vec::new();
                let counts = sql::run_all(conn, &sent, feed.then_some((&originals, &mut changes)))?;
                Ok((
                    counts,
                    feed::insert(conn, &changes, &stamp, &inner.retention)?,
                ))
            })
            .await?;
        self.inner.cache.committed(writes, &prepared);
        if let Some(last) = last {
            self.inner.signal.announce(last);
        }
        Ok(counts)
    }

    /// One trip: the conditional write of a change applied ahead to the writer's copy, or the
    /// read, the core's `apply` and the conditional write in one job of one transaction.
    async fn update(&self, key: &RecordKey, apply: ApplyFn, stamp: &Stamp) -> StoreResult<Applied> {
        update::update(self, key, apply, stamp).await
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<Page<Record>> {
        let prepared = sql::prepare_list(query)?;
        let rows = self
            .read(move |conn| sql::list(conn, &prepared).map_err(StoreError::from))
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for (key, body) in rows {
            items.push(self.parse(query.kind, key, body)?);
        }
        Ok(query.page(items))
    }

    async fn count(&self, kind: ResourceKind, filter: &Filter) -> StoreResult<u64> {
        let filter = filter.clone();
        self.read(move |conn| sql::count(conn, kind, &filter).map_err(StoreError::from))
            .await
    }

    fn feed(&self) -> Option<&dyn FeedStore> {
        self.inner.feed.then_some(self as &dyn FeedStore)
    }
}
