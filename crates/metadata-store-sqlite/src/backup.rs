//! Online backup and restore of a SQLite store's file.
//!
//! A backup is `VACUUM INTO` on a reader connection: one read transaction, so the copy is the
//! database as of one commit (every record with its events, cursors and prune mark), taken
//! while writers go on (in WAL mode readers and the writer do not block each other), compacted,
//! and never restarted by a write the way SQLite's page-copying backup API is. A restore checks
//! the copy (`PRAGMA integrity_check`, a schema this library can open) and moves it into place
//! atomically; the store must be closed while it runs.

use crate::error::SqliteError;
use crate::schema::SCHEMA_VERSION;
use crate::SqliteStore;
use metadata_store::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// What a backup wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    /// The copy.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SqliteError + '_ {
    move |source| SqliteError::Io {
        path: path.to_owned(),
        source,
    }
}

impl SqliteStore {
    /// Writes a consistent copy of the database to `to` (a new file) while writers go on.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use metadata_store_sqlite::SqliteStore;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = SqliteStore::open_file(dir.path().join("live.db")).unwrap();
    /// let copy = store.backup(dir.path().join("copy.db")).await.unwrap();
    /// assert!(copy.bytes > 0);
    /// SqliteStore::restore(&copy.path, &dir.path().join("restored.db")).unwrap();
    /// # });
    /// ```
    pub async fn backup(&self, to: impl Into<PathBuf>) -> Result<Backup, StoreError> {
        let path: PathBuf = to.into();
        if path.exists() {
            // The caller's mistake, not a store fault: no warning logged.
            return Err(StoreError::backend(
                "sqlite",
                false,
                SqliteError::Exists(path),
            ));
        }
        let target = path.to_string_lossy().into_owned();
        let _span = tracing::debug_span!("metadata.sqlite.backup").entered();
        self.read(move |conn| {
            conn.execute("VACUUM INTO ?1", [&target])
                .map_err(SqliteError::from)?;
            Ok(())
        })
        .await?;
        let bytes = std::fs::metadata(&path).map_err(io(&path))?.len();
        Ok(Backup { path, bytes })
    }

    /// Checks the backup `from` and puts a copy of it at `to`, which must not exist: a copy is
    /// written beside `to`, synced, and renamed into place, so `to` is never half written.
    /// Leftover `-wal` and `-shm` files of an earlier database at `to` are removed first. No
    /// store may have `to` open.
    pub fn restore(from: &Path, to: &Path) -> Result<(), SqliteError> {
        if to.exists() {
            return Err(SqliteError::Exists(to.to_owned()));
        }
        check(from)?;
        let partial = to.with_extension("restoring");
        std::fs::copy(from, &partial).map_err(io(&partial))?;
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io(&partial))?;
        for leftover in ["-wal", "-shm"] {
            let mut name = to.as_os_str().to_owned();
            name.push(leftover);
            match std::fs::remove_file(PathBuf::from(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(to)(e)),
                _ => {}
            }
        }
        std::fs::rename(&partial, to).map_err(io(to))?;
        if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename is durable once the directory is.
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

/// A backup this library can open: intact, with a schema no newer than it knows.
fn check(path: &Path) -> Result<(), SqliteError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found == 0 {
        return Err(SqliteError::Damaged(
            "it holds no metadata schema (PRAGMA user_version is 0)".into(),
        ));
    }
    if found > SCHEMA_VERSION {
        return Err(SqliteError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let verdict: String = conn.query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))?;
    if verdict != "ok" {
        return Err(SqliteError::Damaged(verdict));
    }
    Ok(())
}
