//! The change feed's contract between stores and the facade: [`FeedStore`], its errors, the
//! limits of a read, and [`FeedSignal`], a runtime-neutral way to wait for new events.
//!
//! Every store writes the events of a commit ([`metadata_core::feed::RecordChange`], derived by
//! the core from the records before and after) in the same transaction as the commit, and
//! gives them positions 1, 2, 3, ... in commit order: gapless and never reused, so a reader
//! that keeps its last position misses nothing and reads nothing twice.

pub use crate::retention::{
    PruneStep, Retention, RetentionSchedule, DEFAULT_RETENTION, PRUNE_EVERY_EVENTS,
};

use crate::error::StoreError;
use async_trait::async_trait;
use metadata_core::feed::ChangeEvent;
use metadata_core::{ListQuery, Millis, Page, Record};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// Where a feed stands ([`FeedStore::stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// The last position given (0 before the first event).
    pub head: u64,
    /// Every event at or below this position was pruned.
    pub pruned_through: u64,
    /// Every consumer's cursor, by name, in name order.
    pub cursors: Vec<(String, u64)>,
}

impl FeedStats {
    /// How many events the feed holds.
    pub fn events(&self) -> u64 {
        self.head.saturating_sub(self.pruned_through)
    }

    /// How far each consumer is behind the head, by name.
    pub fn lag(&self) -> impl Iterator<Item = (&str, u64)> {
        self.cursors
            .iter()
            .map(|(name, at)| (name.as_str(), self.head.saturating_sub(*at)))
    }
}

/// The most events one [`FeedStore::changes`] call returns.
pub const MAX_CHANGES_PER_READ: usize = 10_000;

/// The longest cursor name, in bytes.
pub const MAX_CURSOR_NAME_LEN: usize = 200;

/// What a feed call answers: the value, or a [`FeedError`].
pub type FeedResult<T> = Result<T, FeedError>;

/// Why a feed call failed. [`FeedError::code`] gives a stable code for each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// The events after `after` were pruned: the oldest still kept follows `pruned_through`.
    /// Re-sync from a snapshot ([`FeedStore::snapshot`]) and follow on from its
    /// position.
    #[error(
        "the feed no longer holds the events after {after}; it was pruned through {pruned_through}"
    )]
    CursorExpired {
        /// The position asked to read after.
        after: u64,
        /// Every event at or below this position was pruned.
        pruned_through: u64,
    },
    /// A named cursor was not where the caller expected: another instance of the consumer
    /// advanced it.
    #[error("cursor {name:?} is at {actual:?}, not {expected:?}")]
    CursorMoved {
        /// The cursor.
        name: String,
        /// Where the caller expected it (`None`: not yet created).
        expected: Option<u64>,
        /// Where it is.
        actual: Option<u64>,
    },
    /// A cursor name that is empty, longer than [`MAX_CURSOR_NAME_LEN`] or holds a control
    /// character.
    #[error("invalid cursor name {0:?}")]
    InvalidCursorName(String),
    /// The store keeps no feed (it was opened with the feed off, or does not implement one).
    #[error("this store keeps no change feed")]
    Disabled,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FeedError {
    /// A stable code: `cursor_expired`, `cursor_moved`, `invalid_cursor_name`,
    /// `feed_disabled`, or `storage_error` / `storage_outcome_unknown` for the storage.
    pub fn code(&self) -> &'static str {
        match self {
            FeedError::CursorExpired { .. } => "cursor_expired",
            FeedError::CursorMoved { .. } => "cursor_moved",
            FeedError::InvalidCursorName(_) => "invalid_cursor_name",
            FeedError::Disabled => "feed_disabled",
            FeedError::Store(StoreError::OutcomeUnknown { .. }) => "storage_outcome_unknown",
            FeedError::Store(_) => "storage_error",
        }
    }

    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            FeedError::CursorMoved { .. } => true,
            FeedError::Store(StoreError::Backend { retryable, .. }) => *retryable,
            _ => false,
        }
    }
}

/// The change-feed contract: what a store that keeps a feed offers, beside the record
/// contract ([`crate::MetadataStore::feed`] hands it out). The facade's
/// [`crate::Feed`] and [`crate::Consumer`] are the only callers a host needs; they check
/// cursor names (1 to [`MAX_CURSOR_NAME_LEN`] bytes, no control character) and clamp read
/// limits before a store sees them, so a store may take both as given.
#[async_trait]
pub trait FeedStore: Send + Sync {
    /// The events after position `after`, in position order, at most `limit` (the facade
    /// asks for 1..=[`MAX_CHANGES_PER_READ`]). Every commit writes its events in the same transaction
    /// as its records; a refused or failed commit writes none (R12.1, R12.2).
    /// [`FeedError::CursorExpired`] if events after `after` were pruned.
    async fn changes(&self, after: u64, limit: usize) -> FeedResult<Vec<ChangeEvent>>;

    /// The signal the store announces its commits on, for waiting without polling (commits
    /// made through this process only).
    fn signal(&self) -> &FeedSignal;

    /// Where the named cursor is, if it exists.
    async fn cursor(&self, name: &str) -> FeedResult<Option<u64>>;

    /// Moves the named cursor to `to` if it is at `expected` (`None`: it does not exist yet,
    /// and is created): compare-and-set, so two instances of one consumer cannot both advance
    /// it (R12.4). Otherwise [`FeedError::CursorMoved`].
    async fn advance_cursor(
        &self,
        name: &str,
        expected: Option<u64>,
        to: u64,
    ) -> Result<(), FeedError>;

    /// Removes the named cursor, so pruning no longer waits for it; whether it existed.
    async fn remove_cursor(&self, name: &str) -> FeedResult<bool>;

    /// Prunes one batch of at most `max_events` of the oldest events: those committed before
    /// `committed_before` (ms since the epoch, on the clock commits are stamped with) and at or
    /// below every cursor, oldest first and without a hole (R12.5). Returns how many it
    /// deleted.
    async fn prune(&self, committed_before: Millis, max_events: usize) -> FeedResult<u64>;

    /// Where the feed stands: its head, its prune mark and every consumer's cursor, read
    /// together.
    async fn stats(&self) -> FeedResult<FeedStats>;

    /// One page of records and a feed position it reflects: every commit at or below that
    /// position is in the page (the memory and SQLite stores give exactly those; PostgreSQL's
    /// page may also reflect commits after it). A reader that lost its place
    /// ([`FeedError::CursorExpired`]) re-syncs from snapshot pages and follows the feed on
    /// from the lowest of their positions, skipping an event whose version is at or below
    /// the version of the record it already holds.
    async fn snapshot(&self, query: &ListQuery) -> FeedResult<(Page<Record>, u64)>;
}

/// Checks a cursor name: 1 to [`MAX_CURSOR_NAME_LEN`] bytes, no control character. The facade
/// checks every name before a store sees it.
pub(crate) fn check_cursor_name(name: &str) -> Result<(), FeedError> {
    if name.is_empty() || name.len() > MAX_CURSOR_NAME_LEN || name.chars().any(char::is_control) {
        return Err(FeedError::InvalidCursorName(name.to_owned()));
    }
    Ok(())
}

/// How many events a read may return: `limit` clamped to 1..=[`MAX_CHANGES_PER_READ`]. The
/// facade clamps every read before a store sees it.
pub(crate) fn clamp_limit(limit: usize) -> usize {
    limit.clamp(1, MAX_CHANGES_PER_READ)
}

/// The highest position this process has seen committed, and the tasks waiting for a higher
/// one. A store bumps it after each commit with events; [`FeedSignal::wait_past`] is a future
/// that needs no particular async runtime.
///
/// It sees commits made through this process's stores only: a reader following writers in
/// other processes also polls [`FeedStore::changes`] on an interval (for example
/// `wait_past` under its runtime's timeout).
#[derive(Debug, Default)]
pub struct FeedSignal {
    head: AtomicU64,
    /// Bumped by every [`FeedSignal::announce_unpositioned`].
    unpositioned: AtomicU64,
    wakers: Mutex<Vec<Waker>>,
}

impl FeedSignal {
    /// A signal at position 0.
    pub fn new() -> Self {
        FeedSignal::default()
    }

    /// The highest position announced.
    pub fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    /// Announces that events up to `position` are committed, waking every waiter.
    pub fn announce(&self, position: u64) {
        self.head.fetch_max(position, Ordering::AcqRel);
        self.wake();
    }

    /// Announces that events were committed whose positions are not known yet (a store that
    /// gives positions after the commit): every waiter wakes and reads the feed.
    pub fn announce_unpositioned(&self) {
        self.unpositioned.fetch_add(1, Ordering::AcqRel);
        self.wake();
    }

    fn wake(&self) {
        let wakers =
            std::mem::take(&mut *self.wakers.lock().unwrap_or_else(PoisonError::into_inner));
        for waker in wakers {
            waker.wake();
        }
    }

    /// A future that resolves, with the announced head, once an event past `position` is
    /// announced (or, after [`FeedSignal::announce_unpositioned`], may exist).
    pub fn wait_past(&self, position: u64) -> WaitPast<'_> {
        WaitPast {
            signal: self,
            position,
            unpositioned: self.unpositioned.load(Ordering::Acquire),
        }
    }
}

/// The future of [`FeedSignal::wait_past`].
#[derive(Debug)]
pub struct WaitPast<'a> {
    signal: &'a FeedSignal,
    position: u64,
    unpositioned: u64,
}

impl Future for WaitPast<'_> {
    type Output = u64;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        let ready = |s: &Self| {
            let head = s.signal.head();
            let woken = s.signal.unpositioned.load(Ordering::Acquire) != s.unpositioned;
            (head > s.position || woken).then_some(head)
        };
        if let Some(head) = ready(&self) {
            return Poll::Ready(head);
        }
        let mut wakers = self
            .signal
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Checked again under the lock: an announcement in between takes the wakers after us.
        if let Some(head) = ready(&self) {
            return Poll::Ready(head);
        }
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_waiter_wakes_on_an_announcement_past_its_position() {
        let signal = Arc::new(FeedSignal::new());
        signal.announce(3);
        assert_eq!(futures::executor::block_on(signal.wait_past(2)), 3);
        let s = signal.clone();
        let waiter = std::thread::spawn(move || futures::executor::block_on(s.wait_past(3)));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!waiter.is_finished(), "nothing past 3 yet");
        signal.announce(5);
        assert_eq!(waiter.join().unwrap(), 5);
    }

    #[test]
    fn cursor_names_are_checked() {
        assert!(check_cursor_name("search-indexer").is_ok());
        for bad in ["", "a\nb", &"x".repeat(MAX_CURSOR_NAME_LEN + 1)] {
            assert!(matches!(
                check_cursor_name(bad),
                Err(FeedError::InvalidCursorName(_))
            ));
        }
    }
}
