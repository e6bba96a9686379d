//! `--schemas` and `check-schemas` (R13.1), run as a process.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_metadata");

fn metadata(db: &Path, schemas: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--sqlite")
        .arg(db)
        .arg("--schemas")
        .arg(schemas)
        .args(args)
        .env_remove("METADATA_POSTGRES_URL")
        .output()
        .unwrap()
}

#[test]
fn r13_1_import_refuses_and_check_schemas_reports_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let loose = dir.path().join("loose.json");
    let strict = dir.path().join("strict.json");
    std::fs::write(&loose, "{}").unwrap();
    std::fs::write(
        &strict,
        r#"{"user": {"public_metadata": {"properties": {"age": {"type": "integer"}}}}}"#,
    )
    .unwrap();
    let export = dir.path().join("users.jsonl");
    std::fs::write(
        &export,
        concat!(
            r#"{"id": "user_1", "public_metadata": {"age": 30}}"#,
            "\n",
            r#"{"id": "user_2", "public_metadata": {"age": "SECRET-AGE"}}"#,
            "\n"
        ),
    )
    .unwrap();
    let export = export.to_str().unwrap();
    // Without a schema both users land; with one, the mismatch is refused and reported.
    let out = metadata(&db, &loose, &["import", "json", export]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = metadata(&db, &strict, &["check-schemas"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout
            .lines()
            .map(|l| l.split('\t').take(4).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        ["user user_2 public_metadata /age"]
    );
    assert!(!stdout.contains("SECRET-AGE"));
    let fresh = dir.path().join("fresh.db");
    let out = metadata(&fresh, &strict, &["import", "json", export]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("user_2") && stderr.contains("form_param_value_invalid"),
        "{stderr}"
    );
    assert!(!stderr.contains("SECRET-AGE"), "{stderr}");
    let out = metadata(&fresh, &strict, &["check-schemas"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A schema file that does not compile is refused before anything opens.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"user": {"public_metadata": {"type": 5}}}"#).unwrap();
    let out = metadata(&fresh, &bad, &["stats"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.json"));
}
