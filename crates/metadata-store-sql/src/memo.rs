//! Records a store last read or wrote, each with a tag that lets the store check, in the same
//! statement or transaction that uses it, that the record has not moved on since (PostgreSQL's
//! row version `xmin`; SQLite's `PRAGMA data_version`). A store uses a remembered record to
//! apply a change without reading the record first. Entries expire after a time to live and
//! the whole is bounded by the bytes of the tiers it holds.

use foldhash::fast::RandomState;
use metadata_core::{Record, ResourceKind, Tier};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// One map of storage keys per kind, so a lookup by `&str` builds no key. The maps hash with
/// foldhash (randomly seeded): SipHash cost more than the rest of a lookup, and ids are chosen
/// by the host, not by its end users.
type Maps<T> = [HashMap<String, Entry<T>, RandomState>; ResourceKind::ALL.len()];

struct Entry<T> {
    tag: T,
    record: Record,
    at: Instant,
    bytes: usize,
}

struct Entries<T> {
    maps: Maps<T>,
    bytes: usize,
}

impl<T> Entries<T> {
    fn clear(&mut self) {
        self.maps.iter_mut().for_each(HashMap::clear);
        self.bytes = 0;
    }
}

/// Remembered records, each with a tag of type `T`.
pub struct Memo<T> {
    entries: Mutex<Entries<T>>,
    ttl: Duration,
    capacity_bytes: usize,
}

impl<T> std::fmt::Debug for Memo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("ttl", &self.ttl)
            .field("capacity_bytes", &self.capacity_bytes)
            .finish()
    }
}

/// What one record counts against the bound: its tiers, the compact text each may keep (see
/// `Metadata::json`), and a fixed overhead.
fn cost(record: &Record) -> usize {
    2 * Tier::ALL
        .into_iter()
        .filter_map(|t| record.tier(t).map(|m| m.size()))
        .sum::<usize>()
        + 256
}

impl<T: Clone> Memo<T> {
    /// Remembers records for `ttl` each, up to `capacity_bytes` in all (then it starts over).
    pub fn new(ttl: Duration, capacity_bytes: usize) -> Self {
        Memo {
            entries: Mutex::new(Entries {
                maps: Default::default(),
                bytes: 0,
            }),
            ttl,
            capacity_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries<T>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The record remembered under `key` and its tag, if it has not expired.
    pub fn get(&self, kind: ResourceKind, key: &str) -> Option<(T, Record)> {
        let entries = self.lock();
        let entry = entries.maps[kind as usize].get(key)?;
        (entry.at.elapsed() < self.ttl).then(|| (entry.tag.clone(), entry.record.clone()))
    }

    /// Takes the record remembered under `key` and its tag out, if it has not expired, so the
    /// caller may hold the only copy of it (and change it in place).
    pub fn take(&self, kind: ResourceKind, key: &str) -> Option<(T, Record)> {
        let mut entries = self.lock();
        let entry = entries.maps[kind as usize].remove(key)?;
        entries.bytes -= entry.bytes;
        (entry.at.elapsed() < self.ttl).then_some((entry.tag, entry.record))
    }

    /// Remembers `record` with `tag`.
    pub fn put(&self, record: &Record, tag: T) {
        let bytes = cost(record);
        let (kind, key) = (record.kind(), record.key().storage_key());
        let mut entries = self.lock();
        if entries.bytes + bytes > self.capacity_bytes {
            entries.clear();
        }
        let entry = Entry {
            tag,
            record: record.clone(),
            at: Instant::now(),
            bytes,
        };
        if let Some(old) = entries.maps[kind as usize].insert(key, entry) {
            entries.bytes -= old.bytes;
        }
        entries.bytes += bytes;
    }

    /// Forgets one record.
    pub fn forget(&self, kind: ResourceKind, key: &str) {
        let mut entries = self.lock();
        if let Some(old) = entries.maps[kind as usize].remove(key) {
            entries.bytes -= old.bytes;
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Forgets what the writes name (everything, for a cascade that deletes records it does
    /// not name).
    pub fn forget_written(&self, writes: &[metadata_core::Write]) {
        use metadata_core::Write;
        for write in writes {
            match write {
                Write::Create(r) | Write::Update { record: r, .. } => {
                    self.forget(r.kind(), &r.key().storage_key())
                }
                Write::Delete(key) => self.forget(key.kind(), &key.storage_key()),
                Write::Require(_) => {}
                _ => self.clear(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_core::{create_user, Change, Limits, UserId};

    #[test]
    fn entries_expire_and_are_bounded() {
        let user = |id: &str| {
            Record::User(
                create_user(
                    UserId::new(id).unwrap(),
                    &Change::new(),
                    &Limits::default(),
                    1,
                )
                .unwrap(),
            )
        };
        let memo = Memo::new(Duration::from_secs(60), 3 * 268);
        memo.put(&user("a"), 1);
        assert_eq!(memo.get(ResourceKind::User, "a").map(|(t, _)| t), Some(1));
        assert_eq!(memo.take(ResourceKind::User, "a").map(|(t, _)| t), Some(1));
        assert!(memo.get(ResourceKind::User, "a").is_none(), "taken out");
        memo.put(&user("a"), 1);
        memo.put(&user("b"), 2);
        memo.put(&user("c"), 3);
        memo.put(&user("d"), 4); // over the bound: starts over
        assert!(memo.get(ResourceKind::User, "a").is_none());
        assert!(memo.get(ResourceKind::User, "d").is_some());
        let expired = Memo::new(Duration::ZERO, 1 << 20);
        expired.put(&user("a"), ());
        assert!(expired.get(ResourceKind::User, "a").is_none());
    }
}
