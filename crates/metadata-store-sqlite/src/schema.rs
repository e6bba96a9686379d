//! The schema and its versioned migrations (`PRAGMA user_version`).

use crate::error::SqliteError;
use crate::lookup::{lookup_body, LOOKUP_JSON};
use crate::sql::json_path;
use metadata_core::{MetadataPath, ResourceKind, Tier};
use metadata_store_sql::prepared::lookup_index_name;
use rusqlite::{Connection, TransactionBehavior};

/// The migrations, in order; the schema version is how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: one table for every kind of record; the body is the record's wire JSON (R8.1).
    "CREATE TABLE records (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        version INTEGER NOT NULL,
        organization_id TEXT,
        user_id TEXT,
        body TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    );
    CREATE INDEX records_by_organization ON records (kind, organization_id, key)
        WHERE organization_id IS NOT NULL;
    CREATE INDEX records_by_user ON records (kind, user_id, key)
        WHERE user_id IS NOT NULL;",
    // 2: the change feed.
    crate::feed::SCHEMA,
    // 3: listings ordered by time (R7.5) and counted without reading records: the times as
    // columns with an index each, and a count per kind that triggers keep in every
    // transaction that inserts or deletes.
    "ALTER TABLE records ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE records ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
    UPDATE records SET created_at = json_extract(body, '$.created_at'),
        updated_at = json_extract(body, '$.updated_at');
    CREATE INDEX records_by_created ON records (kind, created_at, key);
    CREATE INDEX records_by_updated ON records (kind, updated_at, key);
    CREATE TABLE record_counts (kind TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO record_counts (kind, n) SELECT kind, count(*) FROM records GROUP BY kind;
    CREATE TRIGGER records_counted_in AFTER INSERT ON records BEGIN
        INSERT INTO record_counts (kind, n) VALUES (NEW.kind, 1)
            ON CONFLICT (kind) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER records_counted_out AFTER DELETE ON records BEGIN
        UPDATE record_counts SET n = n - 1 WHERE kind = OLD.kind;
    END;",
    // 4: lookups read `lookup_body` where a record has one (see the `lookup` module); filled
    // and the declared indexes rebuilt by `fill_lookup_bodies` after this runs.
    "ALTER TABLE records ADD COLUMN lookup_body TEXT;",
    // 5: who made each commit (R14.2), on its events; NULL for events written before.
    "ALTER TABLE changes ADD COLUMN actor TEXT;",
];

/// The migration after which [`fill_lookup_bodies`] runs.
const LOOKUP_BODY_MIGRATION: usize = 3;

/// The newest schema version this library writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`], refusing one from a newer version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), SqliteError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(SqliteError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        tx.execute_batch(sql)?;
        if i == LOOKUP_BODY_MIGRATION {
            fill_lookup_bodies(&tx)?;
        }
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

/// Declares an expression index so that lookups of `path` in `tier` of `kind` records use it
/// instead of scanning (R7.2), and gathers its statistics: without them SQLite's planner
/// prefers walking the primary key in order to sorting what an any-of list finds (R7.4).
pub(crate) fn declare_index(
    conn: &Connection,
    kind: ResourceKind,
    tier: Tier,
    path: &MetadataPath,
) -> Result<(), SqliteError> {
    let name = lookup_index_name(kind, tier, path);
    let sql = format!(
        "CREATE INDEX IF NOT EXISTS \"{name}\" ON records (kind, json_extract({LOOKUP_JSON}, '{}'), key);
         ANALYZE records;",
        json_path(tier, path)
    );
    conn.execute_batch(&sql)?;
    Ok(())
}

/// Schema 3 to 4: writes `lookup_body` for every record that needs one, and declares every
/// lookup index again over [`LOOKUP_JSON`].
fn fill_lookup_bodies(conn: &Connection) -> Result<(), SqliteError> {
    let rows: Vec<(i64, String)> = conn
        .prepare("SELECT rowid, body FROM records WHERE instr(body, '\\u0000') > 0")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = conn.prepare("UPDATE records SET lookup_body = ?1 WHERE rowid = ?2")?;
    for (rowid, body) in rows {
        if let Some(lookup) = lookup_body(&body) {
            update.execute(rusqlite::params![lookup, rowid])?;
        }
    }
    let indexes: Vec<(String, String)> = conn
        .prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'
             AND name LIKE 'lookup\\_%' ESCAPE '\\' AND sql IS NOT NULL",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (name, sql) in indexes {
        let sql = sql.replace(
            "json_extract(body,",
            &format!("json_extract({LOOKUP_JSON},"),
        );
        conn.execute_batch(&format!("DROP INDEX \"{name}\"; {sql};"))?;
    }
    Ok(())
}
