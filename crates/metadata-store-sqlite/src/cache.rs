//! Parsed records, remembered with the exact stored text they came from. A read still fetches
//! the row; when its text is byte for byte the text remembered, the parsed record is reused
//! instead of parsing (and validating) the JSON again. Comparing the text keeps this exact, even
//! when another process writes the same file.

use metadata_core::Write;
use metadata_core::{Record, ResourceKind};
use metadata_store::prepared::PreparedWrite;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// How many records are remembered; past that the cache starts over.
const CAPACITY: usize = 4096;

type Key = (ResourceKind, String);

#[derive(Debug, Default)]
pub(crate) struct ParsedCache {
    entries: Mutex<HashMap<Key, (String, Record)>>,
}

impl ParsedCache {
    /// The remembered record for this key, if it was parsed from exactly `body`.
    pub(crate) fn get(&self, kind: ResourceKind, key: &str, body: &str) -> Option<Record> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(&(kind, key.to_owned()))
            .filter(|(text, _)| text == body)
            .map(|(_, record)| record.clone())
    }

    /// Remembers a record and the text it was parsed from (or serialized to).
    pub(crate) fn put(&self, kind: ResourceKind, key: String, body: String, record: Record) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert((kind, key), (body, record));
    }

    /// After a successful commit: remembers what was written and forgets what was deleted.
    pub(crate) fn committed(&self, writes: &[Write], prepared: &[PreparedWrite]) {
        for (write, prepared) in writes.iter().zip(prepared) {
            match (write, prepared) {
                (Write::Create(record), PreparedWrite::Create { key, body, .. })
                | (Write::Update { record, .. }, PreparedWrite::Update { key, body, .. }) => {
                    self.put(key.kind(), key.storage_key(), body.clone(), record.clone());
                }
                (_, PreparedWrite::Delete(key)) => {
                    let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
                    entries.remove(&(key.kind(), key.storage_key()));
                }
                (_, PreparedWrite::DeleteChildren { .. }) => {
                    self.entries
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clear();
                }
                _ => {}
            }
        }
    }
}
