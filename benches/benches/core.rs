//! Pure core operations against serde_json baselines, for 8 KiB and 200-byte tiers.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use metadata_benches::{patch_200, plain_merge, tier_of_size, Counter};
use metadata_core::{check_size, Limits, Metadata, Patch, Tier};
use serde_json::Value;

fn measure(c: &mut Criterion) {
    for size in [8192usize, 200] {
        let value = tier_of_size(size);
        let held = Metadata::from_value(value.clone()).unwrap();
        let limits = Limits::default();
        let mut g = c.benchmark_group(format!("measure_validate_{size}"));
        g.bench_function("baseline_to_writer_count", |b| {
            b.iter(|| {
                let mut counter = Counter(0);
                serde_json::to_writer(&mut counter, black_box(&value)).unwrap();
                counter.0 <= 8192
            })
        });
        g.bench_function("project_kept_size", |b| {
            b.iter(|| check_size(Tier::Public, black_box(&held), &limits).is_ok())
        });
        g.bench_function("project_from_value_including_clone", |b| {
            b.iter(|| Metadata::from_value(black_box(&value).clone()).unwrap())
        });
        g.bench_function("reference_clone_only", |b| {
            b.iter(|| black_box(&value).clone())
        });
        g.finish();
    }
}

fn parse(c: &mut Criterion) {
    for size in [8192usize, 200] {
        let bytes = serde_json::to_vec(&tier_of_size(size)).unwrap();
        let mut g = c.benchmark_group(format!("parse_validate_{size}"));
        g.bench_with_input(
            BenchmarkId::new("baseline_from_slice_value", size),
            &bytes,
            |b, bytes| b.iter(|| serde_json::from_slice::<Value>(black_box(bytes)).unwrap()),
        );
        g.bench_with_input(
            BenchmarkId::new("project_metadata_from_slice", size),
            &bytes,
            |b, bytes| b.iter(|| Metadata::from_slice(black_box(bytes)).unwrap()),
        );
        g.finish();
    }
}

fn merge(c: &mut Criterion) {
    let target_value = tier_of_size(8192 - 300);
    let patch_value = patch_200();
    assert!(serde_json::to_vec(&patch_value).unwrap().len() <= 220);
    let target = Metadata::from_value(target_value.clone()).unwrap();
    let patch = Patch::from_value(patch_value.clone()).unwrap();
    let limits = Limits::default();
    let mut g = c.benchmark_group("merge_200_into_8k");
    g.bench_function("baseline_clone_plain_merge", |b| {
        b.iter(|| {
            let mut t = black_box(&target_value).clone();
            plain_merge(&mut t, black_box(&patch_value));
            t
        })
    });
    g.bench_function("project_merge_and_size_check", |b| {
        b.iter(|| {
            let merged = black_box(&patch).apply_to(black_box(&target));
            check_size(Tier::Public, &merged, &limits).unwrap();
            merged
        })
    });
    g.finish();
}

criterion_group!(benches, measure, parse, merge);
criterion_main!(benches);
