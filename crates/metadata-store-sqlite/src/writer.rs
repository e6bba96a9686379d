//! The write connection, with group commit and no thread of its own.
//!
//! A write queues its transaction and then tries to take the connection. The caller that gets
//! it leads: it runs every queued transaction, a group at a time, in one SQLite transaction per
//! group, each inside a savepoint of its own (so each keeps its all-or-nothing outcome), and
//! answers each only after the group's COMMIT; then it checks the queue once more after letting
//! the connection go, so nothing queued is left behind. A caller that finds the connection
//! taken just waits for its answer: its transaction rides in the leader's next group. An
//! uncontended write therefore runs on its caller's thread with no thread hop, and concurrent
//! writes share commits: with `synchronous=FULL`, one fsync per group instead of one per write.
//!
//! Work that must run alone (migrations, index declarations, checks) takes the connection on a
//! thread of its own, so an async caller is not blocked by it.

use crate::error::SqliteError;
use metadata_store::StoreError;
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread;

/// The most groups one caller commits before a thread of its own takes over the leading.
const MAX_LEAD_GROUPS: usize = 4;

/// The most transactions one group commits together.
pub(crate) const MAX_GROUP: usize = 64;

/// What a transaction body reports after the shared commit (or the failure to begin one).
type Finish = Box<dyn FnOnce(Result<(), SqliteError>) + Send>;
/// A transaction body: given the connection inside the group's transaction (or `None` when the
/// transaction could not begin), whether it succeeded, and how to report the outcome.
type TxJob = Box<dyn FnOnce(Option<&Connection>) -> (bool, Finish) + Send>;

/// A queued transaction, and whether it needs a savepoint of its own in a group (a body that
/// writes with at most one statement does not: SQLite undoes a failed statement by itself).
struct Queued {
    job: TxJob,
    savepoint: bool,
}

/// How many groups the writer committed, and how many transactions they held.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) groups: AtomicU64,
    pub(crate) transactions: AtomicU64,
    /// How many times a leader handed the leading over to a thread of its own.
    pub(crate) handovers: AtomicU64,
}

/// The write connection and the transactions queued for it.
pub(crate) struct Writer {
    conn: Mutex<Connection>,
    queue: Mutex<Vec<Queued>>,
    pub(crate) counters: Counters,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("counters", &self.counters)
            .finish()
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

/// Runs one statement of transaction control, prepared once per connection: parsing `BEGIN`,
/// `COMMIT` and the savepoint statements again for every write costs more than running them.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn run_group(conn: &mut Connection, group: Vec<Queued>, counters: &Counters) {
    let _span = tracing::debug_span!("metadata.sqlite.group_commit", size = group.len()).entered();
    metrics::histogram!("metadata_sqlite_group_commit_size").record(group.len() as f64);
    counters.groups.fetch_add(1, Ordering::Relaxed);
    counters
        .transactions
        .fetch_add(group.len() as u64, Ordering::Relaxed);
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        let e = SqliteError::from(e);
        for queued in group {
            let (_, finish) = (queued.job)(None);
            finish(Err(replicate(&e)));
        }
        return;
    }
    let alone = group.len() == 1;
    let mut finishes = Vec::with_capacity(group.len());
    let mut any_ok = false;
    for Queued { job, savepoint } in group {
        let savepoint = savepoint && !alone;
        if savepoint {
            if let Err(e) = control(conn, "SAVEPOINT member") {
                let (_, finish) = job(None);
                finishes.push((finish, Some(SqliteError::from(e))));
                continue;
            }
        }
        let (ok, finish) = job(Some(conn));
        if savepoint {
            let end = if ok {
                control(conn, "RELEASE member")
            } else {
                control(conn, "ROLLBACK TO member").and_then(|()| control(conn, "RELEASE member"))
            };
            if let Err(e) = end {
                finishes.push((finish, Some(SqliteError::from(e))));
                continue;
            }
        }
        any_ok |= ok;
        finishes.push((finish, None));
    }
    let outcome = if any_ok {
        control(conn, "COMMIT")
    } else {
        control(conn, "ROLLBACK")
    };
    let outcome = outcome.map_err(SqliteError::from);
    if outcome.is_err() && !conn.is_autocommit() {
        let _ = control(conn, "ROLLBACK");
    }
    for (finish, own_error) in finishes {
        finish(match (&own_error, &outcome) {
            (Some(e), _) | (None, Err(e)) => Err(replicate(e)),
            (None, Ok(())) => Ok(()),
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Writer {
    pub(crate) fn new(conn: Connection) -> Writer {
        Writer {
            conn: Mutex::new(conn),
            queue: Mutex::new(Vec::new()),
            counters: Counters::default(),
        }
    }

    /// Runs queued transactions while this caller can hold the connection; returns when the
    /// queue is empty or another caller holds the connection (and will run what is queued).
    /// A caller leads for at most [`MAX_LEAD_GROUPS`] groups; if more are queued then, a thread
    /// of its own takes over, so no caller is held up by an endless stream of writes.
    fn lead(self: &Arc<Self>) {
        let mut groups = 0;
        loop {
            let mut conn = match self.conn.try_lock() {
                Ok(conn) => conn,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            while groups < MAX_LEAD_GROUPS {
                let group: Vec<Queued> = {
                    let mut queue = lock(&self.queue);
                    let n = queue.len().min(MAX_GROUP);
                    queue.drain(..n).collect()
                };
                if group.is_empty() {
                    break;
                }
                groups += 1;
                run_group(&mut conn, group, &self.counters);
            }
            drop(conn);
            // A transaction queued after the last drain, whose caller found the connection
            // taken, is ours to run, or a new leader's once this caller has led enough.
            if lock(&self.queue).is_empty() {
                return;
            }
            if groups >= MAX_LEAD_GROUPS {
                let next = self.clone();
                let handed_over = thread::Builder::new()
                    .name("metadata-sqlite-commit".into())
                    .spawn(move || next.lead());
                if handed_over.is_ok() {
                    self.counters.handovers.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                groups = 0; // no thread to hand over to: lead on
            }
        }
    }

    /// Runs `body` inside a transaction, possibly shared with others queued at the same time,
    /// and answers after the commit: `body`'s result if it and the commit succeeded; its error
    /// (with its writes undone) if it failed; the commit's error if the commit failed. A panic
    /// in `body` is its error; the connection serves on.
    ///
    /// The caller may lead: then it runs on its own thread the transactions queued with it,
    /// blocking for as long as their groups take to commit (an fsync each with
    /// `synchronous=FULL`).
    pub(crate) async fn transact<T: Send + 'static>(
        self: &Arc<Self>,
        body: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.transact_with(false, body).await
    }

    /// [`Writer::transact`] for a body that writes with at most one statement
    /// (`one_statement`), which then runs without a savepoint of its own in a group.
    pub(crate) async fn transact_with<T: Send + 'static>(
        self: &Arc<Self>,
        one_statement: bool,
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
        lock(&self.queue).push(Queued {
            job,
            savepoint: !one_statement,
        });
        self.lead();
        rx.await
            .map_err(|_| StoreError::from(SqliteError::Closed))?
    }

    /// Runs `f` alone on the connection, on this thread (for work short enough to block on,
    /// such as a point read of an in-memory database), then runs what queued meanwhile.
    pub(crate) fn alone<T>(self: &Arc<Self>, f: impl FnOnce(&mut Connection) -> T) -> T {
        let result = {
            let mut conn = lock(&self.conn);
            catch_unwind(AssertUnwindSafe(|| f(&mut conn)))
        };
        self.lead();
        match result {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Runs `f` alone on the connection, on a thread of its own, so that a long job (an index
    /// over a large table) never blocks an async caller.
    pub(crate) async fn call<T, E>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<SqliteError> + Send + 'static,
    {
        let (tx, rx) = futures_channel::oneshot::channel();
        let writer = self.clone();
        thread::Builder::new()
            .name("metadata-sqlite-job".into())
            .spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(|| writer.alone(f)))
                    .unwrap_or_else(|p| Err(SqliteError::Panicked(panic_message(p)).into()));
                let _ = tx.send(result);
            })
            .map_err(SqliteError::Spawn)?;
        rx.await.map_err(|_| SqliteError::Closed)?
    }

    /// [`Writer::alone`] for synchronous set-up code.
    pub(crate) fn call_blocking<T>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Connection) -> Result<T, SqliteError>,
    ) -> Result<T, SqliteError> {
        self.alone(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> Arc<Writer> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .unwrap();
        Arc::new(Writer::new(conn))
    }

    fn insert(k: i64) -> impl FnOnce(&Connection) -> Result<i64, StoreError> + Send + 'static {
        move |conn| {
            conn.execute("INSERT INTO t (k) VALUES (?1)", [k])
                .map_err(|e| StoreError::from(SqliteError::from(e)))?;
            Ok(k)
        }
    }

    fn count(w: &Arc<Writer>) -> i64 {
        w.call_blocking(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .unwrap()
    }

    #[test]
    fn members_of_a_group_keep_their_own_outcome() {
        let w = writer();
        // Hold the connection so the transactions queue, then let one caller lead them all
        // as groups; every third collides with an earlier one.
        let held = lock(&w.conn);
        let futures: Vec<_> = (0..60)
            .map(|i| {
                let w = w.clone();
                std::thread::spawn(move || {
                    futures::executor::block_on(w.transact(insert(if i % 3 == 2 {
                        i - 1
                    } else {
                        i
                    })))
                })
            })
            .collect();
        while lock(&w.queue).len() < 60 {
            std::thread::yield_now();
        }
        drop(held);
        w.lead();
        let results: Vec<_> = futures.into_iter().map(|t| t.join().unwrap()).collect();
        let stats = (&w.counters.groups, &w.counters.transactions);
        assert_eq!(stats.1.load(Ordering::Relaxed), 60);
        assert!(
            stats.0.load(Ordering::Relaxed) <= 2,
            "60 queued transactions in one or two groups"
        );
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 40, "each failure undid only its own writes");
        assert_eq!(count(&w), 40);
    }

    #[test]
    fn a_caller_leads_a_few_groups_then_hands_over() {
        let w = writer();
        let held = lock(&w.conn);
        let total = MAX_LEAD_GROUPS * MAX_GROUP + 50;
        let threads: Vec<_> = (0..total as i64)
            .map(|i| {
                let w = w.clone();
                std::thread::spawn(move || futures::executor::block_on(w.transact(insert(i))))
            })
            .collect();
        while lock(&w.queue).len() < total {
            std::thread::yield_now();
        }
        drop(held);
        w.lead();
        // This caller led its share of groups, then a thread of its own took over the rest.
        assert_eq!(w.counters.handovers.load(Ordering::Relaxed), 1);
        for t in threads {
            t.join().unwrap().unwrap();
        }
        assert_eq!(count(&w), total as i64);
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
