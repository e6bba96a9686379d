//! Writing what a source reads through the facade: each record one create (or, when it is
//! already there, one update by the chosen policy), several in flight, with a checkpoint to
//! resume from and a report line for every record refused.

use crate::files::Read1;
use crate::item::{Item, ItemKind, Refusal};
use futures::stream::{FuturesUnordered, StreamExt};
use metadata_core::feed::Actor;
use metadata_core::{
    Change, Error, InvitationId, Limits, MembershipId, Metadata, OrganizationId, Patch, Record,
    TierOp, UserId,
};
use metadata_store::{Backend, MetadataService};
use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What to do with a record that is already stored with other tiers than the source's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Policy {
    /// Leave the stored record as it is (counted as skipped).
    #[default]
    Skip,
    /// Replace each of its tiers with the source's.
    Overwrite,
    /// Merge each of the source's tiers into the stored one (JSON Merge Patch, R3.2).
    Merge,
}

/// What an import did, record by record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records read from the source (past the checkpoint).
    pub read: u64,
    /// Created.
    pub created: u64,
    /// Already stored with exactly the source's tiers: nothing written.
    pub unchanged: u64,
    /// Already stored with other tiers, and updated by the policy.
    pub updated: u64,
    /// Already stored with other tiers, and left alone by the policy.
    pub skipped: u64,
    /// Refused (each has a report line).
    pub refused: u64,
}

/// Why an import stopped before its source was done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The checkpoint file could not be read or written.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The report could not be written.
    #[error("cannot write the report: {0}")]
    Report(#[from] std::io::Error),
    /// The source failed as a whole (not one record: a file that cannot be read on, an API
    /// that keeps failing).
    #[error("the source failed: {0}")]
    Source(String),
    /// The store failed in a way that trying again later may fix; records before the
    /// checkpoint are stored.
    #[error("the store failed: {0}")]
    Store(Error),
}

/// Imports records through a [`MetadataService`]: every rule applies to them as to any write.
pub struct Importer {
    service: MetadataService,
    actor: Actor,
    policy: Policy,
    concurrency: usize,
    checkpoint: Option<PathBuf>,
    report: Box<dyn Write + Send>,
    progress: bool,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer")
            .field("policy", &self.policy)
            .field("concurrency", &self.concurrency)
            .field("checkpoint", &self.checkpoint)
            .finish_non_exhaustive()
    }
}

/// The most records one batch holds: the users among them are created in one commit.
const BATCH: usize = 256;
/// How often the checkpoint is written, at most.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

impl Importer {
    /// An importer into `service`: policy [`Policy::Skip`], two batches of 256 in flight, no
    /// checkpoint, refusals reported on standard error, a progress line when standard error is
    /// a terminal.
    pub fn new(service: MetadataService) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        Importer {
            service,
            actor: Actor::library("import", format!("import_{started}")),
            policy: Policy::Skip,
            concurrency: 512,
            checkpoint: None,
            report: Box::new(std::io::stderr()),
            progress: std::io::stderr().is_terminal(),
        }
    }

    /// Names this run in the events of its writes (R14.2): they are made by the library's
    /// `import` operation with this id (by default `import_` and the start time in ms).
    pub fn operation_id(mut self, id: impl Into<String>) -> Self {
        self.actor = Actor::library("import", id);
        self
    }

    /// What to do with records already stored with other tiers.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// About how many records are written at once: records go in batches of up to 256 (the
    /// users of a batch in one commit), `n / 256` batches in flight, at least two.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Resume from, and keep, a checkpoint in this file: how many of the source's records,
    /// in its order, are done. A run over the same source starts after them.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }

    /// Where the report lines go (`<where>: <id>: <code>: <reason>`, one per refused record,
    /// in the order records finish: with several in flight, not quite the source's order).
    pub fn report(mut self, out: impl Write + Send + 'static) -> Self {
        self.report = Box::new(out);
        self
    }

    /// Whether to draw a progress line on standard error.
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// Batches in flight: enough for `concurrency` records, at least two.
    fn batches_in_flight(&self) -> usize {
        self.concurrency.div_ceil(BATCH).max(2)
    }

    fn read_checkpoint(&self) -> Result<u64, ImportError> {
        let Some(path) = &self.checkpoint else {
            return Ok(0);
        };
        let failed = |reason: String| ImportError::Checkpoint {
            path: path.clone(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => text
                .trim()
                .parse::<u64>()
                .map_err(|_| failed("not a record count".into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(failed(e.to_string())),
        }
    }

    fn write_checkpoint(&self, done: u64) -> Result<(), ImportError> {
        let Some(path) = &self.checkpoint else {
            return Ok(());
        };
        let failed = |e: std::io::Error| ImportError::Checkpoint {
            path: path.clone(),
            reason: e.to_string(),
        };
        let temporary = path.with_extension("partial");
        std::fs::write(&temporary, format!("{done}\n")).map_err(failed)?;
        std::fs::rename(&temporary, path).map_err(failed)
    }

    /// Writes every record `source` hands on, in its order (past the checkpoint), and answers
    /// what was done. A record is written whole or not at all; one that is refused gets a
    /// report line and the rest go on. A storage failure that persists stops the run, with
    /// the checkpoint at the last record before which everything is done.
    pub async fn run(&mut self, mut source: mpsc::Receiver<Read1>) -> Result<Summary, ImportError> {
        let start = self.read_checkpoint()?;
        let mut summary = Summary::default();
        let mut seq = 0u64;
        let mut done_through = start; // every record numbered below this is done
        let mut finished_above = BTreeSet::new();
        let mut in_flight = FuturesUnordered::new();
        let mut source_open = true;
        let mut last_checkpoint = Instant::now();
        let mut last_progress = Instant::now();
        let began = Instant::now();
        let mut failure = None;
        while source_open || !in_flight.is_empty() {
            tokio::select! {
                next = source.recv(), if source_open && in_flight.len() < self.batches_in_flight() && failure.is_none() => {
                    let Some(read) = next else {
                        source_open = false;
                        continue;
                    };
                    // The first record, and as many more as are ready: one batch.
                    let mut batch = Vec::new();
                    let mut read = Some(read);
                    while let Some(r) = read.take() {
                        let n = seq;
                        seq += 1;
                        if n >= start {
                            summary.read += 1;
                            match r {
                                Ok(item) => batch.push((n, item)),
                                Err(refusal) => {
                                    summary.refused += 1;
                                    writeln!(self.report, "{refusal}")?;
                                    finished_above.insert(n);
                                }
                            }
                        }
                        if batch.len() < BATCH {
                            read = source.try_recv().ok();
                        }
                    }
                    if !batch.is_empty() {
                        let service = self.service.clone();
                        let policy = self.policy;
                        let actor = self.actor.clone();
                        in_flight.push(async move { apply_batch(&service.backend_as(actor), batch, policy).await });
                    }
                }
                Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                  for (n, outcome) in done {
                    match outcome {
                        Ok(Outcome::Created) => summary.created += 1,
                        Ok(Outcome::Unchanged) => summary.unchanged += 1,
                        Ok(Outcome::Updated) => summary.updated += 1,
                        Ok(Outcome::Skipped) => summary.skipped += 1,
                        Err(Failed::Refused(refusal)) => {
                            summary.refused += 1;
                            writeln!(self.report, "{refusal}")?;
                        }
                        Err(Failed::Store(e)) => {
                            // Not done: the checkpoint stays below it.
                            failure.get_or_insert(e);
                            continue;
                        }
                    }
                    finished_above.insert(n);
                  }
                }
                else => break,
            }
            while finished_above.first() == Some(&done_through) {
                finished_above.pop_first();
                done_through += 1;
            }
            if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
                self.write_checkpoint(done_through)?;
                last_checkpoint = Instant::now();
            }
            if self.progress && last_progress.elapsed() >= PROGRESS_EVERY {
                draw_progress(&summary, began);
                last_progress = Instant::now();
            }
            if failure.is_some() && in_flight.is_empty() {
                break;
            }
        }
        while finished_above.first() == Some(&done_through) {
            finished_above.pop_first();
            done_through += 1;
        }
        self.write_checkpoint(done_through)?;
        self.report.flush()?;
        if self.progress {
            draw_progress(&summary, began);
            eprintln!();
        }
        match failure {
            Some(e) => Err(ImportError::Store(e)),
            None => Ok(summary),
        }
    }
}

fn draw_progress(summary: &Summary, began: Instant) {
    let rate = summary.read as f64 / began.elapsed().as_secs_f64().max(1e-3);
    eprint!(
        "\rimported {} records ({} created, {} unchanged, {} updated, {} skipped, {} refused), {rate:.0}/s ",
        summary.read, summary.created, summary.unchanged, summary.updated, summary.skipped, summary.refused
    );
}

/// What one record's import did.
enum Outcome {
    Created,
    Unchanged,
    Updated,
    Skipped,
}

/// Why one record's import did not happen.
enum Failed {
    Refused(Refusal),
    Store(Error),
}

/// Whether `record` holds exactly the tiers `change` replaces, text for text.
fn same_tiers(record: &Record, change: &Change) -> bool {
    change.ops().all(|(tier, op)| match op {
        TierOp::Replace(m) => record.tier(tier).map(Metadata::json) == Some(m.json()),
        TierOp::Merge(_) | TierOp::Remove(_) => false,
    })
}

/// The change that writes `item`'s tiers, each parsed from its text by the core (which keeps
/// the text byte for byte): replacing them, or merging them in.
fn change_of(item: &Item, limits: &Limits, merge: bool) -> Result<Change, Error> {
    let mut change = Change::new();
    for (tier, text) in &item.tiers {
        change = if merge {
            let patch =
                Patch::from_slice_with(text.as_bytes(), limits).map_err(|e| e.for_tier(*tier))?;
            change.merge(*tier, patch)
        } else {
            let value = Metadata::from_slice_with(text.as_bytes(), limits)
                .map_err(|e| e.for_tier(*tier))?;
            change.replace(*tier, value)
        };
    }
    Ok(change)
}

/// A record whose id (or a parent's) is not one.
fn bad_id(item: &Item, e: metadata_core::IdError) -> Failed {
    Failed::Refused(Refusal {
        at: item.at.clone(),
        id: Some(item.id.clone()),
        code: metadata_core::codes::VALUE_INVALID,
        reason: format!("not a valid {} id", e.kind),
    })
}

/// Imports a batch: its users planned and committed together (each alone again when one of
/// them exists already), the other records one by one.
async fn apply_batch(
    b: &Backend<'_>,
    batch: Vec<(u64, Item)>,
    policy: Policy,
) -> Vec<(u64, Result<Outcome, Failed>)> {
    let mut done = Vec::with_capacity(batch.len());
    let mut users = Vec::new();
    let mut others = Vec::new();
    for (n, item) in batch {
        if item.kind != ItemKind::User {
            others.push((n, item));
            continue;
        }
        let id = match UserId::new(item.id.as_str()) {
            Ok(id) => id,
            Err(e) => {
                done.push((n, Err(bad_id(&item, e))));
                continue;
            }
        };
        match change_of(&item, b.limits(), false) {
            Ok(change) => users.push((n, item, id, change)),
            Err(e) => done.push((n, Err(refusal(&item, e)))),
        }
    }
    if !users.is_empty() {
        let plans = users
            .iter()
            .map(|(_, _, id, change)| (id.clone(), change.clone()))
            .collect();
        match b.create_users(plans).await {
            Ok(results) => {
                for ((n, item, ..), result) in users.into_iter().zip(results) {
                    let outcome = match result {
                        Ok(_) => Ok(Outcome::Created),
                        // Already there: compared, and updated by the policy, alone.
                        Err(Error::AlreadyExists { .. }) => apply(b, item, policy).await,
                        Err(e) => Err(refusal(&item, e)),
                    };
                    done.push((n, outcome));
                }
            }
            // Nothing of the batch was written; only the first is reported, the rest stay
            // below the checkpoint with it.
            Err(e) => done.push((users[0].0, Err(refusal(&users[0].1, e)))),
        }
    }
    for (n, item) in others {
        done.push((n, apply(b, item, policy).await));
    }
    done
}

/// The failure `e` means for `item`: a store failure, or the record refused.
fn refusal(item: &Item, e: Error) -> Failed {
    match e {
        Error::Storage { .. } | Error::OutcomeUnknown { .. } => Failed::Store(e),
        e => Failed::Refused(Refusal {
            at: item.at.clone(),
            id: Some(item.id.clone()),
            code: e.code(),
            reason: e.to_string(),
        }),
    }
}

/// Imports one record.
async fn apply(b: &Backend<'_>, item: Item, policy: Policy) -> Result<Outcome, Failed> {
    let refused = |e: Error| refusal(&item, e);
    let limits = b.limits();
    let change = change_of(&item, limits, false).map_err(refused)?;
    let merge = || change_of(&item, limits, true);
    let created = match &item.kind {
        ItemKind::User => {
            let id = UserId::new(item.id.as_str()).map_err(|e| bad_id(&item, e))?;
            match b.create_user(&id, change.clone()).await {
                Err(Error::AlreadyExists { .. }) => {
                    let stored = Record::User(b.get_user(&id).await.map_err(refused)?);
                    let update = match existing(&stored, &change, policy, merge) {
                        Ok(Some(update)) => update.map_err(refused)?,
                        Ok(None) => return Ok(Outcome::Skipped),
                        Err(outcome) => return Ok(outcome),
                    };
                    b.update_user(&id, update).await.map(|_| ())
                }
                other => return other.map(|_| Outcome::Created).map_err(refused),
            }
        }
        ItemKind::Organization => {
            let id = OrganizationId::new(item.id.as_str()).map_err(|e| bad_id(&item, e))?;
            match b.create_organization(&id, change.clone()).await {
                Err(Error::AlreadyExists { .. }) => {
                    let stored =
                        Record::Organization(b.get_organization(&id).await.map_err(refused)?);
                    let update = match existing(&stored, &change, policy, merge) {
                        Ok(Some(update)) => update.map_err(refused)?,
                        Ok(None) => return Ok(Outcome::Skipped),
                        Err(outcome) => return Ok(outcome),
                    };
                    b.update_organization(&id, update).await.map(|_| ())
                }
                other => return other.map(|_| Outcome::Created).map_err(refused),
            }
        }
        ItemKind::Membership { organization, user } => {
            let id = MembershipId::new(item.id.as_str()).map_err(|e| bad_id(&item, e))?;
            let org = OrganizationId::new(organization.as_str()).map_err(|e| bad_id(&item, e))?;
            let user = UserId::new(user.as_str()).map_err(|e| bad_id(&item, e))?;
            match b.create_membership(&id, &org, &user, change.clone()).await {
                Err(Error::AlreadyExists { .. }) => {
                    let stored =
                        Record::Membership(b.get_membership(&org, &user).await.map_err(refused)?);
                    let update = match existing(&stored, &change, policy, merge) {
                        Ok(Some(update)) => update.map_err(refused)?,
                        Ok(None) => return Ok(Outcome::Skipped),
                        Err(outcome) => return Ok(outcome),
                    };
                    b.update_membership(&org, &user, update).await.map(|_| ())
                }
                other => return other.map(|_| Outcome::Created).map_err(refused),
            }
        }
        ItemKind::Invitation {
            organization,
            email,
        } => {
            let id = InvitationId::new(item.id.as_str()).map_err(|e| bad_id(&item, e))?;
            let org = OrganizationId::new(organization.as_str()).map_err(|e| bad_id(&item, e))?;
            match b.create_invitation(&id, &org, email, change.clone()).await {
                Err(Error::AlreadyExists { .. }) => {
                    let stored = Record::Invitation(b.get_invitation(&id).await.map_err(refused)?);
                    let update = match existing(&stored, &change, policy, merge) {
                        Ok(Some(update)) => update.map_err(refused)?,
                        Ok(None) => return Ok(Outcome::Skipped),
                        Err(outcome) => return Ok(outcome),
                    };
                    b.update_invitation(&id, update).await.map(|_| ())
                }
                other => return other.map(|_| Outcome::Created).map_err(refused),
            }
        }
    };
    created.map(|()| Outcome::Updated).map_err(refused)
}

/// For a record already stored: `Err(Unchanged)` when its tiers are the source's, `Ok(None)`
/// when the policy leaves it, else the change to apply.
fn existing(
    stored: &Record,
    change: &Change,
    policy: Policy,
    merge: impl FnOnce() -> Result<Change, Error>,
) -> Result<Option<Result<Change, Error>>, Outcome> {
    if same_tiers(stored, change) {
        return Err(Outcome::Unchanged);
    }
    Ok(match policy {
        Policy::Skip => None,
        Policy::Overwrite => Some(Ok(change.clone())),
        Policy::Merge => Some(merge()),
    })
}
