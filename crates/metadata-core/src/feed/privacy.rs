//! What of the feed may leave the backend: events without private tiers (R2.3), and whose
//! session claims an event may have changed (R10.2).

use super::{ChangeEvent, Operation};
use crate::ids::{OrganizationId, UserId};
use crate::record::{Millis, Record, MEMBERSHIP_KEY_SEPARATOR};
use crate::tier::{ResourceKind, Tier};
use crate::view::{MembershipView, OrganizationView, UserView};
use serde::Serialize;

/// A [`ChangeEvent`] as anything client-facing may see it: no private tier, and no event at all
/// for a write that changed only a private tier.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PublicChangeEvent {
    /// The event's position.
    pub position: u64,
    /// The event's commit id.
    pub commit_id: u64,
    /// When it was committed, in ms since the epoch.
    pub committed_at: Millis,
    /// The record's kind.
    pub kind: ResourceKind,
    /// The record's storage key.
    pub id: String,
    /// What the write did.
    pub operation: Operation,
    /// The version after the write.
    pub version: u64,
    /// The version before the write.
    pub previous_version: Option<u64>,
    /// The tiers it changed, private excluded.
    pub tiers: Vec<Tier>,
    /// The record after the write as the frontend sees it (its view type: no private tier).
    pub record: Option<serde_json::Value>,
}

impl ChangeEvent {
    /// The event without private tiers, or `None` when the write changed only a private tier
    /// (its very existence would tell a client that private metadata changed). A record that
    /// cannot be read back is an error.
    pub fn without_private(&self) -> Result<Option<PublicChangeEvent>, serde_json::Error> {
        let c = &self.change;
        let tiers: Vec<Tier> = c
            .tiers
            .iter()
            .copied()
            .filter(|t| *t != Tier::Private)
            .collect();
        if c.operation == Operation::Updated && tiers.is_empty() && !c.tiers.is_empty() {
            return Ok(None);
        }
        let record = match c.parse_record().transpose()? {
            None => None,
            Some(Record::User(u)) => Some(serde_json::to_value(UserView::from(u))?),
            Some(Record::Organization(o)) => Some(serde_json::to_value(OrganizationView::from(o))?),
            Some(Record::Membership(m)) => Some(serde_json::to_value(MembershipView::from(m))?),
            // Sign-ups and invitations have no private tier (contract §1).
            Some(other) => Some(serde_json::to_value(other)?),
        };
        Ok(Some(PublicChangeEvent {
            position: self.position,
            commit_id: self.commit_id,
            committed_at: self.committed_at,
            kind: c.kind,
            id: c.id.clone(),
            operation: c.operation,
            version: c.version,
            previous_version: c.previous_version,
            tiers,
            record,
        }))
    }

    /// Whose session claims this event may have changed: claims templates read a user's public
    /// and unsafe tiers, and the public tiers of their organizations and memberships (R10.2).
    /// `None` when no claim can have changed.
    pub fn claims_scope(&self) -> Option<ClaimsScope> {
        let c = &self.change;
        let touched = |tiers: &[Tier]| {
            c.operation != Operation::Updated || c.tiers.iter().any(|t| tiers.contains(t))
        };
        match c.kind {
            ResourceKind::User if touched(&[Tier::Public, Tier::Unsafe]) => {
                UserId::new(c.id.clone()).ok().map(ClaimsScope::User)
            }
            ResourceKind::Membership if touched(&[Tier::Public]) => {
                let (_, user) = c.id.split_once(MEMBERSHIP_KEY_SEPARATOR)?;
                UserId::new(user).ok().map(ClaimsScope::User)
            }
            ResourceKind::Organization if touched(&[Tier::Public]) => {
                OrganizationId::new(c.id.clone())
                    .ok()
                    .map(ClaimsScope::Organization)
            }
            _ => None,
        }
    }
}

/// Whose session claims may have changed: refresh them now instead of when the session's token
/// next expires.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClaimsScope {
    /// This user's sessions.
    User(UserId),
    /// The sessions of every member of this organization.
    Organization(OrganizationId),
}
