//! How a [`PostgresStore`](crate::PostgresStore) connects, and the runtime it runs on when
//! its caller has none.

use crate::error::PostgresError;
use metadata_store::feed::Retention;
use metadata_store::StoreError;
use std::future::Future;
use std::time::Duration;

/// How to connect a [`PostgresStore`](crate::PostgresStore).
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    pub(crate) url: String,
    pub(crate) schema: Option<String>,
    pub(crate) max_connections: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) application_name: String,
    pub(crate) feed: bool,
    pub(crate) retention: Retention,
}

impl PostgresOptions {
    /// Connects with a URL such as `postgres://user:password@host:5432/database`.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresOptions {
            url: url.into(),
            schema: None,
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            application_name: "metadata-store".into(),
            feed: true,
            retention: Retention::default(),
        }
    }

    /// Whether every commit also writes its events to the change feed, in the same transaction
    /// (on by default). With it off, the feed's calls are [`FeedError::Disabled`](metadata_store::feed::FeedError::Disabled).
    pub fn feed(mut self, on: bool) -> Self {
        self.feed = on;
        self
    }

    /// How long the change feed keeps its events: seven days by default. Every
    /// [`PRUNE_EVERY_EVENTS`](metadata_store::feed::PRUNE_EVERY_EVENTS) events (counted by this
    /// process), the commit that tips the count over prunes older events right after it
    /// commits, on its connection, never past a consumer's cursor; a failed step is logged and
    /// left to the next. [`Retention::Forever`] keeps every event until
    /// [`Feed::prune`](metadata_store::Feed::prune) is called.
    pub fn feed_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Keeps the tables in this schema (created if missing) instead of the search path's first.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The most connections the pool opens; at least 1.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long to wait for a new connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `application_name` the connections report to the server.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }
}

/// The store's own runtime, on a thread of its own: dropping the store ends it there, so the
/// store can be dropped anywhere, inside another runtime too.
pub(crate) struct Background {
    pub(crate) handle: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Background {
    pub(crate) fn start() -> Result<Background, PostgresError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("metadata-postgres")
            .enable_all()
            .build()
            .map_err(PostgresError::Runtime)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("metadata-postgres-runtime".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(PostgresError::Runtime)?;
        Ok(Background {
            handle,
            _stop: stop,
        })
    }

    /// Runs `f` on the caller's tokio runtime when there is one (no hop: the pool's
    /// connections then live on that runtime, which must have its I/O and time drivers
    /// enabled, as `#[tokio::main]` does), else on the store's own runtime.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return f.await;
        }
        self.handle
            .spawn(f)
            .await
            .map_err(|_| StoreError::from(PostgresError::RuntimeGone))?
    }
}
