//! The [`MetadataStore`] trait: the minimal contract a storage backend fulfils.

use crate::error::StoreError;
use async_trait::async_trait;
use metadata_core::{Error, ListQuery, Page, Record, RecordKey, Write};
use std::fmt;
use std::sync::Arc;

/// The core's pure step of an update, handed to [`MetadataStore::update`]: from the stored
/// record to the record to store in its place, or the rule that refuses it. It holds no rule
/// of its own store-side; the facade builds it from `metadata_core::apply_change`.
pub type ApplyFn = Arc<dyn Fn(&Record) -> Result<Record, Error> + Send + Sync>;

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
        let next = match apply(&current) {
            Ok(next) => next,
            Err(refused) => return Ok(Applied::Refused(refused)),
        };
        self.commit(&[Write::Update {
            record: next.clone(),
            expected_version: current.version(),
        }])
        .await?;
        Ok(Applied::Stored(next))
    }
}
