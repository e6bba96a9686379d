//! A receiver written with the reference product's SDK (`webhook-receiver.mjs` beside the SDK
//! in `crates/metadata-http/tests/sdk`), run as a process, and checks of what it received:
//! shared by the webhook tests of `metadata-webhooks` and of the command-line tool.

#![allow(dead_code)]

use metadata_store::MetadataService;
use metadata_webhooks::event;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why the receiver cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    match Command::new("node").arg("--version").output() {
        Err(_) => Some("node is not installed".to_owned()),
        Ok(_) if !sdk_dir().join("node_modules/@clerk/backend").is_dir() => Some(format!(
            "the SDK is not installed: run npm ci --prefix {}",
            sdk_dir().display()
        )),
        Ok(_) => None,
    }
}

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const WRONG: &str = "whsec_d3Jvbmcgc2VjcmV0IGZvciB0ZXN0cw==";

pub fn sdk_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../metadata-http/tests/sdk")
}

/// A receiver process, killed when dropped (a failed test leaves none behind).
pub struct Receiver(Child);

impl Receiver {
    pub fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()?;
        self.0.wait().map(drop)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// A receiver process on `port` (0: any), and the port it took.
pub fn receiver(
    port: u16,
    log: &Path,
    fail_rate: f64,
    seed: u32,
    delay_ms: u64,
) -> (Receiver, u16) {
    let mut child = Command::new("node")
        .arg(sdk_dir().join("webhook-receiver.mjs"))
        .args([
            port.to_string(),
            SECRET.to_owned(),
            log.display().to_string(),
            fail_rate.to_string(),
            seed.to_string(),
            delay_ms.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("node starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the receiver names its port: {line:?}"));
    (Receiver(child), port)
}

/// The receiver's log so far.
pub fn received(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every event of `service`'s feed that becomes a webhook: (message id, type, data id).
pub async fn expected(service: &MetadataService) -> Vec<(String, String, String)> {
    let events = service.feed().read(0, 10_000).await.unwrap();
    events
        .iter()
        .filter_map(|e| {
            let kind = event::event_type(e)?;
            Some((
                event::message_id("ins_test", e),
                kind.to_owned(),
                e.change.id.clone(),
            ))
        })
        .collect()
}

/// Checks that `log` holds every expected message, verified, first seen in feed order, and
/// nothing but repeats of the same ids besides.
pub fn check_in_order(log: &[Value], expected: &[(String, String, String)]) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut first = Vec::new();
    for entry in log {
        assert!(entry.get("verify_failed").is_none(), "verified: {entry}");
        let id = entry["id"].as_str().unwrap().to_owned();
        if seen.insert(id.clone()) {
            first.push(entry.clone());
        }
    }
    assert_eq!(
        first.len(),
        expected.len(),
        "every event arrived once at least"
    );
    for (entry, (id, kind, data_id)) in first.iter().zip(expected) {
        assert_eq!(entry["id"], json!(id), "in feed order");
        assert_eq!(entry["type"], json!(kind));
        assert_eq!(entry["object"], json!("event"));
        if !data_id.contains(',') {
            assert_eq!(entry["data_id"], json!(data_id), "{entry}");
        }
    }
    log.len() - first.len()
}

pub async fn wait_for(log: &Path, count: usize, limit: Duration) {
    let start = Instant::now();
    while received(log)
        .iter()
        .filter(|e| e.get("verify_failed").is_none())
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect::<std::collections::HashSet<_>>()
        .len()
        < count
    {
        assert!(
            start.elapsed() < limit,
            "every event arrives within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
