//! [`Feed`]: reading the change feed through the facade, with named consumers, retention and
//! the privacy view.

use crate::feed::{FeedError, FeedSignal, FeedStats, FeedStore};
use crate::service::MetadataService;
use metadata_core::feed::{Actor, ChangeEvent, ClaimsScope, PublicChangeEvent};
use metadata_core::{ListQuery, Page, Record};
use std::collections::BTreeSet;
use std::time::Duration;
use tracing::Instrument;

/// The change feed of a [`MetadataService`]'s store, from [`MetadataService::feed`].
///
/// ```
/// # use metadata_store::*;
/// # use metadata_core::*;
/// # async fn demo(metadata: MetadataService) -> Result<(), Box<dyn std::error::Error>> {
/// let feed = metadata.feed();
/// let indexer = feed.consumer("search-indexer");
/// loop {
///     let batch = indexer.next(100).await?;
///     for event in &batch.events {
///         println!("{} {} v{}", event.change.id, event.change.operation.as_str(), event.change.version);
///     }
///     indexer.ack(&batch).await?; // another instance acking the same batch gets CursorMoved
///     if batch.events.is_empty() {
///         feed.wait(batch.to).await?; // or poll: writers in other processes are not announced
///     }
/// }
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Feed<'a> {
    pub(crate) service: &'a MetadataService,
}

/// A batch a [`Consumer`] read: the events after the cursor, and the position to ack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The events, in position order.
    pub events: Vec<ChangeEvent>,
    /// Where the cursor was when the batch was read (`None`: it did not exist).
    pub from: Option<u64>,
    /// The position of the last event, or where the cursor was if there is none.
    pub to: u64,
}

/// A named consumer of the feed, its cursor stored in the same database as the records.
#[derive(Clone, Debug)]
pub struct Consumer<'a> {
    feed: Feed<'a>,
    name: String,
}

/// What [`Feed::read_public`] read: the events as anything client-facing may see them, and
/// how far the read went.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicBatch {
    /// The public views, in position order.
    pub events: Vec<PublicChangeEvent>,
    /// The position of the last event read, left out or not (a write that changed only
    /// private tiers has no public view), or `after` if there was none: where the next read
    /// starts.
    pub through: u64,
}

impl<'a> Feed<'a> {
    /// The store's feed contract, or [`FeedError::Disabled`] for a store that keeps none.
    fn store(&self) -> Result<&'a dyn FeedStore, FeedError> {
        self.service.store.feed().ok_or(FeedError::Disabled)
    }

    /// The events after `after`, at most `limit` (see [`FeedStore::changes`]).
    pub async fn read(&self, after: u64, limit: usize) -> Result<Vec<ChangeEvent>, FeedError> {
        let limit = crate::feed::clamp_limit(limit);
        self.store()?.changes(after, limit).await
    }

    /// The events after `after` whose actor `by` accepts (R14.2), reading at most `limit`
    /// events (so a page may hold fewer, even none, before the feed's end), and the position
    /// the next read starts after. Events written before actors were kept have none.
    ///
    /// ```
    /// # use metadata_store::*;
    /// # use metadata_core::feed::Actor;
    /// # async fn demo(metadata: MetadataService) -> Result<(), feed::FeedError> {
    /// // Everything the bulk change `bulk_7` wrote.
    /// let (events, through) = metadata
    ///     .feed()
    ///     .read_by_actor(0, 500, |actor| {
    ///         actor == Some(&Actor::library("bulk_change", "bulk_7"))
    ///     })
    ///     .await?;
    /// # let _ = (events, through); Ok(()) }
    /// ```
    pub async fn read_by_actor(
        &self,
        after: u64,
        limit: usize,
        by: impl Fn(Option<&Actor>) -> bool,
    ) -> Result<(Vec<ChangeEvent>, u64), FeedError> {
        let read = self.read(after, limit).await?;
        let through = read.last().map_or(after, |e| e.position);
        let events = read
            .into_iter()
            .filter(|e| by(e.change.actor.as_ref()))
            .collect();
        Ok((events, through))
    }

    /// [`Feed::read`] as anything client-facing may see it: no private tier, and no event for
    /// a write that changed only private tiers (R12.6, see [`ChangeEvent::without_private`]).
    pub async fn read_public(&self, after: u64, limit: usize) -> Result<PublicBatch, FeedError> {
        let read = self.read(after, limit).await?;
        let through = read.last().map_or(after, |e| e.position);
        let mut events = Vec::with_capacity(read.len());
        for event in read {
            let public = event
                .without_private()
                .map_err(|e| crate::StoreError::backend("feed", false, e))?;
            events.extend(public);
        }
        Ok(PublicBatch { events, through })
    }

    /// Resolves once this process has committed an event past `after`, with the position of
    /// an event past `after` (the newest announced, where the store knows positions at commit
    /// time). It needs no particular async runtime; writers in other processes are not
    /// announced, so a reader that follows them also polls (for example under its runtime's
    /// timeout).
    pub async fn wait(&self, after: u64) -> Result<u64, FeedError> {
        let signal: &FeedSignal = self.store()?.signal();
        loop {
            // Listening starts before the feed is read, so a commit in between is not missed.
            let announced = signal.wait_past(after);
            if signal.head() > after {
                return Ok(signal.head());
            }
            // Events already there (committed elsewhere, or by a store that positions events
            // after their commit) need no announcement.
            if let Some(event) = self.read(after, 1).await?.first() {
                return Ok(event.position);
            }
            let head = announced.await;
            if head > after {
                return Ok(head);
            }
        }
    }

    /// The consumer named `name` (its cursor is created by its first ack).
    pub fn consumer(&self, name: impl Into<String>) -> Consumer<'a> {
        Consumer {
            feed: *self,
            name: name.into(),
        }
    }

    /// Prunes events older than `max_age` (by the service's clock, which commits are stamped
    /// with), in batches of `batch`, never past the lowest cursor; returns how many it deleted.
    pub async fn prune(&self, max_age: Duration, batch: usize) -> Result<u64, FeedError> {
        let age = max_age.as_millis().min(i64::MAX as u128) as i64;
        let cutoff = self.service.now().saturating_sub(age);
        let store = self.store()?;
        let span = tracing::debug_span!(
            "metadata.feed.prune",
            cutoff,
            pruned = tracing::field::Empty
        );
        let mut total = 0;
        let pruned = async {
            loop {
                let pruned = store.prune(cutoff, batch.max(1)).await?;
                total += pruned;
                if pruned < batch.max(1) as u64 {
                    return Ok(total);
                }
            }
        }
        .instrument(span.clone())
        .await;
        span.record("pruned", total);
        if self.service.metrics {
            metrics::counter!("metadata_feed_pruned_total").increment(total);
        }
        pruned
    }

    /// Where the feed stands: head, prune mark, and every consumer's cursor (see
    /// [`FeedStats::lag`]). With metrics on, publishes the head and each cursor's lag.
    pub async fn stats(&self) -> Result<FeedStats, FeedError> {
        let stats = self.store()?.stats().await?;
        for (name, at) in &stats.cursors {
            crate::observe::cursor_lag(self.service, name, *at);
        }
        Ok(stats)
    }

    /// One page of records and the feed position it is consistent with (see
    /// [`FeedStore::snapshot`]).
    pub async fn snapshot(&self, query: &ListQuery) -> Result<(Page<Record>, u64), FeedError> {
        self.store()?.snapshot(query).await
    }

    /// Whose session claims `events` may have changed, each once (see
    /// [`ChangeEvent::claims_scope`]).
    pub fn claims_scopes<'e>(
        events: impl IntoIterator<Item = &'e ChangeEvent>,
    ) -> BTreeSet<ClaimsScope> {
        events
            .into_iter()
            .filter_map(ChangeEvent::claims_scope)
            .collect()
    }
}

impl<'a> Consumer<'a> {
    /// The store's feed contract, once the consumer's name is checked.
    fn store(&self) -> Result<&'a dyn FeedStore, FeedError> {
        crate::feed::check_cursor_name(&self.name)?;
        self.feed.store()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where its cursor is (`None`: it has not acked anything yet).
    pub async fn position(&self) -> Result<Option<u64>, FeedError> {
        self.store()?.cursor(&self.name).await
    }

    /// The next events after its cursor, at most `limit`.
    pub async fn next(&self, limit: usize) -> Result<Batch, FeedError> {
        let from = self.position().await?;
        crate::observe::cursor_lag(self.feed.service, &self.name, from.unwrap_or(0));
        let events = self.feed.read(from.unwrap_or(0), limit).await?;
        let to = events
            .last()
            .map(|e| e.position)
            .unwrap_or(from.unwrap_or(0));
        Ok(Batch { events, from, to })
    }

    /// Moves the cursor past `batch`, if no other instance moved it since the batch was read
    /// ([`FeedError::CursorMoved`] otherwise).
    pub async fn ack(&self, batch: &Batch) -> Result<(), FeedError> {
        if batch.from == Some(batch.to) {
            return Ok(());
        }
        self.store()?
            .advance_cursor(&self.name, batch.from, batch.to)
            .await?;
        crate::observe::cursor_lag(self.feed.service, &self.name, batch.to);
        Ok(())
    }

    /// Moves the cursor forward to `position` if it is behind it, never back, whichever other
    /// instance moves it meanwhile: for a consumer that keeps its place elsewhere (a relay
    /// reads its place from the stream it publishes to), whose cursor only holds pruning back
    /// until it has passed an event.
    pub async fn advance_to(&self, position: u64) -> Result<(), FeedError> {
        let store = self.store()?;
        let mut attempts = 0;
        loop {
            let current = store.cursor(&self.name).await?;
            if current.is_some_and(|c| c >= position) {
                return Ok(());
            }
            attempts += 1;
            match store.advance_cursor(&self.name, current, position).await {
                Err(FeedError::CursorMoved { .. }) if attempts < crate::MAX_UPDATE_ATTEMPTS => {}
                Ok(()) => {
                    crate::observe::cursor_lag(self.feed.service, &self.name, position);
                    return Ok(());
                }
                other => return other,
            }
        }
    }

    /// Moves the cursor to `position`, back or forward, if it is where the caller expects
    /// (`expected`, `None` for a cursor not yet made; [`FeedError::CursorMoved`] otherwise): to
    /// read again the events after a position still kept (a replay), or to skip ahead.
    pub async fn move_to(&self, expected: Option<u64>, position: u64) -> Result<(), FeedError> {
        self.store()?
            .advance_cursor(&self.name, expected, position)
            .await
    }

    /// Removes the cursor, so that pruning no longer waits for it.
    pub async fn remove(&self) -> Result<bool, FeedError> {
        self.store()?.remove_cursor(&self.name).await
    }
}
