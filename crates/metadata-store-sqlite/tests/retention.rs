//! A feed nobody reads stays bounded (R12.5): with a retention window, the store's own commits
//! prune it, so the events table and the file stop growing however long the service writes.

use metadata_core::{Change, Tier, UserId};
use metadata_store::feed::{FeedError, Retention, PRUNE_EVERY_EVENTS};
use metadata_store::MetadataService;
use metadata_store_sqlite::{SqliteOptions, SqliteStore};
use serde_json::json;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::temp_dir;

const USERS: usize = 1_000;
const UPDATES: usize = 200_000;
/// The window, in ticks of the test's clock (one per operation).
const WINDOW_MS: u64 = 2_000;

/// The file and its write-ahead log, in bytes.
fn on_disk(path: &std::path::Path) -> u64 {
    let wal = path.with_extension("sqlite-wal");
    std::fs::metadata(path).map_or(0, |m| m.len()) + std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// How many events the feed holds now.
async fn events_held(m: &MetadataService) -> u64 {
    let first = match m.feed().read(0, 1).await {
        Err(FeedError::CursorExpired { pruned_through, .. }) => pruned_through,
        Ok(_) => 0,
        Err(e) => panic!("{e}"),
    };
    m.feed().read(first, 10_000).await.unwrap().len() as u64
}

#[test]
fn two_hundred_thousand_updates_with_no_consumer_keep_the_feed_and_file_bounded() {
    let path = temp_dir().join("retention.sqlite");
    let options =
        SqliteOptions::file(&path).feed_retention(Retention::For(Duration::from_millis(WINDOW_MS)));
    // A clock that moves one millisecond per reading: every operation is a tick later.
    let ticks = Arc::new(AtomicI64::new(1_000_000_000_000));
    let clock = ticks.clone();
    let metadata = MetadataService::new(SqliteStore::open(options).unwrap())
        .with_clock(move || clock.fetch_add(1, Ordering::SeqCst));
    let ids: Vec<UserId> = (0..USERS)
        .map(|i| UserId::new(format!("user_{i}")).unwrap())
        .collect();
    let b = metadata.backend();
    // The bound: the window's events (at most one per tick), plus what is written between two
    // pruning steps, plus one step's slack.
    let bound = WINDOW_MS + 2 * PRUNE_EVERY_EVENTS;
    futures::executor::block_on(async {
        for id in &ids {
            b.create_user(id, Change::new()).await.unwrap();
        }
        let mut size_at_quarter = 0;
        let mut most_events = 0;
        for n in 0..UPDATES {
            let change = Change::new()
                .replace_json(Tier::Public, json!({ "n": n, "pad": "x".repeat(200) }))
                .unwrap();
            b.update_user(&ids[n % USERS], change).await.unwrap();
            if n % 10_000 == 9_999 {
                let held = events_held(&metadata).await;
                most_events = most_events.max(held);
                assert!(
                    held <= bound,
                    "after {} updates the feed holds {held} events, over {bound}",
                    n + 1
                );
                if n + 1 == UPDATES / 4 {
                    size_at_quarter = on_disk(&path);
                }
            }
        }
        let size_at_end = on_disk(&path);
        println!(
            "{UPDATES} updates: at most {most_events} events held (bound {bound}); \
             file and log {size_at_quarter} bytes after {} updates, {size_at_end} at the end",
            UPDATES / 4
        );
        assert!(
            size_at_end <= size_at_quarter + size_at_quarter / 10,
            "the file stopped growing: {size_at_quarter} bytes after a quarter, {size_at_end} at the end"
        );
    });
}
