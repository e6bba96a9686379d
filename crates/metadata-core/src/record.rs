//! The five records, their keys and their wire format (contract §1, R3.5, contract §8).

use crate::ids::{InvitationId, MembershipId, OrganizationId, SignUpId, UserId};
use crate::metadata::Metadata;
use crate::tier::{ResourceKind, Tier};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::fmt;

pub use crate::resource::Resource;

/// Milliseconds since the Unix epoch (R3.5).
pub type Millis = i64;

/// Zero-sized markers that write and check the wire format's `object` field (R8.1).
pub mod object {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    macro_rules! object_tag {
        ($name:ident, $text:literal) => {
            #[doc = concat!("The `object` field of a record that reads `\"", $text, "\"`.")]
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            pub struct $name;

            impl Serialize for $name {
                fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_str($text)
                }
            }

            impl<'de> Deserialize<'de> for $name {
                fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                    if text == $text {
                        Ok($name)
                    } else {
                        Err(serde::de::Error::invalid_value(
                            serde::de::Unexpected::Str(&text),
                            &concat!("\"", $text, "\""),
                        ))
                    }
                }
            }
        };
    }

    object_tag!(User, "user");
    object_tag!(SignUp, "sign_up_attempt");
    object_tag!(Organization, "organization");
    object_tag!(Membership, "organization_membership");
    object_tag!(Invitation, "organization_invitation");
}

/// Where a sign-up attempt stands (R8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignUpStatus {
    /// In progress; its unsafe tier can still change.
    MissingRequirements,
    /// Completed: the user exists and the sign-up's metadata is frozen (R5.1).
    Complete,
}

/// Where an invitation stands (R8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    /// Open.
    Pending,
    /// Accepted: the membership exists and the invitation is frozen (R5.2).
    Accepted,
    /// Revoked by the backend; frozen.
    Revoked,
}

/// A user (all three tiers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    object: object::User,
    /// Backend writes, both surfaces read.
    pub public_metadata: Metadata,
    /// Backend only.
    pub private_metadata: Metadata,
    /// Both surfaces read and write.
    pub unsafe_metadata: Metadata,
    /// Creation time, ms since the epoch.
    pub created_at: Millis,
    /// Last write, ms since the epoch.
    pub updated_at: Millis,
    /// Grows by one on each write, from 1 at creation (R3.5).
    pub version: u64,
}

/// A sign-up attempt (unsafe tier only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignUp {
    /// Its id.
    pub id: SignUpId,
    object: object::SignUp,
    /// Where it stands.
    pub status: SignUpStatus,
    /// The user it created, once complete.
    pub created_user_id: Option<UserId>,
    /// Both surfaces read and write, until complete.
    pub unsafe_metadata: Metadata,
    /// Creation time, ms since the epoch.
    pub created_at: Millis,
    /// Last write, ms since the epoch.
    pub updated_at: Millis,
    /// Grows by one on each write (R3.5).
    pub version: u64,
}

/// An organization (public and private tiers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Its id.
    pub id: OrganizationId,
    object: object::Organization,
    /// Backend writes, members read.
    pub public_metadata: Metadata,
    /// Backend only.
    pub private_metadata: Metadata,
    /// Creation time, ms since the epoch.
    pub created_at: Millis,
    /// Last write, ms since the epoch.
    pub updated_at: Millis,
    /// Grows by one on each write (R3.5).
    pub version: u64,
}

/// A user's membership of an organization (public and private tiers). At most one exists per
/// organization and user; [`RecordKey::Membership`] names it by both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// Its id.
    pub id: MembershipId,
    object: object::Membership,
    /// The organization.
    pub organization_id: OrganizationId,
    /// The member.
    pub user_id: UserId,
    /// Backend writes, members of the organization read.
    pub public_metadata: Metadata,
    /// Backend only.
    pub private_metadata: Metadata,
    /// Creation time, ms since the epoch.
    pub created_at: Millis,
    /// Last write, ms since the epoch.
    pub updated_at: Millis,
    /// Grows by one on each write (R3.5).
    pub version: u64,
}

/// An invitation to an organization (public tier only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// Its id.
    pub id: InvitationId,
    object: object::Invitation,
    /// The organization.
    pub organization_id: OrganizationId,
    /// Who is invited; the frontend sees the invitation only with this address verified.
    pub email_address: String,
    /// Where it stands.
    pub status: InvitationStatus,
    /// Backend writes; copied to the membership on acceptance (R5.2).
    pub public_metadata: Metadata,
    /// Creation time, ms since the epoch.
    pub created_at: Millis,
    /// Last write, ms since the epoch.
    pub updated_at: Millis,
    /// Grows by one on each write (R3.5).
    pub version: u64,
}

impl User {
    /// A new user with empty tiers at version 0; [`crate::create`] gives it its first version.
    pub(crate) fn blank(id: UserId, now: Millis) -> Self {
        User {
            id,
            object: object::User,
            public_metadata: Metadata::new(),
            private_metadata: Metadata::new(),
            unsafe_metadata: Metadata::new(),
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }
}

impl SignUp {
    pub(crate) fn blank(id: SignUpId, now: Millis) -> Self {
        SignUp {
            id,
            object: object::SignUp,
            status: SignUpStatus::MissingRequirements,
            created_user_id: None,
            unsafe_metadata: Metadata::new(),
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }
}

impl Organization {
    pub(crate) fn blank(id: OrganizationId, now: Millis) -> Self {
        Organization {
            id,
            object: object::Organization,
            public_metadata: Metadata::new(),
            private_metadata: Metadata::new(),
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }
}

impl Membership {
    pub(crate) fn blank(
        id: MembershipId,
        organization_id: OrganizationId,
        user_id: UserId,
        now: Millis,
    ) -> Self {
        Membership {
            id,
            object: object::Membership,
            organization_id,
            user_id,
            public_metadata: Metadata::new(),
            private_metadata: Metadata::new(),
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }
}

impl Invitation {
    pub(crate) fn blank(
        id: InvitationId,
        organization_id: OrganizationId,
        email_address: String,
        now: Millis,
    ) -> Self {
        Invitation {
            id,
            object: object::Invitation,
            organization_id,
            email_address,
            status: InvitationStatus::Pending,
            public_metadata: Metadata::new(),
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }
}

/// Any one record, as a store keeps it. Serializes as the record itself (R8.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Record {
    /// A user.
    User(User),
    /// A sign-up attempt.
    SignUp(SignUp),
    /// An organization.
    Organization(Organization),
    /// A membership.
    Membership(Membership),
    /// An invitation.
    Invitation(Invitation),
}

macro_rules! each_record {
    ($record:expr, $r:ident => $body:expr) => {
        match $record {
            Record::User($r) => $body,
            Record::SignUp($r) => $body,
            Record::Organization($r) => $body,
            Record::Membership($r) => $body,
            Record::Invitation($r) => $body,
        }
    };
}

impl Record {
    /// Its kind.
    pub fn kind(&self) -> ResourceKind {
        match self {
            Record::User(_) => ResourceKind::User,
            Record::SignUp(_) => ResourceKind::SignUp,
            Record::Organization(_) => ResourceKind::Organization,
            Record::Membership(_) => ResourceKind::Membership,
            Record::Invitation(_) => ResourceKind::Invitation,
        }
    }

    /// Its key.
    pub fn key(&self) -> RecordKey {
        each_record!(self, r => r.key())
    }

    /// Its version (R3.5).
    pub fn version(&self) -> u64 {
        each_record!(self, r => r.version)
    }

    /// Its creation time.
    pub fn created_at(&self) -> Millis {
        each_record!(self, r => r.created_at)
    }

    /// Its last write time.
    pub fn updated_at(&self) -> Millis {
        each_record!(self, r => r.updated_at)
    }

    /// A tier, or `None` if this kind does not have it.
    pub fn tier(&self, tier: Tier) -> Option<&Metadata> {
        each_record!(self, r => r.tier(tier))
    }

    /// The organization it belongs to (a membership or an invitation).
    pub fn organization_id(&self) -> Option<&OrganizationId> {
        match self {
            Record::Membership(m) => Some(&m.organization_id),
            Record::Invitation(i) => Some(&i.organization_id),
            _ => None,
        }
    }

    /// The user it belongs to (a membership).
    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Record::Membership(m) => Some(&m.user_id),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Record {
    /// Reads any record, choosing the kind by its `object` field (R8.2).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(d)?;
        let kind = value
            .get("object")
            .and_then(Value::as_str)
            .and_then(ResourceKind::from_object_name)
            .ok_or_else(|| D::Error::custom("a record needs a known `object` field"))?;
        let record = match kind {
            ResourceKind::User => User::deserialize(value).map(Record::User),
            ResourceKind::SignUp => SignUp::deserialize(value).map(Record::SignUp),
            ResourceKind::Organization => {
                Organization::deserialize(value).map(Record::Organization)
            }
            ResourceKind::Membership => Membership::deserialize(value).map(Record::Membership),
            ResourceKind::Invitation => Invitation::deserialize(value).map(Record::Invitation),
        };
        record.map_err(D::Error::custom)
    }
}

/// The name of one record in a store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKey {
    /// A user.
    User(UserId),
    /// A sign-up attempt.
    SignUp(SignUpId),
    /// An organization.
    Organization(OrganizationId),
    /// The membership of `user_id` in `organization_id`.
    Membership {
        /// The organization.
        organization_id: OrganizationId,
        /// The member.
        user_id: UserId,
    },
    /// An invitation.
    Invitation(InvitationId),
}

/// Separates the organization and user ids in a membership's storage key; it sorts below every
/// character an id may hold, so keys sort as (organization, user) pairs do.
pub const MEMBERSHIP_KEY_SEPARATOR: char = ',';

impl RecordKey {
    /// Its kind.
    pub fn kind(&self) -> ResourceKind {
        match self {
            RecordKey::User(_) => ResourceKind::User,
            RecordKey::SignUp(_) => ResourceKind::SignUp,
            RecordKey::Organization(_) => ResourceKind::Organization,
            RecordKey::Membership { .. } => ResourceKind::Membership,
            RecordKey::Invitation(_) => ResourceKind::Invitation,
        }
    }

    /// [`RecordKey::storage_key`] without an allocation when the key is a single id.
    pub fn storage_key_cow(&self) -> std::borrow::Cow<'_, str> {
        match self {
            RecordKey::User(id) => id.as_str().into(),
            RecordKey::SignUp(id) => id.as_str().into(),
            RecordKey::Organization(id) => id.as_str().into(),
            RecordKey::Invitation(id) => id.as_str().into(),
            RecordKey::Membership { .. } => self.storage_key().into(),
        }
    }

    /// The key as one string, unique within its kind; listing orders records by it (R7.2).
    /// A membership's is `organization_id,user_id`.
    pub fn storage_key(&self) -> String {
        match self {
            RecordKey::User(id) => id.to_string(),
            RecordKey::SignUp(id) => id.to_string(),
            RecordKey::Organization(id) => id.to_string(),
            RecordKey::Membership {
                organization_id,
                user_id,
            } => format!("{organization_id}{MEMBERSHIP_KEY_SEPARATOR}{user_id}"),
            RecordKey::Invitation(id) => id.to_string(),
        }
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.storage_key())
    }
}
