//! Listings ordered and counted at 1,000,000 users on SQLite (R7.5), issue 22's targets:
//! `GET /v1/users/count` in at most 50 ms, and the first page newest first in at most twice
//! the time of a page by id. Beside them, `SELECT count(*)` on the same file: what a count
//! that reads the table's index costs.
//!
//! Two fixtures of the same users, generated on first use under `target/bench-fixtures/listing/`
//! (about a minute each) and reused afterwards. In both, creation order is unrelated to id
//! order (ids are random, as the reference product's are). `as_created`: rows were written in
//! the order the users were created, as a store that has been written to over time holds them.
//! `imported_by_id`: rows were written in id order with their creation times unrelated, as an
//! import from a file sorted by id leaves them; newest first then reads rows scattered over the
//! whole file, the worst case for it.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use axum::body::Body;
use axum::http::Request;
use criterion::{criterion_group, criterion_main, Criterion};
use metadata_benches::scratch_dir;
use metadata_core::{create_user, Change, Filter, Limits, ListOrder, Record, Tier, User, UserId};
use metadata_http::MetadataHttp;
use metadata_store::{MetadataService, PageRequest};
use metadata_store_sqlite::SqliteStore;
use rusqlite::{params, Connection};
use serde_json::json;
use std::path::PathBuf;
use tower::ServiceExt;

const USERS: usize = 1_000_000;
const SECRET: &str = "sk_bench";

/// One million users, each created at a distinct time in an order unrelated to its id, each
/// row what the store itself writes; rows in creation order, or in id order.
fn build(layout: &str) -> PathBuf {
    let dir = scratch_dir("listing");
    let path = dir.join(format!("{layout}.db"));
    let done = dir.join(format!("{layout}.done"));
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
            // 7919 is prime and does not divide 1,000,000: a permutation.
            let shuffled = (i * 7919) % USERS;
            let (n, t) = match layout {
                "as_created" => (shuffled, i),
                _ => (i, shuffled),
            };
            let id = UserId::new(format!("user_{n:07}")).unwrap();
            let at = 1_700_000_000_000 + t as i64;
            let change = Change::new()
                .replace_json(Tier::Public, json!({"plan": "free", "n": i}))
                .unwrap();
            let user = create_user(id.clone(), &change, &limits, at).unwrap();
            insert
                .execute(params![id.as_str(), Record::User(user).to_json(), at])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    std::fs::write(&done, b"").unwrap();
    path
}

fn listing(c: &mut Criterion) {
    for layout in ["as_created", "imported_by_id"] {
        listing_of(c, layout);
    }
}

fn listing_of(c: &mut Criterion, layout: &str) {
    let path = build(layout);
    let service = MetadataService::new(SqliteStore::open_file(&path).unwrap());
    let router = MetadataHttp::new(service.clone())
        .secret_key(SECRET)
        .backend_router();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let get = |uri: &str| {
        let request = Request::get(uri)
            .header("authorization", format!("Bearer {SECRET}"))
            .body(Body::empty())
            .unwrap();
        let response = runtime.block_on(router.clone().oneshot(request)).unwrap();
        assert!(response.status().is_success(), "{uri}");
        let bytes = runtime
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .unwrap();
        bytes.len()
    };
    let b = service.backend();
    assert_eq!(
        futures::executor::block_on(b.count::<User>(Filter::All)).unwrap(),
        USERS as u64
    );

    let mut g = c.benchmark_group(format!("listing_1m_{layout}"));
    g.sample_size(20);
    g.bench_function("count_http", |bench| bench.iter(|| get("/v1/users/count")));
    g.bench_function("count_facade", |bench| {
        bench.iter(|| futures::executor::block_on(b.count::<User>(Filter::All)).unwrap())
    });
    let raw = Connection::open(&path).unwrap();
    g.bench_function("baseline_count_star_sql", |bench| {
        bench.iter(|| {
            raw.query_row(
                "SELECT count(*) FROM records WHERE kind = 'user'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
        })
    });
    for (name, order) in [
        ("page_by_id", ListOrder::BY_ID),
        ("page_newest_first", ListOrder::NEWEST_FIRST),
        (
            "page_recently_updated",
            ListOrder::parse("-updated_at").unwrap(),
        ),
    ] {
        g.bench_function(format!("{name}_facade"), |bench| {
            bench.iter(|| {
                let page = PageRequest::first(10).ordered(order);
                let got = futures::executor::block_on(b.list::<User>(Filter::All, page)).unwrap();
                assert_eq!(got.items.len(), 10);
            })
        });
    }
    g.bench_function("page_by_id_http", |bench| {
        bench.iter(|| get("/v1/users?limit=10&order_by=id"))
    });
    g.bench_function("page_newest_first_http", |bench| {
        bench.iter(|| get("/v1/users?limit=10"))
    });
    g.bench_function("page_newest_first_offset_5000_http", |bench| {
        bench.iter(|| get("/v1/users?limit=10&offset=5000"))
    });
    g.finish();
}

criterion_group!(benches, listing);
criterion_main!(benches);
