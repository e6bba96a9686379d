//! An in-memory [`MetadataStore`]: for tests, prototypes and single-process services that keep
//! nothing across restarts.
//!
//! Every commit runs under one short write lock that is never held across an `.await`; the
//! change feed lives under the same lock, so a commit and its events are one step. Point reads
//! do not take that lock: they read a sharded index that each commit updates before it lets
//! the lock go (see `shards.rs`), so threads reading different records do not contend, and
//! [`MetadataStore::read_now`] answers on the calling thread without a future, lending the
//! record under the shard's read lock, so the facade builds its `User` or `Organization` from
//! it without copying the whole record first.
//!
//! ```
//! use metadata_core::{Change, Tier, UserId};
//! use metadata_store::MetadataService;
//! use metadata_store_memory::MemoryStore;
//! use serde_json::json;
//!
//! # futures::executor::block_on(async {
//! let metadata = MetadataService::new(MemoryStore::new());
//! let id = UserId::new("user_1").unwrap();
//! let change = Change::new().replace_json(Tier::Public, json!({"role": "admin"})).unwrap();
//! metadata.backend().create_user(&id, change).await.unwrap();
//! let user = metadata.backend().get_user(&id).await.unwrap();
//! assert_eq!(user.public_metadata.get("role"), Some(&json!("admin")));
//! # });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod log;
mod shards;

use async_trait::async_trait;
use log::Log;
use metadata_core::feed::{ChangeEvent, Operation, RecordChange, Stamp};
use metadata_core::{
    Filter, ListOrder, ListQuery, Millis, Page, Record, RecordKey, ResourceKind, Write,
    MEMBERSHIP_KEY_SEPARATOR,
};
use metadata_store::feed::{
    FeedError, FeedResult, FeedSignal, FeedStats, FeedStore, Retention, RetentionSchedule,
};
use metadata_store::{MetadataStore, ReadFn, StoreError, StoreResult};
use shards::Shards;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, PoisonError, RwLock};

/// One map per kind (indexed by the kind's position in [`ResourceKind::ALL`]), keyed by storage
/// key, so a lookup borrows the key instead of building one.
type Records = [BTreeMap<String, Arc<Record>>; 5];
type Key = (ResourceKind, String);

fn slot(kind: ResourceKind) -> usize {
    kind as usize
}

/// The records and the feed, under one lock.
#[derive(Debug, Default)]
struct State {
    records: Records,
    log: Log,
}

/// An in-memory store. Cloning shares the records and the feed.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    state: Arc<RwLock<State>>,
    /// The same records for point reads, updated under the state's write lock.
    index: Arc<Shards>,
    signal: Arc<FeedSignal>,
    feed: bool,
    /// When commits prune the feed.
    retention: Arc<RetentionSchedule>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            state: Arc::default(),
            index: Arc::default(),
            signal: Arc::default(),
            feed: true,
            retention: Arc::new(RetentionSchedule::new(Retention::default())),
        }
    }
}

impl MemoryStore {
    /// An empty store, keeping a change feed.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// An empty store that keeps no change feed (its feed calls are
    /// [`FeedError::Disabled`]).
    pub fn without_feed() -> Self {
        MemoryStore {
            feed: false,
            ..MemoryStore::default()
        }
    }

    /// Keeps the change feed's events for `retention` (seven days by default), pruned by the
    /// store's own commits as they write, never past a consumer's cursor (see
    /// [`Retention`]).
    ///
    /// ```
    /// use metadata_store::feed::Retention;
    /// use metadata_store_memory::MemoryStore;
    ///
    /// let store = MemoryStore::new().with_feed_retention(Retention::Forever);
    /// # let _ = store;
    /// ```
    pub fn with_feed_retention(mut self, retention: Retention) -> Self {
        self.retention = Arc::new(RetentionSchedule::new(retention));
        self
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn log<T>(&self, f: impl FnOnce(&mut Log) -> Result<T, FeedError>) -> Result<T, FeedError> {
        if !self.feed {
            return Err(FeedError::Disabled);
        }
        f(&mut self.write().log)
    }

    /// How many records it holds, of every kind.
    pub fn len(&self) -> usize {
        self.read().records.iter().map(BTreeMap::len).sum()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn key_of(key: &RecordKey) -> Key {
    (key.kind(), key.storage_key())
}

/// The memory log's side of [`RecordChange::of_write`]: each event paired with the record the
/// write stored (none for a deletion), whose text is written when the event is read.
struct WithStored<'a> {
    changes: &'a mut Vec<log::Change>,
    stored: &'a Option<Arc<Record>>,
}

impl Extend<RecordChange> for WithStored<'_> {
    fn extend<I: IntoIterator<Item = RecordChange>>(&mut self, events: I) {
        for change in events {
            let stored = match change.operation {
                Operation::Deleted => None,
                _ => self.stored.clone(),
            };
            self.changes.push((change, stored));
        }
    }
}

/// Applies writes in order, remembering what each replaced so a failure can undo them all.
struct Transaction<'a> {
    records: &'a mut Records,
    undo: Vec<(Key, Option<Arc<Record>>)>,
    /// The events of the writes so far, when the store keeps a feed.
    changes: Option<Vec<log::Change>>,
}

impl Transaction<'_> {
    fn contains(&self, key: &RecordKey) -> bool {
        self.records[slot(key.kind())].contains_key(key.storage_key_cow().as_ref())
    }

    fn stored(&self, key: &RecordKey) -> Option<&Arc<Record>> {
        self.records[slot(key.kind())].get(key.storage_key_cow().as_ref())
    }

    /// Stores `record` under `key` (or removes what is there), remembering what it replaced
    /// for a rollback and, when the store keeps a feed, in `before` for the write's events (a
    /// store without one copies and allocates nothing for them).
    fn put(&mut self, key: Key, record: Option<Arc<Record>>, before: &mut Vec<Arc<Record>>) {
        let map = &mut self.records[slot(key.0)];
        let old = match record {
            Some(r) => map.insert(key.1.clone(), r),
            None => map.remove(&key.1),
        };
        if self.changes.is_some() {
            before.extend(old.clone());
        }
        self.undo.push((key, old));
    }

    /// `record`, about to be stored, kept in `after` for the write's events when the store
    /// keeps a feed.
    fn to_store(&self, record: Arc<Record>, after: &mut Option<Arc<Record>>) -> Arc<Record> {
        if self.changes.is_some() {
            *after = Some(record.clone());
        }
        record
    }

    fn delete_where(
        &mut self,
        kind: ResourceKind,
        prefix: Option<&str>,
        keep: impl Fn(&Record) -> bool,
        removed: &mut Vec<Arc<Record>>,
    ) -> u64 {
        let start = prefix.unwrap_or("").to_owned();
        let doomed: Vec<Key> = self.records[slot(kind)]
            .range(start..)
            .take_while(|(s, _)| prefix.is_none_or(|p| s.starts_with(p)))
            .filter(|(_, r)| !keep(r))
            .map(|(k, _)| (kind, k.clone()))
            .collect();
        for key in &doomed {
            self.put(key.clone(), None, removed);
        }
        doomed.len() as u64
    }

    /// Runs one write and, when the store keeps a feed, adds its events (derived by the core
    /// from what the write found and stored; the record's text is written when the event is
    /// read, not here).
    fn apply(&mut self, write: &Write) -> Result<u64, StoreError> {
        let mut before = Vec::new();
        let mut after = None;
        let n = self.run(write, &mut before, &mut after)?;
        if let Some(changes) = &mut self.changes {
            let mut out = WithStored {
                changes,
                stored: &after,
            };
            RecordChange::of_write(write, before.iter().map(|r| &**r), None, &mut out);
        }
        Ok(n)
    }

    /// Runs one write; `before` gets what it replaced or removed (when the store keeps a feed,
    /// which needs it), `after` what it stored.
    fn run(
        &mut self,
        write: &Write,
        before: &mut Vec<Arc<Record>>,
        after: &mut Option<Arc<Record>>,
    ) -> Result<u64, StoreError> {
        match write {
            Write::Require(key) => match self.contains(key) {
                true => Ok(1),
                false => Err(StoreError::NotFound { key: key.clone() }),
            },
            Write::Create(record) => {
                let key = record.key();
                if self.contains(&key) {
                    return Err(StoreError::AlreadyExists { key });
                }
                let stored = self.to_store(Arc::new(record.clone()), after);
                self.put(key_of(&key), Some(stored), before);
                Ok(1)
            }
            Write::Update {
                record,
                expected_version,
            } => {
                let key = record.key();
                match self.stored(&key) {
                    None => Err(StoreError::NotFound { key }),
                    Some(stored) if stored.version() != *expected_version => {
                        Err(StoreError::Conflict {
                            key,
                            actual: stored.version(),
                        })
                    }
                    Some(_) => {
                        let stored = self.to_store(Arc::new(record.clone()), after);
                        self.put(key_of(&key), Some(stored), before);
                        Ok(1)
                    }
                }
            }
            Write::Delete(key) => {
                if self.contains(key) {
                    self.put(key_of(key), None, before);
                    Ok(1)
                } else {
                    Ok(0)
                }
            }
            Write::DeleteMembershipsOfUser(user) => Ok(self.delete_where(
                ResourceKind::Membership,
                None,
                |r| r.user_id() != Some(user),
                before,
            )),
            Write::DeleteMembershipsOfOrganization(org) => {
                let prefix = format!("{org}{MEMBERSHIP_KEY_SEPARATOR}");
                Ok(self.delete_where(ResourceKind::Membership, Some(&prefix), |_| false, before))
            }
            Write::DeleteInvitationsOfOrganization(org) => Ok(self.delete_where(
                ResourceKind::Invitation,
                None,
                |r| r.organization_id() != Some(org),
                before,
            )),
        }
    }

    fn rollback(self) {
        for ((kind, key), old) in self.undo.into_iter().rev() {
            let map = &mut self.records[slot(kind)];
            match old {
                Some(r) => map.insert(key, r),
                None => map.remove(&key),
            };
        }
    }
}

/// The page `query` selects. By id, ascending, the records are walked in their map's order
/// from the cursor; any other order sorts what the query selects, by the core's reference
/// ([`ListQuery::select`]): O(n) in the records of the kind.
fn select(records: &Records, query: &ListQuery) -> StoreResult<Page<Record>> {
    let records = &records[slot(query.kind)];
    if query.order != ListOrder::BY_ID {
        return query
            .select(records.values().map(|r| &**r))
            .map_err(StoreError::Query);
    }
    let start = match &query.after {
        Some(cursor) => Bound::Excluded(cursor.as_str()),
        None => Bound::Unbounded,
    };
    let items = records
        .range::<str, _>((start, Bound::Unbounded))
        .filter(|(_, r)| query.matches(r))
        .skip(query.offset)
        .take(query.limit + 1)
        .map(|(_, r)| Record::clone(r))
        .collect();
    Ok(query.page(items))
}

#[async_trait]
impl MetadataStore for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &RecordKey) -> StoreResult<Option<Record>> {
        Ok(self.index.get(key.kind(), key.storage_key_cow().as_ref()))
    }

    fn read_now(&self, kind: ResourceKind, key: &str, read: ReadFn<'_>) -> Option<StoreResult<()>> {
        self.index.read(kind, key, read);
        Some(Ok(()))
    }

    async fn commit(&self, writes: &[Write], stamp: &Stamp) -> StoreResult<Vec<u64>> {
        let at = stamp.at;
        let mut state = self.write();
        let State { records, log } = &mut *state;
        let mut tx = Transaction {
            records,
            undo: Vec::new(),
            changes: self.feed.then(Vec::new),
        };
        let mut counts = Vec::with_capacity(writes.len());
        for write in writes {
            match tx.apply(write) {
                Ok(n) => counts.push(n),
                Err(err) => {
                    tx.rollback();
                    return Err(err);
                }
            }
        }
        // What the commit changed, as it now stands, for the point-read index: published
        // before the lock is let go, so no read sees the commit before a listing could.
        // The keys move out of the undo log, which is no longer needed.
        let Transaction {
            records,
            undo,
            changes,
        } = tx;
        let mut touched: Vec<Key> = undo.into_iter().map(|(key, _)| key).collect();
        if touched.len() > 1 {
            touched.sort_unstable();
            touched.dedup();
        }
        let published = touched
            .into_iter()
            .map(|(kind, key)| {
                let now = records[slot(kind)].get(&key).cloned();
                (kind, key, now)
            })
            .collect();
        self.index.publish(published);
        if let Some(changes) = changes.filter(|c| !c.is_empty()) {
            let written = changes.len();
            log.append(changes, at, stamp.actor.as_ref());
            if let Some(step) = self.retention.after_commit(at, written) {
                log.prune(step.committed_before, step.max_events);
            }
            let head = log.head();
            drop(state);
            self.signal.announce(head);
        }
        Ok(counts)
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<Page<Record>> {
        select(&self.read().records, query)
    }

    async fn count(&self, kind: ResourceKind, filter: &Filter) -> StoreResult<u64> {
        let state = self.read();
        let records = &state.records[slot(kind)];
        if *filter == Filter::All {
            return Ok(records.len() as u64);
        }
        let query = ListQuery::new(kind, filter.clone(), 1);
        Ok(records.values().filter(|r| query.matches(r)).count() as u64)
    }

    fn feed(&self) -> Option<&dyn FeedStore> {
        self.feed.then_some(self as &dyn FeedStore)
    }
}

#[async_trait]
impl FeedStore for MemoryStore {
    async fn changes(&self, after: u64, limit: usize) -> FeedResult<Vec<ChangeEvent>> {
        if !self.feed {
            return Err(FeedError::Disabled);
        }
        self.read().log.read(after, limit)
    }

    fn signal(&self) -> &FeedSignal {
        &self.signal
    }

    async fn cursor(&self, name: &str) -> FeedResult<Option<u64>> {
        self.log(|log| log.cursor(name))
    }

    async fn advance_cursor(&self, name: &str, expected: Option<u64>, to: u64) -> FeedResult<()> {
        self.log(|log| log.advance(name, expected, to))
    }

    async fn stats(&self) -> FeedResult<FeedStats> {
        self.log(|log| Ok(log.stats()))
    }

    async fn remove_cursor(&self, name: &str) -> FeedResult<bool> {
        self.log(|log| log.remove(name))
    }

    async fn prune(&self, committed_before: Millis, max_events: usize) -> FeedResult<u64> {
        self.log(|log| Ok(log.prune(committed_before, max_events)))
    }

    async fn snapshot(&self, query: &ListQuery) -> FeedResult<(Page<Record>, u64)> {
        if !self.feed {
            return Err(FeedError::Disabled);
        }
        let state = self.read();
        let page = select(&state.records, query)?;
        Ok((page, state.log.head()))
    }
}
