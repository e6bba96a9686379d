//! Every PostgreSQL test: the shared conformance suite and model check, index use, schema
//! versions and the migration from schema 1, bad connection settings and server errors, four
//! processes incrementing one counter, the change feed's ordering under a late commit and four
//! writing processes, a fault test that terminates the store's connections
//! while it writes, and a restart of a private cluster during writes.
//!
//! The server's URL comes from `METADATA_TEST_POSTGRES_URL`; without it every test that needs
//! it is reported as skipped. The restart test starts a cluster of its own from the server
//! binaries, and is reported as skipped where it cannot. Each store gets a schema of its own, so tests do not see each other. The binary
//! has its own `main` (`harness = false`), re-runs itself as the child processes, and prints a
//! closing `N passed, N failed` line.

use metadata_core::{
    Change, Clause, Condition, Error, Filter, ListQuery, LookupValue, Metadata, MetadataPath,
    ResourceKind, Tier, UserId,
};
use metadata_store::{MetadataService, MetadataStore};
use metadata_store_postgres::{PostgresError, PostgresOptions, PostgresStore, SCHEMA_VERSION};
use serde_json::json;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod faults;
mod feed;
mod restart;
mod server;

use faults::*;
use feed::*;
use server::*;

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
    let old = run_sql(
        url,
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mt\\_%'",
    );
    for name in old {
        run_sql(url, &format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
    }
    drop(store);
}

/// Runs `sql` on a connection of its own and answers the first column of each row.
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

fn child(mode: &str, url: &str) {
    if let Some(rest) = mode.strip_prefix("feedwriter:") {
        let parts: Vec<&str> = rest.split(':').collect();
        feed_writer(url, parts[1], parts[0].parse().unwrap(), parts[2]);
        return;
    }
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

/// The tests that need the server at `METADATA_TEST_POSTGRES_URL`, after the suite.
type ServerTest = (&'static str, fn(&str));
const SERVER_TESTS: [ServerTest; 16] = [
    (
        "a_remembered_record_is_read_again_when_it_moved_on",
        a_remembered_record_is_read_again_when_it_moved_on,
    ),
    (
        "connections_follow_the_callers_runtime",
        connections_follow_the_callers_runtime,
    ),
    (
        "a_known_record_that_moved_on_is_read_again",
        a_known_record_that_moved_on_is_read_again,
    ),
    ("declared_index_is_used", declared_index_is_used),
    (
        "conditions_use_the_declared_index",
        conditions_use_the_declared_index,
    ),
    (
        "distinct_paths_get_distinct_indexes",
        distinct_paths_get_distinct_indexes,
    ),
    ("newer_schema_is_refused", newer_schema_is_refused),
    (
        "schema_1_is_migrated_in_place",
        schema_1_is_migrated_in_place,
    ),
    (
        "bad_settings_are_typed_errors",
        bad_settings_are_typed_errors,
    ),
    (
        "errors_carry_the_servers_code_and_message",
        errors_carry_the_servers_code_and_message,
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
        "a_late_commit_is_sequenced_after_the_commits_that_overtook_it",
        a_late_commit_is_sequenced_after_the_commits_that_overtook_it,
    ),
    (
        "a_reader_following_four_writing_processes_sees_each_write_once",
        a_reader_following_four_writing_processes_sees_each_write_once,
    ),
    (
        "a_cursor_moved_in_the_callers_transaction_moves_only_if_it_commits",
        a_cursor_moved_in_the_callers_transaction_moves_only_if_it_commits,
    ),
    (
        "a_store_without_a_feed_still_writes",
        a_store_without_a_feed_still_writes,
    ),
];

/// Counts outcomes and prints one line per test, as `cargo test` does.
#[derive(Default)]
struct Report {
    passed: usize,
    failed: usize,
    skipped: usize,
}

impl Report {
    fn run(&mut self, name: &str, test: impl FnOnce()) {
        match catch_unwind(AssertUnwindSafe(test)) {
            Ok(()) => {
                self.passed += 1;
                println!("test {name} ... ok");
            }
            Err(panic) => {
                self.failed += 1;
                let msg = metadata_conformance::panic_message(panic.as_ref());
                println!("test {name} ... FAILED: {msg}");
            }
        }
    }

    fn skip(&mut self, name: &str, why: &str) {
        self.skipped += 1;
        println!("test {name} ... SKIPPED: {why}");
    }
}

fn main() {
    let url = std::env::var(URL_VAR).ok();
    if let (Ok(mode), Some(url)) = (std::env::var(CHILD), &url) {
        child(&mode, url);
        return;
    }
    let mut report = Report::default();
    match &url {
        Some(url) => run_against_server(url, &mut report),
        None => {
            let count = metadata_conformance::all().len() * 2 + 1 + SERVER_TESTS.len();
            println!("postgres: SKIPPED {count} tests that need a server: {URL_VAR} is not set.");
            println!("postgres: set it, for example {URL_VAR}=postgres://postgres@127.0.0.1:5432/test, to run them.");
            report.skipped += count;
        }
    }
    // The restart test starts a cluster of its own, so it runs with or without the URL.
    let name = "server_restart_is_retryable_and_the_pool_recovers";
    let mut cannot = None;
    report.run(name, || {
        cannot = restart::server_restart_is_retryable_and_the_pool_recovers().err()
    });
    if let Some(why) = cannot {
        report.passed -= 1;
        report.skip(
            name,
            &format!("cannot start a private PostgreSQL cluster: {why}"),
        );
    }
    let Report {
        passed,
        failed,
        skipped,
    } = report;
    println!("postgres: {passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        std::process::exit(1);
    }
}

fn run_against_server(url: &str, report: &mut Report) {
    drop_old_schemas(url);
    let make = {
        let url = url.to_owned();
        move || -> Arc<dyn MetadataStore> { Arc::new(connect(&url, &schema_name())) }
    };
    for (name, test) in metadata_conformance::all() {
        report.run(&format!("conformance_block_on::{name}"), || {
            metadata_conformance::run_block_on(test(make()))
        });
        report.run(&format!("conformance_tokio::{name}"), || {
            metadata_conformance::run_tokio(test(make()))
        });
    }
    report.run("model_check_against_reference", || {
        metadata_conformance::model::check_with(
            &make,
            &|f| metadata_conformance::run_block_on(f),
            24,
        )
    });
    for (name, test) in SERVER_TESTS {
        report.run(name, || test(url));
    }
    drop_old_schemas(url);
}
