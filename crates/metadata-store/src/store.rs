//! The [`MetadataStore`] trait: the minimal contract a storage backend fulfils.

use crate::error::StoreError;
use crate::feed::{FeedError, FeedSignal};
use async_trait::async_trait;
use metadata_core::feed::ChangeEvent;
use metadata_core::{Error, ListQuery, Millis, Page, Record, RecordKey, ResourceKind, Write};
use std::fmt;
use std::sync::Arc;

/// The core's pure step of an update, handed to [`MetadataStore::update`]: from the stored
/// record to the record to store in its place, or the rule that refuses it. It holds no rule
/// of its own store-side; the facade builds it from `metadata_core::apply_change_owned`.
///
/// It takes the record by value: a store that hands over the only copy it holds (taking it out
/// of its caches) lets a merge change the tier in place instead of copying it first. A store
/// that must keep its copy passes a clone, which shares the tiers and costs no copy of them.
pub type ApplyFn = Arc<dyn Fn(Record) -> Result<Record, Error> + Send + Sync>;

/// What [`MetadataStore::update`] did.
#[derive(Debug)]
pub enum Applied {
    /// The record `apply` returned is stored.
    Stored(Record),
    /// `apply` refused the change; nothing was written.
    Refused(Error),
    /// No record is stored under the key; nothing was written.
    Missing,
}

/// Storage for metadata records. Implement this to add a backend; use
/// [`crate::MetadataService`] to read and write through every rule.
///
/// A store knows no metadata rule. It loads records, lists them, and commits a list of
/// [`Write`]s atomically: all of them or none, isolated from every other commit, with each
/// `Update` conditional on the stored version (see [`Write`] for what each step must check).
///
/// ```
/// use async_trait::async_trait;
/// use metadata_core::{ListQuery, Page, Record, RecordKey, Write};
/// use metadata_store::{MetadataStore, StoreError};
///
/// /// A store that holds nothing and refuses every write.
/// #[derive(Debug)]
/// struct Empty;
///
/// #[async_trait]
/// impl MetadataStore for Empty {
///     async fn get(&self, _key: &RecordKey) -> Result<Option<Record>, StoreError> {
///         Ok(None)
///     }
///     async fn commit(&self, writes: &[Write]) -> Result<Vec<u64>, StoreError> {
///         Err(StoreError::backend("empty", false, "read only"))
///     }
///     async fn list(&self, _query: &ListQuery) -> Result<Page<Record>, StoreError> {
///         Ok(Page { items: vec![], next: None })
///     }
/// }
/// ```
#[async_trait]
pub trait MetadataStore: fmt::Debug + Send + Sync + 'static {
    /// The record stored under `key`, if any.
    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError>;

    /// [`MetadataStore::get`] answered at once on the calling thread, for a store whose point
    /// reads need no other thread (records in memory, or SQLite's reads on the caller's
    /// thread): `None` if this store cannot (then callers await `get`). The record is named by
    /// its kind and [`RecordKey::storage_key`], so a caller holding only an id need not build a
    /// key. It must not wait on another thread, nor block the caller longer than `get` itself
    /// would, and it answers exactly what `get` would. The facade tries it first, which spares
    /// a boxed future on every point read.
    fn get_now(
        &self,
        kind: ResourceKind,
        storage_key: &str,
    ) -> Option<Result<Option<Record>, StoreError>> {
        let _ = (kind, storage_key);
        None
    }

    /// [`MetadataStore::get_now`] handing the record to `read` by reference instead of
    /// returning a copy: `read` is called once, with the record or `None`, unless the store
    /// cannot answer at once (then this returns `None` and `read` is not called) or fails (an
    /// error, `read` not called). `read` may run under the store's lock: it must not call into
    /// the store. The default goes through `get_now`.
    fn read_now(
        &self,
        kind: ResourceKind,
        storage_key: &str,
        read: &mut dyn FnMut(Option<&Record>),
    ) -> Option<Result<(), StoreError>> {
        Some(
            self.get_now(kind, storage_key)?
                .map(|found| read(found.as_ref())),
        )
    }

    /// Applies `writes` in order, atomically. Returns, for each write, how many records it
    /// touched (1 or 0 for `Delete`, the number deleted for the cascades, 1 for the others).
    ///
    /// - `Require(key)`: `NotFound` unless the record exists.
    /// - `Create(record)`: `AlreadyExists` if its key is taken (for a membership, the
    ///   organization and user pair).
    /// - `Update { record, expected_version }`: `NotFound` if gone, `Conflict` if its version
    ///   is not `expected_version`; otherwise stores `record`.
    /// - `Delete(key)` and the cascades: delete what is there.
    async fn commit(&self, writes: &[Write]) -> Result<Vec<u64>, StoreError>;

    /// One page of the records `query` selects, ordered by storage key, starting after its
    /// cursor: the query's [`ListQuery::matches`] defines which records belong.
    async fn list(&self, query: &ListQuery) -> Result<Page<Record>, StoreError>;

    /// Reads the record under `key`, hands it to `apply`, and stores what `apply` returns in its
    /// place, conditional on the version read: one atomic step.
    ///
    /// The default reads with [`MetadataStore::get`] and writes with one conditional
    /// [`Write::Update`] through [`MetadataStore::commit`]; a concurrent writer makes it fail
    /// with [`StoreError::Conflict`], and the caller applies its change again. A store that can
    /// read, apply and write in one trip (one transaction on a connection it owns) overrides it;
    /// `apply` may then run on the store's thread, and may be called again if the store retries.
    async fn update(&self, key: &RecordKey, apply: ApplyFn) -> Result<Applied, StoreError> {
        let Some(current) = self.get(key).await? else {
            return Ok(Applied::Missing);
        };
        let expected_version = current.version();
        let next = match apply(current) {
            Ok(next) => next,
            Err(refused) => return Ok(Applied::Refused(refused)),
        };
        self.commit(&[Write::Update {
            record: next.clone(),
            expected_version,
        }])
        .await?;
        Ok(Applied::Stored(next))
    }

    /// The change feed's events after position `after`, in position order, at most `limit`
    /// (clamped to 1..=[`crate::feed::MAX_CHANGES_PER_READ`]). Every commit writes its events
    /// in the same transaction as its records; a refused or failed commit writes none.
    /// [`FeedError::CursorExpired`] if events after `after` were pruned. The default keeps no
    /// feed: [`FeedError::Disabled`].
    async fn changes(&self, after: u64, limit: usize) -> Result<Vec<ChangeEvent>, FeedError> {
        let _ = (after, limit);
        Err(FeedError::Disabled)
    }

    /// The signal the store announces its commits on, for waiting without polling (commits
    /// made through this process only); `None` if it keeps no feed.
    fn feed_signal(&self) -> Option<&FeedSignal> {
        None
    }

    /// Where the named cursor is, if it exists.
    async fn cursor(&self, name: &str) -> Result<Option<u64>, FeedError> {
        let _ = name;
        Err(FeedError::Disabled)
    }

    /// Moves the named cursor to `to` if it is at `expected` (`None`: it does not exist yet,
    /// and is created): compare-and-set, so two instances of one consumer cannot both advance
    /// it. Otherwise [`FeedError::CursorMoved`].
    async fn advance_cursor(
        &self,
        name: &str,
        expected: Option<u64>,
        to: u64,
    ) -> Result<(), FeedError> {
        let _ = (name, expected, to);
        Err(FeedError::Disabled)
    }

    /// Removes the named cursor, so pruning no longer waits for it; whether it existed.
    async fn remove_cursor(&self, name: &str) -> Result<bool, FeedError> {
        let _ = name;
        Err(FeedError::Disabled)
    }

    /// Prunes one batch of at most `max_events` of the oldest events: those committed before
    /// `committed_before` (ms since the epoch) and at or below every cursor, oldest first and
    /// without a hole. Returns how many it deleted.
    async fn prune_changes(
        &self,
        committed_before: Millis,
        max_events: usize,
    ) -> Result<u64, FeedError> {
        let _ = (committed_before, max_events);
        Err(FeedError::Disabled)
    }

    /// One page of records and a feed position it reflects: every commit at or below that
    /// position is in the page (the memory and SQLite stores give exactly those; PostgreSQL's
    /// page may also reflect commits after it). A reader that lost its place
    /// ([`FeedError::CursorExpired`]) re-syncs from snapshot pages and follows the feed on
    /// from the lowest of their positions, skipping an event whose version is at or below
    /// the version of the record it already holds.
    async fn snapshot(&self, query: &ListQuery) -> Result<(Page<Record>, u64), FeedError> {
        let _ = query;
        Err(FeedError::Disabled)
    }
}
