//! The SQLite store through the facade and the async bridge, against raw rusqlite doing the
//! same statements with the same pragmas on the same schema.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use metadata_benches::{insert_raw_users, raw_sqlite, scratch_dir, tier_of_size};
use metadata_core::{Change, Metadata, Tier, UserId};
use metadata_store::MetadataService;
use metadata_store_sqlite::{SqliteOptions, SqliteStore};
use rusqlite::{params, Connection, TransactionBehavior};
use serde_json::Value;

/// A scratch directory without the project's and the raw side's database files.
fn fresh_scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = scratch_dir(name);
    for db in ["project.db", "raw.db"] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{db}{suffix}")));
        }
    }
    dir
}

struct Fixture {
    service: MetadataService,
    id: UserId,
    tier: Metadata,
    raw: Connection,
    raw_body: String,
    /// The record's text at successive versions, serialized beforehand: what the raw side
    /// writes, one after another, so that each write brings new text as the project's does.
    raw_bodies: Vec<String>,
}

/// How many prepared texts the raw side cycles through.
const RAW_BODIES: usize = 256;

fn fixture(name: &str, size: usize) -> Fixture {
    let dir = fresh_scratch_dir(name);
    // The feed is off, as the raw baseline writes no event; benches/benches/feed.rs measures it.
    let store = SqliteStore::open(SqliteOptions::file(dir.join("project.db")).feed(false)).unwrap();
    let service = MetadataService::new(store);
    let id = UserId::new("user_bench").unwrap();
    let tier = Metadata::from_value(tier_of_size(size)).unwrap();
    let user = futures::executor::block_on(
        service
            .backend()
            .create_user(&id, Change::new().replace(Tier::Public, tier.clone())),
    )
    .unwrap();
    // The raw side: the same schema (made by the store), the same pragmas, the same row.
    drop(SqliteStore::open_file(dir.join("raw.db")).unwrap());
    let raw = raw_sqlite(&dir.join("raw.db"));
    let raw_body = serde_json::to_string(&user).unwrap();
    let raw_bodies = (0..RAW_BODIES as u64)
        .map(|i| {
            let mut next = user.clone();
            next.version += 1 + i;
            next.updated_at += 1 + i as i64;
            serde_json::to_string(&next).unwrap()
        })
        .collect();
    raw.execute(
        "INSERT INTO records (kind, key, version, body) VALUES ('user', 'user_bench', 1, ?1)",
        params![raw_body],
    )
    .unwrap();
    Fixture {
        service,
        id,
        tier,
        raw,
        raw_body,
        raw_bodies,
    }
}

/// The raw side's conditional update, from `version` to the next, in its own transaction.
fn raw_update(raw: &mut Connection, version: i64, body: &str) {
    let tx = raw
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    let changed = tx
        .prepare_cached("UPDATE records SET version = ?1, body = ?2 WHERE kind = ?3 AND key = ?4 AND version = ?5")
        .unwrap()
        .execute(params![version + 1, body, "user", "user_bench", version])
        .unwrap();
    assert_eq!(changed, 1);
    tx.commit().unwrap();
}

/// The raw side's read: a prepared `SELECT`, parsed into a `Value`.
fn raw_select_parse(raw: &Connection) -> Value {
    let body: String = raw
        .prepare_cached("SELECT body FROM records WHERE kind = ?1 AND key = ?2")
        .unwrap()
        .query_row(params!["user", "user_bench"], |r| r.get(0))
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

fn replace(c: &mut Criterion) {
    for size in [8192usize, 200] {
        let mut f = fixture(&format!("sqlite_replace_{size}"), size);
        let mut g = c.benchmark_group(format!("sqlite_replace_{size}"));
        let mut raw_version: i64 = 1;
        // Each write brings the record's text at its new version (prepared beforehand), as the
        // project's does: SQLite rewrites in place only the pages whose bytes changed, so
        // writing the same text again (the reference below) skips an 8 KiB record's overflow
        // pages, which no real update can.
        g.bench_function("baseline_raw_conditional_update", |b| {
            b.iter(|| {
                let body = &f.raw_bodies[raw_version as usize % RAW_BODIES];
                raw_update(&mut f.raw, raw_version, body);
                raw_version += 1;
            })
        });
        g.bench_function("reference_raw_conditional_update_same_text", |b| {
            b.iter(|| {
                raw_update(&mut f.raw, raw_version, &f.raw_body);
                raw_version += 1;
            })
        });
        g.bench_function("baseline_raw_get_then_conditional_update", |b| {
            b.iter(|| {
                black_box(raw_select_parse(&f.raw));
                let body = &f.raw_bodies[raw_version as usize % RAW_BODIES];
                raw_update(&mut f.raw, raw_version, body);
                raw_version += 1;
            })
        });
        let mut version = 1;
        g.bench_function("project_facade_replace_expected_version", |b| {
            b.iter(|| {
                let change = Change::new()
                    .replace(Tier::Public, black_box(&f.tier).clone())
                    .expect_version(version);
                let user =
                    futures::executor::block_on(f.service.backend().update_user(&f.id, change))
                        .unwrap();
                version = user.version;
            })
        });
        if size == 8192 {
            // A merge of a 200 B patch into an 8 KiB tier (7,800 bytes, so that the merged tier
            // stays within the limit), beside the same raw UPDATE.
            let patch = metadata_benches::patch_200();
            let base = Change::new()
                .replace_json(Tier::Public, tier_of_size(7_800))
                .unwrap()
                .expect_version(version);
            version = futures::executor::block_on(f.service.backend().update_user(&f.id, base))
                .unwrap()
                .version;
            g.bench_function("project_facade_merge_200_expected_version", |b| {
                b.iter(|| {
                    let change = Change::new()
                        .merge_json(Tier::Public, black_box(&patch).clone())
                        .unwrap()
                        .expect_version(version);
                    let user =
                        futures::executor::block_on(f.service.backend().update_user(&f.id, change))
                            .unwrap();
                    version = user.version;
                })
            });
        }
        g.finish();
    }
}

fn get(c: &mut Criterion) {
    for size in [8192usize, 200] {
        let f = fixture(&format!("sqlite_get_{size}"), size);
        let mut g = c.benchmark_group(format!("sqlite_get_{size}"));
        g.bench_function("baseline_raw_select_parse_value", |b| {
            b.iter(|| raw_select_parse(&f.raw))
        });
        g.bench_function("project_facade_get", |b| {
            b.iter(|| {
                futures::executor::block_on(f.service.backend().get_user(black_box(&f.id))).unwrap()
            })
        });
        g.finish();
    }
}

/// How many users the random-key read benchmark spreads its reads over.
const USERS: usize = 100_000;

/// `USERS` users with 200-byte public tiers in a project file and a raw file, written in one
/// transaction each through the same schema, the project's rows exactly as the store writes
/// them (the core's wire JSON).
fn many_users() -> (SqliteStore, SqliteStore, Connection) {
    let dir = fresh_scratch_dir("sqlite_get_random");
    let tier = Metadata::from_value(tier_of_size(200)).unwrap();
    for name in ["project.db", "raw.db"] {
        drop(SqliteStore::open_file(dir.join(name)).unwrap());
        let mut conn = Connection::open(dir.join(name)).unwrap();
        insert_raw_users(&mut conn, (0..USERS).map(|i| format!("user_{i:06}")), &tier);
    }
    let raw = raw_sqlite(&dir.join("raw.db"));
    let project = dir.join("project.db");
    let uncached = SqliteOptions::file(&project).cache_bytes(0);
    (
        SqliteStore::open_file(&project).unwrap(),
        SqliteStore::open(uncached).unwrap(),
        raw,
    )
}

/// Reads at random keys over `USERS` users, 4096 keys in turn: SQLite's page cache holds only
/// part of the file, unlike the one hot row of `get`. With the default parsed-record cache the
/// 4096 records fit in it, so once each was read a read of it needs no row while nothing is
/// written (`project_facade_get`); with the cache off every read fetches its row and parses it,
/// as the baseline does (`project_facade_get_uncached`).
fn get_random(c: &mut Criterion) {
    let (store, uncached, raw) = many_users();
    let service = MetadataService::new(store);
    let uncached = MetadataService::new(uncached);
    let ids: Vec<String> = {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("user_{:06}", x % USERS as u64)
            })
            .collect()
    };
    let user_ids: Vec<UserId> = ids
        .iter()
        .map(|i| UserId::new(i.as_str()).unwrap())
        .collect();
    let mut g = c.benchmark_group("sqlite_get_random_200_over_100000");
    let mut n = 0;
    g.bench_function("baseline_raw_select_parse_value", |b| {
        b.iter(|| {
            n += 1;
            let body: String = raw
                .prepare_cached("SELECT body FROM records WHERE kind = ?1 AND key = ?2")
                .unwrap()
                .query_row(params!["user", ids[n % ids.len()]], |r| r.get(0))
                .unwrap();
            serde_json::from_str::<Value>(&body).unwrap()
        })
    });
    for (name, service) in [
        ("project_facade_get", &service),
        ("project_facade_get_uncached", &uncached),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                n += 1;
                futures::executor::block_on(service.backend().get_user(&user_ids[n % ids.len()]))
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, replace, get, get_random);
criterion_main!(benches);
