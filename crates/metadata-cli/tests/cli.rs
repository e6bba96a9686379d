//! The `metadata` binary, run as a process: every subcommand, bad input, and a SIGTERM under a
//! write load that loses no acknowledged write.

use metadata_core::{Change, Tier, UserId};
use metadata_store::MetadataService;
use metadata_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_metadata");

fn metadata(db: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--sqlite")
        .arg(db)
        .args(args)
        .env_remove("METADATA_SECRET_KEYS")
        .env_remove("METADATA_POSTGRES_URL")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A failure: the exit code, and standard error being exactly one line naming the problem.
#[track_caller]
fn fails(out: &Output, code: i32, says: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(err.contains(says), "{says:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
    if code == 1 {
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
}

fn seeded(dir: &Path) -> PathBuf {
    let db = dir.join("seeded.db");
    let service = MetadataService::new(SqliteStore::open_file(&db).unwrap());
    futures_lite_block_on(async {
        for (i, role) in ["admin", "member", "admin"].iter().enumerate() {
            let change = Change::new()
                .replace_json(Tier::Public, json!({ "role": role, "n": i }))
                .unwrap()
                .replace_json(Tier::Private, json!({ "secret": i }))
                .unwrap();
            let id = UserId::new(format!("user_{i}")).unwrap();
            service.backend().create_user(&id, change).await.unwrap();
        }
        service
            .feed()
            .consumer("indexer")
            .advance_to(2)
            .await
            .unwrap();
    });
    db
}

/// The `id` of each JSON line of `out`.
fn ids_of(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn each_subcommand_reads_and_maintains_a_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());

    let got: Value =
        serde_json::from_str(&stdout(&metadata(&db, &["get", "user", "user_1"]))).unwrap();
    assert_eq!(got["public_metadata"], json!({"role": "member", "n": 1}));
    assert_eq!(got["private_metadata"], json!({"secret": 1}));

    let found = stdout(&metadata(
        &db,
        &[
            "find", "user", "--tier", "public", "--path", "role", "--value", "admin",
        ],
    ));
    let ids = ids_of(&found);
    assert_eq!(ids, ["user_0", "user_2"]);
    let by_number = stdout(&metadata(
        &db,
        &[
            "find", "user", "--tier", "public", "--path", "n", "--value", "1",
        ],
    ));
    assert_eq!(by_number.lines().count(), 1);
    // R7.4: conditions, combined with AND.
    let by_conditions = stdout(&metadata(
        &db,
        &[
            "find",
            "user",
            "--where",
            "public_metadata.n[gte]=1",
            "--where",
            "public_metadata.role[in]=admin,owner",
        ],
    ));
    let ids = ids_of(&by_conditions);
    assert_eq!(ids, ["user_2"]);
    fails(
        &metadata(
            &db,
            &["find", "user", "--where", "public_metadata.n[near]=1"],
        ),
        1,
        "invalid query",
    );

    let events = stdout(&metadata(&db, &["feed", "tail"]));
    let positions: Vec<u64> = events
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["position"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(positions, [1, 2, 3]);
    let public = stdout(&metadata(
        &db,
        &["feed", "tail", "--public", "--after", "1"],
    ));
    assert_eq!(public.lines().count(), 2);
    assert!(!public.contains("private_metadata"), "{public}");

    let stats: Value = serde_json::from_str(&stdout(&metadata(&db, &["stats"]))).unwrap();
    assert_eq!(stats["records"]["user"], 3);
    assert_eq!(stats["feed"]["head"], 3);
    assert_eq!(
        stats["feed"]["cursors"],
        json!([{"name": "indexer", "position": 2, "lag": 1}])
    );
    assert!(stats["file_bytes"]["database"].as_u64().unwrap() > 0);

    let pruned: Value = serde_json::from_str(&stdout(&metadata(
        &db,
        &["feed", "prune", "--older-than", "0s"],
    )))
    .unwrap();
    assert_eq!(pruned["pruned"], 2, "pruning stops at the cursor");
    fails(&metadata(&db, &["feed", "tail"]), 1, "pruned");

    stdout(&metadata(&db, &["declare-index", "user", "public", "role"]));
    fails(
        &metadata(&db, &["declare-index", "sign-up", "public", "role"]),
        1,
        "metadata",
    );

    let copy = dir.path().join("copy.db");
    let backed: Value =
        serde_json::from_str(&stdout(&metadata(&db, &["backup", copy.to_str().unwrap()]))).unwrap();
    assert!(backed["bytes"].as_u64().unwrap() > 0);
    fails(
        &metadata(&db, &["backup", copy.to_str().unwrap()]),
        1,
        "exists",
    );
    let restored = dir.path().join("restored.db");
    stdout(&metadata(&restored, &["restore", copy.to_str().unwrap()]));
    let again: Value =
        serde_json::from_str(&stdout(&metadata(&restored, &["get", "user", "user_1"]))).unwrap();
    assert_eq!(again, got);
    fails(
        &metadata(&restored, &["restore", copy.to_str().unwrap()]),
        1,
        "exists",
    );
}

#[test]
fn bad_input_and_unreachable_stores_get_one_line_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let missing = dir.path().join("missing.db");
    fails(
        &metadata(&missing, &["get", "user", "user_1"]),
        1,
        "no database at",
    );
    assert!(!missing.exists(), "nothing is created by a read");
    fails(&metadata(&db, &["get", "user", "user_9"]), 1, "not found");
    fails(&metadata(&db, &["get", "user", "has space"]), 1, "id");
    fails(
        &metadata(&db, &["get", "membership", "org_1"]),
        1,
        "membership",
    );
    fails(
        &metadata(&db, &["get", "nonsense", "x"]),
        2,
        "invalid value",
    );
    fails(
        &metadata(
            &db,
            &[
                "find", "user", "--tier", "public", "--path", "a..b", "--value", "1",
            ],
        ),
        1,
        "path",
    );
    fails(
        &metadata(&db, &["feed", "prune", "--older-than", "7w"]),
        2,
        "unit",
    );
    fails(
        &metadata(&db, &["serve", "--listen", "127.0.0.1:0"]),
        1,
        "secret key",
    );
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, [7u8; 4096]).unwrap();
    fails(&metadata(&garbage, &["stats"]), 1, "cannot open");
    let out = Command::new(BIN)
        .args(["--postgres", "postgres://nobody@127.0.0.1:1/none", "stats"])
        .output()
        .unwrap();
    fails(&out, 1, "cannot connect to PostgreSQL");
    let out = Command::new(BIN)
        .args(["stats"])
        .env_remove("METADATA_SQLITE")
        .env_remove("METADATA_POSTGRES_URL")
        .output()
        .unwrap();
    fails(&out, 2, "--sqlite");
}

/// Starts `metadata serve` on a free port; returns the child and its base URL.
fn serve(db: &Path, extra: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(BIN)
        .arg("--sqlite")
        .arg(db)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dev-user-header",
            "x-user",
        ])
        .args(extra)
        .env("METADATA_SECRET_KEYS", "sk_test_cli")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the first line names the address: {first:?}"))
        .to_owned();
    (child, base)
}

fn terminate(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn serve_answers_health_readiness_and_metrics_and_never_echoes_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("served.db");
    let (child, base) = serve(&db, &[]);
    futures_lite_block_on(async {
        let client = reqwest::Client::new();
        let text = |path: &str| {
            let request = client.get(format!("{base}{path}"));
            async move {
                let response = request.send().await.unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            }
        };
        assert_eq!(text("/healthz").await.0, 200);
        assert_eq!(text("/readyz").await, (200, "ready\n".to_owned()));
        let created = client
            .post(format!("{base}/v1/users"))
            .bearer_auth("sk_test_cli")
            .header("content-type", "application/json")
            .body(r#"{"id":"user_1","unsafe_metadata":{"theme":"dark"}}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 200);
        let me = client
            .get(format!("{base}/v1/me"))
            .header("x-user", "user_1")
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        let (status, metrics) = text("/metrics").await;
        assert_eq!(status, 200);
        assert!(
            metrics.contains("metadata_operations_total{op=\"create\""),
            "{metrics}"
        );
        assert!(metrics.contains("metadata_feed_head 1"), "{metrics}");
        assert_eq!(
            text("/v1/users/user_1").await.0,
            401,
            "the backend needs the key"
        );
    });
    terminate(&child);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("stopped"), "{log}");
    assert!(
        !log.contains("sk_test_cli"),
        "a secret key was printed: {log}"
    );
}

#[test]
fn sigterm_under_write_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("load.db");
    let (child, base) = serve(&db, &["--durable"]);
    let acknowledged = futures_lite_block_on(async {
        let client = reqwest::Client::new();
        for w in 0..8 {
            let created = client
                .post(format!("{base}/v1/users"))
                .bearer_auth("sk_test_cli")
                .header("content-type", "application/json")
                .body(json!({ "id": format!("user_{w}") }).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), 200);
        }
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let (client, base) = (client.clone(), base.clone());
                tokio::spawn(async move {
                    let mut acked = Vec::new();
                    for n in 0u64.. {
                        let sent = client
                            .patch(format!("{base}/v1/users/user_{w}/metadata"))
                            .bearer_auth("sk_test_cli")
                            .header("content-type", "application/json")
                            .body(json!({ "public_metadata": { format!("k{n}"): n } }).to_string())
                            .send()
                            .await;
                        match sent {
                            Ok(response) => {
                                let status = response.status().as_u16();
                                assert!(status < 500, "no 5xx while stopping: {status}");
                                if status == 200 {
                                    acked.push(n);
                                }
                            }
                            // The server stopped taking connections.
                            Err(_) => return (w, acked),
                        }
                    }
                    (w, acked)
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        terminate(&child);
        let mut acknowledged = Vec::new();
        for writer in writers {
            acknowledged.push(writer.await.unwrap());
        }
        acknowledged
    });
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "a graceful stop: {:?}", out.status);
    let total: usize = acknowledged.iter().map(|(_, a)| a.len()).sum();
    assert!(total > 0, "writes were acknowledged before the stop");
    let service = MetadataService::new(SqliteStore::open_file(&db).unwrap());
    futures_lite_block_on(async {
        for (w, acked) in &acknowledged {
            let user = service
                .backend()
                .get_user(&UserId::new(format!("user_{w}")).unwrap())
                .await
                .unwrap();
            for n in acked {
                assert_eq!(
                    user.public_metadata.to_value()[format!("k{n}")],
                    json!(n),
                    "user_{w}'s acknowledged write k{n} is stored"
                );
            }
        }
    });
    println!("{total} acknowledged writes, all stored after SIGTERM");
}

#[test]
fn serve_keeps_the_feed_for_the_retention_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("retained.db");
    let (child, base) = serve(&db, &["--feed-retention", "0s"]);
    futures_lite_block_on(async {
        let client = reqwest::Client::new();
        let send = |method: reqwest::Method, path: &str, body: Value| {
            client
                .request(method, format!("{base}{path}"))
                .bearer_auth("sk_test_cli")
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
        };
        let created = send(reqwest::Method::POST, "/v1/users", json!({"id": "user_1"})).await;
        assert_eq!(created.unwrap().status(), 200);
        for n in 0..300 {
            let body = json!({ "public_metadata": { "n": n } });
            let merged = send(reqwest::Method::PATCH, "/v1/users/user_1/metadata", body).await;
            assert_eq!(merged.unwrap().status(), 200);
        }
    });
    terminate(&child);
    assert!(child.wait_with_output().unwrap().status.success());
    let stats: Value = serde_json::from_str(&stdout(&metadata(&db, &["stats"]))).unwrap();
    let pruned = stats["feed"]["pruned_through"].as_u64().unwrap();
    assert!(pruned >= 200, "the store pruned as it wrote: {stats}");
    assert_eq!(stats["feed"]["head"], 301);
}
