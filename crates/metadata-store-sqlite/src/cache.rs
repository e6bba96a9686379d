//! Parsed records, remembered with the exact stored text they came from, and with the epoch of
//! the reader pool in which that text was last seen in the row (see [`crate::readers`]).
//!
//! A read first asks whether the database changed since its connection last looked (`PRAGMA
//! data_version`); if it did not, and a record was seen in its row in the current epoch, that
//! record is the stored one and the read need not touch the table. Otherwise the read fetches
//! the row; when its text is byte for byte the text remembered, the parsed record is reused
//! instead of parsing (and validating) the JSON again. Comparing the text keeps this exact,
//! even when another process writes the same file.
//!
//! The cache is bounded by bytes, not entries: a record of 24 KiB counts 24 times one of 1 KiB.

use metadata_core::Write;
use metadata_core::{Record, ResourceKind};
use metadata_store_sql::prepared::{NewRow, PreparedWrite};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The default bound on what the cache holds: 16 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;

/// The epoch of a record the writer wrote: never current, so a read checks the row once.
pub(crate) const UNSEEN: u64 = 0;

/// What one entry costs: its key, its text, the parsed record (about as large as its text),
/// the compact text its tiers may keep (see `Metadata::json`) and the map's own overhead.
fn cost(key: &str, body: &str) -> usize {
    key.len() + 3 * body.len() + ENTRY_OVERHEAD
}

const ENTRY_OVERHEAD: usize = 128;

/// A remembered record: the text it was parsed from and the epoch it was last seen in its row.
#[derive(Debug)]
struct Entry {
    body: String,
    record: Record,
    seen: u64,
}

/// The entries, one map per kind, looked up by storage key without building one.
#[derive(Debug, Default)]
struct Entries {
    maps: [HashMap<String, Entry>; 5],
    bytes: usize,
}

impl Entries {
    fn clear(&mut self) {
        self.maps.iter_mut().for_each(HashMap::clear);
        self.bytes = 0;
    }

    fn len(&self) -> usize {
        self.maps.iter().map(HashMap::len).sum()
    }
}

#[derive(Debug)]
pub(crate) struct ParsedCache {
    entries: Mutex<Entries>,
    limit: usize,
}

impl ParsedCache {
    /// A cache holding at most `limit` bytes; 0 keeps nothing.
    pub(crate) fn new(limit: usize) -> Self {
        ParsedCache {
            entries: Mutex::default(),
            limit,
        }
    }

    /// Whether this cache keeps nothing (a limit of 0): then there is nothing to look up,
    /// nor any epoch to check a record against.
    pub(crate) fn is_off(&self) -> bool {
        self.limit == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The remembered record for this key if it was seen in its row in epoch `current` (never
    /// [`UNSEEN`]: the pool's epochs start at 1): then, if nothing changed since, it is the
    /// stored record.
    pub(crate) fn get_current(
        &self,
        kind: ResourceKind,
        key: &str,
        current: u64,
    ) -> Option<Record> {
        self.lock().maps[kind as usize]
            .get(key)
            .filter(|e| e.seen == current)
            .map(|e| e.record.clone())
    }

    /// The remembered record for this key, if it was parsed from exactly `body`, which was just
    /// read from its row; by a point read in epoch `seen`, which becomes its epoch (a listing,
    /// which reads outside the pool's epochs, passes `None`).
    pub(crate) fn get(
        &self,
        kind: ResourceKind,
        key: &str,
        body: &str,
        seen: Option<u64>,
    ) -> Option<Record> {
        let mut entries = self.lock();
        let entry = entries.maps[kind as usize]
            .get_mut(key)
            .filter(|e| e.body == body)?;
        if let Some(seen) = seen {
            entry.seen = seen;
        }
        Some(entry.record.clone())
    }

    /// Remembers a record and the text it was parsed from (or serialized to), seen in its row
    /// in epoch `seen` ([`UNSEEN`] for a record the writer wrote). When the cache would grow
    /// past its bound it starts over.
    pub(crate) fn put(
        &self,
        kind: ResourceKind,
        key: String,
        body: String,
        record: Record,
        seen: u64,
    ) {
        let added = cost(&key, &body);
        if added > self.limit {
            return;
        }
        let key_len = key.len();
        let mut entries = self.lock();
        if entries.bytes + added > self.limit {
            entries.clear();
        }
        let entry = Entry { body, record, seen };
        if let Some(old) = entries.maps[kind as usize].insert(key, entry) {
            entries.bytes -= key_len + 3 * old.body.len() + ENTRY_OVERHEAD;
        }
        entries.bytes += added;
    }

    /// Forgets one record, so that a writer holding it may hold the only copy.
    pub(crate) fn release(&self, kind: ResourceKind, key: &str) {
        self.remove(kind, key)
    }

    fn remove(&self, kind: ResourceKind, key: &str) {
        let mut entries = self.lock();
        if let Some(old) = entries.maps[kind as usize].remove(key) {
            entries.bytes -= cost(key, &old.body);
        }
    }

    /// How many entries and bytes the cache holds.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let entries = self.lock();
        (entries.len(), entries.bytes)
    }

    /// After a successful commit: remembers what was written and forgets what was deleted.
    pub(crate) fn committed(&self, writes: &[Write], prepared: &[PreparedWrite]) {
        for (write, prepared) in writes.iter().zip(prepared) {
            match (write, prepared) {
                (Write::Create(record), PreparedWrite::Create(NewRow { key, body, .. }))
                | (Write::Update { record, .. }, PreparedWrite::Update { key, body, .. }) => {
                    self.put(
                        key.kind(),
                        key.storage_key(),
                        body.clone(),
                        record.clone(),
                        UNSEEN,
                    );
                }
                (_, PreparedWrite::Delete(key)) => self.remove(key.kind(), &key.storage_key_cow()),
                (_, PreparedWrite::DeleteChildren { .. }) => self.lock().clear(),
                _ => {}
            }
        }
    }
}
