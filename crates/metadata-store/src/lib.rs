//! The [`MetadataStore`] trait that every storage backend implements, and
//! [`MetadataService`], the facade that applies every metadata rule of `metadata-core` over any
//! store, so a host cannot skip one.
//!
//! ```
//! use metadata_core::{Change, Error, FrontendPrincipal, Tier, UserId};
//! use metadata_store::MetadataService;
//! use serde_json::json;
//!
//! async fn on_signed_in_request(metadata: &MetadataService, user: UserId) -> Result<(), Error> {
//!     // The backend writes any tier...
//!     let change = Change::new().replace_json(Tier::Public, json!({"role": "admin"}))?;
//!     metadata.backend().update_user(&user, change).await?;
//!     // ...the frontend only its own unsafe tier (contract §2).
//!     let me = metadata.frontend(FrontendPrincipal::user(user));
//!     let refused = me.update_own(Change::new().replace_json(Tier::Public, json!({}))?).await;
//!     assert!(matches!(refused, Err(Error::AccessDenied { .. })));
//!     Ok(())
//! }
//! ```
//!
//! Stores live in their own crates: `metadata-store-memory`, `metadata-store-sqlite`,
//! `metadata-store-postgres`. [`MetadataService::feed`] follows every commit's changes; the
//! `metadata-relay-nats` crate publishes them to NATS JetStream.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod backend;
mod changes;
mod error;
pub mod feed;
mod frontend;
mod load;
pub mod observe;
mod retention;
mod service;
mod store;

pub use backend::{Backend, BulkOptions, BulkProgress, BulkRefusal, BulkReport, PageRequest};
pub use changes::{Batch, Consumer, Feed, PublicBatch};
pub use error::{ServiceError, StoreError, StoreResult};
pub use feed::FeedStore;
pub use frontend::{Frontend, OwnMembership, OwnRecord};
pub use service::{MetadataService, MAX_UPDATE_ATTEMPTS};
pub use store::{Applied, ApplyFn, MetadataStore, ReadFn};
