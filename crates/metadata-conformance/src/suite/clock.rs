//! One clock: the service's clock stamps the records (R3.5), the events of their commits
//! (R12.3) and measures the age pruning cuts at (R12.5), on every store.

use super::*;
use metadata_store::MetadataService;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Records, events and pruning all follow a fixed clock set far from the system's.
pub async fn r12_5_one_clock_for_records_events_and_pruning(store: Arc<dyn MetadataStore>) {
    let keeps_feed = store.feed().is_some();
    // 2001-09-09: far enough from today that a store stamping events with the system clock,
    // or pruning by it, is caught.
    let now = Arc::new(AtomicI64::new(1_000_000_000_000));
    let clock = now.clone();
    let m = MetadataService::from_arc(store).with_clock(move || clock.load(Ordering::SeqCst));
    let b = m.backend();
    let user = b.create_user(&uid("u1"), Change::new()).await.unwrap();
    assert_eq!(user.created_at, 1_000_000_000_000);
    now.store(1_000_000_000_500, Ordering::SeqCst);
    let updated = b
        .update_user(&uid("u1"), replace(Tier::Public, json!({"a": 1})))
        .await
        .unwrap();
    assert_eq!(updated.updated_at, 1_000_000_000_500);
    now.store(1_000_000_001_000, Ordering::SeqCst);
    assert!(b.delete_user(&uid("u1")).await.unwrap());
    if !keeps_feed {
        return println!("skipped: the events' and pruning's clock (the store keeps no feed)");
    }
    let times: Vec<Millis> = m
        .feed()
        .read(0, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.committed_at)
        .collect();
    assert_eq!(
        times,
        [1_000_000_000_000, 1_000_000_000_500, 1_000_000_001_000],
        "each commit's events carry the service's time"
    );
    // One minute later by the service's clock, nothing is older than two minutes...
    now.store(1_000_000_060_000, Ordering::SeqCst);
    let two_minutes = Duration::from_secs(120);
    assert_eq!(m.feed().prune(two_minutes, 10).await.unwrap(), 0);
    // ...and five minutes later, all of it is.
    now.store(1_000_000_300_000, Ordering::SeqCst);
    assert_eq!(m.feed().prune(two_minutes, 10).await.unwrap(), 3);
}
