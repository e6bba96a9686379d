//! `metadata bulk` as a process (R14.1): killed with SIGKILL mid-run and run again, it changes
//! every selected record exactly once.

use metadata_core::feed::Actor;
use metadata_core::{Change, Tier, UserId};
use metadata_store::MetadataService;
use metadata_store_sqlite::SqliteStore;
use serde_json::json;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_metadata");
const USERS: usize = 20_000;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn bulk_command(db: &Path, checkpoint: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("--sqlite")
        .arg(db)
        .args([
            "bulk",
            "user",
            "--tier",
            "public",
            "--merge",
            r#"{"plan":"pro"}"#,
        ])
        .args(["--where", "public_metadata.plan[in]=free,trial"])
        .args([
            "--operation-id",
            "kill_test",
            "--page-size",
            "100",
            "--concurrency",
            "4",
        ])
        .arg("--checkpoint")
        .arg(checkpoint)
        .env_remove("METADATA_POSTGRES_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn r14_1_a_bulk_change_killed_mid_run_and_resumed_changes_each_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bulk.db");
    let checkpoint = dir.path().join("bulk.checkpoint");
    let service = MetadataService::new(SqliteStore::open_file(&db).unwrap());
    block_on(async {
        for chunk in (0..USERS).collect::<Vec<_>>().chunks(1000) {
            let users = chunk
                .iter()
                .map(|i| {
                    let plan = ["free", "trial", "team"][i % 3];
                    let change = Change::new()
                        .replace_json(Tier::Public, json!({ "plan": plan, "i": i }))
                        .unwrap();
                    (UserId::new(format!("user_{i:05}")).unwrap(), change)
                })
                .collect();
            for created in service.backend().create_users(users).await.unwrap() {
                created.unwrap();
            }
        }
    });
    let selected = (0..USERS).filter(|i| i % 3 != 2).count();

    // Killed once a page or more is done and before the run ends.
    let mut child = bulk_command(&db, &checkpoint).spawn().unwrap();
    let began = Instant::now();
    while !checkpoint.exists() {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "no checkpoint in a minute"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before it could be killed"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let cut: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    assert_eq!(cut["complete"], false, "killed mid-run: {cut}");

    let out = bulk_command(&db, &checkpoint).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = String::from_utf8(out.stdout).unwrap();
    let counts: serde_json::Value = serde_json::from_str(last.lines().last().unwrap()).unwrap();
    assert_eq!(counts["refused"], 0);

    // Every selected user changed once: version 2, one event each from the run.
    block_on(async {
        let b = service.backend();
        for i in 0..USERS {
            let user = b
                .get_user(&UserId::new(format!("user_{i:05}")).unwrap())
                .await
                .unwrap();
            let expected = if i % 3 == 2 { ("team", 1) } else { ("pro", 2) };
            assert_eq!(
                (user.public_metadata.get("plan"), user.version),
                (Some(&json!(expected.0)), expected.1),
                "user_{i:05}"
            );
        }
        let run = Actor::library("bulk_change", "kill_test");
        let (mut events, mut after) = (0, 0);
        loop {
            let (mine, through) = service
                .feed()
                .read_by_actor(after, 1000, |a: Option<&Actor>| a == Some(&run))
                .await
                .unwrap();
            events += mine.len();
            if through == after {
                break;
            }
            after = through;
        }
        assert_eq!(events, selected, "one event per selected record");
    });
}
