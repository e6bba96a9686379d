//! Change events as the reference product's webhook events: `{"data", "object": "event",
//! "type", "timestamp", "instance_id", "event_attributes"}`.
//!
//! | record | created | updated | deleted |
//! |---|---|---|---|
//! | user | `user.created` | `user.updated` | `user.deleted` |
//! | organization | `organization.created` | `organization.updated` | `organization.deleted` |
//! | membership | `organizationMembership.created` | `organizationMembership.updated` | `organizationMembership.deleted` |
//! | invitation | `organizationInvitation.created` | `organizationInvitation.accepted` or `.revoked` when its status becomes so | *(none)* |
//!
//! `data` is what the HTTP surface answers for the record after the change
//! ([`metadata_http::record_shape`]); a deletion's is `{"id", "object", "deleted": true}`.
//! Events the reference product has no type for are not sent: sign-up attempts' (the product's
//! webhooks have none; the change feed and the NATS relay carry them), an invitation's metadata
//! updates and deletions.

use metadata_core::feed::{ChangeEvent, Operation};
use metadata_core::{InvitationStatus, Record, ResourceKind};
use metadata_http::Hooks;
use metadata_store::MetadataService;
use serde_json::{json, Value};

/// The reference product's type for `event`, if it has one.
pub fn event_type(event: &ChangeEvent) -> Option<&'static str> {
    let change = &event.change;
    let prefix = match change.kind {
        ResourceKind::User => "user",
        ResourceKind::Organization => "organization",
        ResourceKind::Membership => "organizationMembership",
        ResourceKind::Invitation => {
            return match change.operation {
                Operation::Created => Some("organizationInvitation.created"),
                Operation::Updated => match invitation_status(event)? {
                    InvitationStatus::Accepted => Some("organizationInvitation.accepted"),
                    InvitationStatus::Revoked => Some("organizationInvitation.revoked"),
                    InvitationStatus::Pending => None,
                },
                Operation::Deleted => None,
            };
        }
        ResourceKind::SignUp => return None,
    };
    Some(match (prefix, change.operation) {
        ("user", Operation::Created) => "user.created",
        ("user", Operation::Updated) => "user.updated",
        ("user", Operation::Deleted) => "user.deleted",
        ("organization", Operation::Created) => "organization.created",
        ("organization", Operation::Updated) => "organization.updated",
        ("organization", Operation::Deleted) => "organization.deleted",
        (_, Operation::Created) => "organizationMembership.created",
        (_, Operation::Updated) => "organizationMembership.updated",
        (_, Operation::Deleted) => "organizationMembership.deleted",
    })
}

fn invitation_status(event: &ChangeEvent) -> Option<InvitationStatus> {
    match record(event)? {
        Record::Invitation(inv) => Some(inv.status),
        _ => None,
    }
}

/// The record after the change, when the event carries one (not for a deletion).
fn record(event: &ChangeEvent) -> Option<Record> {
    let text = event.change.record.as_deref()?;
    Record::from_json(event.change.kind, text.as_bytes()).ok()
}

/// The id a message about `event` carries (`svix-id`): the same for every delivery of the same
/// event, so a receiver can drop repeats. `instance` tells apart the events of different stores.
pub fn message_id(instance: &str, event: &ChangeEvent) -> String {
    format!("msg_{instance}_{}", event.position)
}

/// The JSON body of the webhook for `event` of type `kind`.
pub async fn body(
    service: &MetadataService,
    hooks: &dyn Hooks,
    instance: &str,
    event: &ChangeEvent,
    kind: &str,
) -> Vec<u8> {
    let data = match record(event) {
        Some(record) => Value::Object(metadata_http::record_shape(service, hooks, &record).await),
        None => json!({
            "id": deleted_id(event),
            "object": event.change.kind.object_name(),
            "deleted": true,
        }),
    };
    json!({
        "data": data,
        "object": "event",
        "type": kind,
        "timestamp": event.committed_at,
        "instance_id": instance,
        "event_attributes": {},
        // A field of this project's own: who made the commit (R14.2), or null.
        "actor": event.change.actor,
    })
    .to_string()
    .into_bytes()
}

/// A deleted record's id: its storage key (a membership's is `<organization id>,<user id>`).
fn deleted_id(event: &ChangeEvent) -> String {
    event.change.id.clone()
}
