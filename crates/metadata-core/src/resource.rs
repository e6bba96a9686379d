//! [`Resource`]: what every kind of record offers the pure update functions, and its
//! implementation for each kind.

use crate::metadata::Metadata;
use crate::record::{
    Invitation, InvitationStatus, Membership, Millis, Organization, Record, RecordKey, SignUp,
    SignUpStatus, User,
};
use crate::tier::{ResourceKind, Tier};
use serde::Serialize;
use std::fmt;

/// What every record offers to the pure update functions.
pub trait Resource: Clone + fmt::Debug + PartialEq + Serialize + Send + Sync + 'static {
    /// The kind.
    const KIND: ResourceKind;
    /// The key that names it in a store.
    fn key(&self) -> RecordKey;
    /// A tier, or `None` if this kind does not have it (R1.1).
    fn tier(&self, tier: Tier) -> Option<&Metadata>;
    /// A tier to change, or `None` if this kind does not have it.
    fn tier_mut(&mut self, tier: Tier) -> Option<&mut Metadata>;
    /// The version (R3.5).
    fn version(&self) -> u64;
    /// Marks a write: the version grows by one and `updated_at` moves to `now` (never back).
    fn stamp(&mut self, now: Millis);
    /// The status that freezes it, if it is frozen (R5).
    fn frozen_status(&self) -> Option<&'static str> {
        None
    }
    /// Wraps it in a [`Record`].
    fn into_record(self) -> Record;
    /// Unwraps a [`Record`] of this kind.
    fn from_record(record: Record) -> Option<Self>;
    /// A copy of a [`Record`] of this kind, built in place from a borrowed one (its tiers are
    /// shared, not copied).
    fn from_record_ref(record: &Record) -> Option<Self> {
        Self::from_record(record.clone())
    }
}

/// `tier` and `tier_mut` of a kind, from the fields that hold its tiers (R1.1: any other tier
/// is `None`).
macro_rules! tier_fields {
    ($($tier:ident => $field:ident),+) => {
        fn tier(&self, tier: Tier) -> Option<&Metadata> {
            match tier {
                $(Tier::$tier => Some(&self.$field),)+
                #[allow(unreachable_patterns)]
                _ => None,
            }
        }
        fn tier_mut(&mut self, tier: Tier) -> Option<&mut Metadata> {
            match tier {
                $(Tier::$tier => Some(&mut self.$field),)+
                #[allow(unreachable_patterns)]
                _ => None,
            }
        }
    };
}

macro_rules! resource_common {
    ($variant:ident) => {
        fn version(&self) -> u64 {
            self.version
        }
        fn stamp(&mut self, now: Millis) {
            self.version += 1;
            self.updated_at = self.updated_at.max(now);
        }
        // Inlined across crates: a point read from memory costs little more than moving the
        // record, and a call here forces one more move of it.
        #[inline]
        fn into_record(self) -> Record {
            Record::$variant(self)
        }
        #[inline]
        fn from_record(record: Record) -> Option<Self> {
            match record {
                Record::$variant(r) => Some(r),
                _ => None,
            }
        }
        #[inline]
        fn from_record_ref(record: &Record) -> Option<Self> {
            match record {
                Record::$variant(r) => Some(r.clone()),
                _ => None,
            }
        }
    };
}

impl Resource for User {
    const KIND: ResourceKind = ResourceKind::User;
    resource_common!(User);
    fn key(&self) -> RecordKey {
        RecordKey::User(self.id.clone())
    }
    tier_fields!(Public => public_metadata, Private => private_metadata, Unsafe => unsafe_metadata);
}

impl Resource for SignUp {
    const KIND: ResourceKind = ResourceKind::SignUp;
    resource_common!(SignUp);
    fn key(&self) -> RecordKey {
        RecordKey::SignUp(self.id.clone())
    }
    tier_fields!(Unsafe => unsafe_metadata);
    fn frozen_status(&self) -> Option<&'static str> {
        (self.status == SignUpStatus::Complete).then_some("complete")
    }
}

impl Resource for Organization {
    const KIND: ResourceKind = ResourceKind::Organization;
    resource_common!(Organization);
    fn key(&self) -> RecordKey {
        RecordKey::Organization(self.id.clone())
    }
    tier_fields!(Public => public_metadata, Private => private_metadata);
}

impl Resource for Membership {
    const KIND: ResourceKind = ResourceKind::Membership;
    resource_common!(Membership);
    fn key(&self) -> RecordKey {
        RecordKey::Membership {
            organization_id: self.organization_id.clone(),
            user_id: self.user_id.clone(),
        }
    }
    tier_fields!(Public => public_metadata, Private => private_metadata);
}

impl Resource for Invitation {
    const KIND: ResourceKind = ResourceKind::Invitation;
    resource_common!(Invitation);
    fn key(&self) -> RecordKey {
        RecordKey::Invitation(self.id.clone())
    }
    tier_fields!(Public => public_metadata);
    fn frozen_status(&self) -> Option<&'static str> {
        match self.status {
            InvitationStatus::Pending => None,
            InvitationStatus::Accepted => Some("accepted"),
            InvitationStatus::Revoked => Some("revoked"),
        }
    }
}
