//! Moving users and organizations in from the reference product and out again, through the
//! facade: every record goes through the same rules as any write (sizes, shapes, ids), whole
//! or not at all.
//!
//! - **Sources**: the product's export files ([`Source::json`]: the JSON user export, an array
//!   or JSON Lines; [`Source::csv`]: the CSV layout with JSON text in its metadata columns) and
//!   its Backend API ([`api::ApiSource`]: users, organizations, their memberships and pending
//!   invitations, paged, honouring `429` and `Retry-After`). Each is read one record at a time
//!   on its own thread or task, a bounded queue ahead of the writes: memory stays flat however
//!   large the source.
//! - **Import** ([`Importer`]): records in batches, the users of a batch created in one commit
//!   ([`metadata_store::Backend::create_users`]), two batches in flight; a record already stored with the
//!   same tiers is left alone (a second run creates nothing twice), one with other tiers is
//!   skipped, overwritten or merged ([`Policy`]); a checkpoint file to resume from; one report
//!   line per refused record (`element 17: user_x: form_param_value_invalid: ...`); a progress
//!   line on a terminal.
//! - **Export** ([`export::export_users`]): every user, in the JSON export's layout (array or
//!   lines) or as CSV, a page at a time.
//!
//! ```
//! use metadata_store::MetadataService;
//! use metadata_store_memory::MemoryStore;
//! use metadata_transfer::{Importer, Source};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let export = br#"[{"userId": "user_1", "publicMetadata": {"plan": "pro"}}]"#;
//! let service = MetadataService::new(MemoryStore::new());
//! let summary = Importer::new(service.clone())
//!     .import(Source::json(&export[..]))
//!     .await
//!     .unwrap();
//! assert_eq!(summary.created, 1);
//! # });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod export;
mod files;
mod import;
mod item;

pub use files::{read_csv, read_json, Read1};
pub use import::{ImportError, Importer, Policy, Summary};
pub use item::{Item, ItemKind, Locator, Refusal, MALFORMED};

use std::io::Read;
use tokio::sync::mpsc;

/// How many records a source reads ahead of the writes.
pub const READ_AHEAD: usize = 1024;

/// Records read one at a time by a thread or task of their own, for an [`Importer`].
#[derive(Debug)]
pub struct Source {
    records: mpsc::Receiver<Read1>,
    done: Done,
}

#[derive(Debug)]
enum Done {
    Thread(std::thread::JoinHandle<Result<(), String>>),
    Task(tokio::task::JoinHandle<Result<(), String>>),
}

impl Source {
    /// The JSON user export (an array, or JSON Lines) read from `reader`.
    pub fn json(reader: impl Read + Send + 'static) -> Source {
        Source::file(move |each| read_json(reader, each))
    }

    /// The CSV user export read from `reader`.
    pub fn csv(reader: impl Read + Send + 'static) -> Source {
        Source::file(move |each| read_csv(reader, each))
    }

    fn file(
        read: impl FnOnce(&mut dyn FnMut(Read1) -> bool) -> Result<(), String> + Send + 'static,
    ) -> Source {
        let (tx, records) = mpsc::channel(READ_AHEAD);
        let thread = std::thread::spawn(move || read(&mut |r| tx.blocking_send(r).is_ok()));
        Source {
            records,
            done: Done::Thread(thread),
        }
    }

    /// Records an async task sends into the queue; the task's result is the source's.
    pub fn from_task<F>(make: impl FnOnce(mpsc::Sender<Read1>) -> F) -> Source
    where
        F: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        let (tx, records) = mpsc::channel(READ_AHEAD);
        Source {
            records,
            done: Done::Task(tokio::spawn(make(tx))),
        }
    }

    async fn finish(self) -> Result<(), String> {
        match self.done {
            Done::Thread(thread) => tokio::task::spawn_blocking(move || thread.join())
                .await
                .map_err(|e| e.to_string())?
                .map_err(|_| "the reading thread panicked".to_owned())?,
            Done::Task(task) => task.await.map_err(|e| e.to_string())?,
        }
    }
}

impl Importer {
    /// Imports every record of `source` (see [`Importer::run`]), then reports how the source
    /// itself ended.
    pub async fn import(&mut self, mut source: Source) -> Result<Summary, ImportError> {
        let records = std::mem::replace(&mut source.records, mpsc::channel(1).1);
        let summary = self.run(records).await;
        let ended = source.finish().await;
        let summary = summary?;
        ended.map_err(ImportError::Source)?;
        Ok(summary)
    }
}
