//! The conformance suite: one `pub async fn` per storage-touching rule of docs/contract.md, each given a
//! fresh, empty store. A failure panics with the rule's number in the test's name. The tests
//! live in one file per contract section and are all re-exported here.

use crate::fixtures::{merge, meta, replace, service};
use metadata_core::*;
use metadata_store::{MetadataStore, PageRequest};
use serde_json::json;
use std::sync::Arc;

mod access;
mod actors;
mod bulk;
mod clock;
mod conditions;
mod copies;
mod feed;
mod frontend_routes;
mod lookups;
mod order;
mod records;
mod retention;
mod schemas;
mod typed;
mod updates;
mod values;

pub use access::*;
pub use actors::*;
pub use bulk::*;
pub use clock::*;
pub use conditions::*;
pub use copies::*;
pub use feed::*;
pub use frontend_routes::*;
pub use lookups::*;
pub use order::*;
pub use records::*;
pub use retention::*;
pub use schemas::*;
pub use typed::*;
pub use updates::*;
pub use values::*;

fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}
fn oid(s: &str) -> OrganizationId {
    OrganizationId::new(s).unwrap()
}

/// Whether `err` says a record of `kind` is not found.
fn is_not_found(err: &Error, kind: ResourceKind) -> bool {
    matches!(err, Error::NotFound { kind: k, .. } if *k == kind)
}

/// Whether `err` says a record of `kind` already exists.
fn is_already_existing(err: &Error, kind: ResourceKind) -> bool {
    matches!(err, Error::AlreadyExists { kind: k, .. } if *k == kind)
}

/// Whether `err` is a version conflict: `expected`, but the record is at `actual`.
fn is_conflict(err: &Error, expected: u64, actual: u64) -> bool {
    matches!(err, Error::Conflict { expected: e, actual: a, .. } if (*e, *a) == (expected, actual))
}
