//! Bulk changes (R14.1): one change to every record a filter selects, a page at a time, each
//! record by compare-and-set, resumable from a checkpoint file, one event per changed record.

use super::*;
use futures::stream::{self, StreamExt};
use metadata_core::BulkChange;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How a bulk change runs.
///
/// ```
/// use metadata_store::BulkOptions;
/// let options = BulkOptions::new("plan_migration_1").dry_run(true).page_size(200);
/// assert_eq!(options.operation_id, "plan_migration_1");
/// ```
#[derive(Clone, Debug)]
pub struct BulkOptions {
    /// The run's id: its events name the library's `bulk_change` operation with it (R14.2),
    /// and a checkpoint belongs to it.
    pub operation_id: String,
    /// Count what would change (and what would be refused) without writing anything.
    pub dry_run: bool,
    /// Records read per page, 1 to 1,000 (default 500); the checkpoint moves once a page is
    /// done.
    pub page_size: usize,
    /// Records written at once (default 32): concurrent writes share a store's group commits.
    pub concurrency: usize,
    /// A file that keeps where the run is: a run that finds one of its own operation resumes
    /// after the last page it finished.
    pub checkpoint: Option<PathBuf>,
    /// The most refusals the report lists one by one (default 1,000); all are counted.
    pub max_listed_refusals: usize,
}

impl BulkOptions {
    /// The defaults, for the run `operation_id`.
    pub fn new(operation_id: impl Into<String>) -> Self {
        BulkOptions {
            operation_id: operation_id.into(),
            dry_run: false,
            page_size: 500,
            concurrency: 32,
            checkpoint: None,
            max_listed_refusals: 1000,
        }
    }

    /// Counts without writing.
    pub fn dry_run(mut self, on: bool) -> Self {
        self.dry_run = on;
        self
    }

    /// Records per page.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, metadata_core::MAX_BULK_PAGE);
        self
    }

    /// Records written at once.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Keeps and resumes from this checkpoint file.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }
}

/// Where a bulk change stands: what its checkpoint file holds, and its report's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkProgress {
    /// The run.
    pub operation_id: String,
    /// The last record of the last finished page: the run resumes after it.
    pub after: Option<Cursor>,
    /// Whether every page is done.
    pub complete: bool,
    /// Records read.
    pub examined: u64,
    /// Records written (in a dry run: that would be written).
    pub changed: u64,
    /// Records the change leaves as they are: not written.
    pub unchanged: u64,
    /// Records deleted between the read and the write.
    pub gone: u64,
    /// Records the change was refused for (over the size limit, a schema, frozen).
    pub refused: u64,
}

/// One record a bulk change was refused for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BulkRefusal {
    /// The record's storage key.
    pub id: String,
    /// The refusal's stable code.
    pub code: &'static str,
    /// Its message (it never quotes a value).
    pub message: String,
}

/// What a bulk change did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BulkReport {
    /// The counts, as the checkpoint holds them.
    pub progress: BulkProgress,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The first refusals, one by one.
    pub refusals: Vec<BulkRefusal>,
}

/// What happened to one record.
enum Outcome {
    Changed,
    Unchanged,
    Gone,
    Refused(Error),
}

impl Backend<'_> {
    /// Applies `bulk.change` to every record `bulk.filter` selects (R14.1): a page at a time in
    /// id order, each record by compare-and-set as any update (a concurrent writer's change is
    /// kept: the change is applied again to the newer record), a record the change leaves as
    /// it was not written (so a second run changes nothing, and a resumed one changes each
    /// record once), one event per record written, made by the library's `bulk_change`
    /// operation (R14.2). Refusals are counted and listed, and the run goes on; a storage
    /// failure stops it, the checkpoint at the last finished page. `progress` is called after
    /// each page.
    ///
    /// ```
    /// # use metadata_store::*;
    /// # use metadata_core::*;
    /// # async fn demo(metadata: MetadataService) -> Result<(), Error> {
    /// let bulk = BulkChange::new(
    ///     ResourceKind::User,
    ///     Filter::All,
    ///     Change::new().merge_json(Tier::Public, serde_json::json!({"plan": "pro"}))?,
    /// )?;
    /// let report = metadata
    ///     .backend()
    ///     .bulk_change(&bulk, &BulkOptions::new("bulk_1"), |_| {})
    ///     .await?;
    /// assert!(report.progress.complete);
    /// # Ok(()) }
    /// ```
    pub async fn bulk_change(
        &self,
        bulk: &BulkChange,
        options: &BulkOptions,
        mut progress: impl FnMut(&BulkProgress),
    ) -> Result<BulkReport, Error> {
        let mut report = BulkReport {
            progress: read_checkpoint(options)?,
            dry_run: options.dry_run,
            refusals: Vec::new(),
        };
        let actor = Actor::library("bulk_change", options.operation_id.as_str());
        let s = self.service;
        while !report.progress.complete {
            let query = bulk.query(report.progress.after.clone(), options.page_size);
            let page = s.store.list(&query).await.map_err(|e| e.into_error(None))?;
            let outcomes: Vec<(String, Outcome)> = if options.dry_run {
                page.items
                    .iter()
                    .map(|r| (r.key().storage_key(), self.try_change(r, &bulk.change)))
                    .collect()
            } else {
                let keys: Vec<RecordKey> = page.items.iter().map(Record::key).collect();
                stream::iter(keys)
                    .map(|key| change_one(s, key, &bulk.change, &actor))
                    .buffered(options.concurrency)
                    .collect::<Vec<_>>()
                    .await
                    .into_iter()
                    .collect::<Result<_, Error>>()?
            };
            let p = &mut report.progress;
            for (id, outcome) in outcomes {
                p.examined += 1;
                match outcome {
                    Outcome::Changed => p.changed += 1,
                    Outcome::Unchanged => p.unchanged += 1,
                    Outcome::Gone => p.gone += 1,
                    Outcome::Refused(e) => {
                        p.refused += 1;
                        if report.refusals.len() < options.max_listed_refusals {
                            report.refusals.push(BulkRefusal {
                                id,
                                code: e.code(),
                                message: e.to_string(),
                            });
                        }
                    }
                }
            }
            p.complete = page.next.is_none();
            if page.next.is_some() {
                p.after = page.next;
            }
            if !options.dry_run {
                write_checkpoint(options, p)?;
            }
            progress(p);
        }
        Ok(report)
    }

    /// What the change would do to `record`, without writing: the write's own rules.
    fn try_change(&self, record: &Record, change: &Change) -> Outcome {
        let s = self.service;
        let rules = crate::service::UpdateRules {
            change,
            surface: Surface::Backend,
            limits: &s.limits,
            schemas: Some(&s.schemas),
            now: s.now(),
            skip_same: true,
        };
        match rules.apply_record(record.clone()) {
            Ok(Some(_)) => Outcome::Changed,
            Ok(None) => Outcome::Unchanged,
            Err(e) => Outcome::Refused(e),
        }
    }
}

/// Applies `change` to the record under `key` unless it is the same after (R14.1).
async fn change_one(
    s: &MetadataService,
    key: RecordKey,
    change: &Change,
    actor: &Actor,
) -> Result<(String, Outcome), Error> {
    let outcome = match s.update_if_changed(&key, change, actor).await {
        Ok(Some(_)) => Outcome::Changed,
        Ok(None) => Outcome::Unchanged,
        Err(Error::NotFound { .. }) => Outcome::Gone,
        Err(e @ (Error::Storage { .. } | Error::OutcomeUnknown { .. })) => return Err(e),
        Err(e) => Outcome::Refused(e),
    };
    Ok((key.storage_key(), outcome))
}

/// The run's progress from its checkpoint file, or a fresh start.
fn read_checkpoint(options: &BulkOptions) -> Result<BulkProgress, Error> {
    let fresh = BulkProgress {
        operation_id: options.operation_id.clone(),
        ..BulkProgress::default()
    };
    let Some(path) = options.checkpoint.as_ref().filter(|_| !options.dry_run) else {
        return Ok(fresh);
    };
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fresh),
        Err(e) => return Err(checkpoint_error(e)),
    };
    let stored: BulkProgress = serde_json::from_slice(&text).map_err(|e| Error::InvalidQuery {
        reason: format!("the checkpoint {} does not read: {e}", path.display()),
    })?;
    if stored.operation_id != options.operation_id {
        return Err(Error::InvalidQuery {
            reason: format!(
                "the checkpoint {} belongs to the bulk change {:?}",
                path.display(),
                stored.operation_id
            ),
        });
    }
    Ok(stored)
}

/// Writes the checkpoint whole (a new file renamed over the old), so a crash leaves the old one
/// or the new one.
fn write_checkpoint(options: &BulkOptions, progress: &BulkProgress) -> Result<(), Error> {
    let Some(path) = &options.checkpoint else {
        return Ok(());
    };
    let text = serde_json::to_vec(progress).map_err(|e| checkpoint_error(e.into()))?;
    let next = path.with_extension("next");
    std::fs::write(&next, text)
        .and_then(|()| std::fs::rename(&next, path))
        .map_err(checkpoint_error)
}

fn checkpoint_error(e: std::io::Error) -> Error {
    Error::Storage {
        retryable: false,
        source: Box::new(e),
    }
}
