//! SQLite point-read latency at 10,000, 1,000,000 and 10,000,000 users: random keys (4096 of
//! them, read in turn), 200 B tiers, through the facade; with the default parsed-record cache
//! (the 4096 records fit in it: once read, a record needs no row while nothing is written) and
//! with the cache off (every read fetches its row and parses it); and the same reads through raw
//! rusqlite, to show how far apart SQLite itself reads at these sizes. The fixtures are built once
//! under `target/bench-fixtures/` and reused (the 10,000,000-user file took 40-65 s and 4.4 GB
//! here); the build time and the file size are printed.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{criterion_group, criterion_main, Criterion};
use metadata_benches::{insert_raw_users, raw_sqlite, scratch_dir, tier_of_size};
use metadata_core::{Metadata, UserId};
use metadata_store::MetadataService;
use metadata_store_sqlite::{SqliteOptions, SqliteStore};
use rusqlite::{params, Connection};
use std::time::Instant;

fn fixture(users: usize) -> std::path::PathBuf {
    let path = scratch_dir("sqlite_scale").join(format!("users_{users}.db"));
    let done = path.with_extension("done");
    if done.exists() {
        return path;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let started = Instant::now();
    drop(SqliteStore::open_file(&path).unwrap());
    let mut conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    let tier = Metadata::from_value(tier_of_size(200)).unwrap();
    for chunk in (0..users).collect::<Vec<_>>().chunks(100_000) {
        let ids = chunk.iter().map(|i| format!("user_{i:08}"));
        insert_raw_users(&mut conn, ids, &tier);
    }
    drop(conn);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "built {users} users in {:.1} s: {:.1} MB",
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    std::fs::write(&done, format!("{users}\n")).unwrap();
    path
}

fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("sqlite_get_random_200_by_users");
    for users in [10_000usize, 1_000_000, 10_000_000] {
        let path = fixture(users);
        let service = MetadataService::new(SqliteStore::open_file(&path).unwrap());
        let uncached = SqliteOptions::file(&path).cache_bytes(0);
        let uncached = MetadataService::new(SqliteStore::open(uncached).unwrap());
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let ids: Vec<UserId> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                UserId::new(format!("user_{:08}", x % users as u64)).unwrap()
            })
            .collect();
        let mut n = 0;
        // The same reads through raw rusqlite (a prepared SELECT + parse into a `Value`, under
        // the store's pragmas): how far apart SQLite itself reads at these sizes.
        let raw = raw_sqlite(&path);
        g.bench_function(format!("baseline_raw_select_parse_value_{users}"), |b| {
            b.iter(|| {
                n += 1;
                let body: String = raw
                    .prepare_cached("SELECT body FROM records WHERE kind = ?1 AND key = ?2")
                    .unwrap()
                    .query_row(params!["user", ids[n % ids.len()].as_str()], |r| r.get(0))
                    .unwrap();
                serde_json::from_str::<serde_json::Value>(&body).unwrap()
            })
        });
        for (name, service) in [("get", &service), ("get_uncached", &uncached)] {
            g.bench_function(format!("project_facade_{name}_{users}"), |b| {
                b.iter(|| {
                    n += 1;
                    futures::executor::block_on(service.backend().get_user(&ids[n % ids.len()]))
                        .unwrap()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
