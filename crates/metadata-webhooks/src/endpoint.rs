//! Where and how one endpoint's webhooks go.

use crate::sign::Secret;
use std::collections::BTreeSet;
use std::time::Duration;

/// Which header names carry the message id, timestamp and signatures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Headers {
    /// `svix-id`, `svix-timestamp`, `svix-signature`: what the reference product's SDK
    /// (`verifyWebhook`) reads.
    #[default]
    Svix,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`: Standard Webhooks' own names.
    StandardWebhooks,
}

impl Headers {
    /// The three header names: id, timestamp, signature.
    pub(crate) fn names(self) -> [&'static str; 3] {
        match self {
            Headers::Svix => ["svix-id", "svix-timestamp", "svix-signature"],
            Headers::StandardWebhooks => ["webhook-id", "webhook-timestamp", "webhook-signature"],
        }
    }
}

/// One receiver of webhooks: its URL, its secrets, which events it takes, how deliveries are
/// retried. Its name keeps its place in the feed (a consumer cursor `webhook:<name>` stored
/// with the records, which pruning waits for).
///
/// ```
/// use metadata_webhooks::{Endpoint, Secret};
/// use std::time::Duration;
///
/// let endpoint = Endpoint::new(
///     "billing",
///     "https://billing.example.com/webhooks",
///     Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
/// )
/// .types(["user.created", "user.deleted"])
/// .backoff(Duration::from_secs(1), Duration::from_secs(300));
/// assert_eq!(endpoint.cursor(), "webhook:billing");
/// ```
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) secrets: Vec<Secret>,
    pub(crate) types: Option<BTreeSet<String>>,
    pub(crate) headers: Headers,
    pub(crate) timeout: Duration,
    pub(crate) first_retry: Duration,
    pub(crate) longest_retry: Duration,
    pub(crate) instance: String,
    pub(crate) poll: Duration,
    pub(crate) batch: usize,
}

impl Endpoint {
    /// An endpoint named `name` (its cursor's name) at `url`, signed with `secret`. By default it
    /// takes every event type, with the `svix-*` headers, a 10 s timeout per attempt, retries
    /// from 1 s doubling to 5 min (with jitter), and polls the feed every second when another
    /// process may be the writer.
    pub fn new(name: impl Into<String>, url: impl Into<String>, secret: Secret) -> Self {
        Endpoint {
            name: name.into(),
            url: url.into(),
            secrets: vec![secret],
            types: None,
            headers: Headers::Svix,
            timeout: Duration::from_secs(10),
            first_retry: Duration::from_secs(1),
            longest_retry: Duration::from_secs(300),
            instance: "ins_metadata".into(),
            poll: Duration::from_secs(1),
            batch: 100,
        }
    }

    /// Signs with `secret` too (one signature per secret in each message), to rotate secrets:
    /// add the new one, move the receiver to it, then build the endpoint without the old one.
    pub fn also_sign_with(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Sends only events of these types (`user.created`, ...); the others are passed over.
    pub fn types<S: Into<String>>(mut self, types: impl IntoIterator<Item = S>) -> Self {
        self.types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Which header names carry the id, timestamp and signature.
    pub fn headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }

    /// How long one attempt may take before it counts as failed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The wait before the first retry, doubled after each failure up to `longest`; each wait
    /// is drawn between half of it and all of it (jitter).
    pub fn backoff(mut self, first: Duration, longest: Duration) -> Self {
        self.first_retry = first;
        self.longest_retry = longest.max(first);
        self
    }

    /// The `instance_id` every event carries, and the prefix of message ids.
    pub fn instance_id(mut self, instance: impl Into<String>) -> Self {
        self.instance = instance.into();
        self
    }

    /// How often to look for new events when none are announced in this process.
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// The name of the cursor that keeps this endpoint's place in the feed.
    pub fn cursor(&self) -> String {
        format!("webhook:{}", self.name)
    }

    /// Whether events of type `kind` go to this endpoint.
    pub(crate) fn takes(&self, kind: &str) -> bool {
        self.types.as_ref().is_none_or(|t| t.contains(kind))
    }
}
