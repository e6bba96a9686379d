//! The schema and its versioned migrations, one migrating process at a time.

use crate::error::PostgresError;
use crate::sql::declare_index;
use deadpool_postgres::{GenericClient, Object};
use metadata_core::{MetadataPath, Record, ResourceKind, Tier};

/// Schema 1: one table for every kind of record; the body was the record's wire JSON as
/// `jsonb`. Keys use the "C" collation so that listing order is byte order, as in every other
/// store.
const SCHEMA_1: &str = "CREATE TABLE records (
        kind text NOT NULL,
        key text COLLATE \"C\" NOT NULL,
        version bigint NOT NULL,
        organization_id text,
        user_id text,
        body jsonb NOT NULL,
        PRIMARY KEY (kind, key)
    );
    CREATE INDEX records_by_organization ON records (kind, organization_id, key) WHERE organization_id IS NOT NULL;
    CREATE INDEX records_by_user ON records (kind, user_id, key) WHERE user_id IS NOT NULL;";

/// The newest schema version this library writes.
///
/// - 1: the body as `jsonb`.
/// - 2: the body as the record's exact compact JSON text (R8.3), and a `lookup` column of
///   `jsonb` that lookups read and index (see the `lookup` module); migrated in place.
/// - 3: the change feed (see the `feed` module).
/// - 4: `created_at` and `updated_at` as columns with an index each, for listings ordered by
///   time (R7.5).
/// - 5: the lookup projection keeps floats, `null` and arrays, for conditions beyond equality
///   (R7.4); rewritten in place.
/// - 6: who made each commit (R14.2), on its events; NULL for events written before.
pub const SCHEMA_VERSION: i32 = 6;

/// Schema 3 to 4: the times as columns, filled from each body (read as `json`, which keeps
/// what `jsonb` refuses), and indexed.
const SCHEMA_4: &str = "ALTER TABLE records ADD COLUMN created_at bigint NOT NULL DEFAULT 0,
        ADD COLUMN updated_at bigint NOT NULL DEFAULT 0;
    UPDATE records SET created_at = (body::json->>'created_at')::bigint,
        updated_at = (body::json->>'updated_at')::bigint;
    CREATE INDEX records_by_created ON records (kind, created_at, key);
    CREATE INDEX records_by_updated ON records (kind, updated_at, key);";

/// Brings the schema up to date, one migrating process at a time.
pub(crate) async fn migrate(
    client: &mut Object,
    schema: Option<&str>,
) -> Result<(), PostgresError> {
    if let Some(schema) = schema {
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await?;
    }
    let tx = client.transaction().await?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(726172611);
         CREATE TABLE IF NOT EXISTS metadata_schema (version integer NOT NULL);",
    )
    .await?;
    let found: i32 = match tx
        .query_opt("SELECT version FROM metadata_schema", &[])
        .await?
    {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO metadata_schema (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    if found > SCHEMA_VERSION {
        return Err(PostgresError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for version in found.max(0) + 1..=SCHEMA_VERSION {
        match version {
            1 => tx.batch_execute(SCHEMA_1).await?,
            2 => migrate_to_2(&tx).await?,
            3 => tx.batch_execute(crate::feed::SCHEMA_3).await?,
            4 => tx.batch_execute(SCHEMA_4).await?,
            5 => migrate_to_5(&tx).await?,
            _ => {
                tx.batch_execute("ALTER TABLE metadata_changes ADD COLUMN actor text")
                    .await?
            }
        }
        tx.execute("UPDATE metadata_schema SET version = $1", &[&version])
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Schema 1 to 2, in place: each body becomes the record's compact text and gets its lookup
/// projection, in batches of 500 rows; lookup indexes declared on schema 1 are declared again
/// on the new column. A body schema 1 already altered (a re-spelled number) stays as `jsonb`
/// gave it back: what was lost cannot be recovered.
async fn migrate_to_2<C: GenericClient>(tx: &C) -> Result<(), PostgresError> {
    tx.batch_execute("ALTER TABLE records ADD COLUMN text_body text, ADD COLUMN lookup jsonb")
        .await?;
    let declared: Vec<(String, String)> = tx
        .query(
            "SELECT indexname::text, indexdef FROM pg_indexes
             WHERE schemaname = current_schema() AND tablename = 'records'
               AND indexname LIKE 'lookup\\_%'",
            &[],
        )
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    rewrite_rows(
        tx,
        "body::text",
        "UPDATE records r SET text_body = u.body, lookup = u.lookup::jsonb
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(kind, key, body, lookup)
         WHERE r.kind = u.kind AND r.key = u.key",
    )
    .await?;
    tx.batch_execute(
        "ALTER TABLE records DROP COLUMN body;
         ALTER TABLE records RENAME COLUMN text_body TO body;
         ALTER TABLE records ALTER COLUMN body SET NOT NULL, ALTER COLUMN lookup SET NOT NULL;",
    )
    .await?;
    for (name, definition) in declared {
        if let Some((kind, tier, path)) = schema_1_index(&name, &definition) {
            declare_index(tx, kind, tier, &path).await?;
        }
    }
    Ok(())
}

/// Schema 4 to 5: every row's lookup projection written again, in its schema-5 form (floats,
/// `null` and arrays kept; see the `lookup` module). Declared indexes stay: their expressions
/// are unchanged.
async fn migrate_to_5<C: GenericClient>(tx: &C) -> Result<(), PostgresError> {
    rewrite_rows(
        tx,
        "body",
        "UPDATE records r SET lookup = u.lookup::jsonb
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(kind, key, body, lookup)
         WHERE r.kind = u.kind AND r.key = u.key",
    )
    .await
}

/// Reads every row's `body` (as `read`), in batches of 500 rows in key order, and runs `update`
/// with the batch's kinds, keys, compact bodies and lookup projections as four text arrays.
async fn rewrite_rows<C: GenericClient>(
    tx: &C,
    read: &str,
    update: &str,
) -> Result<(), PostgresError> {
    let select = format!(
        "SELECT kind, key, {read} FROM records WHERE (kind, key) > ($1, $2)
         ORDER BY kind, key LIMIT 500"
    );
    let (mut kind, mut key) = (String::new(), String::new());
    loop {
        let rows = tx.query(&select, &[&kind, &key]).await?;
        let Some(last) = rows.last() else { break };
        (kind, key) = (last.get(0), last.get(1));
        let mut columns: [Vec<String>; 4] = Default::default();
        for row in &rows {
            let (k, id, body): (String, String, String) = (row.get(0), row.get(1), row.get(2));
            let parsed = ResourceKind::from_object_name(&k)
                .and_then(|kind| Record::from_json(kind, body.as_bytes()).ok());
            let (text, lookup) = match parsed {
                Some(record) => (record.to_json(), crate::lookup::projection(&record)),
                // Reads report such a row as a bad record, as they did before.
                None => (body, "{}".to_owned()),
            };
            for (column, value) in columns.iter_mut().zip([k, id, text, lookup]) {
                column.push(value);
            }
        }
        tx.execute(
            update,
            &[&columns[0], &columns[1], &columns[2], &columns[3]],
        )
        .await?;
    }
    Ok(())
}

/// The kind, tier and path of a lookup index schema 1 declared, from its name and definition
/// (`... (body #> '{public_metadata,a,b}'::text[]) ...`).
fn schema_1_index(name: &str, definition: &str) -> Option<(ResourceKind, Tier, MetadataPath)> {
    let rest = name.strip_prefix("lookup_")?;
    let mut kinds = ResourceKind::ALL;
    kinds.sort_by_key(|k| std::cmp::Reverse(k.object_name().len()));
    let kind = kinds
        .into_iter()
        .find(|k| rest.starts_with(&format!("{}_", k.object_name())))?;
    let start = definition.find("'{")? + 2;
    let end = start + definition[start..].find("}'")?;
    let mut parts = definition[start..end].split(',');
    let tier_name = parts.next()?;
    let tier = Tier::ALL
        .into_iter()
        .find(|t| t.field_name() == tier_name)?;
    let path = MetadataPath::parse(&parts.collect::<Vec<_>>().join(".")).ok()?;
    Some((kind, tier, path))
}
