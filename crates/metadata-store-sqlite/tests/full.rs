//! A full database: with the file capped (`SqliteOptions::max_size`, SQLite's
//! `max_page_count`), a write past the cap is refused whole with `SqliteError::Full`, reads go on,
//! no acknowledged write is lost, the file stays intact, and writes succeed again once room is
//! made. Once with the records filling the file, once with the change feed's table.

use metadata_core::{Change, Error, Tier, UserId};
use metadata_store::feed::Retention;
use metadata_store::{MetadataService, StoreError};
use metadata_store_sqlite::{SqliteError, SqliteOptions, SqliteStore};
use serde_json::json;
use std::path::Path;

mod common;
use common::temp_dir;

/// Whether `e` is a store failure whose cause is a full database.
fn is_full(e: &Error) -> bool {
    let Error::Storage { source, .. } = e else {
        return false;
    };
    matches!(
        source.downcast_ref::<StoreError>(),
        Some(StoreError::Backend { source, .. })
            if matches!(source.downcast_ref::<SqliteError>(), Some(SqliteError::Full(_)))
    )
}

fn intact(path: &Path) {
    let raw = rusqlite::Connection::open(path).unwrap();
    let verdict: String = raw
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
}

fn uid(i: usize) -> UserId {
    UserId::new(format!("user_{i:04}")).unwrap()
}

fn tier(i: usize) -> Change {
    Change::new()
        .replace_json(Tier::Private, json!({ "i": i, "pad": "p".repeat(2_000) }))
        .unwrap()
}

#[test]
fn records_past_the_cap_are_refused_and_room_lets_them_in_again() {
    let path = temp_dir().join("full-records.db");
    let options = SqliteOptions::file(&path).feed(false).max_size(256 * 1024);
    let metadata = MetadataService::new(SqliteStore::open(options).unwrap());
    let b = metadata.backend();
    futures::executor::block_on(async {
        let mut acknowledged = 0;
        let refused = loop {
            match b.create_user(&uid(acknowledged), tier(acknowledged)).await {
                Ok(_) => acknowledged += 1,
                Err(e) => break e,
            }
            assert!(acknowledged < 1_000, "the cap never refused a write");
        };
        assert!(is_full(&refused), "a typed full error: {refused:?}");
        assert!(acknowledged > 10, "{acknowledged} users fit");
        // Refused again, whole: the user that did not fit is not there.
        assert!(is_full(
            &b.create_user(&uid(acknowledged), tier(0))
                .await
                .unwrap_err()
        ));
        assert!(matches!(
            b.get_user(&uid(acknowledged)).await,
            Err(Error::NotFound { .. })
        ));
        // Reads go on, and every acknowledged write is there.
        for i in 0..acknowledged {
            let user = b.get_user(&uid(i)).await.unwrap();
            assert_eq!(user.private_metadata.to_value()["i"], json!(i));
        }
        intact(&path);
        // Room made: deleting users frees pages that the next writes reuse.
        for i in 0..acknowledged / 2 {
            assert!(b.delete_user(&uid(i)).await.unwrap());
        }
        b.create_user(&uid(5_000), tier(5_000)).await.unwrap();
        b.update_user(&uid(acknowledged - 1), tier(7))
            .await
            .unwrap();
    });
    drop(metadata);
    intact(&path);
}

#[test]
fn a_full_change_feed_refuses_the_write_whole_until_it_is_pruned() {
    let path = temp_dir().join("full-feed.db");
    let options = SqliteOptions::file(&path)
        .feed_retention(Retention::Forever)
        .max_size(256 * 1024);
    let store = SqliteStore::open(options).unwrap();
    let metadata = MetadataService::new(store.clone());
    let b = metadata.backend();
    let id = uid(0);
    futures::executor::block_on(async {
        b.create_user(&id, Change::new()).await.unwrap();
        // One record rewritten in place: only the feed's table grows.
        let mut version = 1;
        let refused = loop {
            match b.update_user(&id, tier(version as usize)).await {
                Ok(user) => version = user.version,
                Err(e) => break e,
            }
            assert!(version < 10_000, "the cap never refused a write");
        };
        assert!(is_full(&refused), "a typed full error: {refused:?}");
        // The record and its events stayed together: the refused update left neither.
        let user = b.get_user(&id).await.unwrap();
        assert_eq!(user.version, version);
        let events = metadata.feed().read(0, 10_000).await.unwrap();
        assert_eq!(
            events.len() as u64,
            version,
            "one event per acknowledged write"
        );
        assert_eq!(events.last().unwrap().change.version, version);
        intact(&path);
        // Pruning the feed makes room.
        let pruned = metadata
            .feed()
            .prune(std::time::Duration::ZERO, 10_000)
            .await
            .unwrap();
        assert_eq!(pruned, version);
        let user = b.update_user(&id, tier(1)).await.unwrap();
        assert_eq!(user.version, version + 1);
        // Raising the cap makes room too.
        store.set_max_size(None).await.unwrap();
        for _ in 0..200 {
            b.update_user(&id, tier(2)).await.unwrap();
        }
    });
    drop(metadata);
    drop(store);
    intact(&path);
}
