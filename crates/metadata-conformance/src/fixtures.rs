//! Small helpers shared by the suite.

use metadata_core::{Change, Metadata, Millis, Tier};
use metadata_store::{MetadataService, MetadataStore};
use serde_json::Value;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A service over `store` whose clock ticks by one millisecond per reading, from 1,000.
pub fn service(store: Arc<dyn MetadataStore>) -> MetadataService {
    let clock = Arc::new(AtomicI64::new(1_000));
    MetadataService::from_arc(store)
        .with_clock(move || clock.fetch_add(1, Ordering::Relaxed) as Millis)
}

/// A tier value from JSON; panics on invalid test input.
pub fn meta(value: Value) -> Metadata {
    Metadata::from_value(value).expect("test metadata is valid")
}

/// A change replacing one tier.
pub fn replace(tier: Tier, value: Value) -> Change {
    Change::new().replace(tier, meta(value))
}

/// A change merging into one tier.
pub fn merge(tier: Tier, patch: Value) -> Change {
    Change::new()
        .merge_json(tier, patch)
        .expect("test patch is valid")
}
