//! Reader connections used on the calling thread, for point reads: a read by key takes a
//! connection from the pool, runs one indexed `SELECT` and puts the connection back, with no
//! thread hop (a hop costs more than a cached point read). The pool opens a connection when
//! every one is in use and keeps at most its capacity.

use crate::error::SqliteError;
use rusqlite::Connection;
use std::sync::{Mutex, PoisonError};

pub(crate) struct ReaderPool {
    idle: Mutex<Vec<Connection>>,
    capacity: usize,
    open: Box<dyn Fn() -> Result<Connection, SqliteError> + Send + Sync>,
}

impl std::fmt::Debug for ReaderPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderPool")
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl ReaderPool {
    pub(crate) fn new(
        capacity: usize,
        open: impl Fn() -> Result<Connection, SqliteError> + Send + Sync + 'static,
    ) -> Result<Self, SqliteError> {
        // One connection up front, so a file that cannot be read fails at open time.
        let first = open()?;
        Ok(ReaderPool {
            idle: Mutex::new(vec![first]),
            capacity: capacity.max(1),
            open: Box::new(open),
        })
    }

    /// Runs `f` on a pooled connection, on this thread.
    pub(crate) fn with<T, E: From<SqliteError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let taken = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match taken {
            Some(conn) => conn,
            None => (self.open)()?,
        };
        let result = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.capacity {
            idle.push(conn);
        }
        result
    }
}
