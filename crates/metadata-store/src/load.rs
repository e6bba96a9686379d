//! A point read by id as a future of its own: its first poll asks the store for an answer at
//! once ([`MetadataStore::get_now`](crate::MetadataStore::get_now)) and converts it, with no
//! nested state machines to set up and move the record through; only a store that cannot
//! answer at once gets a boxed future, polled from then on.

use crate::error::{ServiceError, StoreError};
use crate::service::{not_found, MetadataService};
use metadata_core::{Error, Record, RecordKey, Resource, ResourceKind};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

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
    resource: PhantomData<fn() -> R>,
}

impl<'a, R, K> LoadId<'a, R, K> {
    pub(crate) fn new(
        service: &'a MetadataService,
        kind: ResourceKind,
        id: &'a str,
        key: K,
    ) -> Self {
        LoadId {
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
        let found = match &mut this.later {
            Some(later) => match later.as_mut().poll(cx) {
                Poll::Ready(found) => found,
                Poll::Pending => return Poll::Pending,
            },
            None => match this.service.store.get_now(this.kind, this.id) {
                Some(found) => found,
                None => {
                    let (service, key) = (this.service, (this.key)());
                    let mut later: Later<'a> =
                        Box::pin(async move { service.store.get(&key).await });
                    match later.as_mut().poll(cx) {
                        Poll::Ready(found) => found,
                        Poll::Pending => {
                            this.later = Some(later);
                            return Poll::Pending;
                        }
                    }
                }
            },
        };
        // Matched in one step, not through nested options: a point read from memory costs
        // little more than moving the record, so every move counts.
        Poll::Ready(match found {
            Ok(Some(record)) => R::from_record(record)
                .ok_or_else(|| ServiceError::WrongKind { key: (this.key)() }.into_error()),
            Ok(None) => Err(not_found(&(this.key)())),
            Err(e) => Err(e.into_error(None)),
        })
    }
}
