//! Updates prepared on the caller's thread from the writer's copy of a record (contract §3, R3.5):
//! a record deleted and created again while an update was being prepared is read again, so
//! the update applies to the record as it now is, even when the new record has reached the
//! version the prepared update expects.

use metadata_core::{
    apply_change_owned, Change, Limits, Record, RecordKey, Resource, Surface, Tier, User, UserId,
};
use metadata_store::{Applied, ApplyFn, MetadataService, MetadataStore};
use metadata_store_sqlite::{SqliteOptions, SqliteStore};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

#[test]
fn r3_5_an_update_prepared_before_a_delete_and_create_applies_to_the_new_record() {
    let dir = tempfile::Builder::new()
        .prefix("metadata-sqlite-prepared-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("prepared.db");
    let store = SqliteStore::open(SqliteOptions::file(&path).feed(false)).unwrap();
    let metadata = MetadataService::new(store.clone());
    let id = UserId::new("user_1").unwrap();
    let key = RecordKey::User(id.clone());
    let replace = |value| Change::new().replace_json(Tier::Public, value).unwrap();
    futures::executor::block_on(async {
        let b = metadata.backend();
        b.create_user(&id, Change::new()).await.unwrap();
        // Version 2, written through the store: its writer now holds a copy of it.
        b.update_user(&id, replace(json!({"x": "old"})))
            .await
            .unwrap();
    });

    // An update whose first application (on the caller's thread, before its write queues)
    // waits until the record has been deleted, created again and brought to version 2.
    let (taken_tx, taken_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let first = AtomicBool::new(true);
    let merge = Change::new()
        .merge_json(Tier::Public, json!({"y": 1}))
        .unwrap();
    let apply: ApplyFn = Arc::new(move |record: Record| {
        if first.swap(false, Ordering::SeqCst) {
            taken_tx.send(()).unwrap();
            go_rx.lock().unwrap().recv().unwrap();
        }
        let user = User::from_record(record).unwrap();
        apply_change_owned(user, &merge, Surface::Backend, &Limits::default(), 9)
            .map(User::into_record)
    });
    let updater = {
        let (store, key) = (store.clone(), key.clone());
        std::thread::spawn(move || {
            futures::executor::block_on(store.update(
                &key,
                apply,
                &metadata_core::feed::Stamp::at(9),
            ))
        })
    };
    taken_rx.recv().unwrap();
    futures::executor::block_on(async {
        let b = metadata.backend();
        b.delete_user(&id).await.unwrap();
        b.create_user(&id, Change::new()).await.unwrap();
        let again = b
            .update_user(&id, replace(json!({"x": "new"})))
            .await
            .unwrap();
        assert_eq!(
            again.version, 2,
            "the new record is at the version the update expects"
        );
    });
    go_tx.send(()).unwrap();
    let applied = updater.join().unwrap().unwrap();
    let Applied::Stored(Record::User(stored)) = applied else {
        panic!("{applied:?}");
    };
    assert_eq!(
        stored.public_metadata.to_value(),
        json!({"x": "new", "y": 1})
    );
    assert_eq!(stored.version, 3);
    let read = futures::executor::block_on(metadata.backend().get_user(&id)).unwrap();
    assert_eq!(read.public_metadata.to_value(), json!({"x": "new", "y": 1}));
    drop(dir);
}
