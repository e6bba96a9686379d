//! Records this store last read or wrote, with the row version (`xmin`) they came from, so a
//! common update is one statement: the core's change is applied to the known record and sent as
//! `UPDATE ... WHERE version = $v AND xmin = $x`. The server checks both, so a stale entry (a
//! record another writer changed, or deleted and created again) changes nothing and the store
//! reads the record instead. Entries expire after a short time, so `xmin` is never trusted
//! across a freeze, and the whole is bounded by bytes.

use metadata_core::{Record, ResourceKind, Tier};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long an entry is trusted.
const TTL: Duration = Duration::from_secs(30);
/// The most bytes of tiers the entries may hold.
const CAPACITY_BYTES: usize = 16 << 20;

type Key = (ResourceKind, String);

struct Entry {
    xmin: String,
    record: Record,
    at: Instant,
    bytes: usize,
}

#[derive(Default)]
struct Entries {
    map: HashMap<Key, Entry>,
    bytes: usize,
}

/// The known records.
#[derive(Default)]
pub(crate) struct Known {
    entries: Mutex<Entries>,
}

fn cost(record: &Record) -> usize {
    Tier::ALL
        .into_iter()
        .filter_map(|t| record.tier(t).map(|m| m.size()))
        .sum::<usize>()
        + 256
}

impl Known {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The record known under `key` and its `xmin`, if fresh.
    pub(crate) fn get(&self, kind: ResourceKind, key: &str) -> Option<(String, Record)> {
        let entries = self.lock();
        let entry = entries.map.get(&(kind, key.to_owned()))?;
        (entry.at.elapsed() < TTL).then(|| (entry.xmin.clone(), entry.record.clone()))
    }

    /// Remembers `record`, stored as the row version `xmin`.
    pub(crate) fn put(&self, record: &Record, xmin: String) {
        let bytes = cost(record);
        let key = (record.kind(), record.key().storage_key());
        let mut entries = self.lock();
        if entries.bytes + bytes > CAPACITY_BYTES {
            entries.map.clear();
            entries.bytes = 0;
        }
        let entry = Entry {
            xmin,
            record: record.clone(),
            at: Instant::now(),
            bytes,
        };
        if let Some(old) = entries.map.insert(key, entry) {
            entries.bytes -= old.bytes;
        }
        entries.bytes += bytes;
    }

    /// Forgets one record.
    pub(crate) fn forget(&self, kind: ResourceKind, key: &str) {
        let mut entries = self.lock();
        if let Some(old) = entries.map.remove(&(kind, key.to_owned())) {
            entries.bytes -= old.bytes;
        }
    }

    /// Forgets everything (after a cascade deleted records it does not name).
    pub(crate) fn clear(&self) {
        let mut entries = self.lock();
        entries.map.clear();
        entries.bytes = 0;
    }
}
