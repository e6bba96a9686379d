//! Connection threads: each SQLite connection lives on its own thread and runs boxed jobs sent
//! over a channel, answering on a oneshot channel. No async runtime is involved, so the store
//! works under any executor, and blocking SQLite calls never run on the caller's executor.

use crate::error::SqliteError;
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;

type Job = Box<dyn FnOnce(&mut Connection) + Send + 'static>;

/// A handle to one connection thread. The thread ends when every handle is dropped.
/// Dropping a worker closes its connection before the drop returns: its thread finishes the
/// jobs already sent, then drops the connection, and is joined. (A store dropped and opened
/// again at once must not meet its own connections still open.)
#[derive(Debug)]
pub(crate) struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(handle) = self.thread.take() {
            // Never join from the worker's own thread (it would wait for itself).
            if handle.thread().id() != thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

impl Worker {
    /// Starts a thread that opens a connection with `open` and then serves jobs. Returns once the
    /// connection is open, or with the error that prevented it.
    pub(crate) fn spawn(
        name: &str,
        open: impl FnOnce() -> Result<Connection, SqliteError> + Send + 'static,
    ) -> Result<Worker, SqliteError> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let handle = thread::Builder::new()
            .name(name.to_owned())
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
                while let Ok(job) = inbox.recv() {
                    job(&mut conn);
                }
            })
            .map_err(SqliteError::Spawn)?;
        ready_rx.recv().map_err(|_| SqliteError::Closed)??;
        Ok(Worker {
            jobs: Some(jobs),
            thread: Some(handle),
        })
    }

    /// Runs `f` on the connection thread and waits for its answer without blocking the
    /// executor. A panic in `f` is caught and reported; the connection serves the next job.
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
            let result = catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|panic| {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(SqliteError::Panicked(msg).into())
            });
            let _ = tx.send(result);
        });
        self.jobs
            .as_ref()
            .ok_or(SqliteError::Closed)?
            .send(job)
            .map_err(|_| SqliteError::Closed)?;
        rx.await.map_err(|_| SqliteError::Closed)?
    }

    /// Runs `f` on the connection thread and blocks the calling thread for the answer (for
    /// synchronous set-up code, never inside async code).
    #[cfg(test)]
    pub(crate) fn call_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, SqliteError> + Send + 'static,
    ) -> Result<T, SqliteError> {
        park_on(self.call(f))
    }
}

/// Waits for a future that completes from another thread, by parking this one (tests only).
#[cfg(test)]
fn park_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_job_is_reported_and_the_connection_lives_on() {
        let worker = Worker::spawn("test", || Ok(Connection::open_in_memory()?)).unwrap();
        let panicked: Result<(), SqliteError> = worker.call_blocking(|_| panic!("boom"));
        assert!(matches!(panicked, Err(SqliteError::Panicked(msg)) if msg == "boom"));
        let answer = worker
            .call_blocking(|conn| Ok(conn.query_row("SELECT 41 + 1", [], |r| r.get::<_, i64>(0))?));
        assert_eq!(answer.unwrap(), 42);
    }

    #[test]
    fn a_connection_that_cannot_open_is_an_error_not_a_hang() {
        let err = Worker::spawn("test", || Err(SqliteError::Closed)).unwrap_err();
        assert!(matches!(err, SqliteError::Closed));
    }
}
