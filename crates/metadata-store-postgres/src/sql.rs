//! Every statement of the store, as plain async functions of a client or transaction.

use crate::error::{commit_definitely_failed, pg, PostgresError};
use deadpool_postgres::{GenericClient, Object};
use metadata_core::feed::{RecordChange, Stamp};
use metadata_core::{
    Filter, ListQuery, MetadataPath, Record, RecordKey, ResourceKind, Tier, Write,
};
use metadata_store::StoreError;
use metadata_store_sql::prepared::{
    lookup_index_name, order_clauses, Bound, DeleteTarget, NewRow, PreparedWrite,
};
use tokio_postgres::types::ToSql;

/// The `#>` path of `path` inside `tier` of a record's lookup projection, as a SQL literal.
/// Paths hold only `A-Z a-z 0-9 _ -`, so the result is safe inside the statement text; the
/// projection holds no arrays, so every segment names an object key (R7.3).
pub(crate) fn json_path(tier: Tier, path: &MetadataPath) -> String {
    let mut out = format!("'{{{}", tier.field_name());
    for segment in path.segments() {
        out.push(',');
        out.push_str(segment);
    }
    out.push_str("}'");
    out
}

/// Declares an expression index for lookups of `path` in `tier` of `kind` records (R7.2).
pub(crate) async fn declare_index<C: GenericClient>(
    client: &C,
    kind: ResourceKind,
    tier: Tier,
    path: &MetadataPath,
) -> Result<(), PostgresError> {
    let sql = format!(
        "CREATE INDEX IF NOT EXISTS \"{}\" ON records (kind, (lookup #> {}), key)",
        lookup_index_name(kind, tier, path),
        json_path(tier, path)
    );
    client.batch_execute(&sql).await?;
    Ok(())
}

async fn version_of<C: GenericClient>(
    tx: &C,
    key: &RecordKey,
    lock: bool,
) -> Result<Option<i64>, StoreError> {
    let sql = if lock {
        "SELECT version FROM records WHERE kind = $1 AND key = $2 FOR SHARE"
    } else {
        "SELECT version FROM records WHERE kind = $1 AND key = $2"
    };
    let stmt = tx.prepare_cached(sql).await.map_err(pg)?;
    let row = tx
        .query_opt(&stmt, &[&key.kind().object_name(), &key.storage_key()])
        .await
        .map_err(pg)?;
    Ok(row.map(|r| r.get(0)))
}

/// A write with its record's lookup projection, for the writes that store a record.
#[derive(Debug)]
pub(crate) struct PgWrite {
    pub(crate) write: PreparedWrite,
    pub(crate) lookup: Option<String>,
    /// The write it was prepared from, for its events (only when the store keeps a feed).
    pub(crate) original: Option<Write>,
}

/// Serializes `writes` and projects the records they store; with `feed`, keeps a copy of each
/// write for its events.
pub(crate) fn prepare(writes: &[Write], feed: bool) -> Vec<PgWrite> {
    metadata_store_sql::prepared::prepare(writes)
        .into_iter()
        .zip(writes)
        .map(|(write, w)| {
            let record = match w {
                Write::Create(record) | Write::Update { record, .. } => Some(record),
                _ => None,
            };
            PgWrite {
                write,
                lookup: record.map(crate::lookup::projection),
                original: feed.then(|| w.clone()),
            }
        })
        .collect()
}

/// The parameters `$1` to `$7` of a row's `INSERT` (kind, key, version, organization, user,
/// body, lookup projection), as every statement that inserts a record binds them.
pub(crate) fn insert_params<'a>(
    columns: &'a (&'static str, String, i64),
    row: &'a NewRow,
    lookup: &'a Option<String>,
) -> [&'a (dyn ToSql + Sync); 9] {
    let (kind, key, version) = columns;
    [
        kind,
        key,
        version,
        &row.organization_id,
        &row.user_id,
        &row.body,
        lookup,
        &row.created_at,
        &row.updated_at,
    ]
}

/// Runs a delete (one record, or a cascade). With `removed`, the records it removed are parsed
/// into it, for their events; without, they are only counted.
async fn delete<C: GenericClient>(
    tx: &C,
    target: DeleteTarget<'_>,
    removed: Option<&mut Vec<Record>>,
) -> Result<u64, StoreError> {
    let returning = if removed.is_some() {
        " RETURNING key, body"
    } else {
        ""
    };
    let sql = format!(
        "DELETE FROM records WHERE kind = $1 AND {} = $2{returning}",
        target.column
    );
    let stmt = tx.prepare_cached(&sql).await.map_err(pg)?;
    let binds: [&(dyn ToSql + Sync); 2] = [&target.kind.object_name(), &target.value];
    let Some(removed) = removed else {
        return tx.execute(&stmt, &binds).await.map_err(pg);
    };
    for row in tx.query(&stmt, &binds).await.map_err(pg)? {
        removed.push(parse(target.kind, row.get(0), row.get(1))?);
    }
    Ok(removed.len() as u64)
}

/// Runs one write inside a transaction, adding the events of what it did to `changes`,
/// derived by the core ([`RecordChange::of_write`]) from the records it replaced or removed.
async fn run_with_changes<C: GenericClient>(
    tx: &C,
    pg_write: &PgWrite,
    changes: &mut Vec<RecordChange>,
) -> Result<u64, StoreError> {
    let (n, before, text) = match &pg_write.write {
        PreparedWrite::Create(row) => {
            (run(tx, pg_write).await?, Vec::new(), Some(row.body.clone()))
        }
        PreparedWrite::Update { key, body, .. } => {
            let stmt = tx
                .prepare_cached("SELECT body FROM records WHERE kind = $1 AND key = $2 FOR UPDATE")
                .await
                .map_err(pg)?;
            let storage_key = key.storage_key();
            let before = tx
                .query_opt(&stmt, &[&key.kind().object_name(), &storage_key])
                .await
                .map_err(pg)?
                .map(|row| parse(key.kind(), &storage_key, row.get(0)))
                .transpose()?;
            let n = run(tx, pg_write).await?;
            (n, before.into_iter().collect(), Some(body.clone()))
        }
        PreparedWrite::Delete(_) | PreparedWrite::DeleteChildren { .. } => {
            let mut removed = Vec::new();
            if let Some(target) = pg_write.write.delete_target() {
                delete(tx, target, Some(&mut removed)).await?;
            }
            (removed.len() as u64, removed, None)
        }
        PreparedWrite::Require(_) => (run(tx, pg_write).await?, Vec::new(), None),
    };
    if let Some(original) = &pg_write.original {
        RecordChange::of_write(original, &before, text, changes);
    }
    Ok(n)
}

pub(crate) async fn run<C: GenericClient>(tx: &C, pg_write: &PgWrite) -> Result<u64, StoreError> {
    let lookup = &pg_write.lookup;
    match &pg_write.write {
        // FOR SHARE holds the row until commit, so a concurrent delete cannot orphan what this
        // commit creates beside it.
        PreparedWrite::Require(key) => match version_of(tx, key, true).await? {
            Some(_) => Ok(1),
            None => Err(StoreError::NotFound { key: key.clone() }),
        },
        PreparedWrite::Create(row) => {
            let columns = row.key_columns();
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO records
                     (kind, key, version, organization_id, user_id, body, lookup, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9)
                     ON CONFLICT (kind, key) DO NOTHING",
                )
                .await
                .map_err(pg)?;
            let inserted = tx
                .execute(&stmt, &insert_params(&columns, row, lookup))
                .await
                .map_err(pg)?;
            if inserted == 1 {
                Ok(1)
            } else {
                Err(StoreError::AlreadyExists {
                    key: row.key.clone(),
                })
            }
        }
        PreparedWrite::Update {
            key,
            version,
            expected_version,
            body,
            updated_at,
        } => {
            let stmt = tx
                .prepare_cached(
                    "UPDATE records SET version = $1, body = $2, lookup = $6::text::jsonb,
                         updated_at = $7
                     WHERE kind = $3 AND key = $4 AND version = $5",
                )
                .await
                .map_err(pg)?;
            let params: [&(dyn ToSql + Sync); 7] = [
                &(*version as i64),
                body,
                &key.kind().object_name(),
                &key.storage_key(),
                &(*expected_version as i64),
                lookup,
                updated_at,
            ];
            if tx.execute(&stmt, &params).await.map_err(pg)? == 1 {
                return Ok(1);
            }
            match version_of(tx, key, false).await? {
                Some(actual) => Err(StoreError::Conflict {
                    key: key.clone(),
                    actual: actual as u64,
                }),
                None => Err(StoreError::NotFound { key: key.clone() }),
            }
        }
        PreparedWrite::Delete(_) | PreparedWrite::DeleteChildren { .. } => {
            match pg_write.write.delete_target() {
                Some(target) => delete(tx, target, None).await,
                None => Ok(0),
            }
        }
    }
}

/// Runs `writes` in one transaction. An error before COMMIT means nothing was written; an error
/// answering COMMIT that does not say so for certain is [`StoreError::OutcomeUnknown`].
///
/// With `feed`, the events of the writes are inserted in the same transaction; the answer says
/// whether there were any.
pub(crate) async fn commit(
    client: &mut Object,
    writes: &[PgWrite],
    feed: bool,
    stamp: &Stamp,
) -> Result<(Vec<u64>, bool), Failure> {
    let tx = client.transaction().await.map_err(Failure::Begin)?;
    let mut counts = Vec::with_capacity(writes.len());
    let mut changes = Vec::new();
    for write in writes {
        let count = match feed {
            true => run_with_changes(&tx, write, &mut changes).await,
            false => run(&tx, write).await,
        };
        counts.push(count.map_err(Failure::Store)?);
    }
    let any = !changes.is_empty();
    crate::feed::insert(&tx, &crate::feed::Columns::of(changes), stamp)
        .await
        .map_err(Failure::Store)?;
    match tx.commit().await {
        Ok(()) => Ok((counts, any)),
        Err(e) if commit_definitely_failed(&e) => Err(Failure::Store(pg(e))),
        Err(e) => Err(Failure::Store(StoreError::OutcomeUnknown {
            store: "postgres",
            source: Box::new(PostgresError::Postgres(e)),
        })),
    }
}

/// How a commit failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Nothing was committed: the transaction could not begin, or the server refused a
    /// single-statement write. Another connection may try again if the error is retryable (a
    /// pooled connection the server closed while it sat idle fails here).
    Begin(tokio_postgres::Error),
    /// Anything after BEGIN.
    Store(StoreError),
}

/// The stored body of one record and its row version (`xmin`).
pub(crate) async fn get(
    client: &Object,
    kind: ResourceKind,
    key: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let stmt = client
        .prepare_cached("SELECT body, xmin::text FROM records WHERE kind = $1 AND key = $2")
        .await
        .map_err(pg)?;
    let row = client
        .query_opt(&stmt, &[&kind.object_name(), &key])
        .await
        .map_err(pg)?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// Like [`get`] for a record the store remembers at row version `known`: the body is sent only
/// if the row has moved on from it (`None` in the pair when it has not), so a record read again
/// unchanged costs no transfer and no parse.
pub(crate) async fn get_unless(
    client: &Object,
    kind: ResourceKind,
    key: &str,
    known: &str,
) -> Result<Option<(Option<String>, String)>, StoreError> {
    let stmt = client
        .prepare_cached(
            "SELECT CASE WHEN xmin::text = $3 THEN NULL ELSE body END, xmin::text \
             FROM records WHERE kind = $1 AND key = $2",
        )
        .await
        .map_err(pg)?;
    let row = client
        .query_opt(&stmt, &[&kind.object_name(), &key, &known])
        .await
        .map_err(pg)?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// A parameter of a listing or a count.
#[derive(Debug)]
enum Param {
    Text(String),
    Int(i64),
}

/// A listing as SQL text and its parameters.
#[derive(Debug)]
pub(crate) struct PreparedList {
    pub(crate) sql: String,
    params: Vec<Param>,
}

impl PreparedList {
    /// The statement's parameters, in order.
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| match p {
                Param::Text(t) => t as &(dyn ToSql + Sync),
                Param::Int(i) => i as &(dyn ToSql + Sync),
            })
            .collect()
    }

    /// Binds `param` and answers its placeholder.
    fn bind(&mut self, param: Param) -> String {
        self.params.push(param);
        format!("${}", self.params.len())
    }
}

/// The condition `filter` adds to a listing or a count (empty for every record), binding its
/// parameter. Only constants and the checked JSON path are in the text, so an expression index
/// on the same path matches it.
fn filter_condition(filter: &Filter, list: &mut PreparedList) -> String {
    match filter {
        Filter::All => String::new(),
        Filter::MetadataEquals { tier, path, value } => clause_condition(
            *tier,
            path,
            &metadata_core::Condition::Equals(value.clone()),
            list,
        ),
        Filter::Metadata(clauses) => clauses
            .iter()
            .map(|c| clause_condition(c.tier, &c.path, &c.condition, list))
            .collect(),
        Filter::MembershipsOfOrganization(o) | Filter::InvitationsOfOrganization(o) => {
            format!(
                " AND organization_id = {}",
                list.bind(Param::Text(o.to_string()))
            )
        }
        Filter::MembershipsOfUser(u) => {
            format!(" AND user_id = {}", list.bind(Param::Text(u.to_string())))
        }
    }
}

/// ` AND ...` for one condition on `path` of `tier` (R7.4), over `lookup #> path`, the
/// expression a declared index holds: equality, any-of, existence and ranges read the index
/// (`jsonb` orders every number after every string and before every boolean); a prefix is
/// tested on the rows the rest selects.
fn clause_condition(
    tier: Tier,
    path: &MetadataPath,
    condition: &metadata_core::Condition,
    list: &mut PreparedList,
) -> String {
    use crate::lookup::{escape_nul, lookup_number, lookup_value, NUL_KEY};
    use metadata_core::Condition;
    let x = format!("(lookup #> {})", json_path(tier, path));
    match condition {
        Condition::Equals(v) => {
            let at = list.bind(Param::Text(lookup_value(v)));
            format!(" AND {x} = {at}::text::jsonb")
        }
        Condition::AnyOf(values) => {
            let each: Vec<String> = values
                .iter()
                .map(|v| format!("{}::text::jsonb", list.bind(Param::Text(lookup_value(v)))))
                .collect();
            format!(" AND {x} IN ({})", each.join(", "))
        }
        Condition::Exists => format!(" AND {x} IS NOT NULL"),
        Condition::Missing => format!(" AND {x} IS NULL"),
        Condition::Range { lower, upper } => {
            let mut out = String::new();
            for (bound, ops) in [(lower, (">=", ">")), (upper, ("<=", "<"))] {
                if let Some(b) = bound {
                    let at = list.bind(Param::Text(lookup_number(b.value)));
                    let op = if b.inclusive { ops.0 } else { ops.1 };
                    out.push_str(&format!(" AND {x} {op} {at}::text::jsonb"));
                }
            }
            if upper.is_none() {
                out.push_str(&format!(" AND {x} < 'false'::jsonb"));
            }
            out.push_str(&format!(" AND jsonb_typeof({x}) = 'number'"));
            out
        }
        Condition::Prefix(prefix) => {
            let escaped = list.bind(Param::Text(escape_nul(prefix)));
            let nul = format!("starts_with({x} ->> '{NUL_KEY}', {escaped})");
            if prefix.contains('\0') {
                return format!(" AND {nul}");
            }
            let at = list.bind(Param::Text(prefix.clone()));
            format!(
                " AND ((jsonb_typeof({x}) = 'string' AND starts_with({x} #>> '{{}}', {at})) OR {nul})"
            )
        }
    }
}

/// Builds the SQL of a listing: its filter, then the records past its cursor in its order
/// (R7.5: by the order's column and the key, both in the order's direction, so the indexes on
/// `(kind, created_at, key)` and `(kind, updated_at, key)` serve it).
pub(crate) fn prepare_list(query: &ListQuery) -> Result<PreparedList, StoreError> {
    let start = query.start().map_err(StoreError::Query)?;
    let mut list = PreparedList {
        sql: String::new(),
        params: Vec::new(),
    };
    let kind = list.bind(Param::Text(query.kind.object_name().to_owned()));
    let condition = filter_condition(&query.filter, &mut list);
    let (cursor, order) = order_clauses(query.order, start, &mut |b| {
        list.bind(match b {
            Bound::Int(i) => Param::Int(i),
            Bound::Text(t) => Param::Text(t),
        })
    });
    let limit = list.bind(Param::Int(query.limit as i64 + 1));
    let offset = match query.offset {
        0 => String::new(),
        n => format!(" OFFSET {}", list.bind(Param::Int(n as i64))),
    };
    list.sql = format!(
        "SELECT key, body FROM records WHERE kind = {kind}{condition}{cursor} ORDER BY {order} LIMIT {limit}{offset}"
    );
    Ok(list)
}

/// How many records of `kind` `filter` selects, counted by the server from an index.
pub(crate) async fn count(
    client: &Object,
    kind: ResourceKind,
    filter: &Filter,
) -> Result<u64, StoreError> {
    let mut list = PreparedList {
        sql: String::new(),
        params: Vec::new(),
    };
    let at = list.bind(Param::Text(kind.object_name().to_owned()));
    let condition = filter_condition(filter, &mut list);
    let sql = format!("SELECT count(*) FROM records WHERE kind = {at}{condition}");
    let stmt = client.prepare_cached(&sql).await.map_err(pg)?;
    let n: i64 = client
        .query_one(&stmt, &list.params())
        .await
        .map_err(pg)?
        .get(0);
    Ok(n as u64)
}

/// Runs a listing: `(storage key, body)` of up to `limit + 1` records.
pub(crate) async fn list(
    client: &Object,
    query: &PreparedList,
) -> Result<Vec<(String, String)>, StoreError> {
    let stmt = client.prepare_cached(&query.sql).await.map_err(pg)?;
    let rows = client.query(&stmt, &query.params()).await.map_err(pg)?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The query plan PostgreSQL chooses for a listing.
pub(crate) async fn explain(
    client: &Object,
    query: &PreparedList,
) -> Result<Vec<String>, StoreError> {
    let sql = format!("EXPLAIN {}", query.sql);
    let rows = client.query(&sql, &query.params()).await.map_err(pg)?;
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}

/// Parses a stored body.
pub(crate) fn parse(kind: ResourceKind, key: &str, body: &str) -> Result<Record, StoreError> {
    Record::from_json(kind, body.as_bytes()).map_err(|source| {
        PostgresError::BadRecord {
            key: key.to_owned(),
            source,
        }
        .into()
    })
}
