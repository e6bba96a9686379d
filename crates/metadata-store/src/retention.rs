//! How long a store keeps its change feed, and when a commit prunes it (contract §12.5).
//!
//! A store enforces its [`Retention`] itself, amortized over its writes: every commit reports
//! how many events it wrote to a [`RetentionSchedule`], and once enough have been written since
//! the last pruning step, the commit that tips it over also deletes, in the same transaction
//! (or right after it, on the same connection), the events older than the window, never past a
//! consumer's cursor. No thread, timer or async runtime is needed, and a service that never
//! reads its feed keeps at most the window's events plus one step's worth.

use metadata_core::Millis;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long the change feed keeps its events.
///
/// ```
/// use metadata_store::feed::Retention;
/// use std::time::Duration;
///
/// assert_eq!(Retention::default(), Retention::For(Duration::from_secs(7 * 24 * 3600)));
/// assert_eq!(Retention::Forever.window(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// Events older than this (by the service's clock, which stamps commits) are pruned as the
    /// store writes, never past a consumer's cursor.
    For(Duration),
    /// Nothing is pruned unless the host calls [`crate::Feed::prune`].
    Forever,
}

/// The default retention: seven days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// How many events are written between two pruning steps.
pub const PRUNE_EVERY_EVENTS: u64 = 256;

impl Default for Retention {
    fn default() -> Self {
        Retention::For(DEFAULT_RETENTION)
    }
}

impl Retention {
    /// The window, or `None` for [`Retention::Forever`].
    pub fn window(self) -> Option<Duration> {
        match self {
            Retention::For(window) => Some(window),
            Retention::Forever => None,
        }
    }
}

/// A store's side of its [`Retention`]: counts the events its commits write and says which
/// commit prunes, how old an event must be to go, and how many one step may delete.
#[derive(Debug)]
pub struct RetentionSchedule {
    retention: Retention,
    written: AtomicU64,
}

/// One pruning step a commit is to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneStep {
    /// Events committed before this time (ms since the epoch) go.
    pub committed_before: Millis,
    /// At most this many events go in this step: twice what was written since the last step,
    /// so the feed shrinks back to its window even after a burst.
    pub max_events: usize,
}

impl RetentionSchedule {
    /// A schedule for `retention`.
    pub fn new(retention: Retention) -> Self {
        RetentionSchedule {
            retention,
            written: AtomicU64::new(0),
        }
    }

    /// The retention in force.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// Counts `events` written by a commit at `at`, and says whether that commit takes a
    /// pruning step. Called once per commit that wrote events.
    #[inline]
    pub fn after_commit(&self, at: Millis, events: usize) -> Option<PruneStep> {
        let window = self.retention.window()?;
        let events = events as u64;
        let before = self.written.fetch_add(events, Ordering::Relaxed);
        let total = before + events;
        if total < PRUNE_EVERY_EVENTS {
            return None;
        }
        // Only the commit that takes the count past the step resets it; a concurrent commit
        // that lost the race leaves the step to the winner.
        if self
            .written
            .compare_exchange(total, 0, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        let window = window.as_millis().min(i64::MAX as u128) as i64;
        Some(PruneStep {
            committed_before: at.saturating_sub(window),
            max_events: (2 * total).min(usize::MAX as u64) as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_comes_once_per_256_events_and_covers_twice_them() {
        let schedule = RetentionSchedule::new(Retention::For(Duration::from_millis(1_000)));
        let steps: Vec<_> = (0..1_000)
            .filter_map(|i| schedule.after_commit(10_000 + i, 1))
            .collect();
        assert_eq!(steps.len(), 3);
        assert_eq!(
            steps[0],
            PruneStep {
                committed_before: 10_255 - 1_000,
                max_events: 512
            }
        );
        let big = schedule.after_commit(20_000, 1_000).unwrap();
        assert_eq!(big.max_events, 2 * (1_000 + 1_000 - 768));
    }

    #[test]
    fn forever_never_prunes() {
        let schedule = RetentionSchedule::new(Retention::Forever);
        assert!((0..10_000).all(|i| schedule.after_commit(i, 10).is_none()));
    }
}
