//! Relays the change feed of any store, read through the facade's [`Feed`] and [`Consumer`]
//! alone, to a NATS JetStream stream: in position order, each event once, to the subject
//! `<prefix>.<kind>.<id>`.
//!
//! - Each message's `Nats-Msg-Id` is the event's position, so the server drops a republished
//!   event inside the stream's duplicate window.
//! - Each publish states the stream sequence it expects to follow
//!   (`Nats-Expected-Last-Sequence`), so two relays running at once cannot interleave: the
//!   second one's publish is refused ([`RelayError::Interleaved`]) and it resumes.
//! - A relay resumes from the stream's last message (its `Nats-Msg-Id`), not from anything it
//!   kept itself: killed at any moment and restarted, it publishes every event exactly once.
//! - It moves a named cursor in the store as the stream acknowledges, so pruning never deletes
//!   an event it has not published.
//!
//! ```no_run
//! use metadata_relay_nats::{Relay, RelayOptions};
//! use metadata_store::MetadataService;
//! use metadata_store_sqlite::SqliteStore;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let metadata = MetadataService::new(SqliteStore::open_file("metadata.db")?);
//! let nats = async_nats::connect("nats://127.0.0.1:4222").await?;
//! let relay = Relay::new(metadata, nats, RelayOptions::new("METADATA_CHANGES", "metadata")).await?;
//! relay.run().await?; // publishes as events commit, forever
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod subject;

pub use subject::subject;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, stream};
use metadata_store::feed::FeedError;
use metadata_store::{Consumer, Feed, MetadataService};
use std::time::Duration;

/// How a [`Relay`] publishes.
#[derive(Clone, Debug)]
pub struct RelayOptions {
    stream: String,
    prefix: String,
    batch: usize,
    duplicate_window: Duration,
    public_only: bool,
    poll_interval: Duration,
}

impl RelayOptions {
    /// Publishes to the stream `stream` (created if missing, with subjects `<prefix>.>`).
    pub fn new(stream: impl Into<String>, prefix: impl Into<String>) -> Self {
        RelayOptions {
            stream: stream.into(),
            prefix: prefix.into(),
            batch: 500,
            duplicate_window: Duration::from_secs(120),
            public_only: false,
            poll_interval: Duration::from_millis(200),
        }
    }

    /// The most events read and published in one step (500 by default).
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// The duplicate window of a stream the relay creates (2 minutes by default).
    pub fn duplicate_window(mut self, window: Duration) -> Self {
        self.duplicate_window = window;
        self
    }

    /// Publishes each event without its private tiers, and no event for a write that changed
    /// only private tiers (for a stream that client-facing services read).
    pub fn public_only(mut self, on: bool) -> Self {
        self.public_only = on;
        self
    }

    /// How often [`Relay::run`] looks for events committed by other processes, which no
    /// in-process signal announces (200 ms by default).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The store cursor the relay moves: `nats:<stream>`.
    pub fn cursor_name(&self) -> String {
        format!("nats:{}", self.stream)
    }
}

/// Why relaying failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// Reading the feed failed (a pruned position is [`FeedError::CursorExpired`]).
    #[error(transparent)]
    Feed(#[from] FeedError),
    /// Another relay published to the stream since this one read its last message; resume.
    #[error("another relay published to the stream after sequence {expected_last}")]
    Interleaved {
        /// The sequence this relay expected to follow.
        expected_last: u64,
    },
    /// The stream's last message was not published by a relay (no position in its id).
    #[error("the stream's message {sequence} has no position in its Nats-Msg-Id")]
    ForeignMessage {
        /// Its stream sequence.
        sequence: u64,
    },
    /// NATS or JetStream failed.
    #[error("nats: {0}")]
    Nats(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl RelayError {
    /// A stable code: `feed_...` codes from [`FeedError::code`], `relay_interleaved`,
    /// `relay_foreign_message`, `relay_nats`.
    pub fn code(&self) -> &'static str {
        match self {
            RelayError::Feed(e) => e.code(),
            RelayError::Interleaved { .. } => "relay_interleaved",
            RelayError::ForeignMessage { .. } => "relay_foreign_message",
            RelayError::Nats(_) => "relay_nats",
        }
    }
}

fn nats(e: impl std::error::Error + Send + Sync + 'static) -> RelayError {
    RelayError::Nats(Box::new(e))
}

/// Where the stream ends: the position of the last event published and its stream sequence
/// (both 0 for an empty stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamEnd {
    /// The feed position of the stream's last message.
    pub position: u64,
    /// Its stream sequence.
    pub sequence: u64,
}

/// What one [`Relay::publish_next`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// How many messages it published.
    pub published: usize,
    /// How many of them the server dropped as duplicates of messages it already had (another
    /// relay published them first, inside the duplicate window).
    pub duplicates: usize,
    /// The position of the last event it read (published, or left out as private-only).
    pub through: u64,
}

/// Publishes a service's change feed to JetStream.
pub struct Relay {
    /// The facade whose feed it reads.
    service: MetadataService,
    jetstream: jetstream::Context,
    options: RelayOptions,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("service", &self.service)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// One message to publish: the event's position, its subject and its body.
struct Message {
    position: u64,
    subject: String,
    payload: Vec<u8>,
}

impl Relay {
    /// A relay of `service`'s feed over `client`, creating the stream if it does not exist.
    pub async fn new(
        service: MetadataService,
        client: async_nats::Client,
        options: RelayOptions,
    ) -> Result<Relay, RelayError> {
        let jetstream = jetstream::new(client);
        jetstream
            .get_or_create_stream(stream::Config {
                name: options.stream.clone(),
                subjects: vec![format!("{}.>", options.prefix)],
                duplicate_window: options.duplicate_window,
                ..Default::default()
            })
            .await
            .map_err(nats)?;
        Ok(Relay {
            service,
            jetstream,
            options,
        })
    }

    /// The stream's last message: the position it carries and its sequence.
    pub async fn stream_end(&self) -> Result<StreamEnd, RelayError> {
        let mut stream = self
            .jetstream
            .get_stream(&self.options.stream)
            .await
            .map_err(nats)?;
        let sequence = stream.info().await.map_err(nats)?.state.last_sequence;
        if sequence == 0 {
            return Ok(StreamEnd {
                position: 0,
                sequence,
            });
        }
        let last = stream.get_raw_message(sequence).await.map_err(nats)?;
        let position = last
            .headers
            .get("Nats-Msg-Id")
            .and_then(|id| id.as_str().parse().ok())
            .ok_or(RelayError::ForeignMessage { sequence })?;
        Ok(StreamEnd { position, sequence })
    }

    /// Publishes the next batch of events after the stream's end, pipelined, each expecting
    /// the sequence before it. On success the relay's store cursor is moved past them.
    pub async fn publish_next(&self) -> Result<Progress, RelayError> {
        self.publish_after(self.stream_end().await?).await
    }

    /// [`Relay::publish_next`] from a stream end read earlier: if anything was published since,
    /// the server refuses the batch ([`RelayError::Interleaved`]), unless every message of it
    /// is a duplicate it still remembers.
    pub async fn publish_after(&self, end: StreamEnd) -> Result<Progress, RelayError> {
        let (messages, through) = self.read(end.position).await?;
        if through == end.position {
            return Ok(Progress {
                published: 0,
                duplicates: 0,
                through,
            });
        }
        let mut acks = Vec::with_capacity(messages.len());
        for (sequence, message) in (end.sequence..).zip(messages) {
            let publish = PublishMessage::build()
                .payload(message.payload.into())
                .message_id(message.position.to_string())
                .expected_last_sequence(sequence);
            acks.push(
                self.jetstream
                    .send_publish(message.subject, publish)
                    .await
                    .map_err(nats)?,
            );
        }
        let published = acks.len();
        let mut duplicates = 0;
        for ack in acks {
            match ack.await {
                Ok(ack) => duplicates += usize::from(ack.duplicate),
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                    return Err(RelayError::Interleaved {
                        expected_last: end.sequence,
                    })
                }
                Err(e) => return Err(nats(e)),
            }
        }
        // The cursor only holds pruning back: the relay's place is the stream's end.
        self.consumer().advance_to(through).await?;
        Ok(Progress {
            published,
            duplicates,
            through,
        })
    }

    fn feed(&self) -> Feed<'_> {
        self.service.feed()
    }

    fn consumer(&self) -> Consumer<'_> {
        self.feed().consumer(self.options.cursor_name())
    }

    /// The next batch after `after` as messages (the public views only, with
    /// [`RelayOptions::public_only`]), and the position the read went through.
    async fn read(&self, after: u64) -> Result<(Vec<Message>, u64), RelayError> {
        let bad = |e: serde_json::Error| {
            RelayError::Feed(FeedError::Store(metadata_store::StoreError::backend(
                "relay", false, e,
            )))
        };
        let prefix = &self.options.prefix;
        if self.options.public_only {
            let batch = self.feed().read_public(after, self.options.batch).await?;
            let messages = batch
                .events
                .iter()
                .map(|event| {
                    Ok(Message {
                        position: event.position,
                        subject: subject(prefix, event.kind, &event.id),
                        payload: serde_json::to_vec(event).map_err(bad)?,
                    })
                })
                .collect::<Result<_, RelayError>>()?;
            return Ok((messages, batch.through));
        }
        let events = self.feed().read(after, self.options.batch).await?;
        let through = events.last().map_or(after, |e| e.position);
        let messages = events
            .iter()
            .map(|event| {
                Ok(Message {
                    position: event.position,
                    subject: subject(prefix, event.change.kind, &event.change.id),
                    payload: serde_json::to_vec(event).map_err(bad)?,
                })
            })
            .collect::<Result<_, RelayError>>()?;
        Ok((messages, through))
    }

    /// Publishes forever: each batch as soon as it is committed in this process, and every
    /// [`RelayOptions::poll_interval`] otherwise. A relay that finds another one publishing
    /// resumes after it. Returns only on an error that trying again cannot fix.
    pub async fn run(&self) -> Result<(), RelayError> {
        loop {
            let progress = match self.publish_next().await {
                Ok(progress) => progress,
                Err(RelayError::Interleaved { .. }) => continue,
                Err(e) => return Err(e),
            };
            if progress.published < self.options.batch {
                let feed = self.feed();
                let _ =
                    tokio::time::timeout(self.options.poll_interval, feed.wait(progress.through))
                        .await;
            }
        }
    }
}
