//! A [`MetadataStore`] on PostgreSQL, for services that run on many machines sharing one
//! database server.
//!
//! Each record is kept as its exact JSON text beside a `jsonb` projection that lookups read;
//! every commit is atomic and a conditional replace is one statement, so instances racing on one
//! record cannot lose an update; a connection lost while the server may be committing is
//! [`StoreError::OutcomeUnknown`]; the change feed ([`PostgresOptions::feed`]) never skips a
//! transaction that commits late. Use the store from the tokio runtime it was connected on. How
//! it works, and why: `docs/architecture.md` in the repository.
//!
//! ```no_run
//! use metadata_core::{Change, ResourceKind, Tier, UserId};
//! use metadata_store::MetadataService;
//! use metadata_store_postgres::{PostgresOptions, PostgresStore};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresStore::connect(PostgresOptions::new("postgres://app@db.internal/app")).await?;
//! store.declare_index(ResourceKind::User, Tier::Public, "role").await?;
//! let metadata = MetadataService::new(store);
//! metadata.backend().create_user(&UserId::new("user_1")?, Change::new()).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod feed;
mod feed_store;
mod lookup;
mod migrate;
mod options;
mod single;
mod sql;

pub use error::PostgresError;
pub use feed::advance_cursor_in;
pub use migrate::SCHEMA_VERSION;
pub use options::PostgresOptions;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use metadata_core::feed::{RecordChange, Stamp};
use metadata_core::{
    Filter, ListQuery, MetadataPath, Millis, Page, Record, RecordKey, ResourceKind, Tier, Write,
};
use metadata_store::feed::{FeedSignal, FeedStore, RetentionSchedule};
use metadata_store::{Applied, ApplyFn, MetadataStore, StoreError, StoreResult};
use options::Background;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

struct Inner {
    pool: Pool,
    /// Records last read or written, with their row version (`xmin`), for one-statement
    /// updates; trusted for 30 s, so `xmin` is never relied on across a freeze.
    known: metadata_store_sql::memo::Memo<String>,
    background: Background,
    schema: Option<String>,
    feed: bool,
    /// When commits prune the feed.
    retention: RetentionSchedule,
    signal: FeedSignal,
}

/// What a point read brought back: the remembered record (the row had not moved on) or a body.
enum Fetched {
    Known(Record),
    Body(String),
}

/// A [`MetadataStore`] on PostgreSQL. Cloning shares the pool.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.schema)
            .field("pool", &self.inner.pool.status())
            .finish()
    }
}

fn valid_schema(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

async fn get_client(pool: &Pool) -> Result<deadpool_postgres::Object, StoreError> {
    pool.get().await.map_err(|e| PostgresError::Pool(e).into())
}

/// How many connections a call tries when the first ones turn out to have been closed by the
/// server while idle in the pool (nothing was written through them).
const ATTEMPTS: usize = 4;

/// Whether a failed read or BEGIN may be tried again on another connection.
fn try_again(err: &StoreError) -> bool {
    matches!(
        err,
        StoreError::Backend {
            retryable: true,
            ..
        }
    )
}

impl PostgresStore {
    /// Connects, and creates or migrates the schema. A database migrated by a newer version of
    /// this library is refused with [`PostgresError::SchemaTooNew`].
    pub async fn connect(options: PostgresOptions) -> Result<Self, PostgresError> {
        let mut config =
            tokio_postgres::Config::from_str(&options.url).map_err(PostgresError::InvalidUrl)?;
        if let Some(schema) = &options.schema {
            if !valid_schema(schema) {
                return Err(PostgresError::InvalidSchemaName(schema.clone()));
            }
            config.options(format!("-c search_path={schema}"));
        }
        config.application_name(&options.application_name);
        config.connect_timeout(options.connect_timeout);
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let background = Background::start()?;
        let pool = Pool::builder(manager)
            .max_size(options.max_connections)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout * 2))
            .create_timeout(Some(options.connect_timeout))
            .build()
            .map_err(PostgresError::PoolConfig)?;
        let (p, schema) = (pool.clone(), options.schema.clone());
        let migration = async move {
            let mut client = p.get().await.map_err(PostgresError::Pool)?;
            migrate::migrate(&mut client, schema.as_deref()).await
        };
        // On the caller's tokio runtime when there is one, so that the connection it opens
        // (and keeps in the pool) is driven there too: no hop when that runtime uses it.
        if tokio::runtime::Handle::try_current().is_ok() {
            migration.await?;
        } else {
            background
                .handle
                .spawn(migration)
                .await
                .map_err(|_| PostgresError::RuntimeGone)??;
        }
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool,
                known: metadata_store_sql::memo::Memo::new(Duration::from_secs(30), 16 << 20),
                background,
                schema: options.schema,
                feed: options.feed,
                retention: RetentionSchedule::new(options.retention),
                signal: FeedSignal::new(),
            }),
        })
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
        let pool = self.inner.pool.clone();
        self.inner
            .background
            .run(async move {
                let client = get_client(&pool).await?;
                sql::declare_index(&client, kind, tier, &path)
                    .await
                    .map_err(StoreError::from)
            })
            .await
            .map_err(|e| e.into_error(None))
    }

    /// The query plan PostgreSQL chooses for a listing, one line per step.
    pub async fn explain_list(&self, query: &ListQuery) -> Result<Vec<String>, StoreError> {
        let prepared = sql::prepare_list(query)?;
        let pool = self.inner.pool.clone();
        self.inner
            .background
            .run(async move { sql::explain(&get_client(&pool).await?, &prepared).await })
            .await
    }

    /// Drops this store's schema and everything in it (for tests that use a schema each).
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        let Some(schema) = self.inner.schema.clone() else {
            return Ok(());
        };
        let pool = self.inner.pool.clone();
        self.inner
            .background
            .run(async move {
                let client = get_client(&pool).await?;
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await
                    .map_err(error::pg)
            })
            .await
    }
}

impl PostgresStore {
    /// Counts the `events` a commit at `at` wrote and, when they tip the retention's count
    /// over, takes a pruning step (see [`PostgresOptions::feed_retention`]). The commit has
    /// already happened: a failed step is a warning, left to the next.
    async fn retain(&self, at: Millis, events: usize) {
        if !self.inner.feed {
            return;
        }
        if let Some(step) = self.inner.retention.after_commit(at, events) {
            match FeedStore::prune(self, step.committed_before, step.max_events).await {
                Ok(pruned) => {
                    metrics::counter!("metadata_feed_retention_pruned_total").increment(pruned)
                }
                Err(e) => tracing::warn!(code = e.code(), "the feed's retention step failed"),
            }
        }
    }
}

impl PostgresStore {
    /// Reads a record and its row version, and remembers both. A record the store remembers is
    /// read with a statement that sends its body only if the row has moved on from the
    /// remembered row version (trusted for as long as the update path trusts it), so reading a
    /// record again that nobody changed transfers and parses nothing.
    async fn read_with_xmin(
        &self,
        key: &RecordKey,
    ) -> Result<Option<(String, Record)>, StoreError> {
        let (kind, storage_key) = (key.kind(), key.storage_key());
        let known = self.inner.known.get(kind, &storage_key);
        let pool = self.inner.pool.clone();
        let k = storage_key.clone();
        let row = self
            .inner
            .background
            .run(async move {
                let mut attempt = 1;
                loop {
                    let client = get_client(&pool).await?;
                    let read = match &known {
                        Some((xmin, _)) => sql::get_unless(&client, kind, &k, xmin).await,
                        None => sql::get(&client, kind, &k)
                            .await
                            .map(|row| row.map(|(body, xmin)| (Some(body), xmin))),
                    };
                    match read {
                        Err(e) if attempt < ATTEMPTS && try_again(&e) => attempt += 1,
                        Err(e) => return Err(e),
                        Ok(None) => return Ok(None),
                        Ok(Some((Some(body), xmin))) => {
                            return Ok(Some((Fetched::Body(body), xmin)))
                        }
                        Ok(Some((None, xmin))) => {
                            // Withheld: only ever for the row version `known` holds.
                            let record = known.map(|(_, record)| record);
                            return Ok(record.map(|r| (Fetched::Known(r), xmin)));
                        }
                    }
                }
            })
            .await?;
        match row {
            None => {
                self.inner.known.forget(kind, &storage_key);
                Ok(None)
            }
            Some((Fetched::Known(record), xmin)) => Ok(Some((xmin, record))),
            Some((Fetched::Body(body), xmin)) => {
                let record = sql::parse(kind, &storage_key, &body)?;
                self.inner.known.put(&record, xmin.clone());
                Ok(Some((xmin, record)))
            }
        }
    }

    /// Sends `next` as one conditional statement over `current` at row version `xmin`: the new
    /// row version, or `None` if the row has moved on.
    async fn write_over(
        &self,
        current: &Record,
        next: &Record,
        xmin: String,
        stamp: &Stamp,
    ) -> Result<Option<String>, StoreError> {
        let stamp = stamp.clone();
        let write = Write::Update {
            record: next.clone(),
            expected_version: current.version(),
        };
        // Its event, if any, is built below from `current` and `next`.
        let Some(prepared) = sql::prepare(std::slice::from_ref(&write), false).pop() else {
            return Ok(None);
        };
        let change = match (&prepared.write, self.inner.feed) {
            (metadata_store_sql::prepared::PreparedWrite::Update { body, .. }, true) => {
                RecordChange::with_text(Some(current), Some(next), Some(body.clone()))
            }
            _ => None,
        };
        let pool = self.inner.pool.clone();
        let written = self
            .inner
            .background
            .run(async move {
                let client = get_client(&pool).await?;
                single::update_if_unchanged(&client, &prepared, &xmin, change.as_ref(), &stamp)
                    .await
                    .map_err(single::single_statement_failure)
            })
            .await;
        if self.inner.feed && matches!(written, Ok(Some(_))) {
            self.inner.signal.announce_unpositioned();
        }
        match &written {
            Ok(Some(new_xmin)) => self.inner.known.put(next, new_xmin.clone()),
            _ => self
                .inner
                .known
                .forget(next.kind(), &next.key().storage_key()),
        }
        written
    }
}

#[async_trait]
impl MetadataStore for PostgresStore {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn get(&self, key: &RecordKey) -> StoreResult<Option<Record>> {
        Ok(self.read_with_xmin(key).await?.map(|(_, record)| record))
    }

    async fn commit(&self, writes: &[Write], stamp: &Stamp) -> StoreResult<Vec<u64>> {
        let at = stamp.at;
        let stamp = stamp.clone();
        let prepared = sql::prepare(writes, self.inner.feed);
        let pool = self.inner.pool.clone();
        let feed = self.inner.feed;
        // Whatever the outcome, the records it names are no longer known for certain.
        self.inner.known.forget_written(writes);
        let (counts, any_events) = self
            .inner
            .background
            .run(async move {
                let mut attempt = 1;
                loop {
                    let mut client = get_client(&pool).await?;
                    let result = match prepared.as_slice() {
                        // Without a feed, one write is one statement; with it, a creation
                        // and its event are.
                        [single] if !feed => single::commit_single(&client, single, false, &stamp)
                            .await
                            .map(|counts| (counts, false)),
                        [single] if single::single_statement_with_event(single) => {
                            single::commit_single(&client, single, true, &stamp)
                                .await
                                .map(|counts| (counts, true))
                        }
                        _ => sql::commit(&mut client, &prepared, feed, &stamp).await,
                    };
                    match result {
                        Ok(done) => return Ok(done),
                        Err(sql::Failure::Begin(e))
                            if attempt < ATTEMPTS && error::retryable(&e) =>
                        {
                            attempt += 1
                        }
                        Err(sql::Failure::Begin(e)) => return Err(error::pg(e)),
                        Err(sql::Failure::Store(e)) => return Err(e),
                    }
                }
            })
            .await?;
        if any_events {
            self.inner.signal.announce_unpositioned();
            self.retain(at, writes.len()).await;
        }
        Ok(counts)
    }

    /// The common path is one statement: the change is applied to the record this store last
    /// read or wrote and sent as an `UPDATE` conditional on its version and row version
    /// (`xmin`). If the row has moved on (another writer, or a record deleted and created
    /// again), or nothing is known, the record is read first: two round trips.
    async fn update(&self, key: &RecordKey, apply: ApplyFn, stamp: &Stamp) -> StoreResult<Applied> {
        let at = stamp.at;
        let known = self.inner.known.get(key.kind(), &key.storage_key());
        if let Some((xmin, current)) = known {
            // A refusal is only trusted from the stored record: read it below.
            if let Ok(next) = apply(current.clone()) {
                if self
                    .write_over(&current, &next, xmin, stamp)
                    .await?
                    .is_some()
                {
                    self.retain(at, 1).await;
                    return Ok(Applied::Stored(next));
                }
            }
        }
        let Some((xmin, current)) = self.read_with_xmin(key).await? else {
            return Ok(Applied::Missing);
        };
        let next = match apply(current.clone()) {
            Ok(next) => next,
            Err(refused) => return Ok(Applied::Refused(refused)),
        };
        if self
            .write_over(&current, &next, xmin, stamp)
            .await?
            .is_some()
        {
            self.retain(at, 1).await;
            return Ok(Applied::Stored(next));
        }
        match self.read_with_xmin(key).await? {
            Some((_, now)) => Err(StoreError::Conflict {
                key: key.clone(),
                actual: now.version(),
            }),
            None => Ok(Applied::Missing),
        }
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<Page<Record>> {
        let prepared = sql::prepare_list(query)?;
        let pool = self.inner.pool.clone();
        let rows = self
            .inner
            .background
            .run(async move {
                let mut attempt = 1;
                loop {
                    match sql::list(&get_client(&pool).await?, &prepared).await {
                        Err(e) if attempt < ATTEMPTS && try_again(&e) => attempt += 1,
                        other => return other,
                    }
                }
            })
            .await?;
        let items = rows
            .iter()
            .map(|(key, body)| sql::parse(query.kind, key, body))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(query.page(items))
    }

    async fn count(&self, kind: ResourceKind, filter: &Filter) -> StoreResult<u64> {
        let pool = self.inner.pool.clone();
        let filter = filter.clone();
        self.inner
            .background
            .run(async move { sql::count(&get_client(&pool).await?, kind, &filter).await })
            .await
    }

    fn feed(&self) -> Option<&dyn FeedStore> {
        self.inner.feed.then_some(self as &dyn FeedStore)
    }
}
