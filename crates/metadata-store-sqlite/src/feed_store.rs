//! [`FeedStore`] for [`SqliteStore`]: reads on the caller's thread with a pooled connection,
//! cursor moves and pruning on the writer.

use crate::error::SqliteError;
use crate::{feed, sql, SqliteStore};
use async_trait::async_trait;
use metadata_core::feed::ChangeEvent;
use metadata_core::{ListQuery, Millis, Page, Record};
use metadata_store::feed::{FeedError, FeedResult, FeedSignal, FeedStats, FeedStore};
use metadata_store::StoreError;

#[async_trait]
impl FeedStore for SqliteStore {
    async fn changes(&self, after: u64, limit: usize) -> FeedResult<Vec<ChangeEvent>> {
        if !self.inner.feed {
            return Err(FeedError::Disabled);
        }
        self.point_read(|conn| feed::read(conn, after, limit))
    }

    fn signal(&self) -> &FeedSignal {
        &self.inner.signal
    }

    async fn stats(&self) -> FeedResult<FeedStats> {
        if !self.inner.feed {
            return Err(FeedError::Disabled);
        }
        self.point_read(feed::stats)
    }

    async fn cursor(&self, name: &str) -> FeedResult<Option<u64>> {
        if !self.inner.feed {
            return Err(FeedError::Disabled);
        }
        self.point_read(|conn| feed::cursor(conn, name))
    }

    async fn advance_cursor(&self, name: &str, expected: Option<u64>, to: u64) -> FeedResult<()> {
        if !self.inner.feed {
            return Err(FeedError::Disabled);
        }
        let name = name.to_owned();
        let result = self
            .inner
            .writer
            .transact(move |conn| Ok(feed::advance_cursor_in(conn, &name, expected, to)))
            .await?;
        result
    }

    async fn remove_cursor(&self, name: &str) -> FeedResult<bool> {
        let name = name.to_owned();
        self.feed_job(move |conn| feed::remove_cursor(conn, &name))
            .await
    }

    async fn prune(&self, committed_before: Millis, max_events: usize) -> FeedResult<u64> {
        self.feed_job(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(SqliteError::from)?;
            let pruned = feed::prune(&tx, committed_before, max_events)?;
            tx.commit().map_err(SqliteError::from)?;
            Ok(pruned)
        })
        .await
    }

    async fn snapshot(&self, query: &ListQuery) -> FeedResult<(Page<Record>, u64)> {
        if !self.inner.feed {
            return Err(FeedError::Disabled);
        }
        let prepared = sql::prepare_list(query)?;
        let (rows, head) = self
            .read(move |conn| {
                let tx = conn.unchecked_transaction().map_err(SqliteError::from)?;
                let head = feed::head(&tx)?;
                let rows = sql::list(&tx, &prepared)?;
                Ok((rows, head))
            })
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for (key, body) in rows {
            items.push(
                self.parse(query.kind, key, body)
                    .map_err(StoreError::from)?,
            );
        }
        Ok((query.page(items), head))
    }
}
