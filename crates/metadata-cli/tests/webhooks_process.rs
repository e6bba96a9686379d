//! `metadata webhooks` killed with SIGKILL mid-delivery and started again resumes from its
//! stored cursor: a receiver written with the reference product's SDK gets every event,
//! verified, in feed order, with at most the event in flight repeated under the same id.
//!
//! Needs `node` and the SDK (`npm ci --prefix crates/metadata-http/tests/sdk`, which `.ci/run`
//! does); without them it says it was skipped. Its own `main` (`harness = false`).

#[path = "../../metadata-webhooks/tests/common/receiver.rs"]
mod receiver;

use metadata_core::{Change, Tier, UserId};
use metadata_store::MetadataService;
use metadata_store_sqlite::SqliteStore;
use receiver::{check_in_order, expected, received, wait_for, SECRET};
use serde_json::json;
use std::process::{Child, Command};
use std::time::Duration;

const NAME: &str = "sigkill_mid_delivery_resumes_with_nothing_lost";

fn deliverer(db: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_metadata"))
        .arg("--sqlite")
        .arg(db)
        .args([
            "webhooks",
            "--name",
            "sdk",
            "--instance-id",
            "ins_test",
            "--poll-ms",
            "50",
        ])
        .args(["--url", &format!("http://127.0.0.1:{port}/")])
        .env("METADATA_WEBHOOK_SECRETS", SECRET)
        .spawn()
        .unwrap()
}

fn main() {
    if let Some(why) = receiver::missing() {
        println!("test {NAME} ... SKIPPED: {why}");
        println!("webhooks_process: 0 passed, 0 failed, 1 skipped");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcome = std::panic::catch_unwind(|| runtime.block_on(sigkill_mid_delivery()));
    match outcome {
        Ok(()) => println!("test {NAME} ... ok\nwebhooks_process: 1 passed, 0 failed, 0 skipped"),
        Err(_) => {
            println!("test {NAME} ... FAILED\nwebhooks_process: 0 passed, 1 failed, 0 skipped");
            std::process::exit(1);
        }
    }
}

async fn sigkill_mid_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("webhooks.db");
    let log = dir.path().join("received.jsonl");
    let service = MetadataService::new(SqliteStore::open_file(&db).unwrap());
    for i in 0..60 {
        let id = UserId::new(format!("user_{i}")).unwrap();
        let change = Change::new()
            .replace_json(Tier::Public, json!({ "i": i }))
            .unwrap();
        service.backend().create_user(&id, change).await.unwrap();
    }
    let expected = expected(&service).await;
    // Each delivery takes 10 ms at the receiver, so the kill lands mid-delivery.
    let (mut receiver, port) = receiver::receiver(0, &log, 0.0, 1, 10);
    let mut first = deliverer(&db, port);
    wait_for(&log, expected.len() / 3, Duration::from_secs(30)).await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let killed_at = received(&log).len();
    let mut second = deliverer(&db, port);
    wait_for(&log, expected.len(), Duration::from_secs(60)).await;
    second.kill().unwrap();
    second.wait().unwrap();
    receiver.kill().unwrap();
    let repeats = check_in_order(&received(&log), &expected);
    assert!(
        repeats <= 1,
        "only the event in flight may come twice: {repeats}"
    );
    assert!(killed_at < expected.len(), "the kill landed before the end");
    println!(
        "    killed after {killed_at} of {} deliveries; {repeats} repeated after the restart",
        expected.len()
    );
}
