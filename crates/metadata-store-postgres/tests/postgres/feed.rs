//! The change feed on a real server: a transaction that commits late is sequenced after the
//! commits that overtook it, and a reader following four writing processes sees every
//! acknowledged write exactly once.

use super::*;
use metadata_core::feed::{ChangeEvent, Operation};
use metadata_core::{create_user, Limits, Record};
use metadata_store::FeedStore;
use std::collections::{BTreeMap, BTreeSet};

/// Reads every event after `after`, in pages.
fn read_all(store: &PostgresStore, mut after: u64) -> Vec<ChangeEvent> {
    let mut out = Vec::new();
    loop {
        let page = block_on(store.changes(after, 500)).unwrap();
        let Some(last) = page.last() else { return out };
        after = last.position;
        out.extend(page);
    }
}

/// A transaction that wrote its event first and commits last: while it is open, 40 later
/// commits are read (and sequenced); its event then gets the next position, none is skipped,
/// and the record it and a blocked writer both changed keeps version order in the feed.
pub(crate) fn a_late_commit_is_sequenced_after_the_commits_that_overtook_it(url: &str) {
    let schema = schema_name();
    let store = connect(url, &schema);
    let metadata = MetadataService::new(store.clone());
    let b = metadata.backend();
    let k = UserId::new("k").unwrap();
    block_on(b.create_user(&k, Change::new())).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config: tokio_postgres::Config = url.parse().unwrap();
    let (client, conn) = rt.block_on(config.connect(tokio_postgres::NoTls)).unwrap();
    rt.spawn(conn);
    // The slow transaction: its event first (the lowest insertion number), then k at version 2,
    // as the store writes an update.
    let v2 = create_user(k.clone(), &Change::new(), &Limits::default(), 5).unwrap();
    let mut v2 = Record::User(v2);
    if let Record::User(u) = &mut v2 {
        u.version = 2;
    }
    let body = v2.to_json();
    rt.block_on(client.batch_execute(&format!(
        "BEGIN; SET LOCAL search_path = {schema};
         INSERT INTO metadata_changes (committed_at, kind, key, operation, version,
             previous_version, tiers, record)
         VALUES (0, 'user', 'k', 'updated', 2, 1, '', '{body}');
         UPDATE records SET version = 2, body = '{body}' WHERE kind = 'user' AND key = 'k';"
    )))
    .unwrap();
    // A writer of k waits on the slow transaction's row lock.
    let blocked = {
        let metadata = metadata.clone();
        let k = k.clone();
        std::thread::spawn(move || {
            let change = Change::new()
                .replace_json(Tier::Unsafe, json!({"after": "slow"}))
                .unwrap();
            block_on(metadata.backend().update_user(&k, change)).unwrap()
        })
    };
    let mut followed = read_all(&store, 0);
    for i in 0..40 {
        block_on(b.create_user(&UserId::new(format!("u{i}")).unwrap(), Change::new())).unwrap();
        if i % 10 == 9 {
            let last = followed.last().map_or(0, |e| e.position);
            followed.extend(read_all(&store, last));
        }
    }
    assert_eq!(
        followed.len(),
        41,
        "the creation of k and the 40 later commits"
    );
    assert!(
        !blocked.is_finished(),
        "the writer of k waits for the slow transaction"
    );
    rt.block_on(client.batch_execute("COMMIT")).unwrap();
    let written = blocked.join().unwrap();
    assert_eq!(written.version, 3);
    let last = followed.last().unwrap().position;
    followed.extend(read_all(&store, last));
    for (i, e) in followed.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "gapless, nothing skipped");
    }
    assert_eq!(followed.len(), 43);
    let of_k: Vec<(u64, u64)> = followed
        .iter()
        .filter(|e| e.change.id == "k")
        .map(|e| (e.position, e.change.version))
        .collect();
    assert_eq!(of_k.len(), 3);
    assert_eq!(
        of_k[1].0, 42,
        "the slow commit comes after the 40 that overtook it"
    );
    let versions: Vec<u64> = of_k.iter().map(|p| p.1).collect();
    assert_eq!(versions, vec![1, 2, 3], "per record, version order");
    assert_eq!(
        read_all(&store, 0),
        followed,
        "a second reader sees the same feed"
    );
    block_on(store.drop_schema()).unwrap();
}

/// The child's side: creates its user, then replaces its public tier `n` times, printing each
/// acknowledged version.
pub(crate) fn feed_writer(url: &str, schema: &str, n: u64, id: &str) {
    let metadata = MetadataService::new(connect(url, schema));
    let b = metadata.backend();
    let user = UserId::new(id).unwrap();
    block_on(b.create_user(&user, Change::new())).unwrap();
    println!("ack {id} 1");
    for i in 0..n {
        let change = Change::new()
            .replace_json(Tier::Public, json!({ "i": i }))
            .unwrap();
        let written = block_on(b.update_user(&user, change)).unwrap();
        println!("ack {id} {}", written.version);
    }
}

/// Four processes write while this one follows the feed: every acknowledged write is seen
/// exactly once, in a gapless order, each record's versions in order.
pub(crate) fn a_reader_following_four_writing_processes_sees_each_write_once(url: &str) {
    let schema = schema_name();
    let store = connect(url, &schema);
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .env(CHILD, format!("feedwriter:300:{schema}:w{i}"))
                .env(URL_VAR, url)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut seen: Vec<ChangeEvent> = Vec::new();
    let mut reads = 0;
    let mut children: Vec<_> = children.into_iter().map(Some).collect();
    let mut acked = BTreeSet::new();
    loop {
        let after = seen.last().map_or(0, |e| e.position);
        seen.extend(block_on(store.changes(after, 200)).unwrap());
        reads += 1;
        let mut running = 0;
        for slot in children.iter_mut() {
            let Some(child) = slot else { continue };
            if child.try_wait().unwrap().is_none() {
                running += 1;
                continue;
            }
            let out = slot.take().unwrap().wait_with_output().unwrap();
            assert!(out.status.success(), "a writing process failed");
            for line in String::from_utf8(out.stdout).unwrap().lines() {
                let mut parts = line.split(' ').skip(1);
                let id = parts.next().unwrap().to_owned();
                acked.insert((id, parts.next().unwrap().parse::<u64>().unwrap()));
            }
        }
        if running == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let after = seen.last().map_or(0, |e| e.position);
    seen.extend(read_all(&store, after));
    assert_eq!(acked.len(), 4 * 301);
    for (i, e) in seen.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "gapless");
    }
    let got: BTreeSet<(String, u64)> = seen
        .iter()
        .map(|e| (e.change.id.clone(), e.change.version))
        .collect();
    assert_eq!(got.len(), seen.len(), "no write seen twice");
    assert_eq!(
        got, acked,
        "every acknowledged write seen, and nothing else"
    );
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for e in &seen {
        let v = last.entry(&e.change.id).or_insert(0);
        assert!(e.change.version > *v, "per record, version order");
        *v = e.change.version;
        assert_ne!(e.change.operation, Operation::Deleted);
    }
    println!("    {} events followed over {reads} reads", seen.len());
    block_on(store.drop_schema()).unwrap();
}

/// A cursor moved inside the caller's own transaction moves only if that transaction commits;
/// a stale expectation changes nothing.
pub(crate) fn a_cursor_moved_in_the_callers_transaction_moves_only_if_it_commits(url: &str) {
    use metadata_store::feed::FeedError;
    use metadata_store_postgres::advance_cursor_in;
    let schema = schema_name();
    let store = connect(url, &schema);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config: tokio_postgres::Config = url.parse().unwrap();
    let (mut client, conn) = rt.block_on(config.connect(tokio_postgres::NoTls)).unwrap();
    rt.spawn(conn);
    rt.block_on(async {
        client
            .batch_execute(&format!(
                "SET search_path = {schema}; CREATE TABLE indexed (id text PRIMARY KEY)"
            ))
            .await
            .unwrap();
        let tx = client.transaction().await.unwrap();
        tx.execute("INSERT INTO indexed (id) VALUES ('u0')", &[])
            .await
            .unwrap();
        advance_cursor_in(&tx, "indexer", None, 1).await.unwrap();
        tx.rollback().await.unwrap();
    });
    assert_eq!(block_on(store.cursor("indexer")).unwrap(), None);
    rt.block_on(async {
        let tx = client.transaction().await.unwrap();
        tx.execute("INSERT INTO indexed (id) VALUES ('u0')", &[])
            .await
            .unwrap();
        advance_cursor_in(&tx, "indexer", None, 1).await.unwrap();
        tx.commit().await.unwrap();
        let tx = client.transaction().await.unwrap();
        let err = advance_cursor_in(&tx, "indexer", Some(7), 9)
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            FeedError::CursorMoved {
                expected: Some(7),
                actual: Some(1),
                ..
            }
        ));
        tx.commit().await.unwrap();
    });
    assert_eq!(block_on(store.cursor("indexer")).unwrap(), Some(1));
    block_on(store.drop_schema()).unwrap();
}

/// With the feed off, writes (the one-statement update among them) work as with it on.
pub(crate) fn a_store_without_a_feed_still_writes(url: &str) {
    let schema = schema_name();
    let store = block_on(PostgresStore::connect(
        PostgresOptions::new(url).schema(&schema).feed(false),
    ))
    .unwrap();
    block_on(
        metadata_conformance::suite::feed_off_store_still_writes_and_says_disabled(Arc::new(
            store.clone(),
        )),
    );
    block_on(store.drop_schema()).unwrap();
}
