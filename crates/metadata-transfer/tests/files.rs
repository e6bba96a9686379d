//! Imports from the reference product's export files into SQLite: exact tiers, refusals
//! reported by place and code, idempotent re-runs, the three policies, resuming from a
//! checkpoint, and an export that imports back to the same records.

use metadata_core::{Tier, User, UserId};
use metadata_store::MetadataService;
use metadata_store_sqlite::SqliteStore;
use metadata_transfer::export::{export_users, Format};
use metadata_transfer::{Importer, Policy, Source, Summary};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A report written into memory, readable after the import.
#[derive(Clone, Default)]
struct Report(Arc<Mutex<Vec<u8>>>);

impl Write for Report {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Report {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn sqlite(dir: &tempfile::TempDir, name: &str) -> MetadataService {
    MetadataService::new(SqliteStore::open_file(dir.path().join(name)).unwrap())
}

/// Tiers with the edges real data has. A store keeps each tier's canonical text (keys in
/// order, compact) byte for byte: [`canonical`] is what it must read back.
const EDGE_PUBLIC: &str =
    r#"{"z":1,"a":"\u0000é","0":-0.0,"big":1e16,"max":18446744073709551615,"n":[{"x":null}]}"#;

/// The JSON export fixture: valid users, and one of each refusal.
fn canonical(text: &str) -> String {
    metadata_core::Metadata::from_str(text)
        .unwrap()
        .json()
        .to_owned()
}

fn json_fixture() -> String {
    let over = format!(r#"{{"blob":"{}"}}"#, "x".repeat(9000));
    format!(
        r#"[
  {{"userId":"user_1","firstName":"Ada","publicMetadata":{EDGE_PUBLIC},"privateMetadata":{{"stripe":"cus_1"}},"unsafeMetadata":{{}}}},
  {{"userId":"user_2","publicMetadata":{over}}},
  {{"userId":"user_3","publicMetadata":[1,2]}},
  {{"userId":"not a user id!"}},
  {{"publicMetadata":{{}}}},
  {{"userId":"user_6","unsafeMetadata":{{"theme":"dark"}},"privateMetadata":null}}
]"#
    )
}

async fn import(
    service: &MetadataService,
    source: Source,
    policy: Policy,
) -> (Summary, Vec<String>) {
    let report = Report::default();
    let summary = Importer::new(service.clone())
        .policy(policy)
        .report(report.clone())
        .progress(false)
        .import(source)
        .await
        .unwrap();
    (summary, report.lines())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_json_export_imports_exactly_and_refuses_record_by_record() {
    let dir = tempfile::tempdir().unwrap();
    let service = sqlite(&dir, "json.db");
    let fixture = json_fixture();
    let (summary, report) = import(
        &service,
        Source::json(std::io::Cursor::new(fixture.clone())),
        Policy::Skip,
    )
    .await;
    assert_eq!(
        (summary.read, summary.created, summary.refused),
        (6, 2, 4),
        "{report:?}"
    );
    // One line per refused record: its place, its id and the typed error's code.
    let mut codes: Vec<(String, String)> = report
        .iter()
        .map(|l| {
            let parts: Vec<&str> = l.splitn(4, ": ").collect();
            (parts[0].to_owned(), parts[2].to_owned())
        })
        .collect();
    codes.sort(); // lines come as records finish, several being in flight
    assert_eq!(
        codes,
        [
            (
                "element 2".to_owned(),
                "form_param_exceeds_allowed_size".to_owned()
            ),
            (
                "element 3".to_owned(),
                "form_param_value_invalid".to_owned()
            ),
            (
                "element 4".to_owned(),
                "form_param_value_invalid".to_owned()
            ),
            ("element 5".to_owned(), "malformed_record".to_owned()),
        ]
    );
    let over = report.iter().find(|l| l.starts_with("element 2")).unwrap();
    assert!(
        over.contains("user_2") && !over.contains("xxxx"),
        "no value in a report line: {over}"
    );
    let b = service.backend();
    let ada = b.get_user(&UserId::new("user_1").unwrap()).await.unwrap();
    assert_eq!(
        ada.public_metadata.json(),
        canonical(EDGE_PUBLIC),
        "byte for byte"
    );
    assert_eq!(ada.private_metadata.json(), r#"{"stripe":"cus_1"}"#);
    assert!(
        b.get_user(&UserId::new("user_2").unwrap()).await.is_err(),
        "never a partial record"
    );

    // A second run creates nothing twice.
    let (again, _) = import(
        &service,
        Source::json(std::io::Cursor::new(fixture.clone())),
        Policy::Skip,
    )
    .await;
    assert_eq!((again.created, again.unchanged, again.refused), (0, 2, 4));

    // A record that differs: skipped, overwritten or merged, as asked.
    let changed = fixture.replace(r#"{"stripe":"cus_1"}"#, r#"{"seats":3}"#);
    let (skip, _) = import(
        &service,
        Source::json(std::io::Cursor::new(changed.clone())),
        Policy::Skip,
    )
    .await;
    assert_eq!((skip.skipped, skip.unchanged), (1, 1));
    let (merge, _) = import(
        &service,
        Source::json(std::io::Cursor::new(changed.clone())),
        Policy::Merge,
    )
    .await;
    assert_eq!(merge.updated, 1);
    let merged: User = b.get_user(&UserId::new("user_1").unwrap()).await.unwrap();
    assert_eq!(
        merged.private_metadata.to_value(),
        serde_json::json!({"stripe": "cus_1", "seats": 3})
    );
    let (overwrite, _) = import(
        &service,
        Source::json(std::io::Cursor::new(changed)),
        Policy::Overwrite,
    )
    .await;
    assert_eq!(overwrite.updated, 1);
    let overwritten = b.get_user(&UserId::new("user_1").unwrap()).await.unwrap();
    assert_eq!(overwritten.private_metadata.json(), r#"{"seats":3}"#);
    assert_eq!(overwritten.public_metadata.json(), canonical(EDGE_PUBLIC));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_csv_export_imports_its_json_columns() {
    let dir = tempfile::tempdir().unwrap();
    let service = sqlite(&dir, "csv.db");
    let quoted = EDGE_PUBLIC.replace('"', "\"\"");
    let csv = format!(
        "id,first_name,public_metadata,private_metadata,unsafe_metadata\n\
         user_1,Ada,\"{quoted}\",,\n\
         user_2,Bob,,\"{{\"\"plan\"\":\"\"pro\"\"}}\",\n\
         user_3,Cy,\"[1]\",,\n\
         user_4,Di,\"{{\"\"broken\"\"\",,\n"
    );
    let (summary, report) = import(
        &service,
        Source::csv(std::io::Cursor::new(csv)),
        Policy::Skip,
    )
    .await;
    assert_eq!((summary.created, summary.refused), (2, 2), "{report:?}");
    assert!(
        report[0].starts_with("line 4: user_3: form_param_value_invalid"),
        "{report:?}"
    );
    assert!(
        report[1].starts_with("line 5: user_4: form_param_value_invalid"),
        "{report:?}"
    );
    let b = service.backend();
    let ada = b.get_user(&UserId::new("user_1").unwrap()).await.unwrap();
    assert_eq!(ada.public_metadata.json(), canonical(EDGE_PUBLIC));
    assert_eq!(ada.private_metadata.json(), "{}", "an empty cell is {{}}");
    let bob = b.get_user(&UserId::new("user_2").unwrap()).await.unwrap();
    assert_eq!(bob.private_metadata.get("plan").unwrap(), "pro");
}

/// An import stopped half-way resumes from its checkpoint: the second run reads only what the
/// first did not finish, and every record ends up stored once.
#[tokio::test(flavor = "multi_thread")]
async fn an_import_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let service = sqlite(&dir, "resume.db");
    let lines: Vec<String> = (0..500)
        .map(|i| format!(r#"{{"userId":"user_{i:04}","publicMetadata":{{"i":{i}}}}}"#))
        .collect();
    let checkpoint = dir.path().join("import.checkpoint");
    let run = |text: String| {
        let service = service.clone();
        let checkpoint = checkpoint.clone();
        async move {
            Importer::new(service)
                .checkpoint(checkpoint)
                .report(Report::default())
                .progress(false)
                .import(Source::json(std::io::Cursor::new(text)))
                .await
                .unwrap()
        }
    };
    // The first run sees the file cut off after 180 records (as a crash would leave it).
    let first = run(lines[..180].join("\n")).await;
    assert_eq!(first.created, 180);
    assert_eq!(std::fs::read_to_string(&checkpoint).unwrap().trim(), "180");
    let second = run(lines.join("\n")).await;
    assert_eq!((second.read, second.created), (320, 320));
    assert_eq!(std::fs::read_to_string(&checkpoint).unwrap().trim(), "500");
    let third = run(lines.join("\n")).await;
    assert_eq!(third.read, 0, "a finished import reads nothing again");
    let n = service
        .backend()
        .count::<User>(metadata_core::Filter::All)
        .await
        .unwrap();
    assert_eq!(n, 500);
}

/// What an export writes, in each layout, imports into an empty store as the same users.
#[tokio::test(flavor = "multi_thread")]
async fn every_export_layout_imports_back_to_the_same_users() {
    let dir = tempfile::tempdir().unwrap();
    let from = sqlite(&dir, "from.db");
    let b = from.backend();
    for i in 0..1234 {
        let change = metadata_core::Change::replace_from_request(
            format!(r#"{{"public_metadata":{EDGE_PUBLIC},"unsafe_metadata":{{"i":{i},"q":"a,\"b\"\nc"}}}}"#)
                .as_bytes(),
            from.limits(),
        )
        .unwrap();
        b.create_user(&UserId::new(format!("user_{i:05}")).unwrap(), change)
            .await
            .unwrap();
    }
    for (n, format) in [Format::Json, Format::JsonLines, Format::Csv]
        .into_iter()
        .enumerate()
    {
        let mut out = Vec::new();
        let written = export_users(&from, format, &mut out, &mut |_| {})
            .await
            .unwrap();
        assert_eq!(written, 1234);
        let to = sqlite(&dir, &format!("to-{n}.db"));
        let source = match format {
            Format::Csv => Source::csv(std::io::Cursor::new(out)),
            _ => Source::json(std::io::Cursor::new(out)),
        };
        let (summary, report) = import(&to, source, Policy::Skip).await;
        assert_eq!(summary.created, 1234, "{format:?}: {report:?}");
        for i in [0, 617, 1233] {
            let id = UserId::new(format!("user_{i:05}")).unwrap();
            let (a, c) = (
                from.backend().get_user(&id).await.unwrap(),
                to.backend().get_user(&id).await.unwrap(),
            );
            for tier in Tier::ALL {
                assert_eq!(
                    a.tier_json(tier),
                    c.tier_json(tier),
                    "{format:?} {id} {tier:?}"
                );
            }
        }
    }
}

trait TierJson {
    fn tier_json(&self, tier: Tier) -> String;
}

impl TierJson for User {
    fn tier_json(&self, tier: Tier) -> String {
        match tier {
            Tier::Public => self.public_metadata.json(),
            Tier::Private => self.private_metadata.json(),
            Tier::Unsafe => self.unsafe_metadata.json(),
        }
        .to_owned()
    }
}
