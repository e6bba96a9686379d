//! What the SQL stores (`metadata-store-sqlite`, `metadata-store-postgres`) share and no
//! other crate needs: an internal crate of the workspace, not a contract. A host never uses
//! it; a new SQL store may.
//!
//! - [`prepared`]: writes with their records serialized once, on the caller's thread, and the
//!   names SQL stores give their lookup indexes.
//! - [`memo`]: the records a store last read or wrote, each with the tag that proves it has
//!   not moved on since, so that an update needs no read first.
//!
//! ```
//! use metadata_core::{Tier, ResourceKind, MetadataPath};
//! let name = metadata_store_sql::prepared::lookup_index_name(
//!     ResourceKind::User,
//!     Tier::Public,
//!     &MetadataPath::parse("role").unwrap(),
//! );
//! assert!(name.starts_with("lookup_"));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod memo;
pub mod prepared;
