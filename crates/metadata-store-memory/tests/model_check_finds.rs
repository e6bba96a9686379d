//! The fuzzer's comparison (after each step only what the step touched, everything at the end
//! of the case) still finds a store that loses a write, or makes one nobody asked for.

use async_trait::async_trait;
use metadata_conformance::model::{run_case, Compare, Op, Target};
use metadata_core::feed::Stamp;
use metadata_core::{Change, ListQuery, Page, Record, RecordKey, UserId, Write};
use metadata_store::{MetadataStore, ReadFn, StoreResult};
use metadata_store_memory::MemoryStore;
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Acknowledges deletes of one record but keeps it.
    KeepsDeleted,
    /// Stores a copy of every user it creates under another id.
    StrayCopy,
}

#[derive(Debug)]
struct Faulty {
    inner: MemoryStore,
    fault: Fault,
}

#[async_trait]
impl MetadataStore for Faulty {
    async fn get(&self, key: &RecordKey) -> StoreResult<Option<Record>> {
        self.inner.get(key).await
    }

    fn read_now(
        &self,
        kind: metadata_core::ResourceKind,
        key: &str,
        read: ReadFn<'_>,
    ) -> Option<StoreResult<()>> {
        self.inner.read_now(kind, key, read)
    }

    async fn commit(&self, writes: &[Write], at: &Stamp) -> StoreResult<Vec<u64>> {
        match self.fault {
            Fault::KeepsDeleted => {
                let kept: Vec<Write> = writes
                    .iter()
                    .filter(|w| !matches!(w, Write::Delete(_)))
                    .cloned()
                    .collect();
                self.inner.commit(&kept, at).await?;
                Ok(vec![1; writes.len()])
            }
            Fault::StrayCopy => {
                let counts = self.inner.commit(writes, at).await?;
                for write in writes {
                    if let Write::Create(Record::User(user)) = write {
                        let mut copy = user.clone();
                        copy.id = UserId::new(format!("{}_stray", user.id)).unwrap();
                        self.inner
                            .commit(&[Write::Create(Record::User(copy))], at)
                            .await?;
                    }
                }
                Ok(counts)
            }
        }
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<Page<Record>> {
        self.inner.list(query).await
    }
}

fn case(fault: Fault, ops: &[Op]) -> Result<(), String> {
    let store = Arc::new(Faulty {
        inner: MemoryStore::without_feed(),
        fault,
    });
    futures::executor::block_on(run_case(store, ops, Compare::TouchedThenAll))
}

#[test]
fn a_lost_delete_is_found_at_the_step_that_lost_it() {
    let ops = [
        Op::Create(Target::User(0), Change::new(), 0),
        Op::Delete(Target::User(0)),
        Op::Create(Target::Organization(0), Change::new(), 0),
    ];
    let found = case(Fault::KeepsDeleted, &ops).unwrap_err();
    assert!(found.starts_with("step 1 "), "{found}");
}

#[test]
fn a_write_nobody_asked_for_is_found_by_the_end_of_the_case() {
    let ops = [Op::Create(Target::User(0), Change::new(), 0)];
    let found = case(Fault::StrayCopy, &ops).unwrap_err();
    assert!(found.starts_with("after the last step"), "{found}");
    // Compared after every step, the same fault is found at the step itself.
    let store = Arc::new(Faulty {
        inner: MemoryStore::without_feed(),
        fault: Fault::StrayCopy,
    });
    let every = futures::executor::block_on(run_case(store, &ops, Compare::EveryStep));
    assert!(every.unwrap_err().starts_with("step 0 "));
}

#[test]
fn a_faithful_store_passes_the_same_cases() {
    let ops = [
        Op::Create(Target::User(0), Change::new(), 0),
        Op::Delete(Target::User(0)),
        Op::Create(Target::Organization(0), Change::new(), 0),
    ];
    let store = Arc::new(MemoryStore::new());
    futures::executor::block_on(run_case(store, &ops, Compare::TouchedThenAll)).unwrap();
}
