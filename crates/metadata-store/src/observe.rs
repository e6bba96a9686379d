//! What the facade tells the host about its work, through the `tracing` and `metrics` facades:
//! the host chooses the subscriber and the exporter.
//!
//! - **Spans.** Every facade operation runs in a `DEBUG` span named `metadata` with the fields
//!   `op` (`get`, `create`, `update`, `delete`, `list`, `complete_sign_up`, ...), `surface`
//!   (`backend` or `frontend`), `kind` (the record's wire `object` name), `id`, `store`, and,
//!   once it ends, `outcome` (`ok` or the error's stable [`Error::code`]), `attempts` (for the
//!   writes that plan again after a lost race) and `version` (of the record answered). A lost race
//!   is a `DEBUG` event; a store fault is a `WARN` event logged by the store where the fault is met
//!   (its error's kind, and PostgreSQL's SQLSTATE), whether or not the operation is observed.
//! - **Metrics**, once the host turns them on with
//!   [`MetadataService::with_metrics`](crate::MetadataService::with_metrics):
//!   `metadata_operations_total{op, surface, kind, outcome}` (counter),
//!   `metadata_operation_seconds{op, surface, kind}` (histogram),
//!   `metadata_retries_total{kind}` (counter), `metadata_feed_head` (gauge, after each write
//!   and feed read) and `metadata_feed_cursor_lag{cursor}` (gauge, events between the feed's
//!   head and a consumer's cursor, when the consumer reads or acknowledges).
//!
//! **Never a metadata value.** Spans, events and metrics name operations, kinds, ids, stores,
//! cursors and error codes; no tier's content, no lookup value and no error message (a store's
//! message may quote what it was given) appears in any of them. A test writes a marker into
//! every tier with a subscriber capturing everything at `TRACE` and finds it nowhere.

use crate::service::MetadataService;
use crate::store::MetadataStore;
use metadata_core::{Error, ResourceKind, Surface};
use std::time::Instant;
use tracing::field::Empty;
use tracing::Span;

/// The `surface` field's value.
fn surface_name(surface: Surface) -> &'static str {
    match surface {
        Surface::Backend => "backend",
        Surface::Frontend => "frontend",
    }
}

/// One facade operation being observed. Nothing is built unless something observes it (a
/// subscriber taking `DEBUG` spans, or metrics on): otherwise it is a null pointer, and starting
/// it costs one level check and a branch.
pub(crate) struct Op<'s>(Option<Box<Live<'s>>>);

/// An operation something observes: its span, and its start when metrics are on.
struct Live<'s> {
    store: &'s dyn MetadataStore,
    span: Span,
    started: Option<Instant>,
    name: &'static str,
    via: Surface,
    kind: ResourceKind,
}

impl<'s> Op<'s> {
    /// Starts observing the operation `name` on the record of `kind` under `id`.
    #[inline]
    pub(crate) fn start(
        service: &'s MetadataService,
        name: &'static str,
        via: Surface,
        kind: ResourceKind,
        id: &str,
    ) -> Op<'s> {
        if !service.metrics && !tracing::level_enabled!(tracing::Level::DEBUG) {
            return Op(None);
        }
        Op::live(service, name, via, kind, id)
    }

    #[cold]
    fn live(
        service: &'s MetadataService,
        name: &'static str,
        via: Surface,
        kind: ResourceKind,
        id: &str,
    ) -> Op<'s> {
        let span = tracing::debug_span!(
            "metadata",
            op = name,
            surface = surface_name(via),
            kind = kind.object_name(),
            id,
            store = service.store_name,
            outcome = Empty,
            attempts = Empty,
            version = Empty,
        );
        Op(Some(Box::new(Live {
            store: &*service.store,
            span,
            started: service.metrics.then(Instant::now),
            name,
            via,
            kind,
        })))
    }

    /// The operation, leaving nothing in its place (for a future that ends it once).
    #[inline]
    pub(crate) fn take(&mut self) -> Op<'s> {
        Op(self.0.take())
    }

    /// The operation's span, to run its future in, if something observes it.
    #[inline]
    pub(crate) fn span(&self) -> Option<&Span> {
        self.0.as_ref().map(|live| &live.span)
    }

    /// Ends the operation with `result`, the version of the record it answers, if any.
    #[inline]
    pub(crate) fn finish<T>(self, result: &Result<T, Error>, version: impl Fn(&T) -> Option<u64>) {
        if let Some(live) = self.0 {
            live.finish(result, version);
        }
    }
}

impl Live<'_> {
    #[cold]
    fn finish<T>(self, result: &Result<T, Error>, version: impl Fn(&T) -> Option<u64>) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        if !self.span.is_disabled() {
            self.span.record("outcome", outcome);
            if let Some(version) = result.as_ref().ok().and_then(version) {
                self.span.record("version", version);
            }
        }
        if let Some(started) = self.started {
            if result.is_ok() && !matches!(self.name, "get" | "list") {
                publish_feed_head(self.store);
            }
            let labels = [
                self.name,
                surface_name(self.via),
                self.kind.object_name(),
                outcome,
            ];
            let seconds = started.elapsed().as_secs_f64();
            with_handles(labels, |counter, histogram| {
                counter.increment(1);
                histogram.record(seconds);
            });
        }
    }
}

/// Runs `operation` observed as `op`, and ends it with the operation's result.
pub(crate) async fn observed<T>(
    op: Op<'_>,
    operation: impl std::future::Future<Output = Result<T, Error>>,
    version: impl Fn(&T) -> Option<u64>,
) -> Result<T, Error> {
    use tracing::Instrument;
    let result = match op.span() {
        Some(span) => operation.instrument(span.clone()).await,
        None => operation.await,
    };
    op.finish(&result, version);
    result
}

/// The counter and histogram of one operation's labels (`op`, `surface`, `kind`, `outcome`),
/// registered once per thread and recorder and kept: recording through a kept handle costs an
/// atomic add, where registering costs building a key and a registry lookup.
fn with_handles(
    labels: [&'static str; 4],
    record: impl FnOnce(&metrics::Counter, &metrics::Histogram),
) {
    type Key = (usize, [(usize, usize); 4]);
    type Kept = std::collections::HashMap<
        Key,
        (metrics::Counter, metrics::Histogram),
        foldhash::fast::FixedState,
    >;
    thread_local! {
        static KEPT: std::cell::RefCell<Kept> = std::cell::RefCell::default();
    }
    // The recorder's address is part of the key: handles from a recorder installed later (or
    // from none) are never used for another.
    let recorder =
        metrics::with_recorder(|r| r as *const dyn metrics::Recorder as *const () as usize);
    let key = (recorder, labels.map(|l| (l.as_ptr() as usize, l.len())));
    KEPT.with(|kept| {
        if let Some((counter, histogram)) = kept.borrow().get(&key) {
            return record(counter, histogram);
        }
        let [op, surface, kind, outcome] = labels;
        let made = (
            metrics::counter!("metadata_operations_total",
                "op" => op, "surface" => surface, "kind" => kind, "outcome" => outcome),
            metrics::histogram!("metadata_operation_seconds",
                "op" => op, "surface" => surface, "kind" => kind),
        );
        record(&made.0, &made.1);
        kept.borrow_mut().insert(key, made);
    })
}

/// Notes that a write lost its race to another writer and plans again (its `attempt`-th try).
pub(crate) fn retried(service: &MetadataService, kind: ResourceKind, attempt: usize) {
    tracing::debug!(
        kind = kind.object_name(),
        attempt,
        "lost a race to another writer; planning again"
    );
    Span::current().record("attempts", attempt);
    if service.metrics {
        metrics::counter!("metadata_retries_total", "kind" => kind.object_name()).increment(1);
    }
}

/// Publishes the feed's head position, if the store keeps a feed.
fn publish_feed_head(store: &dyn MetadataStore) {
    if let Some(feed) = store.feed() {
        metrics::gauge!("metadata_feed_head").set(feed.signal().head() as f64);
    }
}

/// Publishes how far the consumer `cursor` is behind the feed's head.
pub(crate) fn cursor_lag(service: &MetadataService, cursor: &str, position: u64) {
    if service.metrics {
        if let Some(feed) = service.store.feed() {
            let head = feed.signal().head();
            metrics::gauge!("metadata_feed_head").set(head as f64);
            metrics::gauge!("metadata_feed_cursor_lag", "cursor" => cursor.to_owned())
                .set(head.saturating_sub(position) as f64);
        }
    }
}
