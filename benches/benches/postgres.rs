//! The PostgreSQL store through the facade, against raw `tokio-postgres` doing the same
//! conditional update and the same get on the same schema. Needs `METADATA_TEST_POSTGRES_URL`;
//! without it, it says so and measures nothing.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{black_box, Criterion};
use metadata_benches::tier_of_size;
use metadata_core::{Change, Metadata, Tier, UserId};
use metadata_store::MetadataService;
use metadata_store_postgres::{PostgresOptions, PostgresStore};
use serde_json::Value;

fn main() {
    let Ok(url) = std::env::var("METADATA_TEST_POSTGRES_URL") else {
        println!("postgres benchmarks skipped: METADATA_TEST_POSTGRES_URL is not set");
        return;
    };
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &url);
    c.final_summary();
}

/// The raw side's conditional update, from `version` to the next: one statement, as the store
/// sends, writing the same two columns (the record's text and its lookup projection).
async fn raw_update(
    client: &tokio_postgres::Client,
    update: &tokio_postgres::Statement,
    version: i64,
    body: &str,
    lookup: &str,
) {
    let n = client
        .execute(
            update,
            &[
                &(version + 1),
                &body,
                &"user",
                &"raw_bench",
                &version,
                &lookup,
            ],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// The raw side's read: a prepared `SELECT`, parsed into a `Value`.
async fn raw_select_parse(
    client: &tokio_postgres::Client,
    select: &tokio_postgres::Statement,
) -> Value {
    let row = client
        .query_one(select, &[&"user", &"raw_bench"])
        .await
        .unwrap();
    let body: String = row.get(0);
    serde_json::from_str(&body).unwrap()
}

fn bench(c: &mut Criterion, url: &str) {
    let size = 8192;
    let schema = format!("mb_{}", std::process::id());
    // Connected from the runtime the calls come from, as an application does from its own.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt
        .block_on(PostgresStore::connect(
            PostgresOptions::new(url).schema(&schema).feed(false),
        ))
        .unwrap();
    let service = MetadataService::new(store.clone());
    let id = UserId::new("user_bench").unwrap();
    let tier = Metadata::from_value(tier_of_size(size)).unwrap();
    let user = rt
        .block_on(
            service
                .backend()
                .create_user(&id, Change::new().replace(Tier::Public, tier.clone())),
        )
        .unwrap();
    let body = serde_json::to_string(&user).unwrap();

    // The raw side: one client on the same server and schema, its own row, the same statements.
    let mut config: tokio_postgres::Config = url.parse().unwrap();
    config.options(format!("-c search_path={schema}"));
    let (client, conn) = rt.block_on(config.connect(tokio_postgres::NoTls)).unwrap();
    rt.spawn(conn);
    // The lookup projection the store wrote for its own row, so the raw side writes the same.
    let lookup: String = rt
        .block_on(client.query_one(
            "SELECT lookup::text FROM records WHERE kind = 'user' AND key = 'user_bench'",
            &[],
        ))
        .unwrap()
        .get(0);
    rt.block_on(client.execute(
        "INSERT INTO records (kind, key, version, body, lookup) VALUES ('user', 'raw_bench', 1, $1, $2::text::jsonb)",
        &[&body, &lookup],
    ))
    .unwrap();
    let update = rt
        .block_on(client.prepare(
            "UPDATE records SET version = $1, body = $2, lookup = $6::text::jsonb WHERE kind = $3 AND key = $4 AND version = $5",
        ))
        .unwrap();
    let select = rt
        .block_on(client.prepare("SELECT body FROM records WHERE kind = $1 AND key = $2"))
        .unwrap();

    let mut g = c.benchmark_group("postgres_replace_8192");
    let mut raw_version: i64 = 1;
    g.bench_function("baseline_raw_conditional_update", |b| {
        b.iter(|| {
            rt.block_on(async {
                raw_update(&client, &update, raw_version, &body, &lookup).await;
            });
            raw_version += 1;
        })
    });
    g.bench_function("baseline_raw_get_then_conditional_update", |b| {
        b.iter(|| {
            rt.block_on(async {
                black_box(raw_select_parse(&client, &select).await);
                raw_update(&client, &update, raw_version, &body, &lookup).await;
            });
            raw_version += 1;
        })
    });
    let mut version = user.version;
    g.bench_function("project_facade_replace_expected_version", |b| {
        b.iter(|| {
            let change = Change::new()
                .replace(Tier::Public, tier.clone())
                .expect_version(version);
            version = rt
                .block_on(service.backend().update_user(&id, change))
                .unwrap()
                .version;
        })
    });
    g.finish();

    let mut g = c.benchmark_group("postgres_get_8192");
    g.bench_function("baseline_raw_select_parse_value", |b| {
        b.iter(|| rt.block_on(raw_select_parse(&client, &select)))
    });
    g.bench_function("project_facade_get", |b| {
        b.iter(|| {
            rt.block_on(service.backend().get_user(black_box(&id)))
                .unwrap()
        })
    });
    g.finish();
    concurrent(c, url, &schema);
    rt.block_on(store.drop_schema()).unwrap();
}

/// 16 tasks on a two-thread runtime, each replacing its own user's 200 B tier, through the
/// facade (pool of 16) and through raw tokio-postgres (a deadpool pool of 16, the same
/// single-statement conditional UPDATE with a prepared body). One iteration is one write.
fn concurrent(c: &mut Criterion, url: &str, schema: &str) {
    const TASKS: usize = 16;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = runtime
        .block_on(PostgresStore::connect(
            PostgresOptions::new(url)
                .schema(schema)
                .max_connections(TASKS)
                .feed(false),
        ))
        .unwrap();
    let service = MetadataService::new(store);
    let tier = tier_of_size(200);
    let ids: Vec<UserId> = (0..TASKS)
        .map(|i| UserId::new(format!("conc_{i:02}")).unwrap())
        .collect();
    let mut bodies = Vec::new();
    for id in &ids {
        let change = Change::new()
            .replace_json(Tier::Public, tier.clone())
            .unwrap();
        let user = runtime
            .block_on(service.backend().create_user(id, change))
            .unwrap();
        bodies.push(serde_json::to_string(&user).unwrap());
    }
    {
        let mut config: tokio_postgres::Config = url.parse().unwrap();
        config.options(format!("-c search_path={schema}"));
        let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(TASKS)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .unwrap();
        let lookup = runtime.block_on(async {
            let client = pool.get().await.unwrap();
            for (i, body) in bodies.iter().enumerate() {
                client
                    .execute(
                        "INSERT INTO records (kind, key, version, body, lookup) SELECT 'user', $1, 1, $2, lookup FROM records WHERE key = 'conc_00'",
                        &[&format!("raw_{i:02}"), body],
                    )
                    .await
                    .unwrap();
            }
            let row = client
                .query_one("SELECT lookup::text FROM records WHERE key = 'conc_00'", &[])
                .await
                .unwrap();
            row.get::<_, String>(0)
        });
        let mut g = c.benchmark_group("postgres_16_tasks_replace_200");
        let versions: Vec<std::sync::atomic::AtomicI64> = (0..TASKS)
            .map(|_| std::sync::atomic::AtomicI64::new(1))
            .collect();
        let versions = std::sync::Arc::new(versions);
        g.bench_function("baseline_raw_tokio_postgres_pool_16", |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(TASKS as u64);
                let start = std::time::Instant::now();
                runtime.block_on(async {
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|i| {
                            let (pool, versions) = (pool.clone(), versions.clone());
                            let (body, lookup) = (bodies[i].clone(), lookup.clone());
                            tokio::spawn(async move {
                                for _ in 0..per {
                                    let client = pool.get().await.unwrap();
                                    let stmt = client
                                        .prepare_cached("UPDATE records SET version = $1, body = $2, lookup = $6::text::jsonb WHERE kind = $3 AND key = $4 AND version = $5")
                                        .await
                                        .unwrap();
                                    let v = versions[i].load(std::sync::atomic::Ordering::Relaxed);
                                    let key = format!("raw_{i:02}");
                                    let n = client
                                        .execute(&stmt, &[&(v + 1), &body, &"user", &key, &v, &lookup])
                                        .await
                                        .unwrap();
                                    assert_eq!(n, 1);
                                    versions[i].store(v + 1, std::sync::atomic::Ordering::Relaxed);
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                });
                start.elapsed().mul_f64(iters as f64 / (per * TASKS as u64) as f64)
            })
        });
        let ready = Metadata::from_value(tier.clone()).unwrap();
        g.bench_function("project_facade_16_tasks", |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(TASKS as u64);
                let start = std::time::Instant::now();
                runtime.block_on(async {
                    let tasks: Vec<_> = ids
                        .iter()
                        .cloned()
                        .map(|id| {
                            let (service, tier) = (service.clone(), ready.clone());
                            tokio::spawn(async move {
                                for _ in 0..per {
                                    // A tier validated once, as the raw side's body is
                                    // serialized once.
                                    let change = Change::new().replace(Tier::Public, tier.clone());
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
                    .mul_f64(iters as f64 / (per * TASKS as u64) as f64)
            })
        });
        g.finish();
    }
}
