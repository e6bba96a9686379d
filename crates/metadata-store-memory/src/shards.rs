//! The point-read index: every record also sits in one of [`SHARDS`] maps, each behind a lock
//! of its own on a cache line of its own, so that threads reading different records do not
//! contend on one lock's reader count. A commit publishes what it changed to the index while
//! it still holds the store's write lock, with every shard it touches locked at once, so a read
//! sees all of a commit or none of it, and never a record that a listing would not show.
//!
//! The maps hash with foldhash, randomly seeded per store: a point read hashes its key twice
//! (shard, then slot), and SipHash, the standard library's default, cost more than the rest of
//! the read. foldhash keeps minimal resistance to chosen colliding keys; ids are chosen by the
//! host, not by its end users.

use foldhash::fast::RandomState;
use metadata_core::{Record, ResourceKind};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, PoisonError, RwLock};

/// How many shards the index has.
const SHARDS: usize = 64;

type Maps = [HashMap<String, Arc<Record>, RandomState>; 5];

/// One shard, aligned so that no two shards' locks share a cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(RwLock<Maps>);

/// The records by kind and storage key, in shards.
#[derive(Debug)]
pub(crate) struct Shards {
    shards: Box<[Shard]>,
    /// Chooses a key's shard; seeded apart from the maps' own hashers.
    spread: RandomState,
}

impl Default for Shards {
    fn default() -> Self {
        Shards {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            spread: RandomState::default(),
        }
    }
}

/// One change to publish: the record now stored under a key, or `None` if it was deleted.
pub(crate) type Published = (ResourceKind, String, Option<Arc<Record>>);

impl Shards {
    /// The shard of a storage key.
    fn shard_of(&self, key: &str) -> usize {
        (self.spread.hash_one(key) % SHARDS as u64) as usize
    }

    /// A copy of the record stored under `key` (its tiers are shared, not copied).
    pub(crate) fn get(&self, kind: ResourceKind, key: &str) -> Option<Record> {
        let shard = self.shards[self.shard_of(key)]
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        shard[kind as usize].get(key).map(|r| Record::clone(r))
    }

    /// Publishes one commit's changes, holding every shard they touch at once (locked in
    /// shard order, so two publishers cannot deadlock).
    pub(crate) fn publish(&self, mut changes: Vec<Published>) {
        if changes.len() == 1 {
            // The common commit: one record, one shard.
            if let Some((kind, key, record)) = changes.pop() {
                let mut maps = self.shards[self.shard_of(&key)]
                    .0
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                store(&mut maps[kind as usize], key, record);
            }
            return;
        }
        let mut changes: Vec<(usize, Published)> = changes
            .into_iter()
            .map(|c| (self.shard_of(&c.1), c))
            .collect();
        changes.sort_by_key(|(shard, _)| *shard);
        let mut guards = Vec::new();
        for (shard, _) in &changes {
            if guards.last().is_none_or(|(s, _)| s != shard) {
                let guard = self.shards[*shard]
                    .0
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                guards.push((*shard, guard));
            }
        }
        let mut at = 0;
        for (shard, (kind, key, record)) in changes {
            while guards[at].0 != shard {
                at += 1;
            }
            store(&mut guards[at].1[kind as usize], key, record);
        }
    }
}

/// Stores (or, for `None`, removes) one record in its map, reusing the stored key when the
/// record was there.
fn store(
    map: &mut HashMap<String, Arc<Record>, RandomState>,
    key: String,
    record: Option<Arc<Record>>,
) {
    match record {
        Some(record) => match map.get_mut(key.as_str()) {
            Some(slot) => *slot = record,
            None => {
                map.insert(key, record);
            }
        },
        None => {
            map.remove(key.as_str());
        }
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
}
