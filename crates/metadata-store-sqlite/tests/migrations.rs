//! Migrations that rewrite what lookups and events read: a database from before R7.4's
//! `lookup_body` and R14.2's actors is brought up to date in place.

mod common;

use futures::executor::block_on;
use metadata_core::{
    Change, Filter, ListQuery, LookupValue, MetadataPath, ResourceKind, Tier, UserId,
};
use metadata_store::{MetadataService, MetadataStore};
use metadata_store_sqlite::{SqliteStore, SCHEMA_VERSION};
use serde_json::json;

/// A schema-3 file, its lookup index declared over the body: on open, the record whose key
/// holds `\u0000` gets its `lookup_body`, the index is declared again over the new expression
/// (and used), and events written before carry no actor while new ones do.
#[test]
fn r7_3_r14_2_a_schema_3_database_is_migrated_in_place() {
    let path = common::temp_dir().join("migrate-3.sqlite");
    {
        let store = SqliteStore::open_file(&path).unwrap();
        block_on(store.declare_index(ResourceKind::User, Tier::Public, "b")).unwrap();
        let m = MetadataService::new(store);
        for (id, public) in [
            ("user_1", json!({"b\u{0}": "x"})),
            ("user_2", json!({"b": "x"})),
        ] {
            let change = Change::new().replace_json(Tier::Public, public).unwrap();
            block_on(m.backend().create_user(&UserId::new(id).unwrap(), change)).unwrap();
        }
    }
    // Back to schema 3, as an older release left it: no lookup_body, no actor, the index
    // over the body.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let index: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name LIKE 'lookup\\_%' ESCAPE '\\'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch(&format!(
        "DROP INDEX lookup_user_public_b;
         ALTER TABLE records DROP COLUMN lookup_body; ALTER TABLE changes DROP COLUMN actor;
         {};
         PRAGMA user_version = 3;",
        index.replace("coalesce(lookup_body, body)", "body")
    ))
    .unwrap();
    drop(conn);

    let store = SqliteStore::open_file(&path).unwrap();
    let query = ListQuery::new(
        ResourceKind::User,
        Filter::MetadataEquals {
            tier: Tier::Public,
            path: MetadataPath::parse("b").unwrap(),
            value: LookupValue::from("x"),
        },
        10,
    );
    let found: Vec<String> = block_on(store.list(&query))
        .unwrap()
        .items
        .iter()
        .map(|r| r.key().storage_key())
        .collect();
    assert_eq!(
        found,
        ["user_2"],
        "R7.3: the key holding \\u0000 is not `b`"
    );
    let plan = store.explain_list(&query).unwrap().join("\n");
    assert!(plan.contains("USING INDEX lookup_user_public_b"), "{plan}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    drop(conn);
    let m = MetadataService::new(store);
    let change = Change::new()
        .replace_json(Tier::Private, json!({"a": 1}))
        .unwrap();
    block_on(
        m.backend()
            .update_user(&UserId::new("user_2").unwrap(), change),
    )
    .unwrap();
    let events = block_on(m.feed().read(0, 10)).unwrap();
    let actors: Vec<bool> = events.iter().map(|e| e.change.actor.is_some()).collect();
    assert_eq!(actors, [false, false, true]);
}
