//! Issue 23's lookup and schema targets, each against its baseline in the same run:
//!
//! - `lookup_1m`: at 1,000,000 users on SQLite, a range lookup selecting 100 records
//!   (`age` in `[500000, 500100)`) against an indexed equality lookup selecting 100
//!   (`bucket = 4242`, 100 users per bucket); both paths declared. Target: range <= 3x.
//!   The fixture is generated on first use under `target/bench-fixtures/conditions/` (about a
//!   minute) and reused.
//! - `schema_8k`: validating an 8 KiB tier against a 20-property schema, against parsing the
//!   same tier. Target: validation <= 1.5x parsing.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{criterion_group, criterion_main, Criterion};
use metadata_benches::scratch_dir;
use metadata_core::{
    create_user, Bound, Change, Clause, Condition, Filter, Limits, ListQuery, LookupNumber,
    Metadata, Record, ResourceKind, Schemas, Tier, UserId,
};
use metadata_store::MetadataStore;
use metadata_store_sqlite::SqliteStore;
use rusqlite::{params, Connection};
use serde_json::json;
use std::path::PathBuf;

const USERS: usize = 1_000_000;

fn build() -> PathBuf {
    let dir = scratch_dir("conditions");
    let path = dir.join("users.db");
    let done = dir.join("users.done");
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
                 VALUES ('user', ?1, 1, ?2, ?3, ?3)",
            )
            .unwrap();
        let limits = Limits::default();
        for i in 0..USERS {
            let id = UserId::new(format!("user_{:07}", (i * 7919) % USERS)).unwrap();
            let change = Change::new()
                .replace_json(
                    Tier::Public,
                    json!({"bucket": i % 10_000, "age": i, "plan": "free"}),
                )
                .unwrap();
            let user = create_user(id.clone(), &change, &limits, 1_700_000_000_000).unwrap();
            insert
                .execute(params![
                    id.as_str(),
                    Record::User(user).to_json(),
                    1_700_000_000_000i64
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    drop(conn);
    let store = SqliteStore::open_file(&path).unwrap();
    futures::executor::block_on(async {
        store
            .declare_index(ResourceKind::User, Tier::Public, "bucket")
            .await
            .unwrap();
        store
            .declare_index(ResourceKind::User, Tier::Public, "age")
            .await
            .unwrap();
    });
    std::fs::write(&done, b"").unwrap();
    path
}

fn lookup_1m(c: &mut Criterion) {
    let store = SqliteStore::open_file(build()).unwrap();
    let equality = ListQuery::new(
        ResourceKind::User,
        Filter::Metadata(vec![Clause::new(
            Tier::Public,
            "bucket",
            Condition::Equals(4242.into()),
        )
        .unwrap()]),
        100,
    );
    let bound = |i, inclusive| {
        Some(Bound {
            value: LookupNumber::Integer(i),
            inclusive,
        })
    };
    let range = ListQuery::new(
        ResourceKind::User,
        Filter::Metadata(vec![Clause::new(
            Tier::Public,
            "age",
            Condition::Range {
                lower: bound(500_000, true),
                upper: bound(500_100, false),
            },
        )
        .unwrap()]),
        100,
    );
    for (query, name) in [(&equality, "equality"), (&range, "range")] {
        let found = futures::executor::block_on(store.list(query)).unwrap();
        assert_eq!(found.items.len(), 100, "{name} selects 100");
        eprintln!("{name}: {}", store.explain_list(query).unwrap().join(" | "));
    }
    let mut group = c.benchmark_group("lookup_1m");
    group.bench_function("equality_100_hot", |b| {
        b.iter(|| futures::executor::block_on(store.list(&equality)).unwrap())
    });
    group.bench_function("range_100_hot", |b| {
        b.iter(|| futures::executor::block_on(store.list(&range)).unwrap())
    });
    group.finish();
}

fn schema_8k(c: &mut Criterion) {
    let mut properties = serde_json::Map::new();
    let mut tier = serde_json::Map::new();
    for i in 0..20 {
        let name = format!("field_{i:02}");
        if i % 4 == 0 {
            properties.insert(name.clone(), json!({"type": "integer", "minimum": 0}));
            tier.insert(name, json!(i * 1000));
        } else {
            properties.insert(name.clone(), json!({"type": "string", "maxLength": 1000}));
            tier.insert(name, json!("x".repeat(520)));
        }
    }
    let schema = json!({"type": "object", "properties": properties, "required": ["field_00"]});
    let text = serde_json::to_vec(&tier).unwrap();
    assert!(
        text.len() > 7800 && text.len() <= 8192,
        "{} bytes",
        text.len()
    );
    let mut schemas = Schemas::new();
    schemas
        .declare(ResourceKind::User, Tier::Public, &schema)
        .unwrap();
    let metadata = Metadata::from_slice(&text).unwrap();
    schemas
        .check(ResourceKind::User, Tier::Public, &metadata)
        .unwrap();
    let mut group = c.benchmark_group("schema_8k");
    group.bench_function("parse", |b| b.iter(|| Metadata::from_slice(&text).unwrap()));
    group.bench_function("validate", |b| {
        b.iter(|| {
            schemas
                .check(ResourceKind::User, Tier::Public, &metadata)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, schema_8k, lookup_1m);
criterion_main!(benches);
