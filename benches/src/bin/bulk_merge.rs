//! Issue 23's bulk target: a merge into 100,000 users on SQLite in at most 10 s, against the
//! loop a host writes without bulk changes (`update_user` one user after another), in the same
//! run, each on a fresh copy of the same file (the feed on, as by default).
//!
//! `cargo run --release -p metadata-benches --bin bulk_merge [USERS] [CONCURRENCY]`

use metadata_core::{Change, Filter, ResourceKind, Tier, UserId};
use metadata_store::{BulkOptions, MetadataService};
use metadata_store_sqlite::SqliteStore;
use serde_json::json;
use std::time::Instant;

fn main() {
    let users: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let concurrency: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(32);
    let dir = metadata_benches::scratch_dir("bulk_merge");
    let seed = dir.join(format!("seed-{users}.db"));
    if !seed.exists() {
        let service = MetadataService::new(SqliteStore::open_file(&seed).unwrap());
        futures::executor::block_on(async {
            for start in (0..users).step_by(1000) {
                let batch = (start..(start + 1000).min(users))
                    .map(|i| {
                        let change = Change::new()
                            .replace_json(
                                Tier::Public,
                                json!({"plan": "free", "seats": i % 50, "note": "x".repeat(200)}),
                            )
                            .unwrap();
                        (UserId::new(format!("user_{i:07}")).unwrap(), change)
                    })
                    .collect();
                for created in service.backend().create_users(batch).await.unwrap() {
                    created.unwrap();
                }
            }
        });
        drop(service);
    }
    let copy = |name: &str| {
        let path = dir.join(name);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        std::fs::copy(&seed, &path).unwrap();
        MetadataService::new(SqliteStore::open_file(&path).unwrap())
    };
    let patch = || {
        Change::new()
            .merge_json(Tier::Public, json!({"plan": "pro"}))
            .unwrap()
    };

    let service = copy("bulk.db");
    let bulk = metadata_core::BulkChange::new(ResourceKind::User, Filter::All, patch()).unwrap();
    let began = Instant::now();
    let report = futures::executor::block_on(service.backend().bulk_change(
        &bulk,
        &BulkOptions::new("bench").concurrency(concurrency),
        |_| {},
    ))
    .unwrap();
    let bulk_time = began.elapsed();
    assert_eq!(report.progress.changed as usize, users);

    let service = copy("loop.db");
    let began = Instant::now();
    futures::executor::block_on(async {
        for i in 0..users {
            service
                .backend()
                .update_user(&UserId::new(format!("user_{i:07}")).unwrap(), patch())
                .await
                .unwrap();
        }
    });
    let loop_time = began.elapsed();
    println!(
        "{users} users: bulk_change {:.2} s ({:.1} us a record), update_user loop {:.2} s ({:.1} us a record), ratio {:.2}",
        bulk_time.as_secs_f64(),
        bulk_time.as_secs_f64() * 1e6 / users as f64,
        loop_time.as_secs_f64(),
        loop_time.as_secs_f64() * 1e6 / users as f64,
        bulk_time.as_secs_f64() / loop_time.as_secs_f64()
    );
}
