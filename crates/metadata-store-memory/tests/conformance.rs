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

#[test]
fn len_counts_the_records_of_every_kind() {
    use metadata_core::{Change, OrganizationId, UserId};
    use metadata_store::MetadataService;
    let store = MemoryStore::new();
    assert_eq!(store.len(), 0);
    assert!(store.is_empty());
    let metadata = MetadataService::new(store.clone());
    futures::executor::block_on(async {
        let b = metadata.backend();
        for i in 0..7 {
            let id = UserId::new(format!("u{i}")).unwrap();
            b.create_user(&id, Change::new()).await.unwrap();
        }
        let org = OrganizationId::new("o").unwrap();
        b.create_organization(&org, Change::new()).await.unwrap();
        assert_eq!(store.len(), 8);
        b.delete_user(&UserId::new("u0").unwrap()).await.unwrap();
    });
    assert_eq!(store.len(), 7);
    assert!(!store.is_empty());
}

#[test]
fn feed_off_store_still_writes_and_says_disabled() {
    futures::executor::block_on(
        metadata_conformance::suite::feed_off_store_still_writes_and_says_disabled(Arc::new(
            MemoryStore::without_feed(),
        )),
    );
}
