//! Finding users by a metadata value in SQLite (R7.2): with a declared index at 1,000,000 users
//! against the same at 10,000, and against the unindexed query at 1,000,000.
//!
//! The fixtures are generated on first use under `target/bench-fixtures/` (the 1,000,000-user
//! file takes a minute or two to build) and reused afterwards.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{criterion_group, criterion_main, Criterion};
use metadata_benches::scratch_dir;
use metadata_core::{create_user, Change, Limits, Record, ResourceKind, Tier, User, UserId};
use metadata_store::{MetadataService, PageRequest};
use metadata_store_sqlite::SqliteStore;
use rusqlite::{params, Connection};
use serde_json::json;
use std::path::PathBuf;

/// One user in 1,000 has `plan` equal to "enterprise"; every user has a distinct `account`.
fn build(users: usize) -> PathBuf {
    let dir = scratch_dir("lookup");
    let path = dir.join(format!("users-{users}.db"));
    let done = dir.join(format!("users-{users}.done"));
    if done.exists() {
        return path;
    }
    let _ = std::fs::remove_file(&path);
    drop(SqliteStore::open_file(&path).unwrap());
    let mut conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO records (kind, key, version, body, created_at, updated_at)
                 VALUES ('user', ?1, 1, ?2, 1, 1)",
            )
            .unwrap();
        let limits = Limits::default();
        for i in 0..users {
            let id = UserId::new(format!("user_{i:07}")).unwrap();
            let plan = if i % 1000 == 0 { "enterprise" } else { "free" };
            let change = Change::new()
                .replace_json(
                    Tier::Public,
                    json!({"plan": plan, "account": i, "role": "member"}),
                )
                .unwrap();
            let user = create_user(id.clone(), &change, &limits, 1).unwrap();
            insert
                .execute(params![id.as_str(), Record::User(user).to_json()])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    std::fs::write(&done, b"").unwrap();
    path
}

fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("sqlite_lookup");
    g.sample_size(10);
    for users in [10_000usize, 1_000_000] {
        let path = build(users);
        let store = SqliteStore::open_file(&path).unwrap();
        futures::executor::block_on(store.declare_index(
            ResourceKind::User,
            Tier::Public,
            "account",
        ))
        .unwrap();
        let service = MetadataService::new(store);
        let target = (users / 2) as i64;
        g.bench_function(format!("indexed_{users}"), |b| {
            b.iter(|| {
                let page = futures::executor::block_on(service.backend().find::<User>(
                    Tier::Public,
                    "account",
                    target,
                    PageRequest::first(10),
                ))
                .unwrap();
                assert_eq!(page.items.len(), 1);
            })
        });
        if users == 1_000_000 {
            g.bench_function(format!("unindexed_{users}"), |b| {
                b.iter(|| {
                    let page = futures::executor::block_on(service.backend().find::<User>(
                        Tier::Public,
                        "role",
                        "nobody",
                        PageRequest::first(10),
                    ))
                    .unwrap();
                    assert!(page.items.is_empty());
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
