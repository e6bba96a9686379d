//! Online backup under concurrent writers, and restore: the copy is intact, every record in it
//! has its events, no version goes backwards, and a store opened on the restored file reads
//! back every record, listing and event of the copy.

use metadata_core::{Change, Filter, ListQuery, Record, RecordKey, ResourceKind, Tier, UserId};
use metadata_store::{MetadataService, MetadataStore};
use metadata_store_sqlite::{SqliteError, SqliteStore};
use rusqlite::Connection;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

mod common;
use common::temp_dir;

const USERS: usize = 200;
const WRITERS: usize = 8;

fn uid(i: usize) -> UserId {
    UserId::new(format!("user_{i:03}")).unwrap()
}

/// Every user's version, as `store` lists them now.
fn versions(store: &dyn MetadataStore) -> BTreeMap<String, u64> {
    let mut all = BTreeMap::new();
    let mut query = ListQuery {
        kind: ResourceKind::User,
        filter: Filter::All,
        after: None,
        limit: 100,
        order: metadata_core::ListOrder::BY_ID,
        offset: 0,
    };
    loop {
        let page = futures::executor::block_on(store.list(&query)).unwrap();
        for r in &page.items {
            all.insert(r.key().storage_key(), r.version());
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return all,
        }
    }
}

#[test]
fn a_backup_under_eight_writers_restores_to_a_consistent_store() {
    let dir = temp_dir().join("backup");
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(SqliteStore::open_file(dir.join("live.db")).unwrap());
    let metadata = MetadataService::from_arc(store.clone());
    futures::executor::block_on(async {
        for i in 0..USERS {
            metadata
                .backend()
                .create_user(&uid(i), Change::new())
                .await
                .unwrap();
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (metadata, stop, written) = (metadata.clone(), stop.clone(), written.clone());
            std::thread::spawn(move || {
                let mut n = w;
                while !stop.load(Ordering::Relaxed) {
                    let change = Change::new()
                        .replace_json(Tier::Public, json!({ "writer": w, "n": n }))
                        .unwrap();
                    futures::executor::block_on(
                        metadata.backend().update_user(&uid(n % USERS), change),
                    )
                    .unwrap();
                    written.fetch_add(1, Ordering::Relaxed);
                    n += WRITERS;
                }
            })
        })
        .collect();
    while written.load(Ordering::Relaxed) < 500 {
        std::thread::yield_now();
    }
    let before = versions(store.as_ref());
    let copy = futures::executor::block_on(store.backup(dir.join("copy.db"))).unwrap();
    let after = versions(store.as_ref());
    let during = written.load(Ordering::Relaxed);
    while written.load(Ordering::Relaxed) < during + 200 {
        std::thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    println!(
        "backup of {} bytes taken with {WRITERS} writers running ({} updates in all)",
        copy.bytes,
        written.load(Ordering::Relaxed)
    );
    match futures::executor::block_on(store.backup(&copy.path)) {
        Err(metadata_store::StoreError::Backend { source, .. }) => assert!(
            matches!(source.downcast_ref(), Some(SqliteError::Exists(_))),
            "a backup never overwrites a file: {source}"
        ),
        other => panic!("a backup never overwrites a file: {other:?}"),
    }

    // The copy: intact; every record has the event of its version; versions between the two
    // listings taken around the backup.
    let raw = Connection::open(&copy.path).unwrap();
    let verdict: String = raw
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    let mut in_copy = BTreeMap::new();
    let mut rows = raw
        .prepare("SELECT key, version FROM records WHERE kind = 'user'")
        .unwrap();
    for row in rows
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .unwrap()
    {
        let (key, version) = row.unwrap();
        in_copy.insert(key, version);
    }
    assert_eq!(in_copy.len(), USERS);
    for (key, version) in &in_copy {
        let events: i64 = raw
            .query_row(
                "SELECT count(*) FROM changes WHERE kind = 'user' AND key = ?1",
                [key],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            events as u64, *version,
            "{key}: one event per version, creation included"
        );
        let last: i64 = raw
            .query_row(
                "SELECT max(version) FROM changes WHERE kind = 'user' AND key = ?1",
                [key],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            last as u64, *version,
            "{key}: its newest event is its version"
        );
        assert!(
            before[key] <= *version && *version <= after[key],
            "{key} went backwards"
        );
    }
    drop(rows);
    drop(raw);

    // Restore, then read everything back through a store.
    let restored_path = dir.join("restored.db");
    SqliteStore::restore(&copy.path, &restored_path).unwrap();
    assert!(matches!(
        SqliteStore::restore(&copy.path, &restored_path),
        Err(SqliteError::Exists(_))
    ));
    let restored = Arc::new(SqliteStore::open_file(&restored_path).unwrap());
    assert_eq!(
        versions(restored.as_ref()),
        in_copy,
        "the listing is the copy's"
    );
    let service = MetadataService::from_arc(restored.clone());
    futures::executor::block_on(async {
        for (key, version) in &in_copy {
            let id = UserId::new(key.as_str()).unwrap();
            let user = service.backend().get_user(&id).await.unwrap();
            assert_eq!(user.version, *version);
            let record = restored.get(&RecordKey::User(id)).await.unwrap().unwrap();
            assert!(matches!(record, Record::User(_)));
        }
        let total: u64 = in_copy.values().sum();
        let events = service.feed().read(0, 10_000).await.unwrap();
        assert_eq!(
            events.len() as u64,
            total,
            "every event of the copy reads back"
        );
        assert!(events
            .windows(2)
            .all(|w| w[1].position == w[0].position + 1));
        // The restored store takes writes again.
        service
            .backend()
            .update_user(
                &uid(0),
                Change::new()
                    .replace_json(Tier::Private, json!({"restored": true}))
                    .unwrap(),
            )
            .await
            .unwrap();
    });
}

#[test]
fn a_damaged_or_foreign_backup_is_refused() {
    let dir = temp_dir().join("refused");
    std::fs::create_dir_all(&dir).unwrap();
    let foreign = dir.join("foreign.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    assert!(matches!(
        SqliteStore::restore(&foreign, &dir.join("a.db")),
        Err(SqliteError::Damaged(_))
    ));
    let garbage = dir.join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
    assert!(matches!(
        SqliteStore::restore(&garbage, &dir.join("b.db")),
        Err(SqliteError::NotADatabase(_))
    ));
    assert!(!dir.join("a.db").exists() && !dir.join("b.db").exists());
}
