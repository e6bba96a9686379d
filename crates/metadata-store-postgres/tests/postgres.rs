//! Every PostgreSQL test: the shared conformance suite and model check, index use, schema
//! versions, bad connection settings, four processes incrementing one counter, and a fault test
//! that terminates the store's connections while it writes.
//!
//! The server's URL comes from `METADATA_TEST_POSTGRES_URL`; without it every test is reported
//! as skipped. Each store gets a schema of its own, so tests do not see each other. The binary
//! has its own `main` (`harness = false`), re-runs itself as the child processes, and prints a
//! closing `N passed, N failed` line.

use metadata_core::{
    Change, Error, Filter, ListQuery, LookupValue, Metadata, MetadataPath, ResourceKind, Tier,
    UserId,
};
use metadata_store::{MetadataService, MetadataStore};
use metadata_store_postgres::{PostgresError, PostgresOptions, PostgresStore, SCHEMA_VERSION};
use serde_json::json;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const URL_VAR: &str = "METADATA_TEST_POSTGRES_URL";
const CHILD: &str = "METADATA_POSTGRES_CHILD";

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn schema_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "mt_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn connect(url: &str, schema: &str) -> PostgresStore {
    block_on(PostgresStore::connect(
        PostgresOptions::new(url).schema(schema).max_connections(4),
    ))
    .unwrap()
}

/// Drops every test schema left by earlier runs of this binary.
fn drop_old_schemas(url: &str) {
    let store = connect(url, "mt_cleanup");
    let mut config: tokio_postgres::Config = url.parse().unwrap();
    config.application_name("metadata-test-cleanup");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let (client, conn) = config.connect(tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let rows = client
                .query(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mt\\_%'",
                    &[],
                )
                .await
                .unwrap();
            for row in rows {
                let name: String = row.get(0);
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .await
                    .unwrap();
            }
        });
    drop(store);
}

fn run_sql(url: &str, sql: &str) -> Vec<String> {
    let config: tokio_postgres::Config = url.parse().unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let (client, conn) = config.connect(tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let rows = client.simple_query(sql).await.unwrap();
            rows.into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                    _ => None,
                })
                .collect()
        })
}

/// R3.5 across machines, simulated: 4 processes x 2,500 expected-version increments.
fn four_processes_increment_to_exactly_ten_thousand(url: &str) {
    let schema = schema_name();
    let store = connect(url, &schema);
    let metadata = MetadataService::new(store.clone());
    let user = UserId::new("counter").unwrap();
    block_on(metadata.backend().create_user(&user, Change::new())).unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .env(CHILD, format!("increment:2500:{schema}"))
                .env(URL_VAR, url)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(
            c.wait().unwrap().success(),
            "an incrementing process failed"
        );
    }
    let user = block_on(metadata.backend().get_user(&user)).unwrap();
    assert_eq!(user.public_metadata.get("counter"), Some(&json!(10_000)));
    block_on(store.drop_schema()).unwrap();
}

/// Writes while another connection terminates the store's connections: a write that returned
/// success is there, a definite error is absent, an unknown outcome is settled by reading the
/// version, and the store works afterwards.
fn terminated_connections_give_definite_or_unknown_outcomes(url: &str) {
    let schema = schema_name();
    let app = format!("metadata-fault-{schema}");
    let store = block_on(PostgresStore::connect(
        PostgresOptions::new(url)
            .schema(&schema)
            .max_connections(2)
            .application_name(&app),
    ))
    .unwrap();
    let metadata = MetadataService::new(store.clone());
    let user = UserId::new("fault").unwrap();
    block_on(metadata.backend().create_user(&user, Change::new())).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let (stop, url, app) = (stop.clone(), url.to_owned(), app.clone());
        std::thread::spawn(move || {
            let mut kills = 0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(3));
                let sql = format!(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{app}'"
                );
                kills += run_sql(&url, &sql)
                    .first()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
            kills
        })
    };
    let (mut ok, mut definite, mut unknown) = (0, 0, 0);
    let mut version = 1;
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut i = 0u64;
    while Instant::now() < deadline {
        i += 1;
        let value = Metadata::from_value(json!({ "i": i })).unwrap();
        let change = Change::new()
            .replace(Tier::Private, value)
            .expect_version(version);
        #[derive(PartialEq)]
        enum Outcome {
            Acknowledged,
            Definite,
            Unknown,
        }
        let outcome = match block_on(metadata.backend().update_user(&user, change)) {
            Ok(u) => {
                assert_eq!(u.version, version + 1);
                ok += 1;
                Outcome::Acknowledged
            }
            Err(Error::Storage { retryable, .. }) => {
                assert!(retryable, "a lost connection is retryable");
                definite += 1;
                Outcome::Definite
            }
            Err(Error::OutcomeUnknown { .. }) => {
                unknown += 1;
                Outcome::Unknown
            }
            Err(other) => panic!("write {i}: unexpected {other:?}"),
        };
        // Settle the truth by reading the version (retrying while connections are being cut).
        let current = loop {
            match block_on(metadata.backend().get_user(&user)) {
                Ok(u) => break u,
                Err(Error::Storage {
                    retryable: true, ..
                }) => continue,
                Err(other) => panic!("read: {other:?}"),
            }
        };
        let happened =
            current.version == version + 1 && current.private_metadata.get("i") == Some(&json!(i));
        assert!(
            happened || current.version == version,
            "write {i}: the record moved unexpectedly"
        );
        match outcome {
            Outcome::Acknowledged => assert!(happened, "write {i} was acknowledged but is missing"),
            Outcome::Definite => assert!(!happened, "write {i} failed definitely but is present"),
            Outcome::Unknown => {}
        }
        version = current.version;
    }
    stop.store(true, Ordering::Relaxed);
    let kills = killer.join().unwrap();
    assert!(kills > 0, "the fault test terminated no connection");
    assert!(ok > 0, "no write succeeded between the faults");
    assert!(definite + unknown > 0, "no write met a fault");
    // The pool recovers: writes work again.
    let after = block_on(
        metadata.backend().update_user(
            &user,
            Change::new()
                .replace_json(Tier::Public, json!({"done": true}))
                .unwrap(),
        ),
    );
    assert!(after.is_ok(), "{after:?}");
    println!("      ({i} writes: {ok} acknowledged, {definite} definite errors, {unknown} unknown outcomes; {kills} connections terminated)");
    block_on(store.drop_schema()).unwrap();
}

fn declared_index_is_used(url: &str) {
    let schema = schema_name();
    let store = connect(url, &schema);
    block_on(store.declare_index(ResourceKind::User, Tier::Public, "billing.plan")).unwrap();
    block_on(store.declare_index(ResourceKind::User, Tier::Public, "billing.plan")).unwrap();
    run_sql(url, &format!("SET search_path = {schema}; ANALYZE"));
    let query = ListQuery {
        kind: ResourceKind::User,
        filter: Filter::MetadataEquals {
            tier: Tier::Public,
            path: MetadataPath::parse("billing.plan").unwrap(),
            value: LookupValue::String("pro".into()),
        },
        after: None,
        limit: 10,
    };
    // With an empty table the planner may prefer a scan: forbid it to see the index is usable.
    let plan = {
        let prepared = format!(
            "SET search_path = {schema}; SET enable_seqscan = off; EXPLAIN SELECT key FROM records WHERE kind = 'user' AND key > '' AND (body #> '{{public_metadata,billing,plan}}') = '\"pro\"'::jsonb ORDER BY key LIMIT 11"
        );
        run_sql(url, &prepared).join("\n")
    };
    assert!(
        plan.contains("lookup_user_public_metadata_billing_plan"),
        "{plan}"
    );
    let store_plan = block_on(store.explain_list(&query)).unwrap();
    assert!(!store_plan.is_empty());
    block_on(store.drop_schema()).unwrap();
}

fn newer_schema_is_refused(url: &str) {
    let schema = schema_name();
    let store = connect(url, &schema);
    run_sql(
        url,
        &format!(
            "UPDATE {schema}.metadata_schema SET version = {}",
            SCHEMA_VERSION + 1
        ),
    );
    let err = block_on(PostgresStore::connect(
        PostgresOptions::new(url).schema(&schema),
    ))
    .unwrap_err();
    assert!(
        matches!(err, PostgresError::SchemaTooNew { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION)
    );
    block_on(store.drop_schema()).unwrap();
}

fn bad_settings_are_typed_errors(url: &str) {
    let err = block_on(PostgresStore::connect(PostgresOptions::new(
        "not a url at all ://",
    )))
    .unwrap_err();
    assert!(matches!(err, PostgresError::InvalidUrl(_)), "{err:?}");
    let err = block_on(PostgresStore::connect(
        PostgresOptions::new(url).schema("Bad-Name"),
    ))
    .unwrap_err();
    assert!(matches!(err, PostgresError::InvalidSchemaName(_)));
    let unreachable = PostgresOptions::new("postgres://postgres@127.0.0.1:1/test")
        .connect_timeout(Duration::from_secs(1));
    let err = block_on(PostgresStore::connect(unreachable)).unwrap_err();
    assert!(
        matches!(err, PostgresError::Pool(_)) && err.is_retryable(),
        "{err:?}"
    );
}

/// The command that restarts the local server, where this machine has one we may restart.
fn restart_command(url: &str) -> Option<Command> {
    let local = url.contains("@127.0.0.1") || url.contains("@localhost");
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .next()?
        .file_name();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| o.stdout.starts_with(b"0"));
    if !local || !root {
        return None;
    }
    let mut cmd = Command::new("pg_ctlcluster");
    cmd.args(["--skip-systemctl-redirect"])
        .arg(version)
        .args(["main", "restart"]);
    Some(cmd)
}

/// A server restart: writes during it fail with a retryable storage error, and the pool
/// recovers by itself once the server is back.
fn server_restart_is_retryable_and_the_pool_recovers(url: &str) {
    let Some(mut restart) = restart_command(url) else {
        println!(
            "      (skipped: this machine has no local PostgreSQL server this test may restart)"
        );
        return;
    };
    let schema = schema_name();
    let store = connect(url, &schema);
    let metadata = MetadataService::new(store.clone());
    let user = UserId::new("restart").unwrap();
    block_on(metadata.backend().create_user(&user, Change::new())).unwrap();
    let restarting =
        std::thread::spawn(move || restart.status().map(|s| s.success()).unwrap_or(false));
    let (mut failures, mut successes) = (0, 0);
    let mut attempt = 0;
    // Write through the restart, then until one more write succeeds after it.
    loop {
        attempt += 1;
        let done = restarting.is_finished();
        let change = Change::new()
            .replace_json(Tier::Public, json!({ "attempt": attempt }))
            .unwrap();
        match block_on(metadata.backend().update_user(&user, change)) {
            Ok(_) => {
                successes += 1;
                if done {
                    break;
                }
            }
            Err(Error::Storage {
                retryable: true, ..
            })
            | Err(Error::OutcomeUnknown { .. }) => failures += 1,
            Err(other) => panic!("during a restart: {other:?}"),
        }
        assert!(
            attempt < 2_000,
            "the store did not recover after the restart"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(restarting.join().unwrap(), "pg_ctlcluster restart failed");
    assert!(failures > 0, "no write met the restart");
    println!("      ({successes} writes succeeded around the restart)");
    block_on(store.drop_schema()).unwrap();
}

fn child(mode: &str, url: &str) {
    let mut parts = mode.splitn(3, ':');
    let (what, n, schema) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    assert_eq!(what, "increment");
    let metadata = MetadataService::new(connect(url, schema));
    let user = UserId::new("counter").unwrap();
    block_on(metadata_conformance::concurrency::increment(
        &metadata,
        &user,
        n.parse().unwrap(),
    ))
    .unwrap();
}

fn main() {
    let Ok(url) = std::env::var(URL_VAR) else {
        let count = metadata_conformance::all().len() * 2 + 7;
        println!("postgres: SKIPPED all {count} PostgreSQL tests: {URL_VAR} is not set.");
        println!("postgres: set it, for example {URL_VAR}=postgres://postgres@127.0.0.1:5432/test, to run them.");
        println!("postgres: 0 passed, 0 failed, {count} skipped");
        return;
    };
    if let Ok(mode) = std::env::var(CHILD) {
        child(&mode, &url);
        return;
    }
    drop_old_schemas(&url);
    let (mut passed, mut failed) = (0, 0);
    let mut report = |name: &str, result: std::thread::Result<()>| match result {
        Ok(()) => {
            passed += 1;
            println!("test {name} ... ok");
        }
        Err(panic) => {
            failed += 1;
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            println!("test {name} ... FAILED: {msg}");
        }
    };
    let make = {
        let url = url.clone();
        move || -> Arc<dyn MetadataStore> { Arc::new(connect(&url, &schema_name())) }
    };
    for (name, test) in metadata_conformance::all() {
        let result = catch_unwind(AssertUnwindSafe(|| {
            metadata_conformance::run_block_on(test(make()))
        }));
        report(&format!("conformance_block_on::{name}"), result);
        let result = catch_unwind(AssertUnwindSafe(|| {
            metadata_conformance::run_tokio(test(make()))
        }));
        report(&format!("conformance_tokio::{name}"), result);
    }
    let result = catch_unwind(AssertUnwindSafe(|| {
        metadata_conformance::model::check_with(
            &make,
            &|f| metadata_conformance::run_block_on(f),
            24,
        )
    }));
    report("model_check_against_reference", result);
    type ServerTest = (&'static str, fn(&str));
    let tests: [ServerTest; 6] = [
        ("declared_index_is_used", declared_index_is_used),
        ("newer_schema_is_refused", newer_schema_is_refused),
        (
            "bad_settings_are_typed_errors",
            bad_settings_are_typed_errors,
        ),
        (
            "four_processes_increment_to_exactly_ten_thousand",
            four_processes_increment_to_exactly_ten_thousand,
        ),
        (
            "terminated_connections_give_definite_or_unknown_outcomes",
            terminated_connections_give_definite_or_unknown_outcomes,
        ),
        (
            "server_restart_is_retryable_and_the_pool_recovers",
            server_restart_is_retryable_and_the_pool_recovers,
        ),
    ];
    for (name, test) in tests {
        let result = catch_unwind(AssertUnwindSafe(|| test(&url)));
        report(name, result);
    }
    drop_old_schemas(&url);
    println!("postgres: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
