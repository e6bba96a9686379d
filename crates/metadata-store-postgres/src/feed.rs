//! The change feed on PostgreSQL.
//!
//! A write inserts its event into the heap and one small partial index only (the index of
//! events still without a position).
//!
//! Sequence values commit out of order, so an event gets no position when it is written: it
//! carries its transaction id and an insertion number (`seq`), and positions are given later,
//! to committed events only, by one sequencing statement at a time (an advisory lock, then a
//! statement whose snapshot is taken after the lock). A transaction that commits late gets
//! positions after every event sequenced before it: nothing is skipped, and nothing waits on a
//! guess that a gap is a rollback. Within one sequencing, transactions are ordered by their
//! last insertion number: a writer that updated a row after another's commit inserted its
//! event after that commit too, so per record, events keep version order.

use crate::error::{pg, PostgresError};
use deadpool_postgres::GenericClient;
use metadata_core::feed::{Actor, ChangeEvent, Operation, RecordChange, Stamp};
use metadata_core::{Millis, ResourceKind};
use metadata_store::feed::{FeedError, FeedStats};
use metadata_store::StoreError;
use tracing::Instrument;

/// Schema 3: the events, the consumers' cursors, and the feed's head and prune mark.
pub(crate) const SCHEMA_3: &str = "CREATE TABLE metadata_changes (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        position bigint,
        xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        committed_at bigint NOT NULL,
        kind text NOT NULL,
        key text NOT NULL,
        operation text NOT NULL,
        version bigint NOT NULL,
        previous_version bigint,
        tiers text NOT NULL,
        record text
    );
    CREATE UNIQUE INDEX metadata_changes_by_position ON metadata_changes (position)
        WHERE position IS NOT NULL;
    CREATE INDEX metadata_changes_unsequenced ON metadata_changes (seq) WHERE position IS NULL;
    CREATE TABLE metadata_change_cursors (name text COLLATE \"C\" PRIMARY KEY, position bigint NOT NULL);
    CREATE TABLE metadata_change_feed (
        id integer PRIMARY KEY CHECK (id = 1),
        head bigint NOT NULL,
        pruned_through bigint NOT NULL
    );
    INSERT INTO metadata_change_feed (id, head, pruned_through) VALUES (1, 0, 0);";

/// The advisory lock that serializes sequencing.
const SEQUENCER_LOCK: i64 = 726_172_612;

/// The columns of a batch of events, for one `INSERT ... SELECT FROM unnest(...)`.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    kinds: Vec<&'static str>,
    keys: Vec<String>,
    operations: Vec<&'static str>,
    versions: Vec<i64>,
    previous: Vec<Option<i64>>,
    tiers: Vec<String>,
    records: Vec<Option<String>>,
}

impl Columns {
    pub(crate) fn of(changes: Vec<RecordChange>) -> Columns {
        let mut c = Columns::default();
        for change in changes {
            c.kinds.push(change.kind.object_name());
            c.tiers.push(change.tiers_text());
            c.operations.push(change.operation.as_str());
            c.versions.push(change.version as i64);
            c.previous.push(change.previous_version.map(|v| v as i64));
            c.keys.push(change.id);
            c.records.push(change.record);
        }
        c
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Inserts a commit's events inside its transaction, in order, stamped `at`.
pub(crate) async fn insert<C: GenericClient>(
    tx: &C,
    columns: &Columns,
    stamp: &Stamp,
) -> Result<(), StoreError> {
    if columns.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO metadata_changes
                 (committed_at, kind, key, operation, version, previous_version, tiers, record,
                  actor)
             SELECT $1, kind, key, operation, version, previous_version, tiers, record, $9::text
             FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::text[],
                         $8::text[])
                 WITH ORDINALITY AS e(kind, key, operation, version, previous_version, tiers,
                                      record, n)
             ORDER BY n",
        )
        .await
        .map_err(pg)?;
    let actor = stamp.actor_json();
    tx.execute(
        &stmt,
        &[
            &stamp.at,
            &columns.kinds,
            &columns.keys,
            &columns.operations,
            &columns.versions,
            &columns.previous,
            &columns.tiers,
            &columns.records,
            &actor,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// Gives positions to every committed event that has none, in one transaction holding the
/// sequencer lock. Does nothing (one cheap read) when none is waiting.
pub(crate) async fn sequence(client: &mut deadpool_postgres::Object) -> Result<(), StoreError> {
    let waiting = client
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM metadata_changes WHERE position IS NULL)")
        .await
        .map_err(pg)?;
    if !client
        .query_one(&waiting, &[])
        .await
        .map_err(pg)?
        .get::<_, bool>(0)
    {
        return Ok(());
    }
    let sequenced = tracing::debug_span!("metadata.postgres.sequence");
    async move {
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])
            .await
            .map_err(pg)?;
        // A statement of its own, so its snapshot is taken after the lock: it sees every position
        // the previous holder gave.
        let stmt = tx
            .prepare_cached(
                "WITH waiting AS (
                 SELECT seq, max(seq) OVER (PARTITION BY xid) AS last
                 FROM metadata_changes WHERE position IS NULL
             ), numbered AS (
                 SELECT seq, row_number() OVER (ORDER BY last, seq) AS n FROM waiting
             ), head AS (
                 SELECT head FROM metadata_change_feed WHERE id = 1
             ), moved AS (
                 UPDATE metadata_change_feed SET head = head + (SELECT count(*) FROM numbered)
                 WHERE id = 1
             )
             UPDATE metadata_changes c SET position = head.head + numbered.n
             FROM numbered, head WHERE c.seq = numbered.seq AND c.position IS NULL",
            )
            .await
            .map_err(pg)?;
        let given = tx.execute(&stmt, &[]).await.map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        metrics::histogram!("metadata_postgres_sequenced_events").record(given as f64);
        Ok(())
    }
    .instrument(sequenced)
    .await
}

fn bad(what: &str) -> StoreError {
    StoreError::backend(
        "postgres",
        false,
        format!("unreadable change feed row: {what}"),
    )
}

/// The events after `after`, read in one statement (one snapshot) with the prune mark.
pub(crate) async fn read<C: GenericClient>(
    client: &C,
    after: u64,
    limit: usize,
) -> Result<Vec<ChangeEvent>, FeedError> {
    let stmt = client
        .prepare_cached(
            "SELECT f.pruned_through, c.position, c.xid::text, c.committed_at, c.kind, c.key,
                 c.operation, c.version, c.previous_version, c.tiers, c.record, c.actor
             FROM metadata_change_feed f
             LEFT JOIN LATERAL (
                 SELECT * FROM metadata_changes
                 WHERE position > $1 ORDER BY position LIMIT $2
             ) c ON true
             WHERE f.id = 1 ORDER BY c.position",
        )
        .await
        .map_err(pg)?;
    let rows = client
        .query(&stmt, &[&(after as i64), &(limit as i64)])
        .await
        .map_err(pg)?;
    let pruned = rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64;
    if after < pruned {
        return Err(FeedError::CursorExpired {
            after,
            pruned_through: pruned,
        });
    }
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(position) = row.get::<_, Option<i64>>(1) else {
            continue; // no event: the feed row alone
        };
        let (xid, kind, operation): (String, String, String) = (row.get(2), row.get(4), row.get(6));
        events.push(ChangeEvent {
            position: position as u64,
            commit_id: xid.parse().map_err(|_| bad(&xid))?,
            committed_at: row.get(3),
            change: RecordChange {
                kind: ResourceKind::from_object_name(&kind).ok_or_else(|| bad(&kind))?,
                id: row.get(5),
                operation: Operation::parse(&operation).ok_or_else(|| bad(&operation))?,
                version: row.get::<_, i64>(7) as u64,
                previous_version: row.get::<_, Option<i64>>(8).map(|v| v as u64),
                tiers: RecordChange::parse_tiers(row.get(9)),
                record: row.get(10),
                actor: row
                    .get::<_, Option<String>>(11)
                    .and_then(|text| Actor::from_json(&text)),
            },
        });
    }
    Ok(events)
}

/// Where the feed stands, read in one statement (one snapshot).
pub(crate) async fn stats<C: GenericClient>(client: &C) -> Result<FeedStats, StoreError> {
    let rows = client
        .query(
            "SELECT f.head, f.pruned_through, c.name, c.position
             FROM metadata_change_feed f LEFT JOIN metadata_change_cursors c ON true
             WHERE f.id = 1 ORDER BY c.name",
            &[],
        )
        .await
        .map_err(pg)?;
    let mut stats = FeedStats::default();
    for row in rows {
        stats.head = row.get::<_, i64>(0) as u64;
        stats.pruned_through = row.get::<_, i64>(1) as u64;
        if let Some(name) = row.get::<_, Option<String>>(2) {
            stats.cursors.push((name, row.get::<_, i64>(3) as u64));
        }
    }
    Ok(stats)
}

/// The last position given.
pub(crate) async fn head<C: GenericClient>(client: &C) -> Result<u64, StoreError> {
    let row = client
        .query_one("SELECT head FROM metadata_change_feed WHERE id = 1", &[])
        .await
        .map_err(pg)?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// Where the named cursor is.
pub(crate) async fn cursor<C: GenericClient>(
    client: &C,
    name: &str,
) -> Result<Option<u64>, FeedError> {
    let stmt = client
        .prepare_cached("SELECT position FROM metadata_change_cursors WHERE name = $1")
        .await
        .map_err(pg)?;
    Ok(client
        .query_opt(&stmt, &[&name])
        .await
        .map_err(pg)?
        .map(|r| r.get::<_, i64>(0) as u64))
}

/// Moves the named cursor from `expected` to `to` on `client`: inside the caller's own
/// transaction when `client` is one, so the cursor moves if and only if the caller's work
/// commits (exactly-once effects); otherwise [`FeedError::CursorMoved`], changing nothing.
///
/// ```no_run
/// # async fn demo(client: &mut tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let tx = client.transaction().await?;
/// tx.execute("INSERT INTO search_index (id) VALUES ('user_1')", &[]).await?;
/// metadata_store_postgres::advance_cursor_in(&tx, "indexer", Some(41), 42).await?;
/// tx.commit().await?; // the index row and the cursor, together
/// # Ok(()) }
/// ```
pub async fn advance_cursor_in<C: tokio_postgres::GenericClient + Sync>(
    client: &C,
    name: &str,
    expected: Option<u64>,
    to: u64,
) -> Result<(), FeedError> {
    let changed = match expected {
        None => {
            client
                .execute(
                    "INSERT INTO metadata_change_cursors (name, position) VALUES ($1, $2)
                     ON CONFLICT (name) DO NOTHING",
                    &[&name, &(to as i64)],
                )
                .await
        }
        Some(from) => {
            client
                .execute(
                    "UPDATE metadata_change_cursors SET position = $3
                     WHERE name = $1 AND position = $2",
                    &[&name, &(from as i64), &(to as i64)],
                )
                .await
        }
    }
    .map_err(|e| FeedError::Store(PostgresError::Postgres(e).into()))?;
    if changed == 1 {
        return Ok(());
    }
    let actual = client
        .query_opt(
            "SELECT position FROM metadata_change_cursors WHERE name = $1",
            &[&name],
        )
        .await
        .map_err(|e| FeedError::Store(PostgresError::Postgres(e).into()))?
        .map(|r| r.get::<_, i64>(0) as u64);
    Err(FeedError::CursorMoved {
        name: name.to_owned(),
        expected,
        actual,
    })
}

/// Removes the named cursor.
pub(crate) async fn remove_cursor<C: GenericClient>(
    client: &C,
    name: &str,
) -> Result<bool, FeedError> {
    Ok(client
        .execute(
            "DELETE FROM metadata_change_cursors WHERE name = $1",
            &[&name],
        )
        .await
        .map_err(pg)?
        == 1)
}

/// Deletes one batch of the oldest sequenced events: committed before `committed_before`, at
/// or below every cursor, leaving no hole; moves the prune mark past them.
pub(crate) async fn prune(
    client: &mut deadpool_postgres::Object,
    committed_before: Millis,
    max_events: usize,
) -> Result<u64, StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    let (from, head): (i64, i64) = {
        let row = tx
            .query_one(
                "SELECT pruned_through, head FROM metadata_change_feed WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await
            .map_err(pg)?;
        (row.get(0), row.get(1))
    };
    let lowest: Option<i64> = tx
        .query_one("SELECT min(position) FROM metadata_change_cursors", &[])
        .await
        .map_err(pg)?
        .get(0);
    let ceiling = from
        .saturating_add(max_events.min(i64::MAX as usize) as i64)
        .min(head)
        .min(lowest.unwrap_or(i64::MAX));
    let young: Option<i64> = tx
        .query_opt(
            "SELECT position FROM metadata_changes WHERE position > $1 AND position <= $2
                 AND committed_at >= $3 ORDER BY position LIMIT 1",
            &[&from, &ceiling, &committed_before],
        )
        .await
        .map_err(pg)?
        .map(|r| r.get(0));
    let through = young.map_or(ceiling, |y| ceiling.min(y - 1));
    if through <= from {
        return Ok(0);
    }
    let deleted = tx
        .execute(
            "DELETE FROM metadata_changes WHERE position > $1 AND position <= $2",
            &[&from, &through],
        )
        .await
        .map_err(pg)?;
    tx.execute(
        "UPDATE metadata_change_feed SET pruned_through = $1 WHERE id = 1",
        &[&through],
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(deleted)
}
