//! Errors and their stable codes (contract §9).

use crate::access::{Access, Surface};
use crate::tier::{ResourceKind, Tier};
use std::fmt;

/// A boxed error from a storage backend, kept whole so its `source()` chain survives (R9.1).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of JSON value was found where an object was required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonKind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonKind {
    /// The kind of `value`.
    pub fn of(value: &serde_json::Value) -> JsonKind {
        match value {
            serde_json::Value::Null => JsonKind::Null,
            serde_json::Value::Bool(_) => JsonKind::Bool,
            serde_json::Value::Number(_) => JsonKind::Number,
            serde_json::Value::String(_) => JsonKind::String,
            serde_json::Value::Array(_) => JsonKind::Array,
            serde_json::Value::Object(_) => JsonKind::Object,
        }
    }
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonKind::Null => "null",
            JsonKind::Bool => "a boolean",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
            JsonKind::Array => "an array",
            JsonKind::Object => "an object",
        })
    }
}

/// Why a value cannot be a tier (R3.4, R4), before it is known which tier it is for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The value is not a JSON object (R3.4).
    #[error("metadata must be a JSON object, found {found}; replace with {{}} to clear a tier")]
    NotAnObject {
        /// What was found instead.
        found: JsonKind,
    },
    /// The bytes are not valid JSON.
    #[error("metadata is not valid JSON: {source}")]
    InvalidJson {
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// Objects and arrays nest deeper than the limit (R4.4).
    #[error("metadata nests deeper than {limit} levels")]
    TooDeep {
        /// The deepest nesting allowed.
        limit: usize,
    },
    /// The raw input is longer than any acceptable tier could be; it was not parsed (R4.4).
    #[error("the metadata input of {len} bytes is longer than the {limit} bytes accepted")]
    InputTooLarge {
        /// The input's length.
        len: usize,
        /// The longest input accepted.
        limit: usize,
    },
    /// The compact JSON is over the size limit (R4.1).
    #[error("metadata of {size} bytes exceeds the maximum allowed size of {limit} bytes")]
    TooLarge {
        /// The compact JSON size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// An object names the same key twice. The JSON text would be ambiguous (which value wins
    /// depends on the parser), so it is refused rather than silently resolved.
    #[error("metadata names the key {key:?} twice in one object")]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// A number that JSON cannot represent (NaN or infinite).
    #[error("metadata holds a number that JSON cannot represent")]
    NonFiniteNumber,
}

impl MetadataError {
    /// The stable machine code (R9.1).
    pub fn code(&self) -> &'static str {
        match self {
            MetadataError::TooLarge { .. } | MetadataError::InputTooLarge { .. } => {
                codes::EXCEEDS_ALLOWED_SIZE
            }
            _ => codes::VALUE_INVALID,
        }
    }

    /// Attaches the tier this value was meant for, giving the library's [`enum@Error`].
    pub fn for_tier(self, tier: Tier) -> Error {
        match self {
            MetadataError::TooLarge { size, limit } => Error::TooLarge { tier, size, limit },
            source => Error::InvalidMetadata { tier, source },
        }
    }
}

/// The stable machine codes of contract §9.
pub mod codes {
    /// A tier over its size limit (R4.3).
    pub const EXCEEDS_ALLOWED_SIZE: &str = "form_param_exceeds_allowed_size";
    /// A tier that is not an object, bad JSON, too deep, a bad id or query (R3.4).
    pub const VALUE_INVALID: &str = "form_param_value_invalid";
    /// An update that changes nothing.
    pub const MISSING: &str = "form_param_missing";
    /// A record that does not exist or is hidden from the frontend (R2.2).
    pub const NOT_FOUND: &str = "resource_not_found";
    /// A tier the resource does not have (R1.1).
    pub const UNSUPPORTED_TIER: &str = "unsupported_metadata_tier";
    /// A read or write that the access matrix refuses (R2.3).
    pub const ACCESS_DENIED: &str = "metadata_access_denied";
    /// A stale expected version (R3.5).
    pub const CONFLICT: &str = "version_conflict";
    /// A create that collides (R6.1).
    pub const ALREADY_EXISTS: &str = "resource_already_exists";
    /// A write to a completed sign-up or an accepted or revoked invitation (R5).
    pub const FROZEN: &str = "resource_frozen";
    /// A storage failure.
    pub const STORAGE: &str = "storage_error";
    /// A write whose outcome the store cannot know.
    pub const OUTCOME_UNKNOWN: &str = "storage_outcome_unknown";
}

/// Every error the library returns (contract §9).
///
/// Match on variants, or answer API callers with [`Error::code`]:
///
/// ```
/// use metadata_core::{Error, Limits, Metadata, Tier};
/// let big = serde_json::json!({ "k": "x".repeat(9000) });
/// let err = Metadata::from_value(big).unwrap_err().for_tier(Tier::Public);
/// assert!(matches!(err, Error::TooLarge { tier: Tier::Public, size: 9008, limit: 8192 }));
/// assert_eq!(err.code(), "form_param_exceeds_allowed_size");
/// assert_eq!(
///     err.to_string(),
///     "The given public_metadata exceeds the maximum allowed size of 8192 bytes (8 KB)."
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tier value that is not an object, not JSON, too deep or has a duplicate key (R3.4).
    #[error("the given {tier} is invalid: {source}")]
    InvalidMetadata {
        /// The tier it was meant for.
        tier: Tier,
        /// Why it was refused.
        #[source]
        source: MetadataError,
    },
    /// A tier value over the size limit (R4.3).
    #[error("The given {tier} exceeds the maximum allowed size of {limit} bytes ({} KB).", limit / 1024)]
    TooLarge {
        /// The tier.
        tier: Tier,
        /// The compact JSON size of the refused value.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The resource has no such tier (R1.1).
    #[error("a {kind} has no {tier}")]
    UnsupportedTier {
        /// The resource kind.
        kind: ResourceKind,
        /// The tier asked for.
        tier: Tier,
    },
    /// The access matrix refuses this (R2.3).
    #[error("the {surface} may not {access} the {tier} of a {kind}")]
    AccessDenied {
        /// Who asked.
        surface: Surface,
        /// The resource kind.
        kind: ResourceKind,
        /// The tier.
        tier: Tier,
        /// Read or write.
        access: Access,
    },
    /// No such record, or one the frontend may not know of (R2.2).
    #[error("{kind} {id} not found")]
    NotFound {
        /// The resource kind.
        kind: ResourceKind,
        /// The record's id.
        id: String,
    },
    /// The record has moved on from the expected version (R3.5).
    #[error("{kind} {id} is at version {actual}, not the expected {expected}")]
    Conflict {
        /// The resource kind.
        kind: ResourceKind,
        /// The record's id.
        id: String,
        /// The version the writer expected.
        expected: u64,
        /// The version the record has.
        actual: u64,
    },
    /// A create collides with an existing record (R6.1).
    #[error("{kind} {id} already exists")]
    AlreadyExists {
        /// The resource kind.
        kind: ResourceKind,
        /// The record's id.
        id: String,
    },
    /// The record is a completed sign-up or a settled invitation, whose metadata is frozen (R5).
    #[error("{kind} {id} is {status} and can no longer change")]
    Frozen {
        /// The resource kind.
        kind: ResourceKind,
        /// The record's id.
        id: String,
        /// Its status.
        status: &'static str,
    },
    /// An update that names no tier.
    #[error("the update names no tier")]
    EmptyChange,
    /// A request body that is not a JSON object of tiers.
    #[error("the request body is invalid: {source}")]
    InvalidRequest {
        /// Why.
        #[source]
        source: MetadataError,
    },
    /// A request body names a field that is not a tier.
    #[error(
        "unknown field {field:?}; expected public_metadata, private_metadata or unsafe_metadata"
    )]
    UnknownField {
        /// The field.
        field: String,
    },
    /// A body field this library reads (an id, an email address) has the wrong JSON type.
    #[error("{field} must be {expected}, not {found}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// The type it must have.
        expected: JsonKind,
        /// The type it has.
        found: JsonKind,
    },
    /// A body field this library needs is absent.
    #[error("{field} must be included")]
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// An invitation's email address is not plausible.
    #[error("invalid email address {value:?}")]
    InvalidEmail {
        /// The refused text.
        value: String,
    },
    /// A malformed identifier.
    #[error("{0}")]
    InvalidId(#[from] crate::ids::IdError),
    /// A malformed list or lookup query.
    #[error("invalid query: {reason}")]
    InvalidQuery {
        /// What is wrong with it.
        reason: String,
    },
    /// A tier value does not match the schema the host declared for it (R13.1).
    #[error("the given {tier} does not match its schema at {pointer:?}: {reason}")]
    SchemaMismatch {
        /// The kind of the record written.
        kind: ResourceKind,
        /// The tier.
        tier: Tier,
        /// The JSON pointer of the first value that does not match (`""` for the tier itself).
        pointer: String,
        /// What the schema asks there, without the value.
        reason: String,
    },
    /// A schema a host declared does not compile (R13.1).
    #[error("the schema for the {tier} of a {kind} is invalid: {reason}")]
    SchemaInvalid {
        /// The kind.
        kind: ResourceKind,
        /// The tier.
        tier: Tier,
        /// Why.
        reason: String,
    },
    /// A tier does not fit the host's typed view of it (R11.1).
    #[error("the {tier} does not fit the requested type: {source}")]
    Typed {
        /// The tier.
        tier: Tier,
        /// The conversion error.
        #[source]
        source: serde_json::Error,
    },
    /// The store failed; the write did not happen.
    #[error("storage failed{}: {source}", if *retryable { " (retryable)" } else { "" })]
    Storage {
        /// Whether trying again may succeed (a lost connection, a busy database).
        retryable: bool,
        /// The store's own error.
        #[source]
        source: BoxError,
    },
    /// The store lost contact while committing: the write may or may not have happened. Read the
    /// record's version to find out.
    #[error(
        "storage lost contact while committing; the write may or may not have happened: {source}"
    )]
    OutcomeUnknown {
        /// The store's own error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// The stable machine code (R9.1).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidMetadata { source, .. } => source.code(),
            Error::TooLarge { .. } => codes::EXCEEDS_ALLOWED_SIZE,
            Error::UnsupportedTier { .. } => codes::UNSUPPORTED_TIER,
            Error::AccessDenied { .. } => codes::ACCESS_DENIED,
            Error::NotFound { .. } => codes::NOT_FOUND,
            Error::Conflict { .. } => codes::CONFLICT,
            Error::AlreadyExists { .. } => codes::ALREADY_EXISTS,
            Error::Frozen { .. } => codes::FROZEN,
            Error::EmptyChange | Error::MissingField { .. } => codes::MISSING,
            Error::InvalidRequest { source } => source.code(),
            Error::InvalidId(_)
            | Error::InvalidQuery { .. }
            | Error::Typed { .. }
            | Error::UnknownField { .. }
            | Error::InvalidField { .. }
            | Error::InvalidEmail { .. }
            | Error::SchemaMismatch { .. }
            | Error::SchemaInvalid { .. } => codes::VALUE_INVALID,
            Error::Storage { .. } => codes::STORAGE,
            Error::OutcomeUnknown { .. } => codes::OUTCOME_UNKNOWN,
        }
    }

    /// The request parameter an error is about, as the reference product names it (for example
    /// `public_metadata` for a size error).
    pub fn param(&self) -> Option<&'static str> {
        match self {
            Error::InvalidMetadata { tier, .. }
            | Error::TooLarge { tier, .. }
            | Error::UnsupportedTier { tier, .. }
            | Error::AccessDenied { tier, .. }
            | Error::Typed { tier, .. }
            | Error::SchemaMismatch { tier, .. }
            | Error::SchemaInvalid { tier, .. } => Some(tier.field_name()),
            Error::InvalidField { field, .. } | Error::MissingField { field } => Some(field),
            _ => None,
        }
    }

    /// The JSON pointer inside the tier that an error is about: where a value does not match
    /// its schema (R13.1).
    pub fn pointer(&self) -> Option<&str> {
        match self {
            Error::SchemaMismatch { pointer, .. } => Some(pointer),
            _ => None,
        }
    }

    /// Whether trying the same call again may succeed: only a storage failure that says so.
    ///
    /// A [`Error::Conflict`] is not retryable. It reaches a caller only when the caller stated
    /// the version it expected (a change without one is re-applied to the newer record), and
    /// the same call, with the same expected version, can never succeed: read the record again
    /// and decide what to write.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Storage {
                retryable: true,
                ..
            }
        )
    }
}
