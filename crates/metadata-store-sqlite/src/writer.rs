//! The writer thread, with group commit: the one write connection lives on its own thread;
//! transactions that queue while it is committing are run together in one SQLite transaction,
//! each inside a savepoint of its own (so each keeps its all-or-nothing outcome), and each is
//! acknowledged only after the shared COMMIT. With `synchronous=FULL` that is one fsync for the
//! whole group instead of one per write.
//!
//! Other work (migrations, index declarations, checks) runs alone between groups.

use crate::error::SqliteError;
use metadata_store::StoreError;
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

/// The most transactions one group commits together.
pub(crate) const MAX_GROUP: usize = 64;

/// What a transaction body reports after the shared commit (or the failure to begin one).
type Finish = Box<dyn FnOnce(Result<(), SqliteError>) + Send>;
/// A transaction body: given the connection inside the group's transaction (or `None` when the
/// transaction could not begin), whether it succeeded, and how to report the outcome.
type TxJob = Box<dyn FnOnce(Option<&Connection>) -> (bool, Finish) + Send>;
/// Work that runs alone, outside any group.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

enum Message {
    Alone(Job),
    InGroup(TxJob),
}

/// How many groups the writer committed, and how many transactions they held.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) groups: AtomicU64,
    pub(crate) transactions: AtomicU64,
}

/// A handle to the writer thread. The thread ends when every handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    inbox: mpsc::Sender<Message>,
    pub(crate) counters: Arc<Counters>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Alone(_) => "Alone",
            Message::InGroup(_) => "InGroup",
        })
    }
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// A second copy of a SQLite error, for every member of a group that one failure ends: the
/// same code (so busy stays retryable), the same message.
fn replicate(err: &SqliteError) -> SqliteError {
    match err {
        SqliteError::Busy(rusqlite::Error::SqliteFailure(e, m))
        | SqliteError::Sqlite(rusqlite::Error::SqliteFailure(e, m))
        | SqliteError::Corrupt(rusqlite::Error::SqliteFailure(e, m))
        | SqliteError::ReadOnly(rusqlite::Error::SqliteFailure(e, m))
        | SqliteError::NotADatabase(rusqlite::Error::SqliteFailure(e, m)) => {
            rusqlite::Error::SqliteFailure(*e, m.clone()).into()
        }
        other => SqliteError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        )),
    }
}

fn run_group(conn: &mut Connection, group: Vec<TxJob>, counters: &Counters) {
    counters.groups.fetch_add(1, Ordering::Relaxed);
    counters
        .transactions
        .fetch_add(group.len() as u64, Ordering::Relaxed);
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let e = SqliteError::from(e);
        for job in group {
            let (_, finish) = job(None);
            finish(Err(replicate(&e)));
        }
        return;
    }
    let alone = group.len() == 1;
    let mut finishes = Vec::with_capacity(group.len());
    let mut any_ok = false;
    for job in group {
        if !alone {
            if let Err(e) = conn.execute_batch("SAVEPOINT member") {
                let (_, finish) = job(None);
                finishes.push((finish, Some(SqliteError::from(e))));
                continue;
            }
        }
        let (ok, finish) = job(Some(conn));
        if !alone {
            let end = if ok {
                "RELEASE member"
            } else {
                "ROLLBACK TO member; RELEASE member"
            };
            if let Err(e) = conn.execute_batch(end) {
                finishes.push((finish, Some(SqliteError::from(e))));
                continue;
            }
        }
        any_ok |= ok;
        finishes.push((finish, None));
    }
    let outcome = if any_ok {
        conn.execute_batch("COMMIT")
    } else {
        conn.execute_batch("ROLLBACK")
    };
    let outcome = outcome.map_err(SqliteError::from);
    if outcome.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for (finish, own_error) in finishes {
        finish(match (&own_error, &outcome) {
            (Some(e), _) | (None, Err(e)) => Err(replicate(e)),
            (None, Ok(())) => Ok(()),
        });
    }
}

impl Writer {
    /// Starts the writer thread on a connection `open` makes. Returns once it is open.
    pub(crate) fn spawn(
        open: impl FnOnce() -> Result<Connection, SqliteError> + Send + 'static,
    ) -> Result<Writer, SqliteError> {
        let (inbox, messages) = mpsc::channel::<Message>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let counting = counters.clone();
        thread::Builder::new()
            .name("metadata-sqlite-writer".into())
            .spawn(move || {
                let mut conn = match open() {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        conn
                    }
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                let mut held = None;
                loop {
                    let message = match held.take() {
                        Some(m) => m,
                        None => match messages.recv() {
                            Ok(m) => m,
                            Err(_) => return,
                        },
                    };
                    match message {
                        Message::Alone(job) => job(&mut conn),
                        Message::InGroup(first) => {
                            let mut group = vec![first];
                            while group.len() < MAX_GROUP {
                                match messages.try_recv() {
                                    Ok(Message::InGroup(job)) => group.push(job),
                                    Ok(other) => {
                                        held = Some(other);
                                        break;
                                    }
                                    Err(_) => break,
                                }
                            }
                            run_group(&mut conn, group, &counting);
                        }
                    }
                }
            })
            .map_err(SqliteError::Spawn)?;
        ready_rx.recv().map_err(|_| SqliteError::Closed)??;
        Ok(Writer { inbox, counters })
    }

    /// Runs `body` inside a transaction, possibly shared with others queued at the same time,
    /// and answers after the commit: `body`'s result if it and the commit succeeded; its error
    /// (with its writes undone) if it failed; the commit's error if the commit failed. A panic
    /// in `body` is its error; the connection serves on.
    pub(crate) async fn transact<T: Send + 'static>(
        &self,
        body: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = futures_channel::oneshot::channel::<Result<T, StoreError>>();
        let job: TxJob = Box::new(move |conn| match conn {
            None => (
                false,
                Box::new(move |outcome: Result<(), SqliteError>| {
                    let err = outcome.err().unwrap_or(SqliteError::Closed);
                    let _ = tx.send(Err(err.into()));
                }),
            ),
            Some(conn) => {
                let result = catch_unwind(AssertUnwindSafe(|| body(conn)))
                    .unwrap_or_else(|p| Err(SqliteError::Panicked(panic_message(p)).into()));
                (
                    result.is_ok(),
                    Box::new(move |commit: Result<(), SqliteError>| {
                        let answer = match (result, commit) {
                            (Ok(value), Ok(())) => Ok(value),
                            (Ok(_), Err(e)) => Err(e.into()),
                            (Err(e), _) => Err(e),
                        };
                        let _ = tx.send(answer);
                    }),
                )
            }
        });
        self.inbox
            .send(Message::InGroup(job))
            .map_err(|_| StoreError::from(SqliteError::Closed))?;
        rx.await
            .map_err(|_| StoreError::from(SqliteError::Closed))?
    }

    /// Runs `f` alone on the writer's connection, between groups.
    pub(crate) async fn call<T, E>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<SqliteError> + Send + 'static,
    {
        let (tx, rx) = futures_channel::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = catch_unwind(AssertUnwindSafe(|| f(conn)))
                .unwrap_or_else(|p| Err(SqliteError::Panicked(panic_message(p)).into()));
            let _ = tx.send(result);
        });
        self.inbox
            .send(Message::Alone(job))
            .map_err(|_| SqliteError::Closed)?;
        rx.await.map_err(|_| SqliteError::Closed)?
    }

    /// [`Writer::call`], blocking the calling thread (for synchronous set-up code only).
    pub(crate) fn call_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, SqliteError> + Send + 'static,
    ) -> Result<T, SqliteError> {
        crate::bridge::park_on(self.call(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> Writer {
        Writer::spawn(|| {
            let conn = Connection::open_in_memory()?;
            conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY)")?;
            Ok(conn)
        })
        .unwrap()
    }

    fn insert(k: i64) -> impl FnOnce(&Connection) -> Result<i64, StoreError> + Send + 'static {
        move |conn| {
            conn.execute("INSERT INTO t (k) VALUES (?1)", [k])
                .map_err(|e| StoreError::from(SqliteError::from(e)))?;
            Ok(k)
        }
    }

    fn count(w: &Writer) -> i64 {
        w.call_blocking(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .unwrap()
    }

    #[test]
    fn members_of_a_group_keep_their_own_outcome() {
        let w = writer();
        // Queue many at once so they share groups; every third collides with an earlier one.
        let results = futures::executor::block_on(futures::future::join_all(
            (0..60).map(|i| w.transact(insert(if i % 3 == 2 { i - 1 } else { i }))),
        ));
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 40, "each failure undid only its own writes");
        assert_eq!(count(&w), 40);
    }

    #[test]
    fn a_panicking_member_is_its_own_error() {
        let w = writer();
        let results = futures::executor::block_on(futures::future::join3(
            w.transact(insert(1)),
            w.transact(|_: &Connection| -> Result<(), StoreError> { panic!("boom") }),
            w.transact(insert(2)),
        ));
        assert!(results.0.is_ok() && results.2.is_ok());
        assert!(matches!(results.1, Err(StoreError::Backend { .. })));
        assert_eq!(count(&w), 2);
    }
}
