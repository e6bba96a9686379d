//! The shared conformance suite and model check, on SQLite files (with the parsed-record cache
//! and without it) and in memory, under two executors.

use metadata_store::MetadataStore;
use metadata_store_sqlite::{SqliteOptions, SqliteStore};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod common;
use common::temp_dir;

/// A fresh database file in this binary's temporary directory.
fn fresh_path() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    temp_dir().join(format!("db-{}.sqlite", N.fetch_add(1, Ordering::Relaxed)))
}

fn fresh_file() -> Arc<dyn MetadataStore> {
    Arc::new(SqliteStore::open(SqliteOptions::file(fresh_path())).unwrap())
}

fn fresh_file_uncached() -> Arc<dyn MetadataStore> {
    Arc::new(SqliteStore::open(SqliteOptions::file(fresh_path()).cache_bytes(0)).unwrap())
}

fn fresh_memory() -> Arc<dyn MetadataStore> {
    Arc::new(SqliteStore::open_in_memory().unwrap())
}

mod file {
    use super::*;
    metadata_conformance::conformance_tests!(fresh_file);
}

mod file_uncached {
    use super::*;
    metadata_conformance::conformance_tests!(fresh_file_uncached);
}

mod memory {
    use super::*;
    metadata_conformance::conformance_tests!(fresh_memory);
}

#[test]
fn r3_5_two_threads_increment_to_exactly_ten_thousand() {
    let (counter, _conflicts) = metadata_conformance::concurrency::two_threads(fresh_file(), 5_000);
    assert_eq!(counter, 10_000);
}
