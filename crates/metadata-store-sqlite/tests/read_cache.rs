//! The parsed-record cache of point reads: a record is parsed once per stored text, and one
//! seen in its row since the database last changed is answered without reading the table;
//! every change made outside the store (another store on the same file, another process, a
//! statement of its own) is seen by the next read that starts after it.

use metadata_core::{Change, Error, Tier, UserId};
use metadata_store::MetadataService;
use metadata_store_sqlite::{SqliteOptions, SqliteStore};
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

mod common;
use common::temp_dir;

fn fresh_path() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    temp_dir().join(format!(
        "cache-{}.sqlite",
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn public_v(metadata: &MetadataService, id: &UserId) -> serde_json::Value {
    block_on(metadata.backend().get_user(id))
        .unwrap()
        .public_metadata
        .to_value()
}

#[test]
fn a_record_changed_by_another_writer_is_read_fresh() {
    // The store remembers parsed records; a change made outside it must still be seen.
    let path = fresh_path();
    let metadata = MetadataService::new(SqliteStore::open_file(&path).unwrap());
    let id = UserId::new("u").unwrap();
    let change = Change::new()
        .replace_json(Tier::Public, json!({"v": 1}))
        .unwrap();
    block_on(metadata.backend().create_user(&id, change)).unwrap();
    assert_eq!(
        block_on(metadata.backend().get_user(&id))
            .unwrap()
            .public_metadata
            .to_value(),
        json!({"v": 1})
    );
    let other = rusqlite::Connection::open(&path).unwrap();
    let body: String = other
        .query_row("SELECT body FROM records WHERE key = 'u'", [], |r| r.get(0))
        .unwrap();
    let changed = body.replace("{\"v\":1}", "{\"v\":2}");
    assert_ne!(body, changed);
    other
        .execute("UPDATE records SET body = ?1 WHERE key = 'u'", [&changed])
        .unwrap();
    let user = block_on(metadata.backend().get_user(&id)).unwrap();
    assert_eq!(user.public_metadata.to_value(), json!({"v": 2}));
}

/// The parsed-record cache is bounded by bytes: large records take their share of it.
#[test]
fn the_parsed_record_cache_is_bounded_by_bytes() {
    let limit = 1 << 20;
    let store = SqliteStore::open(SqliteOptions::file(fresh_path()).cache_bytes(limit)).unwrap();
    let metadata = MetadataService::new(store.clone());
    let big = json!({ "k": "x".repeat(8_000) });
    block_on(async {
        for i in 0..200 {
            let id = UserId::new(format!("u{i:03}")).unwrap();
            let change = Change::new()
                .replace_json(Tier::Public, big.clone())
                .unwrap();
            metadata.backend().create_user(&id, change).await.unwrap();
        }
        for i in 0..200 {
            let id = UserId::new(format!("u{i:03}")).unwrap();
            let user = metadata.backend().get_user(&id).await.unwrap();
            assert_eq!(user.public_metadata.to_value(), big);
            let (entries, bytes) = store.cache_usage();
            assert!(
                bytes <= limit,
                "{bytes} bytes cached, over the bound of {limit}"
            );
            assert!(
                entries <= limit / 16_000,
                "{entries} records of 8 KiB in 1 MiB"
            );
        }
    });
    let (entries, _) = store.cache_usage();
    assert!(entries > 0, "the cache still works");
    let none = SqliteStore::open(SqliteOptions::file(fresh_path()).cache_bytes(0)).unwrap();
    let metadata = MetadataService::new(none.clone());
    block_on(
        metadata
            .backend()
            .create_user(&UserId::new("u").unwrap(), Change::new()),
    )
    .unwrap();
    assert_eq!(none.cache_usage(), (0, 0));
}

#[test]
fn a_record_read_again_and_again_sees_every_outside_change() {
    // Each round reads the record twice (the second read may answer from the cache without
    // the table), then changes it outside the store: through another store on the same file,
    // or by rewriting its text with a statement of its own at the same version (so only the
    // text tells). The next read must see the change.
    let path = fresh_path();
    let metadata = MetadataService::new(SqliteStore::open_file(&path).unwrap());
    let other = MetadataService::new(SqliteStore::open_file(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    let id = UserId::new("u").unwrap();
    let change = |v: u32| {
        Change::new()
            .replace_json(Tier::Public, json!({ "v": v }))
            .unwrap()
    };
    block_on(metadata.backend().create_user(&id, change(0))).unwrap();
    for round in 1..=40u32 {
        assert_eq!(public_v(&metadata, &id), json!({ "v": round - 1 }));
        assert_eq!(public_v(&metadata, &id), json!({ "v": round - 1 }));
        if round % 2 == 0 {
            block_on(other.backend().update_user(&id, change(round))).unwrap();
        } else {
            let body: String = raw
                .query_row("SELECT body FROM records WHERE key = 'u'", [], |r| r.get(0))
                .unwrap();
            let was = format!("{{\"v\":{}}}", round - 1);
            let changed = body.replace(&was, &format!("{{\"v\":{round}}}"));
            assert_ne!(body, changed);
            raw.execute("UPDATE records SET body = ?1 WHERE key = 'u'", [&changed])
                .unwrap();
        }
        assert_eq!(
            public_v(&metadata, &id),
            json!({ "v": round }),
            "round {round}"
        );
    }
    block_on(other.backend().delete_user(&id)).unwrap();
    let gone = block_on(metadata.backend().get_user(&id)).unwrap_err();
    assert!(matches!(gone, Error::NotFound { .. }), "{gone:?}");
}

#[test]
fn readers_on_many_threads_never_read_behind_an_acknowledged_outside_write() {
    // Another store writes versions one after another; after each is acknowledged, every
    // read that starts must return that version or a later one. Several reading threads make
    // the pool open several connections, each finding the changes on its own.
    let path = fresh_path();
    let metadata = Arc::new(MetadataService::new(SqliteStore::open_file(&path).unwrap()));
    let other = MetadataService::new(SqliteStore::open_file(&path).unwrap());
    let id = UserId::new("u").unwrap();
    block_on(other.backend().create_user(&id, Change::new())).unwrap();
    let acknowledged = Arc::new(AtomicU64::new(1));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (metadata, id) = (metadata.clone(), id.clone());
            let (acknowledged, done) = (acknowledged.clone(), done.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !done.load(Ordering::SeqCst) {
                    let at_least = acknowledged.load(Ordering::SeqCst);
                    let user = block_on(metadata.backend().get_user(&id)).unwrap();
                    assert!(
                        user.version >= at_least,
                        "read version {} after version {at_least} was acknowledged",
                        user.version
                    );
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for n in 0..300u32 {
        let change = Change::new()
            .replace_json(Tier::Private, json!({ "n": n }))
            .unwrap();
        let user = block_on(other.backend().update_user(&id, change)).unwrap();
        acknowledged.store(user.version, Ordering::SeqCst);
    }
    done.store(true, Ordering::SeqCst);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(reads > 0);
    assert_eq!(
        block_on(metadata.backend().get_user(&id)).unwrap().version,
        301
    );
}
