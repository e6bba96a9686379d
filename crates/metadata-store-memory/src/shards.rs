//! The point-read index: every record also sits in one of [`SHARDS`] tables, each behind a
//! lock of its own on a cache line of its own, so that threads reading different records do
//! not contend on one lock's reader count. A commit publishes what it changed to the index
//! while it still holds the store's write lock, with every shard it touches locked at once, so
//! a read sees all of a commit or none of it, and never a record that a listing would not show.
//!
//! A key is hashed once, with foldhash, randomly seeded per store: bits in the middle of the
//! hash choose the shard, and the whole hash finds the slot in the shard's table
//! ([`hashbrown::HashTable`], which takes a hash computed by its caller; the standard map would
//! hash the key a second time). SipHash, the standard library's default, cost more than the
//! rest of the read. foldhash keeps minimal resistance to chosen colliding keys; ids are chosen
//! by the host, not by its end users.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use metadata_core::{Record, ResourceKind};
use std::hash::BuildHasher;
use std::sync::{Arc, PoisonError, RwLock};

/// How many shards the index has (a power of two).
const SHARDS: usize = 64;

/// Where a shard's number is taken from in a key's hash: above the bits a table uses to choose
/// a bucket (its low bits, up to 2^40 buckets) and below the seven it keeps as a tag (its top
/// bits), so that the keys of one shard still spread over its whole table.
const SHARD_SHIFT: u32 = 40;

/// A stored record under its storage key.
type Slot = (String, Arc<Record>);

type Tables = [HashTable<Slot>; 5];

/// One shard, aligned so that no two shards' locks share a cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(RwLock<Tables>);

/// The records by kind and storage key, in shards.
#[derive(Debug)]
pub(crate) struct Shards {
    shards: Box<[Shard]>,
    hasher: RandomState,
}

impl Default for Shards {
    fn default() -> Self {
        Shards {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            hasher: RandomState::default(),
        }
    }
}

/// One change to publish: the record now stored under a key, or `None` if it was deleted.
pub(crate) type Published = (ResourceKind, String, Option<Arc<Record>>);

impl Shards {
    /// The hash of a storage key and the shard it chooses.
    fn place(&self, key: &str) -> (u64, usize) {
        let hash = self.hasher.hash_one(key);
        (hash, (hash >> SHARD_SHIFT) as usize & (SHARDS - 1))
    }

    /// A copy of the record stored under `key` (its tiers are shared, not copied).
    pub(crate) fn get(&self, kind: ResourceKind, key: &str) -> Option<Record> {
        self.find(kind, key, |found| found.cloned())
    }

    /// Hands the record stored under `key`, or `None`, to `read`, under the shard's lock.
    #[inline]
    pub(crate) fn read(
        &self,
        kind: ResourceKind,
        key: &str,
        read: &mut dyn FnMut(Option<&Record>),
    ) {
        self.find(kind, key, read)
    }

    /// `with` applied to the record stored under `key`, or `None`, under the shard's lock.
    #[inline(always)]
    fn find<T>(&self, kind: ResourceKind, key: &str, with: impl FnOnce(Option<&Record>) -> T) -> T {
        let (hash, shard) = self.place(key);
        let tables = self.shards[shard]
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        with(
            tables[kind as usize]
                .find(hash, |(k, _)| same(k, key))
                .map(|(_, r)| &**r),
        )
    }

    /// Publishes one commit's changes, holding every shard they touch at once (locked in
    /// shard order, so two publishers cannot deadlock).
    pub(crate) fn publish(&self, mut changes: Vec<Published>) {
        if changes.len() == 1 {
            // The common commit: one record, one shard.
            if let Some((kind, key, record)) = changes.pop() {
                let (hash, shard) = self.place(&key);
                let mut tables = self.shards[shard]
                    .0
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                self.store(&mut tables[kind as usize], hash, key, record);
            }
            return;
        }
        let mut changes: Vec<(u64, usize, Published)> = changes
            .into_iter()
            .map(|c| {
                let (hash, shard) = self.place(&c.1);
                (hash, shard, c)
            })
            .collect();
        changes.sort_by_key(|(_, shard, _)| *shard);
        let mut guards = Vec::new();
        for (_, shard, _) in &changes {
            if guards.last().is_none_or(|(s, _)| s != shard) {
                let guard = self.shards[*shard]
                    .0
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                guards.push((*shard, guard));
            }
        }
        let mut at = 0;
        for (hash, shard, (kind, key, record)) in changes {
            while guards[at].0 != shard {
                at += 1;
            }
            self.store(&mut guards[at].1[kind as usize], hash, key, record);
        }
    }

    /// Stores (or, for `None`, removes) one record in its table, reusing the stored key when
    /// the record was there.
    fn store(
        &self,
        table: &mut HashTable<Slot>,
        hash: u64,
        key: String,
        record: Option<Arc<Record>>,
    ) {
        let found = table.find_entry(hash, |(k, _)| *k == key);
        match (found, record) {
            (Ok(mut slot), Some(record)) => slot.get_mut().1 = record,
            (Err(absent), Some(record)) => {
                absent
                    .into_table()
                    .insert_unique(hash, (key, record), |(k, _)| self.hasher.hash_one(k));
            }
            (Ok(slot), None) => {
                slot.remove();
            }
            (Err(_), None) => {}
        }
    }
}

/// Whether two keys are the same, compared in place for keys of 8 to 32 bytes (the usual
/// ids) rather than through a call to `memcmp`, which costs a point read more than the
/// comparison itself.
#[inline]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    match n {
        // Two words that may overlap cover 8 to 16 bytes; four cover up to 32.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        17..=32 => {
            word(a, 0) == word(b, 0)
                && word(a, 8) == word(b, 8)
                && word(a, n - 16) == word(b, n - 16)
                && word(a, n - 8) == word(b, n - 8)
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_core::{create_user, Change, Limits, UserId};

    #[test]
    fn published_records_are_read_back_and_deletions_forgotten() {
        let shards = Shards::default();
        let users: Vec<Arc<Record>> = (0..200)
            .map(|i| {
                let id = UserId::new(format!("user_{i}")).unwrap();
                Arc::new(Record::User(
                    create_user(id, &Change::new(), &Limits::default(), 1).unwrap(),
                ))
            })
            .collect();
        shards.publish(
            users
                .iter()
                .map(|u| (ResourceKind::User, u.key().storage_key(), Some(u.clone())))
                .collect(),
        );
        assert_eq!(
            shards.get(ResourceKind::User, "user_7").as_ref(),
            Some(&*users[7])
        );
        assert!(shards.get(ResourceKind::Organization, "user_7").is_none());
        shards.publish(vec![(ResourceKind::User, "user_7".into(), None)]);
        assert!(shards.get(ResourceKind::User, "user_7").is_none());
        assert!(shards.get(ResourceKind::User, "user_8").is_some());
    }

    #[test]
    fn tables_that_grow_one_record_at_a_time_keep_finding_and_replacing_them() {
        // Growing a table rehashes its slots with the hash given to `insert_unique`; a wrong one
        // would lose records once a shard had grown.
        let shards = Shards::default();
        let user = |i: usize, now: i64| {
            let id = UserId::new(format!("user_{i}")).unwrap();
            Arc::new(Record::User(
                create_user(id, &Change::new(), &Limits::default(), now).unwrap(),
            ))
        };
        for i in 0..5_000 {
            let u = user(i, 1);
            shards.publish(vec![(ResourceKind::User, u.key().storage_key(), Some(u))]);
        }
        for i in (0..5_000).step_by(3) {
            let u = user(i, 2);
            shards.publish(vec![(ResourceKind::User, u.key().storage_key(), Some(u))]);
        }
        for i in 0..5_000 {
            let found = shards.get(ResourceKind::User, &format!("user_{i}"));
            let expected = user(i, if i % 3 == 0 { 2 } else { 1 });
            assert_eq!(found.as_ref(), Some(&*expected), "user_{i}");
        }
    }

    #[test]
    fn keys_are_the_same_exactly_when_their_bytes_are() {
        // Every length up to 40 (both sides of the in-place comparison's ranges), with a
        // difference at every position, and keys of different lengths.
        for n in 0..40usize {
            let a: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            assert!(same(&a, &a.clone()), "{n}");
            for at in 0..n {
                let mut b = a.clone().into_bytes();
                b[at] = b'_';
                let b = String::from_utf8(b).unwrap();
                assert!(!same(&a, &b), "{n} bytes, differing at {at}");
            }
            assert!(!same(&a, &format!("{a}x")), "{n} against {}", n + 1);
        }
    }
}
