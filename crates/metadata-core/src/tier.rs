//! Tiers and resource kinds (contract §1).

use serde::{Deserialize, Serialize};
use std::fmt;

/// One metadata tier of a resource (contract §1, contract §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Written by the backend, read by both surfaces.
    Public,
    /// Read and written by the backend alone.
    Private,
    /// Read and written by both surfaces.
    Unsafe,
}

impl Tier {
    /// Every tier, in a fixed order (the index of a tier in this array is [`Tier::index`]).
    pub const ALL: [Tier; 3] = [Tier::Public, Tier::Private, Tier::Unsafe];

    /// The tier's field name in the wire format (R8.1), for example `public_metadata`.
    pub const fn field_name(self) -> &'static str {
        match self {
            Tier::Public => "public_metadata",
            Tier::Private => "private_metadata",
            Tier::Unsafe => "unsafe_metadata",
        }
    }

    /// The tier's position in [`Tier::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field_name())
    }
}

/// The five kinds of resource that carry metadata (contract §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// A user.
    User,
    /// A sign-up attempt, before the user exists.
    SignUp,
    /// An organization.
    Organization,
    /// A user's membership of an organization.
    Membership,
    /// An invitation to join an organization.
    Invitation,
}

impl ResourceKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ResourceKind; 5] = [
        ResourceKind::User,
        ResourceKind::SignUp,
        ResourceKind::Organization,
        ResourceKind::Membership,
        ResourceKind::Invitation,
    ];

    /// The tiers this kind has, as the table of contract §1 lists them.
    pub const fn tiers(self) -> &'static [Tier] {
        match self {
            ResourceKind::User => &[Tier::Public, Tier::Private, Tier::Unsafe],
            ResourceKind::SignUp => &[Tier::Unsafe],
            ResourceKind::Organization => &[Tier::Public, Tier::Private],
            ResourceKind::Membership => &[Tier::Public, Tier::Private],
            ResourceKind::Invitation => &[Tier::Public],
        }
    }

    /// Whether this kind has `tier` (R1.1).
    pub fn has_tier(self, tier: Tier) -> bool {
        self.tiers().contains(&tier)
    }

    /// The `object` value of the wire format (R8.1).
    pub const fn object_name(self) -> &'static str {
        match self {
            ResourceKind::User => "user",
            ResourceKind::SignUp => "sign_up_attempt",
            ResourceKind::Organization => "organization",
            ResourceKind::Membership => "organization_membership",
            ResourceKind::Invitation => "organization_invitation",
        }
    }

    /// The kind whose wire `object` value is `name`.
    pub fn from_object_name(name: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .find(|k| k.object_name() == name)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.object_name())
    }
}
