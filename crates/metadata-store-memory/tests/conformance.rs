//! The shared conformance suite and model check, on the memory store, under two executors.

use metadata_store::MetadataStore;
use metadata_store_memory::MemoryStore;
use std::sync::Arc;

fn fresh() -> Arc<dyn MetadataStore> {
    Arc::new(MemoryStore::new())
}

metadata_conformance::conformance_tests!(fresh);

#[test]
fn r3_5_two_threads_increment_to_exactly_ten_thousand() {
    let (counter, _conflicts) = metadata_conformance::concurrency::two_threads(fresh(), 5_000);
    assert_eq!(counter, 10_000);
}
