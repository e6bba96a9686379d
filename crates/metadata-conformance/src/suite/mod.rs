//! The conformance suite: one `pub async fn` per storage-touching rule of docs/contract.md, each given a
//! fresh, empty store. A failure panics with the rule's number in the test's name. The tests
//! live in one file per contract section and are all re-exported here.

use crate::fixtures::{merge, meta, replace, service};
use metadata_core::*;
use metadata_store::{MetadataStore, PageRequest};
use serde_json::json;
use std::sync::Arc;

mod access;
mod clock;
mod copies;
mod feed;
mod frontend_routes;
mod lookups;
mod records;
mod typed;
mod updates;
mod values;

pub use access::*;
pub use clock::*;
pub use copies::*;
pub use feed::*;
pub use frontend_routes::*;
pub use lookups::*;
pub use records::*;
pub use typed::*;
pub use updates::*;
pub use values::*;

fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}
fn oid(s: &str) -> OrganizationId {
    OrganizationId::new(s).unwrap()
}
