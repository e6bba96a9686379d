//! Ids for records created over HTTP without one: a prefix as the reference product spells it
//! and 20 characters that are unique in this process and unlikely to repeat across processes.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A new id such as `user_2c9f...`.
pub(crate) fn new_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // RandomState is seeded per process from the OS; hashing the clock and the counter with
    // it gives each process its own sequence.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(nanos);
    hasher.write_u64(count);
    let random = hasher.finish();
    format!("{prefix}_{nanos:x}{random:016x}")
        .chars()
        .take(prefix.len() + 1 + 28)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_differ_and_are_valid() {
        let a = super::new_id("user");
        let b = super::new_id("user");
        assert_ne!(a, b);
        assert!(metadata_core::UserId::new(a).is_ok());
    }
}
