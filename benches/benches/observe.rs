//! What tracing and metrics cost on the hot paths, in one run: a memory-store get (awaited, 200
//! B) and a SQLite replace (200 B, feed off), each with no subscriber (how the library ships
//! to a host that installs none), with an `INFO` subscriber formatting to a sink (the facade's
//! spans are `DEBUG`, so it sees only faults), with a `DEBUG` subscriber (every span
//! formatted), and with metrics on through a Prometheus recorder. The same work with the
//! instrumentation compiled out is measured by instruction counts against the commit before it
//! (benches/README.md).

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use metadata_benches::{scratch_dir, tier_of_size};
use metadata_core::{Change, Metadata, Tier, UserId};
use metadata_store::MetadataService;
use metadata_store_memory::MemoryStore;
use metadata_store_sqlite::{SqliteOptions, SqliteStore};
use std::time::Instant;

type Variant = (&'static str, Option<tracing::Level>, bool);

const VARIANTS: [Variant; 4] = [
    ("no_subscriber", None, false),
    ("info_subscriber", Some(tracing::Level::INFO), false),
    ("debug_subscriber", Some(tracing::Level::DEBUG), false),
    ("metrics_prometheus", None, true),
];

/// Runs `f` under the variant's subscriber, if any.
fn under<T>(level: Option<tracing::Level>, f: impl FnOnce() -> T) -> T {
    match level {
        None => f(),
        Some(level) => {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(level)
                .with_writer(std::io::sink)
                .finish();
            tracing::subscriber::with_default(subscriber, f)
        }
    }
}

fn observe(c: &mut Criterion) {
    // The exporter a server installs; operations record to it only with metrics on.
    let _ = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder();
    let id = UserId::new("user_bench").unwrap();
    let tier = Metadata::from_value(tier_of_size(200)).unwrap();

    let mut g = c.benchmark_group("observe_memory_get_200");
    for (name, level, metrics) in VARIANTS {
        let service = MetadataService::new(MemoryStore::without_feed()).with_metrics(metrics);
        let change = Change::new().replace(Tier::Public, tier.clone());
        futures::executor::block_on(service.backend().create_user(&id, change)).unwrap();
        g.bench_function(name, |b| {
            under(level, || {
                b.iter_custom(|iters| {
                    futures::executor::block_on(async {
                        let start = Instant::now();
                        for _ in 0..iters {
                            black_box(service.backend().get_user(black_box(&id)).await.unwrap());
                        }
                        start.elapsed()
                    })
                })
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("observe_sqlite_replace_200");
    for (name, level, metrics) in VARIANTS {
        let path = scratch_dir("observe").join(format!("{name}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let store = SqliteStore::open(SqliteOptions::file(path).feed(false)).unwrap();
        let service = MetadataService::new(store).with_metrics(metrics);
        futures::executor::block_on(service.backend().create_user(&id, Change::new())).unwrap();
        g.bench_function(name, |b| {
            under(level, || {
                b.iter(|| {
                    let change = Change::new().replace(Tier::Public, black_box(&tier).clone());
                    futures::executor::block_on(service.backend().update_user(&id, change)).unwrap()
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, observe);
criterion_main!(benches);
