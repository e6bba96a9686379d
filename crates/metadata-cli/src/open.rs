//! Opening the store the command line names.

use crate::args::StoreArgs;
use crate::Failure;
use metadata_core::Schemas;
use metadata_store::feed::Retention;
use metadata_store::{MetadataService, MetadataStore};
use metadata_store_postgres::{PostgresOptions, PostgresStore};
use metadata_store_sqlite::{SqliteOptions, SqliteStore};
use std::path::PathBuf;
use std::sync::Arc;

/// The store itself, for what only it can do (indexes, backups).
pub enum Store {
    /// A SQLite file.
    Sqlite(Arc<SqliteStore>, PathBuf),
    /// A PostgreSQL server.
    Postgres(Arc<PostgresStore>),
}

/// An open store and the service over it.
pub struct Opened {
    /// The store.
    pub store: Store,
    /// Every read and write goes through it.
    pub service: MetadataService,
}

/// How to open a SQLite file.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tuning {
    /// Create the file if it is missing.
    pub create: bool,
    /// synchronous=FULL.
    pub durable: bool,
    /// Keep no change feed.
    pub no_feed: bool,
    /// How long the feed keeps its events.
    pub retention: Retention,
    /// SQLite's page cache per connection, in MiB (the store's default when `None`).
    pub page_cache_mib: Option<usize>,
}

/// The schemas of the file `path` names (R13.1), or none.
pub fn schemas(path: Option<&std::path::Path>) -> Result<Schemas, Failure> {
    let Some(path) = path else {
        return Ok(Schemas::new());
    };
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let document: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    Schemas::from_document(&document)
        .map_err(|e| format!("{}: {}", path.display(), crate::one_line(&e)).into())
}

/// Opens the store `args` names.
pub async fn open(args: &StoreArgs, tuning: Tuning) -> Result<Opened, Failure> {
    let (store, shared): (Store, Arc<dyn MetadataStore>) = match (&args.sqlite, &args.postgres) {
        (Some(path), _) => {
            if !tuning.create && !path.exists() {
                return Err(format!("no database at {}", path.display()).into());
            }
            let mut options = SqliteOptions::file(path)
                .synchronous_full(tuning.durable)
                .feed(!tuning.no_feed)
                .feed_retention(tuning.retention);
            if let Some(mib) = tuning.page_cache_mib {
                options = options.page_cache_bytes(mib << 20);
            }
            let store =
                Arc::new(SqliteStore::open(options).map_err(|e| {
                    format!("cannot open {}: {}", path.display(), crate::one_line(&e))
                })?);
            (Store::Sqlite(store.clone(), path.clone()), store)
        }
        (None, Some(url)) => {
            let store = Arc::new(
                PostgresStore::connect(
                    PostgresOptions::new(url)
                        .feed(!tuning.no_feed)
                        .feed_retention(tuning.retention),
                )
                .await
                .map_err(|e| format!("cannot connect to PostgreSQL: {}", crate::one_line(&e)))?,
            );
            (Store::Postgres(store.clone()), store)
        }
        (None, None) => return Err("name a store with --sqlite PATH or --postgres URL".into()),
    };
    Ok(Opened {
        store,
        service: MetadataService::from_arc(shared),
    })
}
