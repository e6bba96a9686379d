//! Delivering one endpoint's webhooks: in feed order, each event until the endpoint answers
//! 2xx, then the next; the endpoint's cursor moves past each event once it is delivered.

use crate::endpoint::Endpoint;
use crate::event;
use crate::sign::signatures;
use metadata_core::feed::ChangeEvent;
use metadata_http::{Hooks, NoHooks};
use metadata_store::feed::FeedError;
use metadata_store::MetadataService;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many attempts each endpoint keeps for [`Deliverer::attempts`].
pub const KEPT_ATTEMPTS: usize = 100;

/// Why delivery stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The endpoint answered `410 Gone`: it is disabled and nothing more is sent to it until a
    /// new deliverer is made for it.
    #[error("the endpoint answered 410 Gone and is disabled")]
    Gone,
    /// The feed could not be read or the cursor moved (for example the store failed, or its
    /// events were pruned past the endpoint's place, or another deliverer moved it).
    #[error("the change feed: {0}")]
    Feed(#[from] FeedError),
    /// The HTTP client could not be built.
    #[error("the HTTP client: {0}")]
    Client(String),
}

impl WebhookError {
    /// A stable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::Gone => "webhook_endpoint_gone",
            WebhookError::Feed(e) => e.code(),
            WebhookError::Client(_) => "webhook_client",
        }
    }
}

/// One attempt to deliver one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The event's position in the feed.
    pub position: u64,
    /// The message id it was sent with (the same for every attempt at the same event).
    pub message_id: String,
    /// When the attempt was made, in ms since the epoch.
    pub at: i64,
    /// The endpoint's status code, if it answered.
    pub status: Option<u16>,
    /// Why it failed without an answer (timeout, connection refused, ...).
    pub error: Option<String>,
}

/// What one round of delivery did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Events the endpoint accepted.
    pub sent: usize,
    /// Events passed over (no webhook type, or a type the endpoint does not take).
    pub passed: usize,
    /// The position the endpoint's cursor now stands at.
    pub through: u64,
}

/// Delivers a service's change feed to one [`Endpoint`].
pub struct Deliverer {
    service: MetadataService,
    endpoint: Endpoint,
    hooks: Arc<dyn Hooks>,
    client: reqwest::Client,
    attempts: Mutex<VecDeque<Attempt>>,
    gone: AtomicBool,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("endpoint", &self.endpoint)
            .field("gone", &self.gone)
            .finish_non_exhaustive()
    }
}

impl Deliverer {
    /// A deliverer of `service`'s feed to `endpoint`.
    pub fn new(service: MetadataService, endpoint: Endpoint) -> Result<Self, WebhookError> {
        let client = reqwest::Client::builder()
            .timeout(endpoint.timeout)
            .user_agent("metadata-webhooks")
            .build()
            .map_err(|e| WebhookError::Client(e.to_string()))?;
        Ok(Deliverer {
            service,
            endpoint,
            hooks: Arc::new(NoHooks),
            client,
            attempts: Mutex::new(VecDeque::new()),
            gone: AtomicBool::new(false),
        })
    }

    /// Fills the fields of `data` the host owns, as the HTTP surface's hooks do.
    pub fn hooks(mut self, hooks: impl Hooks) -> Self {
        self.hooks = Arc::new(hooks);
        self
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The last attempts (at most [`KEPT_ATTEMPTS`]), oldest first.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.log().iter().cloned().collect()
    }

    /// Whether the endpoint answered `410 Gone`.
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    /// Moves the endpoint's place back (or forward) so that the events after `position` are
    /// sent again (replay). Events already pruned cannot be replayed.
    pub async fn replay_after(&self, position: u64) -> Result<(), WebhookError> {
        let consumer = self.service.feed().consumer(self.endpoint.cursor());
        loop {
            let current = consumer.position().await?;
            match consumer.move_to(current, position).await {
                Err(FeedError::CursorMoved { .. }) => continue,
                other => return Ok(other?),
            }
        }
    }

    /// Delivers every event after the endpoint's place, up to one batch, each until the
    /// endpoint accepts it. Returns when the batch is done (or nothing was waiting).
    pub async fn deliver_batch(&self) -> Result<Delivered, WebhookError> {
        if self.is_gone() {
            return Err(WebhookError::Gone);
        }
        let consumer = self.service.feed().consumer(self.endpoint.cursor());
        let batch = consumer.next(self.endpoint.batch).await?;
        let mut done = Delivered {
            through: batch.from.unwrap_or(0),
            ..Delivered::default()
        };
        let mut passed_since = None;
        for e in &batch.events {
            match event::event_type(e).filter(|t| self.endpoint.takes(t)) {
                Some(kind) => {
                    self.deliver(e, kind).await?;
                    consumer.advance_to(e.position).await?;
                    done.sent += 1;
                    passed_since = None;
                }
                None => {
                    done.passed += 1;
                    passed_since = Some(e.position);
                }
            }
            done.through = e.position;
        }
        if let Some(position) = passed_since {
            consumer.advance_to(position).await?;
        }
        Ok(done)
    }

    /// Delivers for as long as the endpoint exists: every event as it is committed, in order.
    /// Returns only on an error ([`WebhookError::Gone`], or a feed failure).
    pub async fn run(&self) -> Result<(), WebhookError> {
        loop {
            let done = self.deliver_batch().await?;
            if done.sent + done.passed == 0 {
                // Caught up: wait for a commit announced in this process, or poll for one made
                // by another.
                let _ = tokio::time::timeout(
                    self.endpoint.poll,
                    self.service.feed().wait(done.through),
                )
                .await;
            }
        }
    }

    /// Sends `e` as a webhook of type `kind` until the endpoint answers 2xx.
    async fn deliver(&self, e: &ChangeEvent, kind: &str) -> Result<(), WebhookError> {
        let endpoint = &self.endpoint;
        let id = event::message_id(&endpoint.instance, e);
        let body = event::body(
            &self.service,
            self.hooks.as_ref(),
            &endpoint.instance,
            e,
            kind,
        )
        .await;
        let [id_header, time_header, signature_header] = endpoint.headers.names();
        let mut failures = 0u32;
        loop {
            let now = now_millis();
            let timestamp = now / 1000;
            let sent = self
                .client
                .post(&endpoint.url)
                .header("content-type", "application/json")
                .header(id_header, &id)
                .header(time_header, timestamp.to_string())
                .header(
                    signature_header,
                    signatures(&endpoint.secrets, &id, timestamp, &body),
                )
                .body(body.clone())
                .send()
                .await;
            let (status, error) = match &sent {
                Ok(response) => (Some(response.status().as_u16()), None),
                Err(err) => (None, Some(describe(err))),
            };
            self.record(Attempt {
                position: e.position,
                message_id: id.clone(),
                at: now,
                status,
                error,
            });
            match status {
                Some(200..=299) => return Ok(()),
                Some(410) => {
                    self.gone.store(true, Ordering::Relaxed);
                    tracing::warn!(endpoint = %endpoint.name, "the webhook endpoint is gone (410); disabled");
                    return Err(WebhookError::Gone);
                }
                _ => {}
            }
            failures += 1;
            let wait = backoff(endpoint.first_retry, endpoint.longest_retry, failures);
            tracing::debug!(
                endpoint = %endpoint.name,
                position = e.position,
                status,
                failures,
                wait_ms = wait.as_millis() as u64,
                "webhook not accepted; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, VecDeque<Attempt>> {
        self.attempts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, attempt: Attempt) {
        let mut log = self.log();
        if log.len() == KEPT_ATTEMPTS {
            log.pop_front();
        }
        log.push_back(attempt);
    }
}

/// What went wrong with a request that got no answer, without the URL's query or the body.
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "could not connect".into()
    } else {
        "the request failed".into()
    }
}

/// The wait before retry number `failures`: `first` doubled each time up to `longest`, drawn
/// between half of it and all of it.
fn backoff(first: Duration, longest: Duration, failures: u32) -> Duration {
    let doubled = first.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let ceiling = doubled.min(longest);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let fraction = 0.5 + (random % 1_000) as f64 / 2_000.0;
    ceiling.mul_f64(fraction)
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_longest_with_jitter() {
        let (first, longest) = (Duration::from_millis(100), Duration::from_secs(2));
        for (failures, ceiling) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (5, 1_600),
            (6, 2_000),
            (40, 2_000),
        ] {
            let wait = backoff(first, longest, failures).as_millis() as u64;
            assert!(
                wait >= ceiling / 2 && wait <= ceiling,
                "{failures}: {wait} of {ceiling}"
            );
        }
    }
}
