//! An update in one trip: the core's change applied ahead to the writer's copy of a record,
//! or read, applied and written in one job of the writer's transaction.

use crate::Inner;
use crate::{cache, feed, sql, SqliteStore};
use metadata_core::feed::{RecordChange, Stamp};
use metadata_core::{Record, RecordKey, Write};
use metadata_store::{Applied, ApplyFn, StoreError};
use metadata_store_sql::prepared::PreparedWrite;

/// An update applied to the writer's copy of a record and serialized, ready to write.
struct Ahead {
    /// The `PRAGMA data_version` the copy was remembered at, and the deletions counted when it
    /// was taken.
    tag: (i64, u64),
    /// The record as it was, when the feed needs it.
    before: Option<Record>,
    next: Record,
    prepared: Vec<PreparedWrite>,
}

impl Ahead {
    fn new(tag: (i64, u64), before: Option<Record>, next: Record, expected_version: u64) -> Ahead {
        let write = Write::Update {
            record: next,
            expected_version,
        };
        let prepared = metadata_store_sql::prepared::prepare(std::slice::from_ref(&write));
        let Write::Update { record: next, .. } = write else {
            unreachable!("built as an update above")
        };
        Ahead {
            tag,
            before,
            next,
            prepared,
        }
    }
}

/// What an update job answers once its UPDATE ran: the feed's event written (when the store
/// keeps one) and the writer's copy remembered until the group commits.
type UpdateDone = (Applied, Option<PreparedWrite>, Option<u64>);

/// After the UPDATE of `ahead` ran: writes its event and remembers the writer's copy.
fn stored(
    conn: &rusqlite::Connection,
    inner: &Inner,
    ahead: Ahead,
    data_version: i64,
    stamp: &Stamp,
) -> Result<UpdateDone, StoreError> {
    let Ahead {
        before,
        next,
        mut prepared,
        ..
    } = ahead;
    let mut last = None;
    if let (Some(before), Some(PreparedWrite::Update { body, .. })) = (before, prepared.first()) {
        // The event's record text is the body just written, not a copy of it: the change is
        // derived by the per-record step of `RecordChange::of_write`, without the text.
        let change = RecordChange::with_text(Some(&before), Some(&next), None);
        let events = change.iter().map(|c| (c, Some(body.as_str())));
        last = feed::insert_with_texts(conn, events, stamp, &inner.retention)?;
    }
    // Until the group commits; forgotten by the caller if it does not.
    inner.written.put(&next, data_version);
    Ok((Applied::Stored(next), prepared.pop(), last))
}

/// [`metadata_store::MetadataStore::update`] on `store`.
pub(crate) async fn update(
    store: &SqliteStore,
    key: &RecordKey,
    apply: ApplyFn,
    stamp: &Stamp,
) -> Result<Applied, StoreError> {
    let inner = store.inner.clone();
    let stamp = stamp.clone();
    let (kind, storage_key) = (key.kind(), key.storage_key());
    let sk = storage_key.clone();
    // When the writer holds a copy of the record, the change is applied and the record
    // serialized here, on the caller's thread, before the write queues: a group then runs
    // only the conditional UPDATE for it, and a commit's wait (an fsync with
    // `synchronous=FULL`) overlaps other writers' preparation. The copy is taken out of the
    // writer's memo and the read cache's copy dropped, so that without a feed (which needs
    // the record as it was) a merge changes the only copy in place. The UPDATE is
    // conditional on the version, and the copy counts only while `PRAGMA data_version`
    // says no other connection has written since; otherwise the job reads and applies
    // again inside the transaction.
    let deletions = inner.deletions.load(std::sync::atomic::Ordering::SeqCst);
    let ahead = inner
        .written
        .take(kind, &storage_key)
        .and_then(|(tag, current)| {
            inner.cache.release(kind, &storage_key);
            let expected_version = current.version();
            let before = inner.feed.then(|| current.clone());
            // A refusal is only trusted from the stored record, read inside the transaction.
            let next = apply(current).ok()?;
            Some(Ahead::new((tag, deletions), before, next, expected_version))
        });
    // Without a feed every path of the job writes with one statement, which SQLite undoes
    // by itself if it fails: the job needs no savepoint of its own in a group.
    let one_statement = !inner.feed;
    let result = store
        .inner
        .writer
        .transact_with(one_statement, move |conn| {
            let data_version = sql::data_version(conn)?;
            // The copy counts if no other connection has written since it was remembered,
            // and no record was deleted since it was taken (the record may have been
            // created again, at the version the UPDATE expects).
            let now = (
                data_version,
                inner.deletions.load(std::sync::atomic::Ordering::SeqCst),
            );
            if let Some(ahead) = ahead.filter(|a| a.tag == now) {
                match sql::run_all(conn, &ahead.prepared, None) {
                    Ok(_) => return stored(conn, &inner, ahead, data_version, &stamp),
                    // Moved on or gone since the copy: read it and apply again below.
                    Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            let known = inner
                .written
                .take(kind, &sk)
                .filter(|(tag, _)| *tag == data_version)
                .map(|(_, record)| record);
            inner.cache.release(kind, &sk);
            let current = match known {
                Some(record) => record,
                None => {
                    let Some(body) = sql::get(conn, kind, &sk)? else {
                        return Ok((Applied::Missing, None, None));
                    };
                    inner.parse(kind, sk, body, None)?
                }
            };
            let expected_version = current.version();
            let before = inner.feed.then(|| current.clone());
            let next = match apply(current) {
                Ok(next) => next,
                Err(refused) => return Ok((Applied::Refused(refused), None, None)),
            };
            let ahead = Ahead::new(now, before, next, expected_version);
            sql::run_all(conn, &ahead.prepared, None)?;
            stored(conn, &inner, ahead, data_version, &stamp)
        })
        .await;
    let (applied, written, last) = match result {
        Ok(done) => done,
        Err(e) => {
            store.inner.written.forget(kind, &storage_key);
            return Err(e);
        }
    };
    if let Some(last) = last {
        store.inner.signal.announce(last);
    }
    // The written text and record are remembered for reads, moved rather than copied.
    if let (Applied::Stored(record), Some(PreparedWrite::Update { body, .. })) = (&applied, written)
    {
        store
            .inner
            .cache
            .put(kind, storage_key, body, record.clone(), cache::UNSEEN);
    }
    Ok(applied)
}
