//! The relay against the NATS server at `METADATA_TEST_NATS_URL` (JetStream enabled): killed
//! mid-publish and restarted, and two relays at once, the stream holds every event exactly
//! once, in order. Without the variable every test is reported as skipped. The binary has its
//! own `main` (`harness = false`), re-runs itself as the relay process it kills, and prints a
//! closing `N passed, N failed, N skipped` line.

use metadata_core::feed::ChangeEvent;
use metadata_core::{Change, Tier, UserId};
use metadata_relay_nats::{Relay, RelayError, RelayOptions};
use metadata_store::{FeedStore, MetadataService};
use metadata_store_sqlite::SqliteStore;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const URL_VAR: &str = "METADATA_TEST_NATS_URL";
const CHILD: &str = "METADATA_RELAY_CHILD";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// This run's own temporary directory: a fresh, uniquely named one (a directory named after the
/// process id can hold an earlier run's files once process ids are reused), removed by `main`.
static DIR: std::sync::LazyLock<tempfile::TempDir> = std::sync::LazyLock::new(|| {
    tempfile::Builder::new()
        .prefix("metadata-relay-")
        .tempdir()
        .unwrap()
});

fn temp_db(name: &str) -> PathBuf {
    DIR.path().join(name)
}

/// A database with `users` users, each created and updated twice: `users * 3` events.
fn fill(path: &Path, users: usize) -> u64 {
    let store = SqliteStore::open_file(path).unwrap();
    let metadata = MetadataService::new(store.clone());
    futures::executor::block_on(async {
        let b = metadata.backend();
        for i in 0..users {
            let id = UserId::new(format!("user_{i}")).unwrap();
            b.create_user(&id, Change::new()).await.unwrap();
            for v in 0..2 {
                let change = Change::new()
                    .replace_json(Tier::Public, json!({ "v": v, "pad": "x".repeat(200) }))
                    .unwrap();
                b.update_user(&id, change).await.unwrap();
            }
        }
        store.changes(0, 1).await.unwrap();
    });
    (users * 3) as u64
}

fn options(stream: &str) -> RelayOptions {
    RelayOptions::new(stream, stream.to_lowercase()).batch(40)
}

/// The child: relays until the stream holds every event, printing `batch` before each publish.
fn child(mode: &str, url: &str) {
    let mut parts = mode.splitn(2, ':');
    let (stream, path) = (parts.next().unwrap(), parts.next().unwrap());
    runtime().block_on(async {
        let store = SqliteStore::open_file(path).unwrap();
        let head = store.changes(0, 10_000).await.unwrap().len() as u64;
        let nats = async_nats::connect(url).await.unwrap();
        let relay = Relay::new(MetadataService::new(store), nats, options(stream))
            .await
            .unwrap();
        loop {
            println!("batch");
            let progress = relay.publish_next().await.unwrap();
            if progress.through >= head {
                return;
            }
        }
    });
}

/// Every message of the stream, as (its Nats-Msg-Id, the event it carries).
async fn stream_messages(url: &str, stream: &str) -> Vec<(String, ChangeEvent)> {
    let js = async_nats::jetstream::new(async_nats::connect(url).await.unwrap());
    let mut s = js.get_stream(stream).await.unwrap();
    let last = s.info().await.unwrap().state.last_sequence;
    let mut out = Vec::new();
    for seq in 1..=last {
        let m = s.get_raw_message(seq).await.unwrap();
        let id = m.headers.get("Nats-Msg-Id").unwrap().as_str().to_owned();
        out.push((id, serde_json::from_slice(&m.payload).unwrap()));
    }
    out
}

fn assert_each_event_once_in_order(messages: &[(String, ChangeEvent)], events: u64, subject: &str) {
    assert_eq!(
        messages.len() as u64,
        events,
        "{subject}: every event, once"
    );
    for (i, (id, event)) in messages.iter().enumerate() {
        let position = i as u64 + 1;
        assert_eq!(
            id,
            &position.to_string(),
            "{subject}: in order, no duplicate"
        );
        assert_eq!(event.position, position);
    }
}

async fn delete_stream(url: &str, stream: &str) {
    let js = async_nats::jetstream::new(async_nats::connect(url).await.unwrap());
    let _ = js.delete_stream(stream).await;
}

/// A relay process killed with SIGKILL right after it starts publishing a batch, five times,
/// then run to the end: the stream holds every event exactly once, in order.
fn a_killed_relay_resumes_and_publishes_each_event_once(url: &str) -> String {
    let stream = format!("MT_RELAY_KILL_{}", std::process::id());
    let path = temp_db("kill.db");
    let events = fill(&path, 400);
    let rt = runtime();
    rt.block_on(delete_stream(url, &stream));
    let mut kills = 0;
    for round in 0..6 {
        let mut relay = Command::new(std::env::current_exe().unwrap())
            .env(CHILD, format!("{stream}:{}", path.display()))
            .env(URL_VAR, url)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(relay.stdout.take().unwrap()).lines();
        if round < 5 {
            // Let it publish a few batches, then kill it as it starts the next one.
            for _ in 0..(2 + round * 3) {
                if lines.next().is_none() {
                    break;
                }
            }
            std::thread::sleep(Duration::from_micros(300 * round as u64));
            relay.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let status = relay.wait().unwrap();
        if round == 5 {
            assert!(status.success(), "the last relay ran to the end");
        }
    }
    let messages = rt.block_on(stream_messages(url, &stream));
    assert_each_event_once_in_order(&messages, events, "after kills");
    rt.block_on(delete_stream(url, &stream));
    format!("{events} events, {kills} kills")
}

/// Two relays publishing at once: whenever one got ahead of the other, the other's messages are
/// dropped as duplicates or refused by the expected-sequence check, and the stream holds every
/// event exactly once, in order.
fn two_relays_at_once_never_interleave(url: &str) -> String {
    let stream = format!("MT_RELAY_TWO_{}", std::process::id());
    let path = temp_db("two.db");
    let events = fill(&path, 200);
    let rt = runtime();
    rt.block_on(delete_stream(url, &stream));
    let refused = rt.block_on(async {
        let metadata = MetadataService::new(SqliteStore::open_file(&path).unwrap());
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let metadata = metadata.clone();
            let (url, stream) = (url.to_owned(), stream.clone());
            tasks.push(tokio::spawn(async move {
                let nats = async_nats::connect(url).await.unwrap();
                let relay = Relay::new(metadata, nats, options(&stream).batch(25))
                    .await
                    .unwrap();
                let mut refused = 0;
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    assert!(Instant::now() < deadline, "the relays finish");
                    match relay.publish_next().await {
                        Ok(p) if p.through >= events => return refused + p.duplicates,
                        Ok(p) => refused += p.duplicates,
                        Err(RelayError::Interleaved { .. }) => refused += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
            }));
        }
        let mut refused = 0;
        for t in tasks {
            refused += t.await.unwrap();
        }
        refused
    });
    let messages = rt.block_on(stream_messages(url, &stream));
    assert_each_event_once_in_order(&messages, events, "two relays");
    rt.block_on(delete_stream(url, &stream));
    format!("{events} events, {refused} publishes dropped as duplicates or refused")
}

/// Past the duplicate window, only the expected-sequence check stops a relay that read the
/// stream's end before another relay published: its batch is refused whole.
fn a_stale_relay_is_refused_by_the_expected_sequence(url: &str) -> String {
    let stream = format!("MT_RELAY_STALE_{}", std::process::id());
    let path = temp_db("stale.db");
    let events = fill(&path, 30);
    let rt = runtime();
    rt.block_on(delete_stream(url, &stream));
    rt.block_on(async {
        let metadata = MetadataService::new(SqliteStore::open_file(&path).unwrap());
        let opts = options(&stream)
            .batch(20)
            .duplicate_window(Duration::from_millis(100));
        let connect = || async_nats::connect(url);
        let a = Relay::new(metadata.clone(), connect().await.unwrap(), opts.clone())
            .await
            .unwrap();
        let b = Relay::new(metadata, connect().await.unwrap(), opts)
            .await
            .unwrap();
        let stale = a.stream_end().await.unwrap();
        assert_eq!(b.publish_next().await.unwrap().published, 20);
        tokio::time::sleep(Duration::from_millis(300)).await; // past the duplicate window
        let refused = a.publish_after(stale).await.unwrap_err();
        assert!(
            matches!(refused, RelayError::Interleaved { expected_last: 0 }),
            "{refused}"
        );
        assert_eq!(refused.code(), "relay_interleaved");
        while a.publish_next().await.unwrap().through < events {}
    });
    let messages = rt.block_on(stream_messages(url, &stream));
    assert_each_event_once_in_order(&messages, events, "a stale relay");
    rt.block_on(delete_stream(url, &stream));
    "refused once, then resumed".into()
}

/// A relay for client-facing readers leaves out private tiers and private-only writes; the
/// relay's cursor keeps pruning from deleting what it has not published.
fn a_public_relay_leaves_out_private_tiers(url: &str) -> String {
    let stream = format!("MT_RELAY_PUBLIC_{}", std::process::id());
    let path = temp_db("public.db");
    let rt = runtime();
    rt.block_on(delete_stream(url, &stream));
    rt.block_on(async {
        let store = SqliteStore::open_file(&path).unwrap();
        let metadata = MetadataService::new(store.clone());
        let b = metadata.backend();
        let id = UserId::new("u").unwrap();
        b.create_user(&id, Change::new()).await.unwrap();
        let secret = Change::new()
            .replace_json(Tier::Private, json!({"secret": 1}))
            .unwrap();
        b.update_user(&id, secret).await.unwrap();
        let public = Change::new()
            .replace_json(Tier::Public, json!({"role": "admin"}))
            .unwrap();
        b.update_user(&id, public).await.unwrap();
        let nats = async_nats::connect(url).await.unwrap();
        let relay = Relay::new(metadata, nats, options(&stream).public_only(true))
            .await
            .unwrap();
        let progress = relay.publish_next().await.unwrap();
        assert_eq!((progress.published, progress.through), (2, 3));
        let cursor = store.cursor(&options(&stream).cursor_name()).await.unwrap();
        assert_eq!(cursor, Some(3));
        let js = async_nats::jetstream::new(async_nats::connect(url).await.unwrap());
        let s = js.get_stream(&stream).await.unwrap();
        for seq in 1..=2 {
            let m = s.get_raw_message(seq).await.unwrap();
            let text = String::from_utf8(m.payload.to_vec()).unwrap();
            assert!(
                !text.contains("private_metadata") && !text.contains("secret"),
                "{text}"
            );
        }
        assert_eq!(
            s.get_raw_message(2).await.unwrap().subject.as_str(),
            format!("{}.user.u", stream.to_lowercase())
        );
    });
    rt.block_on(delete_stream(url, &stream));
    "2 of 3 events published".into()
}

type Test = (&'static str, fn(&str) -> String);

const TESTS: [Test; 4] = [
    (
        "a_stale_relay_is_refused_by_the_expected_sequence",
        a_stale_relay_is_refused_by_the_expected_sequence,
    ),
    (
        "a_killed_relay_resumes_and_publishes_each_event_once",
        a_killed_relay_resumes_and_publishes_each_event_once,
    ),
    (
        "two_relays_at_once_never_interleave",
        two_relays_at_once_never_interleave,
    ),
    (
        "a_public_relay_leaves_out_private_tiers",
        a_public_relay_leaves_out_private_tiers,
    ),
];

fn main() {
    let url = std::env::var(URL_VAR).ok();
    if let (Ok(mode), Some(url)) = (std::env::var(CHILD), &url) {
        child(&mode, url);
        return;
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, test) in TESTS {
        let Some(url) = &url else {
            println!("test {name} ... SKIPPED: {URL_VAR} is not set (for example {URL_VAR}=nats://127.0.0.1:4222)");
            skipped += 1;
            continue;
        };
        match std::panic::catch_unwind(|| test(url)) {
            Ok(note) => {
                println!("test {name} ... ok ({note})");
                passed += 1;
            }
            Err(panic) => {
                let msg = metadata_conformance::panic_message(panic.as_ref());
                println!("test {name} ... FAILED: {msg}");
                failed += 1;
            }
        }
    }
    let _ = std::fs::remove_dir_all(DIR.path());
    println!("relay: {passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        std::process::exit(1);
    }
}
