//! The errors a store answers with: the implementer's side of the contract.

use metadata_core::{BoxError, Error, RecordKey};

/// What a store's calls answer: the value, or a [`StoreError`].
pub type StoreResult<T> = Result<T, StoreError>;

/// What a [`crate::MetadataStore`] reports. The facade turns it into the library's
/// [`metadata_core::Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A [`metadata_core::Write::Require`] or `Update` named a record that is not there.
    #[error("{key} not found")]
    NotFound {
        /// The missing record.
        key: RecordKey,
    },
    /// A [`metadata_core::Write::Create`] collided with a stored record.
    #[error("{key} already exists")]
    AlreadyExists {
        /// The existing record.
        key: RecordKey,
    },
    /// An `Update` found the record at another version.
    #[error("{key} is at version {actual}")]
    Conflict {
        /// The record.
        key: RecordKey,
        /// The version it has.
        actual: u64,
    },
    /// The storage itself failed; nothing was written.
    #[error("{store} store failed: {source}")]
    Backend {
        /// Which store (`"sqlite"`, ...).
        store: &'static str,
        /// Whether trying again may succeed.
        retryable: bool,
        /// The store's own error, kept whole.
        #[source]
        source: BoxError,
    },
    /// The query was refused as the core refuses it (an unvalidated query: the facade
    /// validates every query before a store sees it).
    #[error("{0}")]
    Query(#[source] Error),
    /// Contact was lost while committing: the writes may or may not have happened.
    #[error("{store} store lost contact while committing: {source}")]
    OutcomeUnknown {
        /// Which store.
        store: &'static str,
        /// The store's own error.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// A storage failure from any error.
    pub fn backend(store: &'static str, retryable: bool, source: impl Into<BoxError>) -> Self {
        StoreError::Backend {
            store,
            retryable,
            source: source.into(),
        }
    }

    /// The library's error for this store error; a conflict reports `expected` as the version
    /// the writer expected.
    pub fn into_error(self, expected: Option<u64>) -> Error {
        match self {
            StoreError::NotFound { key } => Error::NotFound {
                kind: key.kind(),
                id: key.storage_key(),
            },
            StoreError::AlreadyExists { key } => Error::AlreadyExists {
                kind: key.kind(),
                id: key.storage_key(),
            },
            StoreError::Conflict { key, actual } => Error::Conflict {
                kind: key.kind(),
                id: key.storage_key(),
                expected: expected.unwrap_or(actual),
                actual,
            },
            err @ StoreError::Backend { retryable, .. } => Error::Storage {
                retryable,
                source: Box::new(err),
            },
            StoreError::Query(refused) => refused,
            err @ StoreError::OutcomeUnknown { .. } => Error::OutcomeUnknown {
                source: Box::new(err),
            },
        }
    }
}

/// The facade's own storage failures, kept typed inside [`Error::Storage`] so a host can
/// downcast to them (R9.1).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// Every attempt to apply an update met a newer version written by someone else; trying
    /// again later may succeed.
    #[error("{key} kept changing over {attempts} attempts")]
    KeptChanging {
        /// The record.
        key: RecordKey,
        /// How many times the update was applied and lost its race.
        attempts: usize,
    },
    /// The store returned a record of another kind than the key named: it is broken.
    #[error("the store returned another kind of record for {key}")]
    WrongKind {
        /// The key asked for.
        key: RecordKey,
    },
}

impl ServiceError {
    /// The library's error for it: retryable when the record kept changing.
    pub(crate) fn into_error(self) -> Error {
        Error::Storage {
            retryable: matches!(self, ServiceError::KeptChanging { .. }),
            source: Box::new(self),
        }
    }
}
