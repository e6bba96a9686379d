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

/// A commit is seen whole by point reads (the sharded index publishes it at once): a reader
/// that sees one record of a two-record commit then sees the other at least as new.
#[test]
fn a_two_record_commit_is_never_seen_half_done() {
    use metadata_core::{
        apply_change, create_user, Change, Limits, Record, RecordKey, Surface, Tier, User, UserId,
        Write,
    };
    use serde_json::json;
    let store = Arc::new(MemoryStore::without_feed());
    let limits = Limits::default();
    // Ids chosen so the two records live in different shards of the index.
    let ids = [UserId::new("a").unwrap(), UserId::new("b").unwrap()];
    let users: Vec<User> = ids
        .iter()
        .map(|id| create_user(id.clone(), &Change::new(), &limits, 1).unwrap())
        .collect();
    let creates = [
        Write::Create(Record::User(users[0].clone())),
        Write::Create(Record::User(users[1].clone())),
    ];
    futures::executor::block_on(store.commit(&creates, &metadata_core::feed::Stamp::at(1)))
        .unwrap();
    let n_of = |store: &MemoryStore, id: &UserId| -> i64 {
        match futures::executor::block_on(store.get(&RecordKey::User(id.clone()))) {
            Ok(Some(Record::User(u))) => u
                .public_metadata
                .get("n")
                .and_then(|v| v.as_i64())
                .unwrap_or(0),
            other => panic!("{other:?}"),
        }
    };
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, ids, done) = (store.clone(), ids.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                // Either record read first, the other is then at least as new.
                let (first, second) = if reads.is_multiple_of(2) {
                    (0, 1)
                } else {
                    (1, 0)
                };
                let x = n_of(&store, &ids[first]);
                let y = n_of(&store, &ids[second]);
                assert!(
                    y >= x,
                    "saw one record at {x}, then the other at {y}: a commit seen half done"
                );
                reads += 1;
            }
            reads
        })
    };
    let mut current = users;
    for k in 1..=3_000i64 {
        let change = Change::new()
            .replace_json(Tier::Public, json!({ "n": k }))
            .unwrap();
        let next: Vec<User> = current
            .iter()
            .map(|u| apply_change(u, &change, Surface::Backend, &limits, k).unwrap())
            .collect();
        let writes: Vec<Write> = current
            .iter()
            .zip(&next)
            .map(|(old, new)| Write::Update {
                record: Record::User(new.clone()),
                expected_version: old.version,
            })
            .collect();
        futures::executor::block_on(store.commit(&writes, &metadata_core::feed::Stamp::at(2)))
            .unwrap();
        current = next;
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().expect("the reader saw every commit whole");
    assert!(reads > 0);
}
