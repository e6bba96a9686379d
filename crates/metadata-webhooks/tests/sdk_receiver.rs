//! Webhooks received by a handler written with the reference product's SDK, unmodified
//! (`crates/metadata-http/tests/sdk/webhook-receiver.mjs`, `verifyWebhook` from
//! `@clerk/backend/webhooks`, pinned by that directory's lockfile and installed by `npm ci` in
//! `.ci/run`): every event arrives verified, in feed order, typed as the SDK's event types,
//! while the receiver answers 500 at random and is restarted once; a wrong secret fails
//! verification there; a deliverer restarted from the stored cursor resumes with nothing lost
//! and only repeats of the event it was sending.
//!
//! Needs `node` and the SDK; without them it says it was skipped. Its own `main`
//! (`harness = false`) prints a closing `N passed, N failed, N skipped` line.

use metadata_core::{Change, MembershipId, OrganizationId, SignUpId, Tier, UserId};
use metadata_store::MetadataService;
use metadata_store_sqlite::SqliteStore;
use metadata_webhooks::{Deliverer, Endpoint, Secret};

mod common {
    pub mod receiver;
}
use common::receiver::{self, check_in_order, expected, received, wait_for, SECRET, WRONG};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

fn endpoint(name: &str, port: u16, secret: &str) -> Endpoint {
    Endpoint::new(
        name,
        format!("http://127.0.0.1:{port}/"),
        Secret::parse(secret).unwrap(),
    )
    .instance_id("ins_test")
    .backoff(Duration::from_millis(10), Duration::from_millis(200))
    .timeout(Duration::from_secs(5))
    .poll_interval(Duration::from_millis(50))
}

async fn write_everything(service: &MetadataService, users: usize) {
    let b = service.backend();
    for i in 0..users {
        let id = UserId::new(format!("user_{i}")).unwrap();
        b.create_user(&id, Change::new()).await.unwrap();
        b.update_user(
            &id,
            Change::new()
                .replace_json(Tier::Public, json!({"i": i}))
                .unwrap(),
        )
        .await
        .unwrap();
    }
    let org = OrganizationId::new("org_1").unwrap();
    b.create_organization(&org, Change::new()).await.unwrap();
    let first = UserId::new("user_0").unwrap();
    let membership = MembershipId::new("orgmem_1").unwrap();
    b.create_membership(&membership, &org, &first, Change::new())
        .await
        .unwrap();
    b.update_membership(
        &org,
        &first,
        Change::new()
            .replace_json(Tier::Public, json!({"t": 1}))
            .unwrap(),
    )
    .await
    .unwrap();
    let sign_up = SignUpId::new("sua_1").unwrap();
    b.create_sign_up(&sign_up, Change::new()).await.unwrap();
    b.delete_user(&UserId::new("user_1").unwrap())
        .await
        .unwrap();
}

/// One test's future.
type Test = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

fn main() {
    let why = receiver::missing();
    let names = [
        "every_event_arrives_verified_in_order_through_failures_and_a_restart",
        "a_wrong_secret_fails_verification_at_the_receiver",
        "a_restarted_deliverer_resumes_from_its_cursor",
    ];
    if let Some(why) = why {
        for name in names {
            println!("test {name} ... SKIPPED: {why}");
        }
        println!("sdk_receiver: 0 passed, 0 failed, {} skipped", names.len());
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tests: [fn() -> Test; 3] = [
        || Box::pin(through_failures_and_a_restart()),
        || Box::pin(wrong_secret()),
        || Box::pin(resumes_from_the_cursor()),
    ];
    let mut failed = 0;
    for (name, test) in names.iter().zip(tests) {
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(test())));
        match outcome {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!(
        "sdk_receiver: {} passed, {failed} failed, 0 skipped",
        names.len() - failed
    );
    if failed > 0 {
        std::process::exit(1);
    }
}

fn service(dir: &Path) -> MetadataService {
    MetadataService::new(SqliteStore::open_file(dir.join("webhooks.db")).unwrap())
}

async fn through_failures_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("received.jsonl");
    let (mut first, port) = receiver::receiver(0, &log, 0.3, 7, 0);
    let service = service(dir.path());
    let deliverer = std::sync::Arc::new(
        Deliverer::new(service.clone(), endpoint("sdk", port, SECRET)).unwrap(),
    );
    let running = tokio::spawn({
        let deliverer = deliverer.clone();
        async move { deliverer.run().await }
    });
    write_everything(&service, 10).await;
    let expected = expected(&service).await;
    // Restart the receiver once, midway.
    wait_for(&log, expected.len() / 2, Duration::from_secs(30)).await;
    first.kill().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (mut second, _) = receiver::receiver(port, &log, 0.3, 11, 0);
    wait_for(&log, expected.len(), Duration::from_secs(60)).await;
    running.abort();
    second.kill().unwrap();
    let repeats = check_in_order(&received(&log), &expected);
    let attempts = deliverer.attempts();
    assert!(
        attempts.iter().any(|a| a.status == Some(500)),
        "some deliveries were refused"
    );
    assert!(
        attempts.iter().any(|a| a.status.is_none()),
        "some found the receiver down"
    );
    println!(
        "    {} events delivered through {} attempts ({} refused with 500, {} repeats received)",
        expected.len(),
        attempts.len(),
        attempts.iter().filter(|a| a.status == Some(500)).count(),
        repeats
    );
}

async fn wrong_secret() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("received.jsonl");
    let (mut receiver, port) = receiver::receiver(0, &log, 0.0, 1, 0);
    let service = service(dir.path());
    write_everything(&service, 1).await;
    let deliverer = std::sync::Arc::new(
        Deliverer::new(service.clone(), endpoint("wrong", port, WRONG)).unwrap(),
    );
    let running = tokio::spawn({
        let deliverer = deliverer.clone();
        async move { deliverer.run().await }
    });
    let start = Instant::now();
    while deliverer.attempts().len() < 3 {
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.abort();
    receiver.kill().unwrap();
    let log = received(&log);
    assert!(
        !log.is_empty() && log.iter().all(|e| e["verify_failed"] == json!(true)),
        "{log:?}"
    );
    assert!(
        deliverer
            .attempts()
            .iter()
            .all(|a| a.status == Some(400) && a.position == deliverer.attempts()[0].position),
        "the first event is retried, never skipped"
    );
    let cursor = service
        .feed()
        .consumer("webhook:wrong")
        .position()
        .await
        .unwrap();
    assert_eq!(cursor, None, "nothing counts as delivered");
}

async fn resumes_from_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("received.jsonl");
    // Each delivery takes 5 ms at the receiver, so the first deliverer is stopped midway.
    let (mut receiver, port) = receiver::receiver(0, &log, 0.0, 1, 5);
    let service = service(dir.path());
    write_everything(&service, 40).await;
    let expected = expected(&service).await;
    let first = std::sync::Arc::new(
        Deliverer::new(service.clone(), endpoint("resume", port, SECRET)).unwrap(),
    );
    let running = tokio::spawn({
        let first = first.clone();
        async move { first.run().await }
    });
    wait_for(&log, expected.len() / 3, Duration::from_secs(30)).await;
    running.abort(); // as a killed process would stop: mid-delivery, the cursor where it was
    let second = Deliverer::new(service.clone(), endpoint("resume", port, SECRET)).unwrap();
    let second = std::sync::Arc::new(second);
    let running = tokio::spawn({
        let second = second.clone();
        async move { second.run().await }
    });
    wait_for(&log, expected.len(), Duration::from_secs(30)).await;
    running.abort();
    let log_now = received(&log);
    let repeats = check_in_order(&log_now, &expected);
    assert!(
        repeats <= 1,
        "only the event being sent may come twice: {repeats}"
    );
    // Replay: the events after position 3 come again, under the same ids, in order.
    second.replay_after(3).await.unwrap();
    let again = second.deliver_batch().await.unwrap();
    receiver.kill().unwrap();
    let replayed: Vec<Value> = received(&log)[log_now.len()..].to_vec();
    assert_eq!(replayed.len(), again.sent);
    let ids: Vec<&str> = replayed.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let later: Vec<&str> = expected
        .iter()
        .map(|(id, ..)| id.as_str())
        .filter(|id| id.rsplit('_').next().unwrap().parse::<u64>().unwrap() > 3)
        .take(ids.len())
        .collect();
    assert_eq!(
        ids, later,
        "a replay sends the same messages again, in order"
    );
}
