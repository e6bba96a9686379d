//! What the frontend may see of a record (R2.3, R7.1, R8.1): the same record without a private
//! tier, by type. Sign-ups and invitations have no private tier, so their records are their
//! views.

use crate::ids::{MembershipId, OrganizationId, UserId};
use crate::metadata::Metadata;
use crate::record::{object, Membership, Millis, Organization, User};
use serde::{Deserialize, Serialize};

/// A user as the frontend sees it: no private tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// Its id.
    pub id: UserId,
    object: object::User,
    /// Public tier (read only to the frontend).
    pub public_metadata: Metadata,
    /// Unsafe tier.
    pub unsafe_metadata: Metadata,
    /// Creation time.
    pub created_at: Millis,
    /// Last write.
    pub updated_at: Millis,
    /// Version (R3.5).
    pub version: u64,
}

/// An organization as a member sees it: no private tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationView {
    /// Its id.
    pub id: OrganizationId,
    object: object::Organization,
    /// Public tier.
    pub public_metadata: Metadata,
    /// Creation time.
    pub created_at: Millis,
    /// Last write.
    pub updated_at: Millis,
    /// Version (R3.5).
    pub version: u64,
}

/// A membership as a member of its organization sees it: no private tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipView {
    /// Its id.
    pub id: MembershipId,
    object: object::Membership,
    /// The organization.
    pub organization_id: OrganizationId,
    /// The member.
    pub user_id: UserId,
    /// Public tier.
    pub public_metadata: Metadata,
    /// Creation time.
    pub created_at: Millis,
    /// Last write.
    pub updated_at: Millis,
    /// Version (R3.5).
    pub version: u64,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            object: object::User,
            public_metadata: u.public_metadata,
            unsafe_metadata: u.unsafe_metadata,
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

impl From<Organization> for OrganizationView {
    fn from(o: Organization) -> Self {
        OrganizationView {
            id: o.id,
            object: object::Organization,
            public_metadata: o.public_metadata,
            created_at: o.created_at,
            updated_at: o.updated_at,
            version: o.version,
        }
    }
}

impl From<Membership> for MembershipView {
    fn from(m: Membership) -> Self {
        MembershipView {
            id: m.id,
            object: object::Membership,
            organization_id: m.organization_id,
            user_id: m.user_id,
            public_metadata: m.public_metadata,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        }
    }
}
