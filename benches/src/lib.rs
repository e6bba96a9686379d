//! Fixtures shared by the benchmarks: tiers of a given size, and scratch database files.

use serde_json::{json, Map, Value};

/// The README's Rust examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
use std::path::PathBuf;

/// A tier of exactly `size` bytes of compact JSON, shaped like real metadata: a few dozen keys
/// of strings, numbers, booleans and a nested object.
pub fn tier_of_size(size: usize) -> Value {
    let mut map = Map::new();
    let mut i = 0;
    loop {
        let candidate = match i % 4 {
            0 => json!(format!("value number {i} with some text")),
            1 => json!(i * 7919),
            2 => json!({"enabled": i % 3 == 0, "level": i, "tag": "t"}),
            _ => json!(["a", i, true]),
        };
        map.insert(format!("key_{i:03}"), candidate);
        if serde_json::to_vec(&map).unwrap().len() > size.saturating_sub(40) {
            map.remove(&format!("key_{i:03}"));
            break;
        }
        i += 1;
    }
    let current = serde_json::to_vec(&map).unwrap().len();
    // Pad with one string so the total is exact: ,"pad":"…" adds 9 + n bytes.
    let pad = size - current - if map.is_empty() { 8 } else { 9 };
    map.insert("pad".into(), json!("p".repeat(pad)));
    let value = Value::Object(map);
    assert_eq!(serde_json::to_vec(&value).unwrap().len(), size);
    value
}

/// A 200-byte patch for an 8 KiB tier: changes a few keys, deletes one, adds one nested.
pub fn patch_200() -> Value {
    let patch = json!({
        "key_000": "changed by the patch",
        "key_002": {"level": 99, "tag": null},
        "key_005": null,
        "added": {"by": "patch", "n": [1, 2, 3], "note": "some more text here for size"},
        "pad2": "q".repeat(40),
    });
    patch
}

/// A scratch directory for database files, under the target directory.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-fixtures")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An `io::Write` that only counts bytes.
pub struct Counter(pub usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A plain in-place RFC 7396 merge on `serde_json::Value`, the baseline for the core's merge.
pub fn plain_merge(target: &mut Value, patch: &Value) {
    if let Value::Object(p) = patch {
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        let t = target.as_object_mut().unwrap();
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                plain_merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    } else {
        *target = patch.clone();
    }
}

/// A raw rusqlite connection to a database file the store has created, with the pragmas the
/// store gives its own connections (write-ahead log, `synchronous=NORMAL`, the same page cache
/// size, a busy timeout), so a raw baseline reads and writes under the same settings.
pub fn raw_sqlite(path: &std::path::Path) -> rusqlite::Connection {
    let raw = rusqlite::Connection::open(path).unwrap();
    raw.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    raw.pragma_update(None, "synchronous", "NORMAL").unwrap();
    let kib = (metadata_store_sqlite::DEFAULT_PAGE_CACHE_BYTES / 1024) as i64;
    raw.pragma_update(None, "cache_size", -kib).unwrap();
    raw.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    raw
}

/// Writes `ids` as users whose public tier is `tier` straight into the `records` table of a
/// store's file, in one transaction through `conn`: a fixture of many users built without the
/// facade, each row what the store itself would write.
pub fn insert_raw_users(
    conn: &mut rusqlite::Connection,
    ids: impl IntoIterator<Item = String>,
    tier: &metadata_core::Metadata,
) {
    use metadata_core::{create_user, Change, Limits, Tier, UserId};
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO records (kind, key, version, body, created_at, updated_at)
                 VALUES ('user', ?1, 1, ?2, 1, 1)",
            )
            .unwrap();
        let change = Change::new().replace(Tier::Public, tier.clone());
        for id in ids {
            let user =
                create_user(UserId::new(id).unwrap(), &change, &Limits::default(), 1).unwrap();
            let body = serde_json::to_string(&user).unwrap();
            insert
                .execute(rusqlite::params![user.id.as_str(), body])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}
