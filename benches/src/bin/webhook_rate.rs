//! Webhook delivery rate (issue 22): events per second delivered, signed and acknowledged one
//! at a time in feed order, from a SQLite store to one endpoint on loopback that answers 200.
//!
//! ```sh
//! cargo run --release -p metadata-benches --bin webhook_rate [EVENTS]
//! ```

use axum::routing::post;
use metadata_core::{Change, Tier, UserId};
use metadata_store::MetadataService;
use metadata_store_sqlite::SqliteStore;
use metadata_webhooks::{Deliverer, Endpoint, Secret};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let events: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let dir = metadata_benches::scratch_dir("webhook_rate");
    let path = dir.join("events.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let service = MetadataService::new(SqliteStore::open_file(&path).unwrap());
    let b = service.backend();
    let id = UserId::new("user_1").unwrap();
    b.create_user(&id, Change::new()).await.unwrap();
    for i in 1..events {
        let change = Change::new()
            .replace_json(Tier::Public, serde_json::json!({ "plan": "pro", "i": i }))
            .unwrap();
        b.update_user(&id, change).await.unwrap();
    }

    let received = Arc::new(AtomicU64::new(0));
    let count = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: axum::body::Bytes| {
            let count = count.clone();
            async move {
                assert!(!body.is_empty());
                count.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let deliverer = Deliverer::new(service.clone(), Endpoint::new("bench", url, secret)).unwrap();
    let started = Instant::now();
    let mut sent = 0;
    while sent < events as usize {
        sent += deliverer.deliver_batch().await.unwrap().sent;
    }
    let elapsed = started.elapsed();
    assert_eq!(received.load(Ordering::Relaxed), events);
    println!(
        "{events} events delivered in {:.2} s: {:.0} events/s ({:.1} us each)",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / events as f64
    );
}
