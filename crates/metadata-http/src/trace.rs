//! Request ids and a trace span per request, in one layer.
//!
//! Every response carries `x-request-id`: the caller's, when it sent one, or a new one (a
//! random prefix per router and a counter: unique without a system call per request). When a
//! subscriber takes `DEBUG` spans, each request runs in a span `http` with its method, its
//! route's template (`/v1/users/{id}`, never the query string, which can hold a lookup's
//! metadata value) and its request id, the facade's operation spans nested inside it, and ends
//! with a `DEBUG` event holding its status and latency (an `ERROR` event for a 5xx). Without
//! one, the layer costs a level check, the id and its header.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use axum::Router;
use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tracing::Instrument;

/// The request id header.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `router` with request ids and a trace span per request.
pub(crate) fn layers(router: Router) -> Router {
    router.layer(Requests::new())
}

/// The layer: request ids `<16 hex digits>-<n>`, a random prefix drawn once per router (from
/// the standard library's randomly seeded hasher) and a counter.
#[derive(Clone)]
struct Requests {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl Requests {
    fn new() -> Self {
        let prefix = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Requests {
            prefix,
            next: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The caller's id, or a new one.
    fn id(&self, request: &Request) -> HeaderValue {
        if let Some(given) = request.headers().get(&REQUEST_ID) {
            return given.clone();
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let text = format!("{:016x}-{n}", self.prefix);
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("-"))
    }
}

impl<S> tower::Layer<S> for Requests {
    type Service = RequestService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequestService {
            inner,
            ids: self.clone(),
        }
    }
}

/// The layer's service.
#[derive(Clone)]
pub(crate) struct RequestService<S> {
    inner: S,
    ids: Requests,
}

impl<S> tower::Service<Request> for RequestService<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let id = self.ids.id(&request);
        request.headers_mut().insert(REQUEST_ID, id.clone());
        if !tracing::enabled!(tracing::Level::DEBUG) {
            let answer = self.inner.call(request);
            return Box::pin(async move {
                let mut response = answer.await?;
                response.headers_mut().insert(REQUEST_ID, id);
                Ok(response)
            });
        }
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        let span = tracing::debug_span!(
            "http",
            method = %request.method(),
            route,
            request_id = id.to_str().unwrap_or(""),
        );
        let started = std::time::Instant::now();
        let answer = self.inner.call(request);
        Box::pin(
            async move {
                let mut response = answer.await?;
                let status = response.status().as_u16();
                let latency_us = started.elapsed().as_micros() as u64;
                if status >= 500 {
                    tracing::error!(status, latency_us, "answered with a server error");
                } else {
                    tracing::debug!(status, latency_us, "answered");
                }
                response.headers_mut().insert(REQUEST_ID, id);
                Ok(response)
            }
            .instrument(span),
        )
    }
}
