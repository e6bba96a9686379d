//! Every query, as a plain synchronous function of a connection, so the SQL can be tested and
//! measured without an executor.

use crate::error::SqliteError;
use metadata_core::feed::RecordChange;
use metadata_core::{
    Filter, ListQuery, LookupValue, MetadataPath, Record, RecordKey, ResourceKind, Tier, Write,
};
use metadata_store::StoreError;
use metadata_store_sql::prepared::{DeleteTarget, PreparedWrite};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, ErrorCode, OptionalExtension};

/// The SQLite JSON path of `path` inside `tier` of a record body, every label quoted. Paths
/// hold only `A-Z a-z 0-9 _ -`, so the result is safe inside a SQL string literal.
pub(crate) fn json_path(tier: Tier, path: &MetadataPath) -> String {
    let mut out = format!("$.\"{}\"", tier.field_name());
    for segment in path.segments() {
        out.push_str(".\"");
        out.push_str(segment);
        out.push('"');
    }
    out
}

fn version_of(conn: &Connection, key: &RecordKey) -> Result<Option<u64>, SqliteError> {
    Ok(conn
        .prepare_cached("SELECT version FROM records WHERE kind = ?1 AND key = ?2")?
        .query_row(params![key.kind().object_name(), key.storage_key()], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?
        .map(|v| v as u64))
}

/// Runs a delete (one record, or a cascade). With `removed`, the records it removed are parsed
/// into it, for their events; without, they are only counted.
fn delete(
    conn: &Connection,
    target: DeleteTarget<'_>,
    removed: Option<&mut Vec<Record>>,
) -> Result<u64, StoreError> {
    let returning = if removed.is_some() {
        " RETURNING key, body"
    } else {
        ""
    };
    let sql = format!(
        "DELETE FROM records WHERE kind = ?1 AND {} = ?2{returning}",
        target.column
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(SqliteError::from)?;
    let binds = params![target.kind.object_name(), target.value];
    let Some(removed) = removed else {
        return Ok(stmt.execute(binds).map_err(SqliteError::from)? as u64);
    };
    let rows = stmt.query(binds).map_err(SqliteError::from)?;
    for row in rows.mapped(|r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))) {
        let (key, body) = row.map_err(SqliteError::from)?;
        removed.push(parse(target.kind, &key, &body)?);
    }
    Ok(removed.len() as u64)
}

/// Runs one write and adds the events of what it did to `changes`, derived by the core
/// ([`RecordChange::of_write`]) from the records it replaced or removed.
fn run_with_changes(
    conn: &Connection,
    write: &PreparedWrite,
    original: &Write,
    changes: &mut Vec<RecordChange>,
) -> Result<u64, StoreError> {
    let (n, before, text) = match write {
        PreparedWrite::Create(row) => (run(conn, write)?, Vec::new(), Some(row.body.clone())),
        PreparedWrite::Update { key, body, .. } => {
            let before = get(conn, key.kind(), &key.storage_key())?
                .map(|text| parse(key.kind(), &key.storage_key(), &text))
                .transpose()?;
            let n = run(conn, write)?;
            (n, before.into_iter().collect(), Some(body.clone()))
        }
        PreparedWrite::Delete(_) | PreparedWrite::DeleteChildren { .. } => {
            let mut removed = Vec::new();
            if let Some(target) = write.delete_target() {
                delete(conn, target, Some(&mut removed))?;
            }
            (removed.len() as u64, removed, None)
        }
        PreparedWrite::Require(_) => (run(conn, write)?, Vec::new(), None),
    };
    RecordChange::of_write(original, &before, text, changes);
    Ok(n)
}

/// Runs one write.
fn run(conn: &Connection, write: &PreparedWrite) -> Result<u64, StoreError> {
    match write {
        PreparedWrite::Require(key) => match version_of(conn, key)? {
            Some(_) => Ok(1),
            None => Err(StoreError::NotFound { key: key.clone() }),
        },
        PreparedWrite::Create(row) => {
            let (kind, key, version) = row.key_columns();
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO records (kind, key, version, organization_id, user_id, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(SqliteError::from)?
                .execute(params![
                    kind,
                    key,
                    version,
                    row.organization_id,
                    row.user_id,
                    row.body
                ]);
            match inserted {
                Ok(_) => Ok(1),
                Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                    Err(StoreError::AlreadyExists {
                        key: row.key.clone(),
                    })
                }
                Err(e) => Err(SqliteError::from(e).into()),
            }
        }
        PreparedWrite::Update {
            key,
            version,
            expected_version,
            body,
        } => {
            let changed = conn
                .prepare_cached("UPDATE records SET version = ?1, body = ?2 WHERE kind = ?3 AND key = ?4 AND version = ?5")
                .map_err(SqliteError::from)?
                .execute(params![
                    *version as i64,
                    body,
                    key.kind().object_name(),
                    key.storage_key(),
                    *expected_version as i64
                ])
                .map_err(SqliteError::from)?;
            if changed == 1 {
                return Ok(1);
            }
            match version_of(conn, key)? {
                Some(actual) => Err(StoreError::Conflict {
                    key: key.clone(),
                    actual,
                }),
                None => Err(StoreError::NotFound { key: key.clone() }),
            }
        }
        PreparedWrite::Delete(_) | PreparedWrite::DeleteChildren { .. } => {
            match write.delete_target() {
                Some(target) => delete(conn, target, None),
                None => Ok(0),
            }
        }
    }
}

/// Runs `writes` in order inside the caller's transaction; the caller makes them all or none.
/// With a feed, `feed` holds the writes they were prepared from, and their events are added to
/// its list.
pub(crate) fn run_all(
    conn: &Connection,
    writes: &[PreparedWrite],
    feed: Option<(&[Write], &mut Vec<RecordChange>)>,
) -> Result<Vec<u64>, StoreError> {
    match feed {
        None => writes.iter().map(|write| run(conn, write)).collect(),
        Some((originals, changes)) => writes
            .iter()
            .zip(originals)
            .map(|(write, original)| run_with_changes(conn, write, original, changes))
            .collect(),
    }
}

/// `PRAGMA data_version`: it changes when another connection commits to the database.
pub(crate) fn data_version(conn: &Connection) -> Result<i64, SqliteError> {
    Ok(conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?)
}

/// The stored body of one record.
pub(crate) fn get(
    conn: &Connection,
    kind: ResourceKind,
    key: &str,
) -> Result<Option<String>, SqliteError> {
    Ok(conn
        .prepare_cached("SELECT body FROM records WHERE kind = ?1 AND key = ?2")?
        .query_row(params![kind.object_name(), key], |r| r.get(0))
        .optional()?)
}

/// A listing as SQL and its parameters.
#[derive(Debug)]
pub(crate) struct PreparedList {
    sql: String,
    params: Vec<SqlValue>,
}

/// Builds the SQL of a listing. Only the JSON path (checked characters) and constants are
/// written into the text, so that an expression index on the same path matches it.
pub(crate) fn prepare_list(query: &ListQuery) -> PreparedList {
    let mut params: Vec<SqlValue> = vec![
        SqlValue::Text(query.kind.object_name().to_owned()),
        SqlValue::Text(
            query
                .after
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
        ),
        SqlValue::Integer(query.limit as i64 + 1),
    ];
    let condition = match &query.filter {
        Filter::All => String::new(),
        Filter::MetadataEquals { tier, path, value } => {
            let path = json_path(*tier, path);
            let (bound, types) = match value {
                LookupValue::String(s) => (SqlValue::Text(s.clone()), "= 'text'"),
                LookupValue::Integer(i) => (SqlValue::Integer(*i), "IN ('integer', 'real')"),
                LookupValue::Bool(true) => (SqlValue::Integer(1), "= 'true'"),
                LookupValue::Bool(false) => (SqlValue::Integer(0), "= 'false'"),
            };
            params.push(bound);
            format!("AND json_extract(body, '{path}') = ?4 AND json_type(body, '{path}') {types}")
        }
        Filter::MembershipsOfOrganization(o) | Filter::InvitationsOfOrganization(o) => {
            params.push(SqlValue::Text(o.to_string()));
            "AND organization_id = ?4".to_owned()
        }
        Filter::MembershipsOfUser(u) => {
            params.push(SqlValue::Text(u.to_string()));
            "AND user_id = ?4".to_owned()
        }
    };
    PreparedList {
        sql: format!("SELECT key, body FROM records WHERE kind = ?1 AND key > ?2 {condition} ORDER BY key LIMIT ?3"),
        params,
    }
}

/// Runs a listing: `(storage key, body)` of up to `limit + 1` records.
pub(crate) fn list(
    conn: &Connection,
    query: &PreparedList,
) -> Result<Vec<(String, String)>, SqliteError> {
    let mut stmt = conn.prepare_cached(&query.sql)?;
    let rows = stmt.query_map(params_from_iter(query.params.iter()), |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Parses a stored body.
pub(crate) fn parse(kind: ResourceKind, key: &str, body: &str) -> Result<Record, SqliteError> {
    Record::from_json(kind, body.as_bytes()).map_err(|source| SqliteError::BadRecord {
        key: key.to_owned(),
        source,
    })
}

/// The query plan of a listing.
pub(crate) fn explain(conn: &Connection, query: &PreparedList) -> Result<Vec<String>, SqliteError> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", query.sql))?;
    let rows = stmt.query_map(params_from_iter(query.params.iter()), |r| {
        r.get::<_, String>(3)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
