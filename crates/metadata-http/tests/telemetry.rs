//! Logs and metrics never carry a metadata value (R15.1): a marker
//! written into every tier of every kind, sent as a lookup value, in a refused body and through
//! the feed, appears nowhere in what a subscriber capturing everything at `TRACE` (spans opened
//! and closed with all their fields) and a metrics recorder saw, while both saw the operations.
//! One test in its own binary: the subscriber and the recorder are process-wide.

mod common;

use common::SECRET;
use metadata_core::{FrontendPrincipal, SignUpId, UserId};
use metadata_http::MetadataHttp;
use metadata_store::MetadataService;
use metadata_store_sqlite::SqliteStore;
use reqwest::Method;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

const MARKER: &str = "MARKER-5ecret-91c4";

/// Everything the subscriber wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn authenticate(parts: &axum::http::request::Parts) -> Option<FrontendPrincipal> {
    if let Some(sign_up) = parts.headers.get("x-test-sign-up") {
        let id = SignUpId::new(sign_up.to_str().ok()?).ok()?;
        return Some(FrontendPrincipal::sign_up(id));
    }
    let user = parts.headers.get("x-test-user")?.to_str().ok()?;
    Some(FrontendPrincipal::user(UserId::new(user).ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r15_1_no_metadata_value_reaches_logs_or_metrics() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let service = MetadataService::new(SqliteStore::open_file(dir.path().join("t.db")).unwrap())
        .with_metrics(true);
    let app = MetadataHttp::new(service.clone())
        .secret_key(SECRET)
        .authenticator(authenticate)
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    let call = |method: Method, path: &str, body: Option<serde_json::Value>| {
        let mut request = client
            .request(method, format!("{base}{path}"))
            .header("authorization", format!("Bearer {SECRET}"))
            .header("x-test-user", "user_1");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let tiers = json!({
        "public_metadata": {"secret": MARKER},
        "private_metadata": {"secret": MARKER, MARKER: 1},
        "unsafe_metadata": {"secret": MARKER},
    });

    let ok = |(status, text): (u16, String)| assert!(status < 300, "{status} {text}");
    let mut user = tiers.clone();
    user["id"] = json!("user_1");
    ok(call(Method::POST, "/v1/users", Some(user)).await);
    ok(call(
        Method::PATCH,
        "/v1/users/user_1/metadata",
        Some(tiers.clone()),
    )
    .await);
    ok(call(
        Method::PUT,
        "/v1/users/user_1/metadata",
        Some(tiers.clone()),
    )
    .await);
    ok(call(Method::GET, "/v1/users/user_1", None).await);
    ok(call(
        Method::GET,
        &format!("/v1/users?public_metadata.secret={MARKER}"),
        None,
    )
    .await);
    let mut org = json!({"id": "org_1", "name": "Acme"});
    org["public_metadata"] = tiers["public_metadata"].clone();
    org["private_metadata"] = tiers["private_metadata"].clone();
    ok(call(Method::POST, "/v1/organizations", Some(org)).await);
    let member = json!({"user_id": "user_1", "role": "org:admin",
        "public_metadata": {"secret": MARKER}, "private_metadata": {"secret": MARKER}});
    ok(call(
        Method::POST,
        "/v1/organizations/org_1/memberships",
        Some(member),
    )
    .await);
    let invitation =
        json!({"email_address": "a@example.com", "public_metadata": {"secret": MARKER}});
    ok(call(
        Method::POST,
        "/v1/organizations/org_1/invitations",
        Some(invitation),
    )
    .await);
    let unsafe_only = json!({"unsafe_metadata": {"secret": MARKER}});
    ok(call(Method::PATCH, "/v1/me/metadata", Some(unsafe_only.clone())).await);
    ok(call(Method::GET, "/v1/me", None).await);
    let sign_up = client
        .post(format!("{base}/v1/client/sign_ups"))
        .header("x-test-sign-up", "sua_1")
        .header("content-type", "application/json")
        .body(unsafe_only.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(sign_up.status(), 200);
    // Refusals: a tier of the wrong shape, a stale version, a tier the frontend may not write.
    let refused = call(
        Method::PATCH,
        "/v1/users/user_1/metadata",
        Some(json!({"public_metadata": [MARKER]})),
    )
    .await;
    assert_eq!(refused.0, 422, "{}", refused.1);
    let stale = client
        .patch(format!("{base}/v1/users/user_1/metadata"))
        .header("authorization", format!("Bearer {SECRET}"))
        .header("if-match", "\"1\"")
        .header("content-type", "application/json")
        .body(tiers.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let denied = call(
        Method::PATCH,
        "/v1/me/metadata",
        Some(json!({"private_metadata": {"secret": MARKER}})),
    )
    .await;
    assert!(denied.0 >= 400, "{}", denied.1);
    // The feed, read and acknowledged by a consumer.
    let consumer = service.feed().consumer("indexer");
    let batch = consumer.next(100).await.unwrap();
    assert!(!batch.events.is_empty());
    consumer.ack(&batch).await.unwrap();
    service
        .feed()
        .prune(std::time::Duration::ZERO, 100)
        .await
        .unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The capture saw the work: operation spans, store spans, request spans.
    for seen in [
        "op=\"update\"",
        "op=\"create\"",
        "op=\"get\"",
        "op=\"list\"",
        "surface=\"frontend\"",
        "outcome=\"ok\"",
        "outcome=\"version_conflict\"",
        "metadata.sqlite.group_commit",
        "route=\"/v1/users/{id}/metadata\"",
        "request_id=",
    ] {
        assert!(logs.contains(seen), "the capture holds {seen}:\n{logs}");
    }
    assert!(
        !logs.contains(MARKER),
        "a metadata value was logged:\n{logs}"
    );

    let metrics = snapshotter.snapshot().into_vec();
    let names: Vec<String> = metrics
        .iter()
        .map(|(key, ..)| format!("{:?}", key.key()))
        .collect();
    for seen in [
        "metadata_operations_total",
        "metadata_operation_seconds",
        "metadata_feed_head",
        "metadata_feed_cursor_lag",
        "metadata_sqlite_group_commit_size",
    ] {
        assert!(
            names.iter().any(|n| n.contains(seen)),
            "a metric {seen} in {names:?}"
        );
    }
    for name in &names {
        assert!(
            !name.contains(MARKER),
            "a metadata value in a metric: {name}"
        );
    }
}
