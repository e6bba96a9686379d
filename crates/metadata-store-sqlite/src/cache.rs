//! Parsed records, remembered with the exact stored text they came from. A read still fetches
//! the row; when its text is byte for byte the text remembered, the parsed record is reused
//! instead of parsing (and validating) the JSON again. Comparing the text keeps this exact, even
//! when another process writes the same file.
//!
//! The cache is bounded by bytes, not entries: a record of 24 KiB counts 24 times one of 1 KiB.

use metadata_core::Write;
use metadata_core::{Record, ResourceKind};
use metadata_store::prepared::PreparedWrite;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The default bound on what the cache holds: 16 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;

type Key = (ResourceKind, String);

/// What one entry costs: its key, its text, the parsed record (about as large as its text),
/// the compact text its tiers may keep (see `Metadata::json`) and the map's own overhead.
fn cost(key: &str, body: &str) -> usize {
    key.len() + 3 * body.len() + ENTRY_OVERHEAD
}

const ENTRY_OVERHEAD: usize = 128;

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<Key, (String, Record)>,
    bytes: usize,
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The remembered record for this key, if it was parsed from exactly `body`.
    pub(crate) fn get(&self, kind: ResourceKind, key: &str, body: &str) -> Option<Record> {
        self.lock()
            .map
            .get(&(kind, key.to_owned()))
            .filter(|(text, _)| text == body)
            .map(|(_, record)| record.clone())
    }

    /// Remembers a record and the text it was parsed from (or serialized to). When the cache
    /// would grow past its bound it starts over.
    pub(crate) fn put(&self, kind: ResourceKind, key: String, body: String, record: Record) {
        let added = cost(&key, &body);
        if added > self.limit {
            return;
        }
        let key_len = key.len();
        let mut entries = self.lock();
        if entries.bytes + added > self.limit {
            entries.map.clear();
            entries.bytes = 0;
        }
        if let Some((old, _)) = entries.map.insert((kind, key), (body, record)) {
            entries.bytes -= key_len + 3 * old.len() + ENTRY_OVERHEAD;
        }
        entries.bytes += added;
    }

    /// Forgets one record, so that a writer holding it may hold the only copy.
    pub(crate) fn release(&self, kind: ResourceKind, key: &str) {
        self.remove(kind, key.to_owned())
    }

    fn remove(&self, kind: ResourceKind, key: String) {
        let mut entries = self.lock();
        if let Some((body, _)) = entries.map.remove(&(kind, key.clone())) {
            entries.bytes -= cost(&key, &body);
        }
    }

    /// How many entries and bytes the cache holds.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let entries = self.lock();
        (entries.map.len(), entries.bytes)
    }

    /// After a successful commit: remembers what was written and forgets what was deleted.
    pub(crate) fn committed(&self, writes: &[Write], prepared: &[PreparedWrite]) {
        for (write, prepared) in writes.iter().zip(prepared) {
            match (write, prepared) {
                (Write::Create(record), PreparedWrite::Create { key, body, .. })
                | (Write::Update { record, .. }, PreparedWrite::Update { key, body, .. }) => {
                    self.put(key.kind(), key.storage_key(), body.clone(), record.clone());
                }
                (_, PreparedWrite::Delete(key)) => self.remove(key.kind(), key.storage_key()),
                (_, PreparedWrite::DeleteChildren { .. }) => {
                    let mut entries = self.lock();
                    entries.map.clear();
                    entries.bytes = 0;
                }
                _ => {}
            }
        }
    }
}
