//! The feed's default retention (R12.5): a store prunes events older than seven days by the
//! service's clock as it writes, with no call from the host, never past a consumer's cursor.

use super::*;
use metadata_store::feed::{FeedError, DEFAULT_RETENTION, PRUNE_EVERY_EVENTS};
use metadata_store::MetadataService;
use std::sync::atomic::{AtomicI64, Ordering};

/// Events past the default window go as the store writes; a cursor holds them back until it
/// is removed; events inside the window stay.
pub async fn r12_5_default_retention_prunes_as_the_store_writes(store: Arc<dyn MetadataStore>) {
    if store.feed().is_none() {
        return println!("skipped: the feed's retention (the store keeps no feed)");
    }
    let start: Millis = 1_000_000_000_000;
    let now = Arc::new(AtomicI64::new(start));
    let clock = now.clone();
    let m = MetadataService::from_arc(store).with_clock(move || clock.load(Ordering::SeqCst));
    let b = m.backend();
    let id = uid("u1");
    b.create_user(&id, Change::new()).await.unwrap();
    for i in 0..10 {
        b.update_user(&id, replace(Tier::Public, json!({ "i": i })))
            .await
            .unwrap();
    }
    let old = 11; // the creation and ten updates, all at `start`
    let holder = m.feed().consumer("holder");
    holder.advance_to(5).await.unwrap();

    // Eight days later: two steps' worth of writes prune what the cursor lets go, no more.
    let later = start + DEFAULT_RETENTION.as_millis() as i64 + 24 * 3600 * 1000;
    now.store(later, Ordering::SeqCst);
    let steps = 2 * PRUNE_EVERY_EVENTS + 10;
    for i in 0..steps {
        b.update_user(&id, replace(Tier::Public, json!({ "late": i })))
            .await
            .unwrap();
    }
    match m.feed().read(0, 10).await {
        Err(FeedError::CursorExpired { pruned_through, .. }) => assert_eq!(
            pruned_through, 5,
            "retention pruned up to the consumer's cursor and stopped there"
        ),
        other => panic!("the events before the cursor were pruned, not {other:?}"),
    }
    let stats = m.feed().stats().await.unwrap();
    assert_eq!(
        (stats.head, stats.pruned_through, stats.events()),
        (old + steps, 5, old + steps - 5)
    );
    assert_eq!(stats.cursors, vec![("holder".to_owned(), 5)]);
    assert_eq!(
        stats.lag().collect::<Vec<_>>(),
        vec![("holder", old + steps - 5)]
    );
    let next = holder.next(1).await.unwrap();
    assert_eq!(next.events[0].position, 6, "the consumer misses nothing");

    // Once the cursor goes, the next steps prune every old event and keep the recent ones.
    assert!(holder.remove().await.unwrap());
    for i in 0..steps {
        b.update_user(&id, replace(Tier::Public, json!({ "later": i })))
            .await
            .unwrap();
    }
    match m.feed().read(0, 10).await {
        Err(FeedError::CursorExpired { pruned_through, .. }) => {
            assert_eq!(
                pruned_through, old,
                "every event older than the window went"
            )
        }
        other => panic!("the old events were pruned, not {other:?}"),
    }
    let kept = m.feed().read(old, 10_000).await.unwrap();
    assert_eq!(
        kept.len() as u64,
        2 * steps,
        "every event inside the window stays"
    );
    assert!(kept.iter().all(|e| e.committed_at == later));
}
