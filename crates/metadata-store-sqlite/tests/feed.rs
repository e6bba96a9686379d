//! The change feed on a SQLite file, beyond the shared suite: a cursor moved inside the
//! caller's own transaction moves only if that transaction commits, and a reader in another
//! connection (as another process would) sees what the store committed.

use metadata_core::{Change, UserId};
use metadata_store::feed::FeedError;
use metadata_store::{FeedStore, MetadataService};
use metadata_store_sqlite::{advance_cursor_in, SqliteStore};

mod common;
use common::temp_dir;

fn fresh_path(name: &str) -> std::path::PathBuf {
    temp_dir().join(name)
}

#[test]
fn a_cursor_moved_in_the_callers_transaction_moves_only_if_it_commits() {
    let path = fresh_path("cursor.db");
    let store = SqliteStore::open_file(&path).unwrap();
    let metadata = MetadataService::new(store.clone());
    futures::executor::block_on(async {
        for i in 0..3 {
            let id = UserId::new(format!("u{i}")).unwrap();
            metadata
                .backend()
                .create_user(&id, Change::new())
                .await
                .unwrap();
        }
    });
    let mut own = rusqlite::Connection::open(&path).unwrap();
    own.execute_batch("CREATE TABLE indexed (id TEXT PRIMARY KEY)")
        .unwrap();
    // Rolled back: neither the host's row nor the cursor.
    let tx = own.transaction().unwrap();
    tx.execute("INSERT INTO indexed (id) VALUES ('u0')", [])
        .unwrap();
    advance_cursor_in(&tx, "indexer", None, 1).unwrap();
    tx.rollback().unwrap();
    let cursor = |store: &SqliteStore| futures::executor::block_on(store.cursor("indexer"));
    assert_eq!(cursor(&store).unwrap(), None);
    // Committed: both.
    let tx = own.transaction().unwrap();
    tx.execute("INSERT INTO indexed (id) VALUES ('u0')", [])
        .unwrap();
    advance_cursor_in(&tx, "indexer", None, 1).unwrap();
    tx.commit().unwrap();
    assert_eq!(cursor(&store).unwrap(), Some(1));
    // A stale expectation changes nothing and says where the cursor is.
    let tx = own.transaction().unwrap();
    let err = advance_cursor_in(&tx, "indexer", None, 3).unwrap_err();
    assert!(matches!(
        err,
        FeedError::CursorMoved {
            expected: None,
            actual: Some(1),
            ..
        }
    ));
    advance_cursor_in(&tx, "indexer", Some(1), 3).unwrap();
    tx.commit().unwrap();
    assert_eq!(cursor(&store).unwrap(), Some(3));
    // Another connection to the file (as another process would) reads the same feed.
    let other = SqliteStore::open_file(&path).unwrap();
    let events = futures::executor::block_on(other.changes(0, 10)).unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].position, 3);
}

#[test]
fn feed_off_store_still_writes_and_says_disabled() {
    let path = fresh_path("off.db");
    let store =
        SqliteStore::open(metadata_store_sqlite::SqliteOptions::file(&path).feed(false)).unwrap();
    futures::executor::block_on(
        metadata_conformance::suite::feed_off_store_still_writes_and_says_disabled(
            std::sync::Arc::new(store),
        ),
    );
}
