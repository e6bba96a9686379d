//! `metadata import` and `metadata export` as processes: a JSON export in, a report of the
//! refused records, an idempotent second run, a CSV export out and in again.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_metadata");

fn metadata(db: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--sqlite")
        .arg(db)
        .args(args)
        .env_remove("METADATA_POSTGRES_URL")
        .env_remove("CLERK_SECRET_KEY")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn import_and_export_move_users_in_and_out() {
    let dir = tempfile::tempdir().unwrap();
    let (db, file) = (dir.path().join("in.db"), dir.path().join("users.json"));
    let over = "x".repeat(9000);
    std::fs::write(
        &file,
        format!(
            r#"[{{"userId":"user_1","publicMetadata":{{"plan":"pro"}},"privateMetadata":{{"k":1}}}},
               {{"userId":"user_2","publicMetadata":{{"blob":"{over}"}}}},
               {{"userId":"user_3","unsafeMetadata":{{"theme":"dark"}}}}]"#
        ),
    )
    .unwrap();
    let report = dir.path().join("report.txt");
    let checkpoint = dir.path().join("import.checkpoint");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["import", "json"].map(String::from).to_vec();
        a.push(file.display().to_string());
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let first = metadata(
        &db,
        &args(&["--report", report.to_str().unwrap()])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        ok(&first).trim(),
        "read 3, created 2, unchanged 0, updated 0, skipped 0, refused 1"
    );
    let lines = std::fs::read_to_string(&report).unwrap();
    assert!(
        lines.starts_with("element 2: user_2: form_param_exceeds_allowed_size"),
        "{lines}"
    );
    let again = metadata(
        &db,
        &args(&["--checkpoint", checkpoint.to_str().unwrap()])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(ok(&again).contains("created 0, unchanged 2"));
    assert_eq!(std::fs::read_to_string(&checkpoint).unwrap().trim(), "3");

    let csv = dir.path().join("users.csv");
    let exported = metadata(
        &db,
        &["export", "--format", "csv", "--out", csv.to_str().unwrap()],
    );
    assert_eq!(ok(&exported).trim(), "exported 2 users");
    let other = dir.path().join("out.db");
    let back = metadata(&other, &["import", "csv", csv.to_str().unwrap()]);
    assert!(ok(&back).contains("created 2"));
    let user = ok(&metadata(&other, &["get", "user", "user_1"]));
    assert!(user.contains(r#""private_metadata":{"k":1}"#), "{user}");
    // An export never overwrites a file.
    let twice = metadata(&db, &["export", "--out", csv.to_str().unwrap()]);
    assert_eq!(twice.status.code(), Some(1));
    // A missing file or key is one line and exit 1.
    let missing = metadata(&db, &["import", "json", "/nonexistent.json"]);
    assert_eq!(missing.status.code(), Some(1));
    let no_key = metadata(&db, &["import", "api", "http://127.0.0.1:9"]);
    assert_eq!(no_key.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("CLERK_SECRET_KEY"));
}
