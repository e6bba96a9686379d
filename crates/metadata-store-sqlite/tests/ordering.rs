//! Ordered listings and counts on SQLite (R7.5): the time indexes serve them, and a database
//! written before they existed is brought up to date in place.

use metadata_core::{
    Change, Cursor, Filter, ListOrder, ListQuery, Organization, ResourceKind, Tier, User, UserId,
};
use metadata_store::{MetadataService, PageRequest};
use metadata_store_sqlite::{SqliteOptions, SqliteStore};
use serde_json::json;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

mod common;
use common::temp_dir;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// Each time order is served by its index, first page and cursor pages alike, either way.
#[test]
fn r7_5_time_orders_use_their_indexes() {
    let store = SqliteStore::open_file(temp_dir().join("ordering-plan.sqlite")).unwrap();
    for (order, index) in [
        ("-created_at", "records_by_created"),
        ("created_at", "records_by_created"),
        ("-updated_at", "records_by_updated"),
        ("updated_at", "records_by_updated"),
    ] {
        let order = ListOrder::parse(order).unwrap();
        for after in [None, Some(Cursor::new("1700000000000:user_x"))] {
            let query = ListQuery::new(ResourceKind::User, Filter::All, 10)
                .ordered(order)
                .after(after.clone());
            let plan = store.explain_list(&query).unwrap().join("\n");
            assert!(plan.contains(index), "{order} after {after:?}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{order}: no sort: {plan}");
        }
    }
}

/// A database written at schema 2 (no time columns, no counts) is migrated on open: its
/// records list newest first and count as they are.
#[test]
fn r7_5_a_database_from_before_orders_is_migrated_in_place() {
    let path = temp_dir().join("ordering-migrate.sqlite");
    let now = Arc::new(AtomicI64::new(0));
    {
        let clock = now.clone();
        let store = SqliteStore::open_file(&path).unwrap();
        let m = MetadataService::new(store).with_clock(move || clock.load(Ordering::SeqCst));
        for (i, at) in [30, 10, 20].into_iter().enumerate() {
            now.store(at, Ordering::SeqCst);
            let id = UserId::new(format!("user_{i}")).unwrap();
            block_on(m.backend().create_user(&id, Change::new())).unwrap();
        }
        now.store(40, Ordering::SeqCst);
        let id = UserId::new("user_1").unwrap();
        let change = Change::new()
            .replace_json(Tier::Public, json!({"v": 1}))
            .unwrap();
        block_on(m.backend().update_user(&id, change)).unwrap();
    }
    // Take the database back to schema 2, as an older release left it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER records_counted_in; DROP TRIGGER records_counted_out;
         DROP TABLE record_counts; DROP INDEX records_by_created; DROP INDEX records_by_updated;
         ALTER TABLE records DROP COLUMN created_at; ALTER TABLE records DROP COLUMN updated_at;
         ALTER TABLE records DROP COLUMN lookup_body; ALTER TABLE changes DROP COLUMN actor;
         PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(SqliteOptions::file(&path)).unwrap();
    let m = MetadataService::new(store);
    let b = m.backend();
    let ids = |order: &str| {
        let page = PageRequest::first(10).ordered(ListOrder::parse(order).unwrap());
        block_on(b.list::<User>(Filter::All, page))
            .unwrap()
            .items
            .into_iter()
            .map(|u| u.id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("-created_at"), ["user_0", "user_2", "user_1"]);
    assert_eq!(ids("-updated_at"), ["user_1", "user_0", "user_2"]);
    assert_eq!(block_on(b.count::<User>(Filter::All)).unwrap(), 3);
    assert_eq!(block_on(b.count::<Organization>(Filter::All)).unwrap(), 0);
    // And the migrated database keeps counting.
    block_on(b.delete_user(&UserId::new("user_2").unwrap())).unwrap();
    assert_eq!(block_on(b.count::<User>(Filter::All)).unwrap(), 2);
}
