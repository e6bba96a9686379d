//! Every query, as a plain synchronous function of a connection, so the SQL can be tested and
//! measured without an executor.

use crate::error::SqliteError;
use metadata_core::feed::RecordChange;
use metadata_core::{
    Filter, ListQuery, MetadataPath, Record, RecordKey, ResourceKind, Tier, Write,
};
use metadata_store::StoreError;
use metadata_store_sql::prepared::{order_clauses, Bound, DeleteTarget, PreparedWrite};
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
                    "INSERT INTO records
                     (kind, key, version, organization_id, user_id, body, created_at, updated_at,
                      lookup_body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(SqliteError::from)?
                .execute(params![
                    kind,
                    key,
                    version,
                    row.organization_id,
                    row.user_id,
                    row.body,
                    row.created_at,
                    row.updated_at,
                    crate::lookup::lookup_body(&row.body)
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
            updated_at,
        } => {
            let changed = conn
                .prepare_cached(
                    "UPDATE records SET version = ?1, body = ?2, updated_at = ?6, lookup_body = ?7
                     WHERE kind = ?3 AND key = ?4 AND version = ?5",
                )
                .map_err(SqliteError::from)?
                .execute(params![
                    *version as i64,
                    body,
                    key.kind().object_name(),
                    key.storage_key(),
                    *expected_version as i64,
                    updated_at,
                    crate::lookup::lookup_body(body)
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

/// SQL text with its parameters numbered as they are bound.
#[derive(Default)]
pub(crate) struct Binds(Vec<SqlValue>);

impl Binds {
    /// Binds `value` and answers its placeholder.
    pub(crate) fn bind(&mut self, value: SqlValue) -> String {
        self.0.push(value);
        format!("?{}", self.0.len())
    }
}

/// The condition `filter` adds to a listing or a count (empty for every record), binding its
/// parameters. Only the JSON path (checked characters) and constants are written into the
/// text, so that an expression index on the same path matches it.
fn filter_condition(filter: &Filter, binds: &mut Binds) -> String {
    match filter {
        Filter::All => String::new(),
        Filter::MetadataEquals { tier, path, value } => crate::lookup::clause_condition(
            *tier,
            path,
            &metadata_core::Condition::Equals(value.clone()),
            binds,
        ),
        Filter::Metadata(clauses) => crate::lookup::clauses_condition(clauses, binds),
        Filter::MembershipsOfOrganization(o) | Filter::InvitationsOfOrganization(o) => {
            format!(
                " AND organization_id = {}",
                binds.bind(SqlValue::Text(o.to_string()))
            )
        }
        Filter::MembershipsOfUser(u) => {
            format!(
                " AND user_id = {}",
                binds.bind(SqlValue::Text(u.to_string()))
            )
        }
    }
}

/// Builds the SQL of a listing: its filter, then the records past its cursor in its order
/// (R7.5: by the order's column and the key, both in the order's direction, so the indexes
/// on `(kind, created_at, key)` and `(kind, updated_at, key)` serve it).
pub(crate) fn prepare_list(query: &ListQuery) -> Result<PreparedList, StoreError> {
    let start = query.start().map_err(StoreError::Query)?;
    let mut binds = Binds::default();
    let kind = binds.bind(SqlValue::Text(query.kind.object_name().to_owned()));
    let condition = filter_condition(&query.filter, &mut binds);
    let (cursor, order) = order_clauses(query.order, start, &mut |b| {
        binds.bind(match b {
            Bound::Int(i) => SqlValue::Integer(i),
            Bound::Text(t) => SqlValue::Text(t),
        })
    });
    let limit = binds.bind(SqlValue::Integer(query.limit as i64 + 1));
    let offset = match query.offset {
        0 => String::new(),
        n => format!(" OFFSET {}", binds.bind(SqlValue::Integer(n as i64))),
    };
    Ok(PreparedList {
        sql: format!(
            "SELECT key, body FROM records WHERE kind = {kind}{condition}{cursor} ORDER BY {order} LIMIT {limit}{offset}"
        ),
        params: binds.0,
    })
}

/// How many records of `kind` `filter` selects: every record's count from the counts the
/// schema's triggers keep, a filter's from its index.
pub(crate) fn count(
    conn: &Connection,
    kind: ResourceKind,
    filter: &Filter,
) -> Result<u64, SqliteError> {
    if *filter == Filter::All {
        let n: Option<i64> = conn
            .prepare_cached("SELECT n FROM record_counts WHERE kind = ?1")?
            .query_row(params![kind.object_name()], |r| r.get(0))
            .optional()?;
        return Ok(n.unwrap_or(0).max(0) as u64);
    }
    let mut binds = Binds::default();
    let at = binds.bind(SqlValue::Text(kind.object_name().to_owned()));
    let condition = filter_condition(filter, &mut binds);
    let sql = format!("SELECT count(*) FROM records WHERE kind = {at}{condition}");
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(binds.0.iter()), |r| r.get(0))?;
    Ok(n as u64)
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
