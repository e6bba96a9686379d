//! The HTTP layer's cost: `GET /v1/users/{id}` and `PATCH /v1/users/{id}/metadata` over
//! loopback (the axum server and the client on one current-thread tokio runtime), beside the
//! same calls on the facade directly, on the same SQLite file. The difference of medians is
//! what the HTTP layer adds per request (target: at most 50 us). Two clients: a minimal
//! keep-alive one that measures the server and the loopback, and reqwest, a real client.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{criterion_group, criterion_main, Criterion};
use metadata_benches::{scratch_dir, tier_of_size};
use metadata_core::{Change, Tier, UserId};
use metadata_http::MetadataHttp;
use metadata_store::MetadataService;
use metadata_store_sqlite::SqliteStore;
use serde_json::json;

const SECRET: &str = "sk_bench";

/// A minimal keep-alive HTTP/1.1 client on one connection: writes a request, reads the status
/// line, the headers and `Content-Length` bytes of body. It does next to nothing itself, so
/// the figure is the server's work and the loopback round trip.
struct RawClient {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
    line: String,
    body: Vec<u8>,
}

impl RawClient {
    async fn connect(addr: &str) -> RawClient {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        RawClient {
            stream: tokio::io::BufReader::new(stream),
            line: String::new(),
            body: Vec::new(),
        }
    }

    async fn send(&mut self, request: &[u8]) -> usize {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        self.stream.get_mut().write_all(request).await.unwrap();
        let mut length = 0;
        let mut status = 0;
        loop {
            self.line.clear();
            self.stream.read_line(&mut self.line).await.unwrap();
            let line = self.line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(code) = line.strip_prefix("HTTP/1.1 ") {
                status = code[..3].parse().unwrap();
            } else if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        self.body.resize(length, 0);
        self.stream.read_exact(&mut self.body).await.unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&self.body));
        length
    }
}

fn http(c: &mut Criterion) {
    let dir = scratch_dir("http");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("http.db{suffix}")));
    }
    let service = MetadataService::new(SqliteStore::open_file(dir.join("http.db")).unwrap());
    let id = UserId::new("user_bench").unwrap();
    let tier = tier_of_size(200);
    // One thread runs the server and the client, so a request costs no thread wake-ups
    // between them (each costs 15-60 us on this machine, more than the layer itself).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(
            service
                .backend()
                .create_user(&id, Change::new().replace_json(Tier::Public, tier).unwrap()),
        )
        .unwrap();
    let app = MetadataHttp::new(service.clone())
        .secret_key(SECRET)
        .router();
    let base = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    });
    let client = reqwest::Client::new();
    let addr = base.trim_start_matches("http://").to_owned();
    let mut raw = runtime.block_on(RawClient::connect(&addr));
    let raw_get = format!(
        "GET /v1/users/user_bench HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {SECRET}\r\n\r\n"
    );
    let get_url = format!("{base}/v1/users/user_bench");
    let patch_url = format!("{base}/v1/users/user_bench/metadata");
    let patch = json!({"private_metadata": {"counter": 1}});
    let patch_body = patch.to_string();
    let raw_patch = format!(
        "PATCH /v1/users/user_bench/metadata HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {SECRET}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{patch_body}",
        patch_body.len()
    );

    let mut g = c.benchmark_group("http_get_user_200");
    g.bench_function("baseline_facade_get_user", |b| {
        b.iter(|| runtime.block_on(service.backend().get_user(&id)).unwrap())
    });
    g.bench_function("project_http_get_user_raw_client", |b| {
        b.iter(|| runtime.block_on(raw.send(raw_get.as_bytes())))
    });
    g.bench_function("project_http_get_user_reqwest", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let r = client
                    .get(&get_url)
                    .bearer_auth(SECRET)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap()
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("http_patch_metadata_200");
    g.bench_function("baseline_facade_merge", |b| {
        b.iter(|| {
            let change = Change::new()
                .merge_json(Tier::Private, patch["private_metadata"].clone())
                .unwrap();
            runtime
                .block_on(service.backend().update_user(&id, change))
                .unwrap()
        })
    });
    g.bench_function("project_http_patch_metadata_raw_client", |b| {
        b.iter(|| runtime.block_on(raw.send(raw_patch.as_bytes())))
    });
    g.bench_function("project_http_patch_metadata_reqwest", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let r = client
                    .patch(&patch_url)
                    .bearer_auth(SECRET)
                    .header("content-type", "application/json")
                    .body(patch_body.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, http);
criterion_main!(benches);
