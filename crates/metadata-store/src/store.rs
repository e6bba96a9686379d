//! The [`MetadataStore`] trait: the minimal contract a storage backend fulfils.

use crate::error::StoreError;
use async_trait::async_trait;
use metadata_core::{ListQuery, Page, Record, RecordKey, Write};
use std::fmt;

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
}
