//! The change feed's tables and statements. Events are inserted by the same transaction (and
//! savepoint, inside a group commit) as the records they describe, each at the position after
//! the last one (or after the prune mark when every event was pruned): positions follow commit
//! order because writes are serialized, have no gap because a rolled-back insert gives its
//! number back, and are never reused because the prune mark only grows. (`AUTOINCREMENT` would
//! do the same at the cost of one more page written per commit.)

use crate::error::SqliteError;
use metadata_core::feed::{Actor, ChangeEvent, Operation, RecordChange, Stamp};
use metadata_core::{Millis, ResourceKind};
use metadata_store::feed::{FeedError, FeedStats, RetentionSchedule};
use rusqlite::{params, Connection, OptionalExtension};

/// Schema 2: the events, the consumers' cursors, and how far the events were pruned.
pub(crate) const SCHEMA: &str = "CREATE TABLE changes (
        position INTEGER PRIMARY KEY,
        commit_id INTEGER NOT NULL,
        committed_at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        operation TEXT NOT NULL,
        version INTEGER NOT NULL,
        previous_version INTEGER,
        tiers TEXT NOT NULL,
        record TEXT
    );
    CREATE TABLE change_cursors (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
    CREATE TABLE change_feed (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        pruned_through INTEGER NOT NULL
    );
    INSERT INTO change_feed (id, pruned_through) VALUES (1, 0);";

/// Inserts the events of one commit made at `at`, inside its transaction; they share the first
/// one's position as commit id. Returns the last position, if any event was written.
pub(crate) fn insert(
    conn: &Connection,
    changes: &[RecordChange],
    stamp: &Stamp,
    retention: &RetentionSchedule,
) -> Result<Option<u64>, SqliteError> {
    insert_with_texts(
        conn,
        changes.iter().map(|c| (c, c.record.as_deref())),
        stamp,
        retention,
    )
}

/// [`insert`] with each event's record text given beside it (a writer that holds the text it
/// just wrote need not copy it into the change). When `retention` says this commit prunes,
/// the pruning step runs here too, in the same transaction.
pub(crate) fn insert_with_texts<'a>(
    conn: &Connection,
    changes: impl IntoIterator<Item = (&'a RecordChange, Option<&'a str>)>,
    stamp: &Stamp,
    retention: &RetentionSchedule,
) -> Result<Option<u64>, SqliteError> {
    let at = stamp.at;
    let actor = stamp.actor_json();
    let mut changes = changes.into_iter().peekable();
    if changes.peek().is_none() {
        return Ok(None);
    }
    // Inside the write transaction: no other writer can take the positions after the head.
    let first = head(conn)? as i64 + 1;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO changes (position, commit_id, committed_at, kind, key, operation, version,
             previous_version, tiers, record, actor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut position = first;
    for (c, text) in changes {
        stmt.execute(params![
            position,
            first,
            at,
            c.kind.object_name(),
            c.id,
            c.operation.as_str(),
            c.version as i64,
            c.previous_version.map(|v| v as i64),
            c.tiers_text(),
            text,
            actor,
        ])?;
        position += 1;
    }
    if let Some(step) = retention.after_commit(at, (position - first) as usize) {
        let pruned = prune(conn, step.committed_before, step.max_events)?;
        metrics::counter!("metadata_feed_retention_pruned_total").increment(pruned);
    }
    Ok(Some(position as u64 - 1))
}

fn bad(what: &str) -> SqliteError {
    SqliteError::Sqlite(rusqlite::Error::InvalidColumnName(what.to_owned()))
}

fn event(row: &rusqlite::Row<'_>) -> rusqlite::Result<(ChangeEvent, String, String)> {
    let kind: String = row.get(3)?;
    let operation: String = row.get(5)?;
    let tiers: String = row.get(8)?;
    Ok((
        ChangeEvent {
            position: row.get::<_, i64>(0)? as u64,
            commit_id: row.get::<_, i64>(1)? as u64,
            committed_at: row.get(2)?,
            change: RecordChange {
                kind: ResourceKind::User, // set from `kind` below
                id: row.get(4)?,
                operation: Operation::Created,
                version: row.get::<_, i64>(6)? as u64,
                previous_version: row.get::<_, Option<i64>>(7)?.map(|v| v as u64),
                tiers: RecordChange::parse_tiers(&tiers),
                record: row.get(9)?,
                actor: row
                    .get::<_, Option<String>>(10)?
                    .and_then(|text| Actor::from_json(&text)),
            },
        },
        kind,
        operation,
    ))
}

/// Where the events were pruned through.
fn pruned_through(conn: &Connection) -> Result<u64, SqliteError> {
    Ok(conn
        .prepare_cached("SELECT pruned_through FROM change_feed WHERE id = 1")?
        .query_row([], |r| r.get::<_, i64>(0))? as u64)
}

/// The last position ever given (0 before the first event).
pub(crate) fn head(conn: &Connection) -> Result<u64, SqliteError> {
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(max(position),
                 (SELECT pruned_through FROM change_feed WHERE id = 1)) FROM changes",
        )?
        .query_row([], |r| r.get::<_, i64>(0))? as u64)
}

/// The events after `after`, read in one transaction with the prune mark.
pub(crate) fn read(
    conn: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<ChangeEvent>, FeedError> {
    let tx = conn.unchecked_transaction().map_err(SqliteError::from)?;
    let pruned = pruned_through(&tx)?;
    if after < pruned {
        return Err(FeedError::CursorExpired {
            after,
            pruned_through: pruned,
        });
    }
    let mut stmt = tx
        .prepare_cached(
            "SELECT position, commit_id, committed_at, kind, key, operation, version,
                 previous_version, tiers, record, actor
             FROM changes WHERE position > ?1 ORDER BY position LIMIT ?2",
        )
        .map_err(SqliteError::from)?;
    let rows = stmt
        .query_map(params![after as i64, limit as i64], event)
        .map_err(SqliteError::from)?;
    let mut events = Vec::new();
    for row in rows {
        let (mut e, kind, operation) = row.map_err(SqliteError::from)?;
        e.change.kind = ResourceKind::from_object_name(&kind).ok_or_else(|| bad(&kind))?;
        e.change.operation = Operation::parse(&operation).ok_or_else(|| bad(&operation))?;
        events.push(e);
    }
    Ok(events)
}

/// Where the named cursor is.
pub(crate) fn cursor(conn: &Connection, name: &str) -> Result<Option<u64>, FeedError> {
    Ok(conn
        .prepare_cached("SELECT position FROM change_cursors WHERE name = ?1")
        .map_err(SqliteError::from)?
        .query_row([name], |r| r.get::<_, i64>(0))
        .optional()
        .map_err(SqliteError::from)?
        .map(|p| p as u64))
}

/// Moves the named cursor from `expected` to `to` inside the caller's transaction on `conn`,
/// or fails with [`FeedError::CursorMoved`] and changes nothing. Use it on a connection of
/// your own to the store's file, in the transaction that records what you did with the
/// events, and the cursor moves if and only if your work commits: exactly-once effects.
///
/// ```
/// use metadata_store_sqlite::advance_cursor_in;
/// # let dir = std::env::temp_dir().join(format!("metadata-cursor-doc-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let path = dir.join("doc.db");
/// # drop(metadata_store_sqlite::SqliteStore::open_file(&path).unwrap());
/// let mut own = rusqlite::Connection::open(&path).unwrap();
/// own.execute_batch("CREATE TABLE IF NOT EXISTS search_index (id TEXT PRIMARY KEY)").unwrap();
/// let tx = own.transaction().unwrap();
/// tx.execute("INSERT INTO search_index (id) VALUES ('user_1')", []).unwrap();
/// advance_cursor_in(&tx, "indexer", None, 1).unwrap();
/// tx.commit().unwrap(); // the index row and the cursor, together
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn advance_cursor_in(
    conn: &Connection,
    name: &str,
    expected: Option<u64>,
    to: u64,
) -> Result<(), FeedError> {
    let changed = match expected {
        None => conn
            .prepare_cached(
                "INSERT INTO change_cursors (name, position) VALUES (?1, ?2)
                 ON CONFLICT (name) DO NOTHING",
            )
            .map_err(SqliteError::from)?
            .execute(params![name, to as i64]),
        Some(from) => conn
            .prepare_cached(
                "UPDATE change_cursors SET position = ?3 WHERE name = ?1 AND position = ?2",
            )
            .map_err(SqliteError::from)?
            .execute(params![name, from as i64, to as i64]),
    }
    .map_err(SqliteError::from)?;
    if changed == 1 {
        return Ok(());
    }
    Err(FeedError::CursorMoved {
        name: name.to_owned(),
        expected,
        actual: cursor(conn, name)?,
    })
}

pub(crate) fn remove_cursor(conn: &Connection, name: &str) -> Result<bool, FeedError> {
    Ok(conn
        .prepare_cached("DELETE FROM change_cursors WHERE name = ?1")
        .map_err(SqliteError::from)?
        .execute([name])
        .map_err(SqliteError::from)?
        == 1)
}

/// Where the feed stands, read in one transaction.
pub(crate) fn stats(conn: &Connection) -> Result<FeedStats, FeedError> {
    let read = || -> Result<FeedStats, SqliteError> {
        let tx = conn.unchecked_transaction()?;
        let mut cursors = Vec::new();
        let mut stmt =
            tx.prepare_cached("SELECT name, position FROM change_cursors ORDER BY name")?;
        for row in stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })? {
            cursors.push(row?);
        }
        drop(stmt);
        let stats = FeedStats {
            head: head(&tx)?,
            pruned_through: pruned_through(&tx)?,
            cursors,
        };
        tx.finish()?;
        Ok(stats)
    };
    Ok(read()?)
}

/// Deletes one batch of the oldest events: committed before `committed_before`, at or below
/// every cursor, with no hole left behind; moves the prune mark past them.
pub(crate) fn prune(
    conn: &Connection,
    committed_before: Millis,
    max_events: usize,
) -> Result<u64, SqliteError> {
    let _span =
        tracing::debug_span!("metadata.sqlite.prune", committed_before, max_events).entered();
    let from = pruned_through(conn)?;
    let lowest: Option<i64> =
        conn.query_row("SELECT min(position) FROM change_cursors", [], |r| r.get(0))?;
    let ceiling = (from as i64).saturating_add(max_events.min(i64::MAX as usize) as i64);
    let ceiling = lowest.map_or(ceiling, |l| ceiling.min(l));
    // The first event too young to go bounds the batch, so the pruned events are a prefix.
    let young: Option<i64> = conn
        .query_row(
            "SELECT position FROM changes WHERE position > ?1 AND position <= ?2
                 AND committed_at >= ?3 ORDER BY position LIMIT 1",
            params![from as i64, ceiling, committed_before],
            |r| r.get(0),
        )
        .optional()?;
    let through = young.map_or(ceiling, |y| ceiling.min(y - 1));
    let last: Option<i64> = conn
        .query_row(
            "SELECT position FROM changes WHERE position > ?1 AND position <= ?2
                 ORDER BY position DESC LIMIT 1",
            params![from as i64, through],
            |r| r.get(0),
        )
        .optional()?;
    let Some(last) = last else {
        return Ok(0);
    };
    let deleted = conn.execute(
        "DELETE FROM changes WHERE position > ?1 AND position <= ?2",
        params![from as i64, last],
    )?;
    conn.execute(
        "UPDATE change_feed SET pruned_through = ?1 WHERE id = 1",
        [last],
    )?;
    Ok(deleted as u64)
}
