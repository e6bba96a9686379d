//! The [`MetadataStore`] trait: the record contract every storage backend fulfils. The change
//! feed is a contract of its own, [`FeedStore`], which a store that keeps one hands out.

use crate::error::StoreResult;
use crate::feed::FeedStore;
use async_trait::async_trait;
use metadata_core::{
    feed::Stamp, Error, Filter, ListQuery, Page, Record, RecordKey, ResourceKind, Write,
};
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

/// The reader [`MetadataStore::read_now`] lends a stored record to (or `None`, when there is
/// none).
pub type ReadFn<'a> = &'a mut dyn FnMut(Option<&Record>);

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
/// **The escape hatch.** This trait (and [`FeedStore`]) is the implementer's contract, not a
/// way in: calling a store's methods directly skips every rule (access, shape, size, versions,
/// cursor names). A [`crate::MetadataService`] never hands out its store; a host that keeps its
/// own handle to one uses it only where no rule applies (tests, a benchmark of the store
/// itself, a tool that copies records wholesale).
///
/// ```
/// use async_trait::async_trait;
/// use metadata_core::{feed::Stamp, ListQuery, Page, Record, RecordKey, Write};
/// use metadata_store::{MetadataStore, StoreError, StoreResult};
///
/// /// A store that holds nothing and refuses every write.
/// #[derive(Debug)]
/// struct Empty;
///
/// #[async_trait]
/// impl MetadataStore for Empty {
///     async fn get(&self, _key: &RecordKey) -> StoreResult<Option<Record>> {
///         Ok(None)
///     }
///     async fn commit(&self, writes: &[Write], _stamp: &Stamp) -> StoreResult<Vec<u64>> {
///         Err(StoreError::backend("empty", false, "read only"))
///     }
///     async fn list(&self, _query: &ListQuery) -> StoreResult<Page<Record>> {
///         Ok(Page { items: vec![], next: None })
///     }
/// }
/// ```
#[async_trait]
pub trait MetadataStore: fmt::Debug + Send + Sync + 'static {
    /// A short name for the store (`memory`, `sqlite`, `postgres`), for the `store` field of
    /// the facade's spans. The default is `custom`.
    fn name(&self) -> &'static str {
        "custom"
    }

    /// The record stored under `key`, if any.
    async fn get(&self, key: &RecordKey) -> StoreResult<Option<Record>>;

    /// The one fast path: [`MetadataStore::get`] answered at once on the calling thread, the
    /// record lent to `read` instead of copied out, for a store whose point reads need no other
    /// thread (records in memory, or SQLite's reads on the caller's thread). The record is named
    /// by its kind and its `key` ([`RecordKey::storage_key`]), so a caller holding only an id
    /// need not build a [`RecordKey`].
    ///
    /// The rule: answer exactly what `get` would, or not at all. `read` is called once, with the
    /// record or `None`, and this returns `Some(Ok(()))`; a store that cannot answer at once
    /// returns `None` without calling `read` (the caller then awaits `get`), and a failure is
    /// `Some(Err(..))`, `read` not called. It must not wait on another thread nor block the
    /// caller longer than `get` itself would. `read` may run under the store's lock: it must not
    /// call into the store. The default cannot answer at once.
    fn read_now(&self, kind: ResourceKind, key: &str, read: ReadFn<'_>) -> Option<StoreResult<()>> {
        let _ = (kind, key, read);
        None
    }

    /// Applies `writes` in order, atomically, at the time `stamp.at` (ms since the epoch, from
    /// the service's clock) by `stamp.actor`: a store that keeps a feed stamps the commit's
    /// events with both (R14.2). Returns,
    /// for each write, how many records it touched (1 or 0 for `Delete`, the number deleted
    /// for the cascades, 1 for the others).
    ///
    /// - `Require(key)`: `NotFound` unless the record exists.
    /// - `Create(record)`: `AlreadyExists` if its key is taken (for a membership, the
    ///   organization and user pair).
    /// - `Update { record, expected_version }`: `NotFound` if gone, `Conflict` if its version
    ///   is not `expected_version`; otherwise stores `record`.
    /// - `Delete(key)` and the cascades: delete what is there.
    ///
    /// A store that keeps a feed writes the commit's events in the same transaction, derived by
    /// [`metadata_core::feed::RecordChange::of_write`] (R12.1).
    async fn commit(&self, writes: &[Write], stamp: &Stamp) -> StoreResult<Vec<u64>>;

    /// One page of the records `query` selects, in its order, after its cursor and offset:
    /// exactly the page [`ListQuery::select`] builds from every stored record (R7.2, R7.5).
    /// The query has been validated.
    async fn list(&self, query: &ListQuery) -> StoreResult<Page<Record>>;

    /// How many records of `kind` `filter` selects (R7.5): what a listing of all of them would
    /// hold. A store answers from what it keeps for the purpose (a counter, an index) without
    /// reading records; the default walks the listing a page at a time, for a store that
    /// keeps nothing better.
    async fn count(&self, kind: ResourceKind, filter: &Filter) -> StoreResult<u64> {
        let mut query = ListQuery::new(kind, filter.clone(), metadata_core::MAX_PAGE_SIZE);
        let mut total = 0u64;
        loop {
            let page = self.list(&query).await?;
            total += page.items.len() as u64;
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(total),
            }
        }
    }

    /// Reads the record under `key`, hands it to `apply`, and stores what `apply` returns in its
    /// place, conditional on the version read, stamped `stamp`: one atomic step.
    ///
    /// The default reads with [`MetadataStore::get`] and writes with one conditional
    /// [`Write::Update`] through [`MetadataStore::commit`]; a concurrent writer makes it fail
    /// with [`StoreError::Conflict`](crate::StoreError::Conflict), and the caller applies its change again. A store that can
    /// read, apply and write in one trip (one transaction on a connection it owns) overrides it;
    /// `apply` may then run on the store's thread, and may be called again if the store retries.
    async fn update(&self, key: &RecordKey, apply: ApplyFn, stamp: &Stamp) -> StoreResult<Applied> {
        let Some(current) = self.get(key).await? else {
            return Ok(Applied::Missing);
        };
        let expected_version = current.version();
        let next = match apply(current) {
            Ok(next) => next,
            Err(refused) => return Ok(Applied::Refused(refused)),
        };
        self.commit(
            &[Write::Update {
                record: next.clone(),
                expected_version,
            }],
            stamp,
        )
        .await?;
        Ok(Applied::Stored(next))
    }

    /// The store's change feed, if it keeps one (a store opened with its feed off, or one that
    /// implements none, answers `None`, and the facade's feed calls are then
    /// [`FeedError::Disabled`](crate::feed::FeedError::Disabled)).
    fn feed(&self) -> Option<&dyn FeedStore> {
        None
    }
}
