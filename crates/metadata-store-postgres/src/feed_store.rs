//! [`FeedStore`] for [`PostgresStore`]: every call on a pooled connection, on the caller's
//! runtime when there is one; reads and pruning first give positions to committed events.

use crate::{feed, get_client, sql, PostgresStore};
use async_trait::async_trait;
use metadata_core::feed::ChangeEvent;
use metadata_core::{ListQuery, Millis, Page, Record};
use metadata_store::feed::{FeedError, FeedResult, FeedSignal, FeedStats, FeedStore};
use std::future::Future;
use tracing::Instrument;

#[async_trait]
impl FeedStore for PostgresStore {
    /// Gives positions to the committed events that have none (see the `feed` module), then
    /// reads; a reader never waits on a transaction still open.
    async fn changes(&self, after: u64, limit: usize) -> FeedResult<Vec<ChangeEvent>> {
        self.feed_call(move |mut client| async move {
            feed::sequence(&mut client).await?;
            feed::read(&client, after, limit).await
        })
        .await
    }

    fn signal(&self) -> &FeedSignal {
        &self.inner.signal
    }

    async fn cursor(&self, name: &str) -> FeedResult<Option<u64>> {
        let name = name.to_owned();
        self.feed_call(move |client| async move { feed::cursor(&client, &name).await })
            .await
    }

    async fn advance_cursor(&self, name: &str, expected: Option<u64>, to: u64) -> FeedResult<()> {
        let name = name.to_owned();
        self.feed_call(move |client| async move {
            feed::advance_cursor_in(&**client, &name, expected, to).await
        })
        .await
    }

    async fn stats(&self) -> FeedResult<FeedStats> {
        self.feed_call(move |mut client| async move {
            feed::sequence(&mut client).await?;
            Ok(feed::stats(&client).await?)
        })
        .await
    }

    async fn remove_cursor(&self, name: &str) -> FeedResult<bool> {
        let name = name.to_owned();
        self.feed_call(move |client| async move { feed::remove_cursor(&client, &name).await })
            .await
    }

    async fn prune(&self, committed_before: Millis, max_events: usize) -> FeedResult<u64> {
        let span = tracing::debug_span!("metadata.postgres.prune", committed_before, max_events);
        self.feed_call(move |mut client| async move {
            feed::sequence(&mut client).await?;
            Ok(feed::prune(&mut client, committed_before, max_events).await?)
        })
        .instrument(span)
        .await
    }

    /// The position is the feed's head after sequencing, read before the records: the page
    /// reflects every commit at or below it, and possibly later ones too (whose events a
    /// re-syncing reader recognizes by their versions).
    async fn snapshot(&self, query: &ListQuery) -> FeedResult<(Page<Record>, u64)> {
        let prepared = sql::prepare_list(query)?;
        let (rows, head) = self
            .feed_call(move |mut client| async move {
                feed::sequence(&mut client).await?;
                let head = feed::head(&client).await?;
                Ok((sql::list(&client, &prepared).await?, head))
            })
            .await?;
        let items = rows
            .iter()
            .map(|(key, body)| sql::parse(query.kind, key, body))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((query.page(items), head))
    }
}

impl PostgresStore {
    /// Runs a feed call with a pooled connection, on the caller's runtime when there is one.
    async fn feed_call<T, F, Fut>(&self, f: F) -> Result<T, FeedError>
    where
        T: Send + 'static,
        F: FnOnce(deadpool_postgres::Object) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, FeedError>> + Send + 'static,
    {
        if !self.inner.feed {
            return Err(FeedError::Disabled);
        }
        let pool = self.inner.pool.clone();
        let result = self
            .inner
            .background
            .run(async move {
                let client = get_client(&pool).await?;
                Ok(f(client).await)
            })
            .await?;
        result
    }
}
