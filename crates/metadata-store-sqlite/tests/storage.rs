//! The SQLite file itself: reopening, bad files, schema versions, index use.

use metadata_core::{
    Change, Clause, Condition, Error, Filter, ListQuery, LookupValue, MetadataPath, ResourceKind,
    Tier, UserId,
};
use metadata_store::MetadataService;
use metadata_store_sqlite::{SqliteError, SqliteOptions, SqliteStore, SCHEMA_VERSION};
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;
use common::temp_dir;

fn fresh_path() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    temp_dir().join(format!("db-{}.sqlite", N.fetch_add(1, Ordering::Relaxed)))
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

#[test]
fn reopening_a_file_keeps_every_record() {
    let path = fresh_path();
    let ids: Vec<UserId> = (0..50)
        .map(|i| UserId::new(format!("u{i}")).unwrap())
        .collect();
    {
        let metadata = MetadataService::new(SqliteStore::open_file(&path).unwrap());
        for (i, id) in ids.iter().enumerate() {
            let change = Change::new()
                .replace_json(Tier::Private, json!({ "n": i }))
                .unwrap();
            block_on(metadata.backend().create_user(id, change)).unwrap();
        }
        block_on(
            metadata.backend().update_user(
                &ids[0],
                Change::new()
                    .replace_json(Tier::Public, json!({"x": 1}))
                    .unwrap(),
            ),
        )
        .unwrap();
    }
    let store = SqliteStore::open_file(&path).unwrap();
    assert_eq!(block_on(store.integrity_check()).unwrap(), "ok");
    let metadata = MetadataService::new(store);
    for (i, id) in ids.iter().enumerate() {
        let user = block_on(metadata.backend().get_user(id)).unwrap();
        assert_eq!(user.private_metadata.to_value(), json!({ "n": i }));
    }
    let first = block_on(metadata.backend().get_user(&ids[0])).unwrap();
    assert_eq!(
        (first.version, first.public_metadata.to_value()),
        (2, json!({"x": 1}))
    );
}

#[test]
fn a_file_that_is_not_a_database_is_a_typed_error() {
    let path = fresh_path();
    std::fs::write(
        &path,
        b"this is a text file, long enough to look like a header, but it is not sqlite at all....",
    )
    .unwrap();
    let err = SqliteStore::open_file(&path).unwrap_err();
    assert!(matches!(err, SqliteError::NotADatabase(_)), "{err:?}");
}

#[test]
fn a_truncated_database_is_a_typed_error() {
    let path = fresh_path();
    {
        let metadata = MetadataService::new(SqliteStore::open(SqliteOptions::file(&path)).unwrap());
        for i in 0..200 {
            let id = UserId::new(format!("u{i}")).unwrap();
            let change = Change::new()
                .replace_json(Tier::Public, json!({"pad": "x".repeat(2000)}))
                .unwrap();
            block_on(metadata.backend().create_user(&id, change)).unwrap();
        }
    }
    // Fold the WAL into the file, then cut the file short.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        conn.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
            .unwrap();
    }
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len / 3).unwrap();
    drop(file);
    match SqliteStore::open_file(&path) {
        Err(err) => assert!(
            matches!(err, SqliteError::Corrupt(_) | SqliteError::NotADatabase(_)),
            "{err:?}"
        ),
        Ok(store) => {
            // The header and schema survived: the damage shows when the data is read.
            let ok = block_on(store.integrity_check());
            assert!(
                !matches!(ok.as_deref(), Ok("ok")),
                "a truncated file must not check out: {ok:?}"
            );
            let metadata = MetadataService::new(store);
            let mut saw_error = false;
            for i in 0..200 {
                let id = UserId::new(format!("u{i}")).unwrap();
                if let Err(err) = block_on(metadata.backend().get_user(&id)) {
                    assert!(matches!(
                        err,
                        metadata_core::Error::Storage { .. }
                            | metadata_core::Error::NotFound { .. }
                    ));
                    saw_error = true;
                }
            }
            assert!(saw_error);
        }
    }
}

#[test]
fn a_database_from_a_newer_schema_is_refused_untouched() {
    let path = fresh_path();
    drop(SqliteStore::open_file(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = SqliteStore::open_file(&path).unwrap_err();
    assert!(
        matches!(err, SqliteError::SchemaTooNew { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION)
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION + 1);
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn a_read_only_file_is_a_typed_error() {
    let path = fresh_path();
    drop(SqliteStore::open_file(&path).unwrap());
    // Root ignores file permissions, so there the file is made immutable instead.
    let root = is_root();
    if root {
        let status = std::process::Command::new("chattr")
            .arg("+i")
            .arg(&path)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "chattr +i is needed to make a file read-only for root"
        );
    } else {
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&path, perms).unwrap();
    }
    let result = SqliteStore::open_file(&path);
    if root {
        std::process::Command::new("chattr")
            .arg("-i")
            .arg(&path)
            .status()
            .unwrap();
    }
    let err = result.unwrap_err();
    assert!(matches!(err, SqliteError::ReadOnly(_)), "{err:?}");
}

fn lookup(path: &str) -> ListQuery {
    ListQuery {
        kind: ResourceKind::User,
        filter: Filter::MetadataEquals {
            tier: Tier::Public,
            path: MetadataPath::parse(path).unwrap(),
            value: LookupValue::String("pro".into()),
        },
        after: None,
        limit: 10,
        order: metadata_core::ListOrder::BY_ID,
        offset: 0,
    }
}

#[test]
fn r7_2_a_declared_index_is_used_by_lookups() {
    let store = SqliteStore::open_file(fresh_path()).unwrap();
    let query = lookup("billing.plan");
    let before = store.explain_list(&query).unwrap().join("\n");
    assert!(
        !before.contains("INDEX lookup_"),
        "no lookup index before one is declared: {before}"
    );
    block_on(store.declare_index(ResourceKind::User, Tier::Public, "billing.plan")).unwrap();
    block_on(store.declare_index(ResourceKind::User, Tier::Public, "billing.plan")).unwrap();
    let after = store.explain_list(&query).unwrap().join("\n");
    assert!(
        after.contains("USING INDEX lookup_user_public_billing__plan"),
        "{after}"
    );
}

/// R7.4: ranges, any-of lists and prefixes read a declared index too (declaring it gathers
/// the statistics SQLite's planner needs to prefer it over walking the primary key).
#[test]
fn r7_4_a_declared_index_serves_ranges_lists_and_prefixes() {
    let store = SqliteStore::open_file(fresh_path()).unwrap();
    let m = MetadataService::new(store.clone());
    for i in 0..500 {
        let change = Change::new()
            .replace_json(Tier::Public, json!({ "age": i }))
            .unwrap();
        let id = UserId::new(format!("user_{i:04}")).unwrap();
        block_on(m.backend().create_user(&id, change)).unwrap();
    }
    block_on(store.declare_index(ResourceKind::User, Tier::Public, "age")).unwrap();
    let bound = |i| {
        Some(metadata_core::Bound {
            value: metadata_core::LookupNumber::Integer(i),
            inclusive: true,
        })
    };
    for condition in [
        Condition::Range {
            lower: bound(30),
            upper: bound(40),
        },
        Condition::Range {
            lower: bound(490),
            upper: None,
        },
        Condition::Range {
            lower: None,
            upper: bound(10),
        },
        Condition::AnyOf(vec![30.into(), "thirty".into(), true.into()]),
        Condition::Prefix("3".into()),
    ] {
        let mut query = lookup("age");
        query.filter = Filter::Metadata(vec![
            Clause::new(Tier::Public, "age", condition.clone()).unwrap()
        ]);
        let plan = store.explain_list(&query).unwrap().join("\n");
        assert!(
            plan.contains("USING INDEX lookup_user_public_age"),
            "{condition:?}: {plan}"
        );
    }
}

#[test]
fn declare_index_refuses_a_bad_path_as_a_query_error() {
    let store = SqliteStore::open_file(fresh_path()).unwrap();
    let bad = block_on(store.declare_index(ResourceKind::User, Tier::Public, "no spaces allowed"));
    assert!(matches!(bad, Err(Error::InvalidQuery { .. })), "{bad:?}");
    assert_eq!(bad.unwrap_err().code(), "form_param_value_invalid");
    let bad = block_on(store.declare_index(ResourceKind::Organization, Tier::Unsafe, "a"));
    assert!(matches!(bad, Err(Error::UnsupportedTier { .. })), "{bad:?}");
}

/// Paths that differ only where a naive index name would not (`.` against `__`, `_` against
/// `-`, upper against lower case, which SQLite's identifiers ignore) each get an index.
#[test]
fn distinct_paths_get_distinct_indexes() {
    let store = SqliteStore::open_file(fresh_path()).unwrap();
    let paths = ["a.b", "a__b", "a_b", "a-b", "A.b", "a.B"];
    for path in paths {
        block_on(store.declare_index(ResourceKind::User, Tier::Public, path)).unwrap();
    }
    for path in paths {
        let plan = store.explain_list(&lookup(path)).unwrap().join("\n");
        let name = metadata_store_sql::prepared::lookup_index_name(
            ResourceKind::User,
            Tier::Public,
            &MetadataPath::parse(path).unwrap(),
        );
        assert!(
            plan.contains(&format!("USING INDEX {name} ")),
            "{path}: {plan}"
        );
    }
}

#[test]
fn membership_listing_uses_its_index() {
    let store = SqliteStore::open_file(fresh_path()).unwrap();
    let query = ListQuery {
        kind: ResourceKind::Membership,
        filter: Filter::MembershipsOfOrganization(
            metadata_core::OrganizationId::new("org").unwrap(),
        ),
        after: None,
        limit: 10,
        order: metadata_core::ListOrder::BY_ID,
        offset: 0,
    };
    let plan = store.explain_list(&query).unwrap().join("\n");
    assert!(plan.contains("records_by_organization"), "{plan}");
}

#[test]
fn reads_do_not_wait_behind_a_write_in_progress() {
    let path = fresh_path();
    // No busy waiting at all: a read that had to wait for the writer would fail at once.
    let store =
        SqliteStore::open(SqliteOptions::file(&path).busy_timeout(std::time::Duration::ZERO))
            .unwrap();
    let metadata = MetadataService::new(store);
    let id = UserId::new("u").unwrap();
    block_on(metadata.backend().create_user(&id, Change::new())).unwrap();
    // Another connection holds the write lock with an uncommitted change.
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("BEGIN IMMEDIATE; DELETE FROM records;")
        .unwrap();
    let user = block_on(metadata.backend().get_user(&id)).unwrap();
    assert_eq!(user.version, 1, "the read sees the last committed state");
    // A write, by contrast, finds the database busy: a typed, retryable error.
    let err = block_on(
        metadata.backend().update_user(
            &id,
            Change::new()
                .replace_json(metadata_core::Tier::Public, json!({}))
                .unwrap(),
        ),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            metadata_core::Error::Storage {
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
    other.execute_batch("ROLLBACK").unwrap();
}

/// Group commit: sixteen writers at once with synchronous=FULL share commits, each keeping its
/// own outcome: a writer whose expected version is stale fails alone.
#[test]
fn concurrent_writers_share_commits_and_keep_their_own_outcomes() {
    let store =
        SqliteStore::open(SqliteOptions::file(fresh_path()).synchronous_full(true)).unwrap();
    let metadata = MetadataService::new(store.clone());
    let ids: Vec<UserId> = (0..16)
        .map(|i| UserId::new(format!("u{i}")).unwrap())
        .collect();
    for id in &ids {
        block_on(metadata.backend().create_user(id, Change::new())).unwrap();
    }
    let before = store.commit_stats();
    let threads: Vec<_> = ids
        .iter()
        .cloned()
        .enumerate()
        .map(|(t, id)| {
            let metadata = metadata.clone();
            std::thread::spawn(move || {
                let (mut failures, mut version) = (0, 1);
                for n in 0..50u64 {
                    // Writer 0 states a stale version every other time.
                    let stale = t == 0 && n % 2 == 1;
                    let change = Change::new()
                        .replace_json(Tier::Public, json!({ "n": n }))
                        .unwrap()
                        .expect_version(if stale { version - 1 } else { version });
                    match block_on(metadata.backend().update_user(&id, change)) {
                        Ok(user) => version = user.version,
                        Err(metadata_core::Error::Conflict { .. }) => failures += 1,
                        Err(other) => panic!("{other:?}"),
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(failures[0], 25, "the stale writer failed alone, each time");
    assert!(failures[1..].iter().all(|&f| f == 0), "{failures:?}");
    let stats = store.commit_stats();
    let (groups, transactions) = (
        stats.groups - before.groups,
        stats.transactions - before.transactions,
    );
    assert_eq!(transactions, 16 * 50, "every update was one transaction");
    assert!(
        groups < transactions,
        "{groups} groups for {transactions} transactions"
    );
    for (t, id) in ids.iter().enumerate() {
        let user = block_on(metadata.backend().get_user(id)).unwrap();
        let expected_version = if t == 0 { 26 } else { 51 };
        assert_eq!(user.version, expected_version, "writer {t}");
    }
}

/// An update applies its change to the record the writer last wrote without reading it, only
/// while no other connection has committed (`PRAGMA data_version`): a second store on the same
/// file that changes the record, or deletes it and creates it again at the same version, is
/// never overwritten from the first store's copy.
#[test]
fn an_update_never_applies_to_a_copy_another_connection_made_stale() {
    let path = fresh_path();
    let (a, b) = (
        MetadataService::new(SqliteStore::open_file(&path).unwrap()),
        MetadataService::new(SqliteStore::open_file(&path).unwrap()),
    );
    let id = UserId::new("shared").unwrap();
    let merge = |k: &str| {
        Change::new()
            .merge_json(Tier::Public, json!({ k: true }))
            .unwrap()
    };
    block_on(a.backend().create_user(&id, Change::new())).unwrap();
    block_on(a.backend().update_user(&id, merge("a1"))).unwrap(); // a wrote version 2
    block_on(b.backend().update_user(&id, merge("b"))).unwrap(); // b writes version 3
    let after = block_on(a.backend().update_user(&id, merge("a2"))).unwrap();
    assert_eq!(
        after.public_metadata.to_value(),
        json!({"a1": true, "b": true, "a2": true})
    );
    block_on(a.backend().update_user(&id, merge("a3"))).unwrap(); // a wrote version 5
    block_on(b.backend().delete_user(&id)).unwrap();
    block_on(b.backend().create_user(&id, Change::new())).unwrap();
    for k in ["x", "y", "z", "w"] {
        block_on(b.backend().update_user(&id, merge(k))).unwrap(); // version 5 again
    }
    let fresh = block_on(a.backend().update_user(&id, merge("a4"))).unwrap();
    assert_eq!(
        fresh.public_metadata.to_value(),
        json!({"x": true, "y": true, "z": true, "w": true, "a4": true})
    );
    assert_eq!(fresh.version, 6);
}
