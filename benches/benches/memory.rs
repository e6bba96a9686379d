//! The memory store through the facade and `Arc<dyn MetadataStore>`, against a bare
//! `RwLock<HashMap<_, Arc<_>>>`; and reads from two threads at once, each thread reading a
//! record of its own (threads reading one record contend on its reference counts whatever the
//! store does).

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use metadata_benches::tier_of_size;
use metadata_core::{Change, Metadata, Tier, UserId};
use metadata_store::{MetadataService, MetadataStore};
use metadata_store_memory::MemoryStore;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

type Bare = RwLock<HashMap<String, Arc<Value>>>;

type Setup = (
    MetadataService,
    Arc<dyn MetadataStore>,
    UserId,
    Metadata,
    Arc<Bare>,
    Value,
);

fn setup(size: usize) -> Setup {
    // The feed is off, as the raw baseline writes no event; benches/benches/feed.rs measures it.
    let store: Arc<dyn MetadataStore> = Arc::new(MemoryStore::without_feed());
    let service = MetadataService::from_arc(store.clone());
    let id = UserId::new("user_bench").unwrap();
    let value = tier_of_size(size);
    let tier = Metadata::from_value(value.clone()).unwrap();
    futures::executor::block_on(
        service
            .backend()
            .create_user(&id, Change::new().replace(Tier::Public, tier.clone())),
    )
    .unwrap();
    let bare: Arc<Bare> = Arc::new(RwLock::new(HashMap::new()));
    bare.write()
        .unwrap()
        .insert("user_bench".into(), Arc::new(value.clone()));
    (service, store, id, tier, bare, value)
}

fn replace_and_get(c: &mut Criterion) {
    for size in [8192usize, 200] {
        let (service, store, id, tier, bare, value) = setup(size);
        let mut g = c.benchmark_group(format!("memory_replace_{size}"));
        // The same work as the project's side: the tier is validated once, outside the loop,
        // and each iteration inserts a ready Arc (the project clones an already-validated tier).
        let ready = Arc::new(value.clone());
        g.bench_function("baseline_insert_ready_arc_rwlock_map", |b| {
            b.iter(|| {
                bare.write()
                    .unwrap()
                    .insert("user_bench".into(), black_box(&ready).clone());
            })
        });
        g.bench_function("project_facade_replace", |b| {
            b.iter(|| {
                futures::executor::block_on(service.backend().replace_user(
                    &id,
                    Tier::Public,
                    black_box(&tier).clone(),
                ))
                .unwrap()
            })
        });
        g.finish();
        let mut g = c.benchmark_group(format!("memory_get_{size}"));
        g.bench_function("baseline_rwlock_map_get", |b| {
            b.iter(|| {
                bare.read()
                    .unwrap()
                    .get(black_box("user_bench"))
                    .cloned()
                    .unwrap()
            })
        });
        // For reference: the store's own answer as a copy of the record, without the facade
        // (what the removed `get_now` answered: the lent record, cloned).
        g.bench_function("reference_store_get_now", |b| {
            b.iter(|| {
                let mut copy = None;
                store.read_now(
                    metadata_core::ResourceKind::User,
                    black_box("user_bench"),
                    &mut |found| copy = found.cloned(),
                );
                copy
            })
        });
        // The store's part of the facade's read: the record lent, a `User` copied from it.
        g.bench_function("reference_store_read_now", |b| {
            b.iter(|| {
                let mut user = None;
                store.read_now(
                    metadata_core::ResourceKind::User,
                    black_box("user_bench"),
                    &mut |found| {
                        user = found.and_then(
                            <metadata_core::User as metadata_core::Resource>::from_record_ref,
                        )
                    },
                );
                user
            })
        });
        // A synchronous caller: one `block_on` per read.
        g.bench_function("project_facade_get", |b| {
            b.iter(|| {
                futures::executor::block_on(service.backend().get_user(black_box(&id))).unwrap()
            })
        });
        // An async caller: reads awaited one after another inside one task, each result
        // dropped before the next read, as the baseline's are.
        g.bench_function("project_facade_get_awaited", |b| {
            b.iter_custom(|iters| {
                futures::executor::block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(service.backend().get_user(black_box(&id)).await.unwrap());
                    }
                    start.elapsed()
                })
            })
        });
        g.finish();
    }
}

/// Runs `read` `iters` times split over `threads` threads (each given its index); returns the
/// wall time.
fn parallel(threads: usize, iters: u64, read: impl Fn(usize) + Send + Sync + 'static) -> Duration {
    let read = Arc::new(read);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let read = read.clone();
            let n = iters / threads as u64;
            std::thread::spawn(move || {
                for _ in 0..n {
                    read(t);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

fn two_thread_reads(c: &mut Criterion) {
    let (service, _, id, _, bare, value) = setup(8192);
    // A second record, for the second thread, with a tier of its own (records sharing one
    // tier value share its reference count).
    let second = UserId::new("user_bench_2").unwrap();
    let tier = Metadata::from_value(value.clone()).unwrap();
    futures::executor::block_on(
        service
            .backend()
            .create_user(&second, Change::new().replace(Tier::Public, tier)),
    )
    .unwrap();
    bare.write()
        .unwrap()
        .insert("user_bench_2".into(), Arc::new(value));
    let ids = Arc::new([id, second]);
    let mut g = c.benchmark_group("memory_reads_threads");
    for threads in [1usize, 2] {
        let (s, i) = (service.clone(), ids.clone());
        g.bench_function(format!("project_facade_get_{threads}_threads"), move |b| {
            let (s, i) = (s.clone(), i.clone());
            b.iter_custom(move |iters| {
                let (s, i) = (s.clone(), i.clone());
                parallel(threads, iters, move |t| {
                    futures::executor::block_on(s.backend().get_user(&i[t])).unwrap();
                })
            })
        });
        let m = bare.clone();
        g.bench_function(
            format!("baseline_rwlock_map_get_{threads}_threads"),
            move |b| {
                let m = m.clone();
                b.iter_custom(move |iters| {
                    let m = m.clone();
                    parallel(threads, iters, move |t| {
                        let key = ["user_bench", "user_bench_2"][t];
                        black_box(m.read().unwrap().get(key).cloned().unwrap());
                    })
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, replace_and_get, two_thread_reads);
criterion_main!(benches);
