//! The memory store's change feed: events, cursors and the prune mark, kept under the same lock
//! as the records so that a commit and its events are one step.

use metadata_core::feed::{Actor, ChangeEvent, RecordChange};
use metadata_core::{Millis, Record};
use metadata_store::feed::FeedError;
use metadata_store::feed::FeedStats;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A change as the memory store keeps it: the record after the write is shared with the store
/// and written out as JSON only when the event is read.
pub(crate) type Change = (RecordChange, Option<Arc<Record>>);

/// The feed of one memory store.
#[derive(Debug, Default)]
pub(crate) struct Log {
    /// Events after `pruned_through`, in position order, each with the record after it.
    events: VecDeque<(ChangeEvent, Option<Arc<Record>>)>,
    /// The last position given.
    head: u64,
    /// Every event at or below it is gone.
    pruned_through: u64,
    cursors: BTreeMap<String, u64>,
}

impl Log {
    pub(crate) fn head(&self) -> u64 {
        self.head
    }

    /// Appends the events of one commit at `committed_at` by `actor`; they share the first
    /// one's position as commit id.
    pub(crate) fn append(
        &mut self,
        changes: Vec<Change>,
        committed_at: Millis,
        actor: Option<&Actor>,
    ) {
        let commit_id = self.head + 1;
        for (mut change, after) in changes {
            change.actor = actor.cloned();
            self.head += 1;
            let event = ChangeEvent {
                position: self.head,
                commit_id,
                committed_at,
                change,
            };
            self.events.push_back((event, after));
        }
    }

    pub(crate) fn read(&self, after: u64, limit: usize) -> Result<Vec<ChangeEvent>, FeedError> {
        if after < self.pruned_through {
            return Err(FeedError::CursorExpired {
                after,
                pruned_through: self.pruned_through,
            });
        }
        let skip = (after - self.pruned_through) as usize;
        Ok(self
            .events
            .iter()
            .skip(skip)
            .take(limit)
            .map(|(event, after)| {
                let mut event = event.clone();
                event.change.record = after.as_deref().map(Record::to_json);
                event
            })
            .collect())
    }

    pub(crate) fn cursor(&self, name: &str) -> Result<Option<u64>, FeedError> {
        Ok(self.cursors.get(name).copied())
    }

    pub(crate) fn advance(
        &mut self,
        name: &str,
        expected: Option<u64>,
        to: u64,
    ) -> Result<(), FeedError> {
        let actual = self.cursor(name)?;
        if actual != expected {
            return Err(FeedError::CursorMoved {
                name: name.to_owned(),
                expected,
                actual,
            });
        }
        self.cursors.insert(name.to_owned(), to);
        Ok(())
    }

    pub(crate) fn stats(&self) -> FeedStats {
        FeedStats {
            head: self.head(),
            pruned_through: self.pruned_through,
            cursors: self.cursors.iter().map(|(n, p)| (n.clone(), *p)).collect(),
        }
    }

    pub(crate) fn remove(&mut self, name: &str) -> Result<bool, FeedError> {
        Ok(self.cursors.remove(name).is_some())
    }

    pub(crate) fn prune(&mut self, committed_before: Millis, max_events: usize) -> u64 {
        let lowest = self.cursors.values().copied().min().unwrap_or(u64::MAX);
        let mut pruned = 0;
        while pruned < max_events as u64 {
            match self.events.front() {
                Some((e, _)) if e.position <= lowest && e.committed_at < committed_before => {
                    self.pruned_through = e.position;
                    self.events.pop_front();
                    pruned += 1;
                }
                _ => break,
            }
        }
        pruned
    }
}
