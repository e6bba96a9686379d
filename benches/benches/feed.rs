//! What the change feed costs and gives: writes with the feed on against the same store with
//! the feed off (the target: the feed costs at most 15 %), on SQLite (replace of 200 B
//! and 8 KiB, creations, and 16 durable writers at once), the memory store and, when `METADATA_TEST_POSTGRES_URL` is set,
//! PostgreSQL; and feed reads in events per second (pages of 500 over 20,000 events).

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{black_box, Criterion, Throughput};
use metadata_benches::{scratch_dir, tier_of_size};
use metadata_core::{Change, Metadata, Tier, UserId};
use metadata_store::{FeedStore, MetadataService};
use metadata_store_memory::MemoryStore;
use metadata_store_postgres::{PostgresOptions, PostgresStore};
use metadata_store_sqlite::{SqliteOptions, SqliteStore};
use std::sync::atomic::{AtomicU64, Ordering};

fn sqlite(name: &str, feed: bool) -> SqliteStore {
    let dir = scratch_dir("feed");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
    }
    SqliteStore::open(SqliteOptions::file(dir.join(name)).feed(feed)).unwrap()
}

/// Replaces `size` bytes of public metadata with an expected version, over and over.
fn bench_replace(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    service: &MetadataService,
    size: usize,
    run: &dyn Fn(&mut dyn FnMut()),
) {
    let id = UserId::new("user_bench").unwrap();
    let tier = Metadata::from_value(tier_of_size(size)).unwrap();
    let _ = futures::executor::block_on(service.backend().create_user(&id, Change::new()));
    let mut version = futures::executor::block_on(service.backend().get_user(&id))
        .unwrap()
        .version;
    g.bench_function(name, |b| {
        b.iter(|| {
            run(&mut || {
                let change = Change::new()
                    .replace(Tier::Public, black_box(&tier).clone())
                    .expect_version(version);
                let backend = service.backend();
                version = futures::executor::block_on(backend.update_user(&id, change))
                    .unwrap()
                    .version;
            })
        })
    });
}

fn direct(f: &mut dyn FnMut()) {
    f()
}

fn writes(c: &mut Criterion) {
    for size in [200usize, 8192] {
        let mut g = c.benchmark_group(format!("feed_sqlite_replace_{size}"));
        for (name, feed) in [("baseline_feed_off", false), ("project_feed_on", true)] {
            let service = MetadataService::new(sqlite(&format!("replace_{size}_{feed}.db"), feed));
            bench_replace(&mut g, name, &service, size, &direct);
        }
        g.finish();
    }
    let mut g = c.benchmark_group("feed_sqlite_create");
    for (name, feed) in [("baseline_feed_off", false), ("project_feed_on", true)] {
        let service = MetadataService::new(sqlite(&format!("create_{feed}.db"), feed));
        let n = AtomicU64::new(0);
        g.bench_function(name, |b| {
            b.iter(|| {
                let id = UserId::new(format!("u{}", n.fetch_add(1, Ordering::Relaxed))).unwrap();
                futures::executor::block_on(service.backend().create_user(&id, Change::new()))
                    .unwrap();
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("feed_memory_replace_200");
    for (name, store) in [
        ("baseline_feed_off", MemoryStore::without_feed()),
        ("project_feed_on", MemoryStore::new()),
    ] {
        let service = MetadataService::new(store);
        bench_replace(&mut g, name, &service, 200, &direct);
    }
    // With retention, as a deployment runs it: every 10,000 writes the events are pruned (the
    // pruning is timed too), so the feed does not keep every version of the record alive.
    let service = MetadataService::new(MemoryStore::new());
    let pruner = service.clone();
    let written = std::cell::Cell::new(0u64);
    let pruned = move |write: &mut dyn FnMut()| {
        write();
        written.set(written.get() + 1);
        if written.get().is_multiple_of(10_000) {
            let feed = pruner.feed();
            futures::executor::block_on(feed.prune(std::time::Duration::ZERO, 10_000)).unwrap();
        }
    };
    bench_replace(
        &mut g,
        "project_feed_on_pruned_every_10000",
        &service,
        200,
        &pruned,
    );
    g.finish();
}

/// 16 writers at once with `synchronous=FULL` (an fsync per group commit), each replacing a
/// 200 B tier of its own user; one iteration is one write.
fn grouped(c: &mut Criterion) {
    use std::time::Instant;
    const WRITERS: usize = 16;
    let mut g = c.benchmark_group("feed_sqlite_full_sync_16_writers_200");
    for (name, feed) in [("baseline_feed_off", false), ("project_feed_on", true)] {
        let dir = scratch_dir("feed");
        let file = format!("grouped_{feed}.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{file}{suffix}")));
        }
        let store = SqliteStore::open(
            SqliteOptions::file(dir.join(file))
                .synchronous_full(true)
                .feed(feed),
        )
        .unwrap();
        let service = MetadataService::new(store);
        let ids: Vec<UserId> = (0..WRITERS)
            .map(|i| UserId::new(format!("user_{i:02}")).unwrap())
            .collect();
        for id in &ids {
            futures::executor::block_on(service.backend().create_user(id, Change::new())).unwrap();
        }
        let tier = tier_of_size(200);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(WRITERS as u64);
                let start = Instant::now();
                std::thread::scope(|s| {
                    for id in &ids {
                        let (service, tier) = (&service, &tier);
                        s.spawn(move || {
                            for _ in 0..per {
                                let change = Change::new()
                                    .replace_json(Tier::Public, tier.clone())
                                    .unwrap();
                                let backend = service.backend();
                                futures::executor::block_on(backend.update_user(id, change))
                                    .unwrap();
                            }
                        });
                    }
                });
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per * WRITERS as u64) as f64)
            })
        });
    }
    g.finish();
}

fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("METADATA_TEST_POSTGRES_URL") else {
        println!("postgres feed benchmarks skipped: METADATA_TEST_POSTGRES_URL is not set");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("feed_postgres_200");
    for (name, feed) in [("baseline_feed_off", false), ("project_feed_on", true)] {
        let schema = format!("mbf_{}_{feed}", std::process::id());
        let store = rt
            .block_on(PostgresStore::connect(
                PostgresOptions::new(&url).schema(&schema).feed(feed),
            ))
            .unwrap();
        let service = MetadataService::new(store.clone());
        let id = UserId::new("user_bench").unwrap();
        let tier = Metadata::from_value(tier_of_size(200)).unwrap();
        rt.block_on(service.backend().create_user(&id, Change::new()))
            .unwrap();
        let mut version = 1;
        g.bench_function(name, |b| {
            b.iter(|| {
                let change = Change::new()
                    .replace(Tier::Public, black_box(&tier).clone())
                    .expect_version(version);
                version = rt
                    .block_on(service.backend().update_user(&id, change))
                    .unwrap()
                    .version;
            })
        });
        let n = AtomicU64::new(0);
        let create = format!("{name}_create");
        g.bench_function(&create, |b| {
            b.iter(|| {
                let id = UserId::new(format!("u{}", n.fetch_add(1, Ordering::Relaxed))).unwrap();
                rt.block_on(service.backend().create_user(&id, Change::new()))
                    .unwrap();
            })
        });
        rt.block_on(store.drop_schema()).unwrap();
    }
    g.finish();
}

fn reads(c: &mut Criterion) {
    const EVENTS: u64 = 20_000;
    let store = sqlite("read.db", true);
    let service = MetadataService::new(store.clone());
    let tier = tier_of_size(200);
    futures::executor::block_on(async {
        for i in 0..EVENTS {
            let change = Change::new()
                .replace_json(Tier::Public, tier.clone())
                .unwrap();
            let id = UserId::new(format!("u{i}")).unwrap();
            service.backend().create_user(&id, change).await.unwrap();
        }
    });
    let mut g = c.benchmark_group("feed_sqlite_read_200");
    g.throughput(Throughput::Elements(EVENTS));
    g.sample_size(10);
    g.bench_function("project_read_all_in_pages_of_500", |b| {
        b.iter(|| {
            let mut after = 0;
            while after < EVENTS {
                let page = futures::executor::block_on(store.changes(after, 500)).unwrap();
                after = page.last().unwrap().position;
                black_box(page);
            }
        })
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    writes(&mut c);
    grouped(&mut c);
    reads(&mut c);
    postgres(&mut c);
    c.final_summary();
}
