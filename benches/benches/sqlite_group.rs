//! Group commit on SQLite with `synchronous=FULL` (an fsync per commit): 16 writers at once on
//! different users, against the same writes one transaction each (one writer), and against
//! raw rusqlite committing the same prepared writes in batches of 16. One iteration is one
//! write; the figure is time per write, so throughput is its inverse.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{criterion_group, criterion_main, Criterion};
use metadata_benches::{raw_sqlite, scratch_dir, tier_of_size};
use metadata_core::{Change, Tier, UserId};
use metadata_store::MetadataService;
use metadata_store_sqlite::{SqliteOptions, SqliteStore};
use rusqlite::params;
use std::time::{Duration, Instant};

const WRITERS: usize = 16;

fn fresh(name: &str) -> std::path::PathBuf {
    let dir = scratch_dir("sqlite_group");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
    }
    dir.join(name)
}

/// A store with `WRITERS` users, and their ids.
fn project() -> (SqliteStore, MetadataService, Vec<UserId>) {
    // The feed is off, as the raw baseline writes no event; benches/benches/feed.rs measures it.
    let options = SqliteOptions::file(fresh("project.db"))
        .synchronous_full(true)
        .feed(false);
    let store = SqliteStore::open(options).unwrap();
    let service = MetadataService::new(store.clone());
    let ids: Vec<UserId> = (0..WRITERS)
        .map(|i| UserId::new(format!("user_{i:02}")).unwrap())
        .collect();
    for id in &ids {
        futures::executor::block_on(service.backend().create_user(id, Change::new())).unwrap();
    }
    (store, service, ids)
}

/// `n` replaces of a 200 B public tier on `id`, one after another.
fn replace_n(service: &MetadataService, id: &UserId, n: u64) {
    let tier = tier_of_size(200);
    for _ in 0..n {
        let change = Change::new()
            .replace_json(Tier::Public, tier.clone())
            .unwrap();
        futures::executor::block_on(service.backend().update_user(id, change)).unwrap();
    }
}

fn group_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("sqlite_full_sync_writes_200");
    let (store, service, ids) = project();
    g.bench_function("project_16_concurrent_writers", |b| {
        b.iter_custom(|iters| {
            let per = iters.div_ceil(WRITERS as u64);
            let start = Instant::now();
            std::thread::scope(|s| {
                for id in &ids {
                    let service = &service;
                    s.spawn(move || replace_n(service, id, per));
                }
            });
            start
                .elapsed()
                .mul_f64(iters as f64 / (per * WRITERS as u64) as f64)
        })
    });
    // The same as 16 tasks on a two-thread tokio runtime: waking a task is cheaper than
    // waking a thread.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    g.bench_function("project_16_concurrent_tasks", |b| {
        b.iter_custom(|iters| {
            let per = iters.div_ceil(WRITERS as u64);
            let start = Instant::now();
            runtime.block_on(async {
                let tasks: Vec<_> = ids
                    .iter()
                    .cloned()
                    .map(|id| {
                        let service = service.clone();
                        tokio::spawn(async move {
                            let tier = tier_of_size(200);
                            for _ in 0..per {
                                let change = Change::new()
                                    .replace_json(Tier::Public, tier.clone())
                                    .unwrap();
                                service.backend().update_user(&id, change).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            });
            start
                .elapsed()
                .mul_f64(iters as f64 / (per * WRITERS as u64) as f64)
        })
    });
    let stats = store.commit_stats();
    println!(
        "group commit: {} transactions in {} groups ({:.1} a group)",
        stats.transactions,
        stats.groups,
        stats.transactions as f64 / stats.groups.max(1) as f64
    );
    g.bench_function("baseline_project_one_transaction_per_write", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            replace_n(&service, &ids[0], iters);
            start.elapsed()
        })
    });
    // Raw rusqlite: the same schema and pragmas, bodies prepared beforehand, 16 conditional
    // UPDATEs per transaction.
    let path = fresh("raw.db");
    drop(SqliteStore::open_file(&path).unwrap());
    let mut raw = raw_sqlite(&path);
    raw.pragma_update(None, "synchronous", "FULL").unwrap();
    let body = serde_json::to_string(&tier_of_size(200)).unwrap();
    for i in 0..WRITERS {
        raw.execute(
            "INSERT INTO records (kind, key, version, body) VALUES ('user', ?1, 1, ?2)",
            params![format!("user_{i:02}"), body],
        )
        .unwrap();
    }
    let mut versions = [1i64; WRITERS];
    g.bench_function("baseline_raw_batches_of_16", |b| {
        b.iter_custom(|iters| {
            let batches = iters.div_ceil(WRITERS as u64);
            let start = Instant::now();
            for _ in 0..batches {
                let tx = raw.transaction().unwrap();
                for (i, v) in versions.iter_mut().enumerate() {
                    let n = tx
                        .prepare_cached("UPDATE records SET version = ?1, body = ?2 WHERE kind = 'user' AND key = ?3 AND version = ?4")
                        .unwrap()
                        .execute(params![*v + 1, body, format!("user_{i:02}"), *v])
                        .unwrap();
                    assert_eq!(n, 1);
                    *v += 1;
                }
                tx.commit().unwrap();
            }
            let per_write: Duration = start.elapsed() / (batches * WRITERS as u64) as u32;
            per_write * iters as u32
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = group_commit
}
criterion_main!(benches);
