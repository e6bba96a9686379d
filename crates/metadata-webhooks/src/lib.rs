//! The change feed as the reference product's webhooks, so that handlers written for it (with
//! `verifyWebhook` from `@clerk/backend/webhooks`) take this library's events unchanged.
//!
//! - **Shapes**: `{"data", "object": "event", "type", "timestamp", "instance_id",
//!   "event_attributes"}` with the product's types (`user.created`, `organization.updated`,
//!   `organizationMembership.deleted`, `organizationInvitation.accepted`, ...); `data` is what
//!   the HTTP surface answers for the record ([`event`] has the table).
//! - **Signed** per Standard Webhooks v1 (HMAC-SHA256 over `id.timestamp.body`, `whsec_`
//!   secrets, several signatures at once to rotate), with the `svix-*` headers the product's SDK
//!   reads, or `webhook-*` ([`Headers`]). The message id is the same for every delivery of an
//!   event, so a receiver drops repeats by it.
//! - **Delivery** ([`Deliverer`]): per endpoint, in feed order, the next event only after a 2xx
//!   for the one before; retries with exponential backoff and jitter, a timeout per attempt;
//!   `410 Gone` disables the endpoint; the endpoint's place is a consumer cursor stored with the
//!   records (pruning waits for it), so a restarted deliverer resumes where the last one
//!   stopped, repeating at most the event it was sending; replay from any kept position; event
//!   type filters; the last attempts readable.
//!
//! ```no_run
//! use metadata_store::MetadataService;
//! use metadata_webhooks::{Deliverer, Endpoint, Secret};
//!
//! # async fn demo(service: MetadataService) -> Result<(), Box<dyn std::error::Error>> {
//! let secret = Secret::parse(&std::env::var("WEBHOOK_SECRET")?)?;
//! let endpoint = Endpoint::new("billing", "https://billing.example.com/webhooks", secret)
//!     .types(["user.created", "user.updated", "user.deleted"]);
//! Deliverer::new(service, endpoint)?.run().await?; // until the endpoint answers 410
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod deliver;
mod endpoint;
pub mod event;
mod sign;

pub use deliver::{Attempt, Delivered, Deliverer, WebhookError, KEPT_ATTEMPTS};
pub use endpoint::{Endpoint, Headers};
pub use sign::{signatures, BadSecret, Secret};
