//! Creating records, the copies of contract §5 and the cascades of R6.2, as pure plans: given the
//! records, the writes a store must make in one transaction.

use crate::access::{FrontendPrincipal, Surface};
use crate::change::{apply_change, check_size, Change};
use crate::error::Error;
use crate::ids::{InvitationId, MembershipId, OrganizationId, SignUpId, UserId};
use crate::limits::Limits;
use crate::record::{
    Invitation, InvitationStatus, Membership, Millis, Organization, Record, RecordKey, Resource,
    SignUp, SignUpStatus, User,
};
use crate::tier::Tier;

/// One step of an atomic commit. A store applies a list of them all or none, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Fail as not found unless the record exists.
    Require(RecordKey),
    /// Insert; fail as already existing if the key is taken.
    Create(Record),
    /// Replace the record stored under the same key, if it is at `expected_version`; fail as a
    /// conflict if it has moved on, or as not found if it is gone.
    Update {
        /// The record to store.
        record: Record,
        /// The version the stored record must have.
        expected_version: u64,
    },
    /// Delete the record if it is there.
    Delete(RecordKey),
    /// Delete every membership of a user.
    DeleteMembershipsOfUser(UserId),
    /// Delete every membership of an organization.
    DeleteMembershipsOfOrganization(OrganizationId),
    /// Delete every invitation of an organization.
    DeleteInvitationsOfOrganization(OrganizationId),
}

fn create<R: Resource>(
    blank: R,
    change: &Change,
    limits: &Limits,
    now: Millis,
) -> Result<R, Error> {
    create_as(Surface::Backend, blank, change, limits, now)
}

/// A new record from `blank` with the tiers `change` sets, each checked for `surface`.
fn create_as<R: Resource>(
    surface: Surface,
    mut blank: R,
    change: &Change,
    limits: &Limits,
    now: Millis,
) -> Result<R, Error> {
    if change.is_empty() {
        blank.stamp(now);
        Ok(blank)
    } else {
        apply_change(&blank, change, surface, limits, now)
    }
}

/// A new user at version 1 with the tiers `change` sets, the others `{}` (R1.2, R6.1).
pub fn create_user(
    id: UserId,
    change: &Change,
    limits: &Limits,
    now: Millis,
) -> Result<User, Error> {
    create(User::blank(id, now), change, limits, now)
}

/// A new sign-up attempt, in progress (R6.1).
pub fn create_sign_up(
    id: SignUpId,
    change: &Change,
    limits: &Limits,
    now: Millis,
) -> Result<SignUp, Error> {
    create(SignUp::blank(id, now), change, limits, now)
}

/// A new sign-up attempt created by the frontend for its own sign-up principal: its id is the
/// principal's, and `change` may set only what the frontend may write (R2.4). A signed-in user
/// has no sign-up to create: [`Error::NotFound`].
///
/// ```
/// use metadata_core::*;
/// use serde_json::json;
/// let me = FrontendPrincipal::sign_up(SignUpId::new("sua_1").unwrap());
/// let unsafe_only = Change::new().replace_json(Tier::Unsafe, json!({"ref": "ad"})).unwrap();
/// let sign_up = create_own_sign_up(&me, &unsafe_only, &Limits::default(), 1_000).unwrap();
/// assert_eq!(sign_up.id.as_str(), "sua_1");
/// let user = FrontendPrincipal::user(UserId::new("user_1").unwrap());
/// assert!(matches!(create_own_sign_up(&user, &unsafe_only, &Limits::default(), 1_000), Err(Error::NotFound { .. })));
/// ```
pub fn create_own_sign_up(
    principal: &FrontendPrincipal,
    change: &Change,
    limits: &Limits,
    now: Millis,
) -> Result<SignUp, Error> {
    let FrontendPrincipal::SignUp { sign_up_id } = principal else {
        return Err(Error::NotFound {
            kind: SignUp::KIND,
            id: "new".to_owned(),
        });
    };
    let blank = SignUp::blank(sign_up_id.clone(), now);
    create_as(Surface::Frontend, blank, change, limits, now)
}

/// A new organization (R6.1).
pub fn create_organization(
    id: OrganizationId,
    change: &Change,
    limits: &Limits,
    now: Millis,
) -> Result<Organization, Error> {
    create(Organization::blank(id, now), change, limits, now)
}

/// A new membership. Commit it with [`Write::Require`] on the organization and the user.
pub fn create_membership(
    id: MembershipId,
    organization_id: OrganizationId,
    user_id: UserId,
    change: &Change,
    limits: &Limits,
    now: Millis,
) -> Result<Membership, Error> {
    create(
        Membership::blank(id, organization_id, user_id, now),
        change,
        limits,
        now,
    )
}

/// The longest email address accepted.
pub const MAX_EMAIL_LEN: usize = 320;

/// A new pending invitation. Commit it with [`Write::Require`] on the organization.
pub fn create_invitation(
    id: InvitationId,
    organization_id: OrganizationId,
    email_address: &str,
    change: &Change,
    limits: &Limits,
    now: Millis,
) -> Result<Invitation, Error> {
    let plausible = email_address.len() <= MAX_EMAIL_LEN
        && email_address
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email_address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if !plausible {
        return Err(Error::InvalidEmail {
            value: email_address.chars().take(MAX_EMAIL_LEN).collect(),
        });
    }
    let blank = Invitation::blank(id, organization_id, email_address.to_owned(), now);
    create(blank, change, limits, now)
}

/// The writes of an update: store `next` if the record is still at `current`'s version.
pub fn update_write<R: Resource>(current: &R, next: R) -> Write {
    Write::Update {
        expected_version: current.version(),
        record: next.into_record(),
    }
}

/// A planned sign-up completion (R5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignUpCompletion {
    /// The new user, its unsafe tier copied from the sign-up.
    pub user: User,
    /// The sign-up, complete and frozen.
    pub sign_up: SignUp,
    /// The version the sign-up must still have when this commits.
    pub expected_version: u64,
}

impl SignUpCompletion {
    /// The writes, to commit in one transaction: the user is created and the sign-up marked
    /// complete, or nothing changes.
    pub fn writes(&self) -> Vec<Write> {
        vec![
            Write::Create(Record::User(self.user.clone())),
            Write::Update {
                record: Record::SignUp(self.sign_up.clone()),
                expected_version: self.expected_version,
            },
        ]
    }
}

/// Plans completing `sign_up` as the user `user_id` (R5.1): the sign-up's unsafe tier is copied
/// to the new user; `change` (backend) may set the user's tiers on top of the copy. A sign-up
/// completes once: completing a complete one is [`Error::Frozen`].
pub fn complete_sign_up(
    sign_up: &SignUp,
    user_id: UserId,
    change: &Change,
    limits: &Limits,
    now: Millis,
) -> Result<SignUpCompletion, Error> {
    if let Some(status) = sign_up.frozen_status() {
        return Err(Error::Frozen {
            kind: SignUp::KIND,
            id: sign_up.id.to_string(),
            status,
        });
    }
    check_size(Tier::Unsafe, &sign_up.unsafe_metadata, limits)?;
    let mut blank = User::blank(user_id.clone(), now);
    blank.unsafe_metadata = sign_up.unsafe_metadata.clone();
    let user = create(blank, change, limits, now)?;
    let mut done = sign_up.clone();
    done.status = SignUpStatus::Complete;
    done.created_user_id = Some(user_id);
    done.stamp(now);
    Ok(SignUpCompletion {
        user,
        sign_up: done,
        expected_version: sign_up.version,
    })
}

/// A planned invitation acceptance (R5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationAcceptance {
    /// The new membership, its public tier copied from the invitation.
    pub membership: Membership,
    /// The invitation, accepted and frozen.
    pub invitation: Invitation,
    /// The version the invitation must still have when this commits.
    pub expected_version: u64,
}

impl InvitationAcceptance {
    /// The writes, to commit in one transaction.
    pub fn writes(&self) -> Vec<Write> {
        vec![
            Write::Require(RecordKey::Organization(
                self.membership.organization_id.clone(),
            )),
            Write::Require(RecordKey::User(self.membership.user_id.clone())),
            Write::Create(Record::Membership(self.membership.clone())),
            Write::Update {
                record: Record::Invitation(self.invitation.clone()),
                expected_version: self.expected_version,
            },
        ]
    }
}

/// Plans accepting `invitation` for `user_id` (R5.2): a membership whose public tier is the
/// invitation's, and the invitation marked accepted. Only a pending invitation can be accepted.
pub fn accept_invitation(
    invitation: &Invitation,
    membership_id: MembershipId,
    user_id: UserId,
    limits: &Limits,
    now: Millis,
) -> Result<InvitationAcceptance, Error> {
    if let Some(status) = invitation.frozen_status() {
        return Err(Error::Frozen {
            kind: Invitation::KIND,
            id: invitation.id.to_string(),
            status,
        });
    }
    check_size(Tier::Public, &invitation.public_metadata, limits)?;
    let mut membership = Membership::blank(
        membership_id,
        invitation.organization_id.clone(),
        user_id,
        now,
    );
    membership.public_metadata = invitation.public_metadata.clone();
    membership.stamp(now);
    let mut accepted = invitation.clone();
    accepted.status = InvitationStatus::Accepted;
    accepted.stamp(now);
    Ok(InvitationAcceptance {
        membership,
        invitation: accepted,
        expected_version: invitation.version,
    })
}

/// Plans revoking a pending invitation; it is then frozen.
pub fn revoke_invitation(invitation: &Invitation, now: Millis) -> Result<Invitation, Error> {
    if let Some(status) = invitation.frozen_status() {
        return Err(Error::Frozen {
            kind: Invitation::KIND,
            id: invitation.id.to_string(),
            status,
        });
    }
    let mut revoked = invitation.clone();
    revoked.status = InvitationStatus::Revoked;
    revoked.stamp(now);
    Ok(revoked)
}

/// The writes that delete a record and what R6.2 deletes with it: a user's memberships; an
/// organization's memberships and invitations. The first write's count says whether the record
/// was there.
pub fn delete_writes(key: &RecordKey) -> Vec<Write> {
    let mut writes = vec![Write::Delete(key.clone())];
    match key {
        RecordKey::User(id) => writes.push(Write::DeleteMembershipsOfUser(id.clone())),
        RecordKey::Organization(id) => {
            writes.push(Write::DeleteMembershipsOfOrganization(id.clone()));
            writes.push(Write::DeleteInvitationsOfOrganization(id.clone()));
        }
        _ => {}
    }
    writes
}
