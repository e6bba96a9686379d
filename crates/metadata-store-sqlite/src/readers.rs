//! Reader connections used on the calling thread, for point reads: a read by key takes a
//! connection from the pool, runs one indexed `SELECT` and puts the connection back, with no
//! thread hop (a hop costs more than a cached point read). The pool opens a connection when
//! every one is in use and keeps at most its capacity.
//!
//! The pool also keeps an **epoch**, for the parsed-record cache: a number that grows whenever
//! one of its connections finds that the database changed since that connection last looked
//! (`PRAGMA data_version`, which changes when any other connection, in this process or
//! another, commits), and when a connection opens. A record seen in its row in the current
//! epoch, by a read whose connection then finds nothing changed, is still the stored record:
//! every commit after that row was read is found by the next check of every connection, and
//! the first such check (or the opening of a connection after the commit) moves the epoch on
//! before any read can trust the record again.

use crate::error::SqliteError;
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// A pooled connection and the `PRAGMA data_version` it last read.
struct Reader {
    conn: Connection,
    data_version: i64,
}

pub(crate) struct ReaderPool {
    idle: Mutex<Vec<Reader>>,
    capacity: usize,
    epoch: AtomicU64,
    open: Box<dyn Fn() -> Result<Connection, SqliteError> + Send + Sync>,
}

impl std::fmt::Debug for ReaderPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderPool")
            .field("capacity", &self.capacity)
            .field("epoch", &self.epoch)
            .finish()
    }
}

fn data_version(conn: &Connection) -> Result<i64, SqliteError> {
    Ok(conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?)
}

impl ReaderPool {
    pub(crate) fn new(
        capacity: usize,
        open: impl Fn() -> Result<Connection, SqliteError> + Send + Sync + 'static,
    ) -> Result<Self, SqliteError> {
        let pool = ReaderPool {
            idle: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
            // Epoch 0 is `cache::UNSEEN`, never current.
            epoch: AtomicU64::new(1),
            open: Box::new(open),
        };
        // One connection up front, so a file that cannot be read fails at open time.
        let first = pool.open_reader()?;
        pool.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(first);
        Ok(pool)
    }

    /// Opens a connection; what was committed before it opened is found by no check of its
    /// own, so the epoch moves on.
    fn open_reader(&self) -> Result<Reader, SqliteError> {
        let conn = (self.open)()?;
        let data_version = data_version(&conn)?;
        self.epoch.fetch_add(1, Ordering::SeqCst);
        Ok(Reader { conn, data_version })
    }

    /// Runs `f` on a pooled connection, on this thread.
    pub(crate) fn with<T, E: From<SqliteError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run(|reader| f(&reader.conn))
    }

    /// Runs `f` on a pooled connection, on this thread, after checking whether the database
    /// changed since that connection last looked (and moving the epoch on if it did); `f` is
    /// given the epoch after the check, the epoch a row it reads is seen in.
    pub(crate) fn with_epoch<T, E: From<SqliteError>>(
        &self,
        f: impl FnOnce(&Connection, u64) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run(|reader| {
            let now = data_version(&reader.conn)?;
            if now != reader.data_version {
                reader.data_version = now;
                self.epoch.fetch_add(1, Ordering::SeqCst);
            }
            f(&reader.conn, self.epoch.load(Ordering::SeqCst))
        })
    }

    fn run<T, E: From<SqliteError>>(
        &self,
        f: impl FnOnce(&mut Reader) -> Result<T, E>,
    ) -> Result<T, E> {
        let taken = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut reader = match taken {
            Some(reader) => reader,
            None => self.open_reader()?,
        };
        let result = f(&mut reader);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.capacity {
            idle.push(reader);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool on a fresh file with one table, and a connection of its own to commit with.
    fn pool_and_outside() -> (tempfile::TempDir, ReaderPool, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("epochs.db");
        let outside = Connection::open(&path).unwrap();
        outside.execute_batch("CREATE TABLE t (x)").unwrap();
        let pool = ReaderPool::new(4, move || Ok(Connection::open(&path)?)).unwrap();
        (dir, pool, outside)
    }

    fn epoch(pool: &ReaderPool) -> u64 {
        pool.with_epoch(|_, epoch| Ok::<_, SqliteError>(epoch))
            .unwrap()
    }

    #[test]
    fn the_epoch_moves_on_when_another_connection_commits_and_only_then() {
        let (_dir, pool, outside) = pool_and_outside();
        let first = epoch(&pool);
        assert_eq!(epoch(&pool), first, "nothing changed");
        outside.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let second = epoch(&pool);
        assert_ne!(second, first, "a commit elsewhere was found");
        assert_eq!(epoch(&pool), second);
    }

    #[test]
    fn a_connection_opened_after_a_commit_moves_the_epoch_on() {
        // The new connection's first check finds nothing changed (it opened after the
        // commit), so the opening itself must move the epoch on.
        let (_dir, pool, outside) = pool_and_outside();
        let before = epoch(&pool);
        outside.execute("INSERT INTO t VALUES (1)", []).unwrap();
        // The pool's only idle connection is in use, so the inner read opens another.
        let during = pool.with(|_| Ok::<_, SqliteError>(epoch(&pool))).unwrap();
        assert_ne!(during, before);
    }
}
