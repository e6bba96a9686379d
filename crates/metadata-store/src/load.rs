//! A point read by id as a future of its own: its first poll asks the store for an answer at
//! once ([`MetadataStore::read_now`](crate::MetadataStore::read_now)), which lends the stored
//! record so that the caller's type is built from it in place, with no copy of the whole record
//! to move and convert and no nested state machines; only a store that cannot answer at once
//! gets a boxed future, polled from then on.

use crate::error::{ServiceError, StoreError};
use crate::observe::Op;
use crate::service::{not_found, MetadataService};
use metadata_core::{Error, Record, RecordKey, Resource, ResourceKind, Surface};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use tracing::Span;

type Later<'a> = Pin<Box<dyn Future<Output = Result<Option<Record>, StoreError>> + Send + 'a>>;

/// Reads the record of `kind` stored under the single id `id` as an `R`, or `NotFound`; `key`
/// builds its [`RecordKey`] only when one is needed (a store that cannot answer at once, or an
/// error).
pub(crate) struct LoadId<'a, R, K> {
    service: &'a MetadataService,
    kind: ResourceKind,
    id: &'a str,
    key: K,
    later: Option<Later<'a>>,
    op: Op<'a>,
    resource: PhantomData<fn() -> R>,
}

impl<'a, R, K> LoadId<'a, R, K> {
    #[inline]
    pub(crate) fn new(
        service: &'a MetadataService,
        kind: ResourceKind,
        id: &'a str,
        key: K,
    ) -> Self {
        LoadId {
            op: Op::start(service, "get", Surface::Backend, kind, id),
            service,
            kind,
            id,
            key,
            later: None,
            resource: PhantomData,
        }
    }
}

impl<'a, R, K> Future for LoadId<'a, R, K>
where
    R: Resource,
    K: Fn() -> RecordKey + Unpin,
{
    type Output = Result<R, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.op.span().is_none() {
            // Nothing observes the read: the path of a read without instrumentation.
            return this.answer(cx);
        }
        let span = this.op.span().cloned();
        let answer = {
            let _entered = span.as_ref().map(Span::enter);
            this.answer(cx)
        };
        if let Poll::Ready(answer) = &answer {
            this.op.take().finish(answer, |r| Some(r.version()));
        }
        answer
    }
}

impl<R, K> LoadId<'_, R, K>
where
    R: Resource,
    K: Fn() -> RecordKey + Unpin,
{
    /// The answer, at once where the store can give it.
    #[inline(always)]
    fn answer(&mut self, cx: &mut Context<'_>) -> Poll<Result<R, Error>> {
        let this = self;
        if this.later.is_none() {
            // The common path: a point read from memory costs little more than copying the
            // record, so the `R` is built from the lent record where it lands (its tiers
            // shared), instead of copying a `Record` out and moving a `User` out of that.
            let mut answer = None;
            let key = &this.key;
            let read = this
                .service
                .store
                .read_now(this.kind, this.id, &mut |found| {
                    answer = Some(match found {
                        Some(record) => R::from_record_ref(record)
                            .ok_or_else(|| ServiceError::WrongKind { key: key() }.into_error()),
                        None => Err(not_found(&key())),
                    })
                });
            match read {
                Some(Ok(())) => {
                    if let Some(answer) = answer {
                        return Poll::Ready(answer);
                    }
                }
                Some(Err(e)) => return Poll::Ready(Err(e.into_error(None))),
                None => {}
            }
        }
        let (service, key) = (this.service, &this.key);
        let later = this.later.get_or_insert_with(|| {
            let key = key();
            Box::pin(async move { service.store.get(&key).await })
        });
        match later.as_mut().poll(cx) {
            Poll::Ready(found) => Poll::Ready(this.convert(found)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The store's answer as an `R`, or the error it is.
    #[inline(always)]
    fn convert(&self, found: Result<Option<Record>, StoreError>) -> Result<R, Error> {
        match found {
            Ok(Some(record)) => R::from_record(record)
                .ok_or_else(|| ServiceError::WrongKind { key: (self.key)() }.into_error()),
            Ok(None) => Err(not_found(&(self.key)())),
            Err(e) => Err(e.into_error(None)),
        }
    }
}
