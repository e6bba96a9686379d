//! The backend surface: the host's trusted code reads and writes every tier.

use crate::error::ServiceError;
use crate::service::{Attempts, MetadataService};
use metadata_core::{
    accept_invitation, complete_sign_up, create_invitation, create_membership, create_organization,
    create_sign_up, create_user, delete_writes, revoke_invitation, update_write, Change, Cursor,
    Error, Filter, Invitation, InvitationId, ListQuery, LookupValue, Membership, MembershipId,
    Metadata, MetadataPath, Millis, Organization, OrganizationId, Page, Patch, Record, RecordKey,
    Resource, ResourceKind, SignUp, SignUpId, Surface, Tier, User, UserId, Write,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;

/// The backend surface of a [`MetadataService`] (contract §2: every tier, read and write).
#[derive(Clone, Copy, Debug)]
pub struct Backend<'a> {
    pub(crate) service: &'a MetadataService,
}

/// Where a page starts and how long it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Start after this cursor (from the previous page's `next`).
    pub after: Option<Cursor>,
    /// The most records to return, 1 to [`metadata_core::MAX_PAGE_SIZE`].
    pub limit: usize,
}

impl PageRequest {
    /// The first page of `limit` records.
    pub fn first(limit: usize) -> Self {
        PageRequest { after: None, limit }
    }

    /// The page after `cursor`.
    pub fn after(cursor: Cursor, limit: usize) -> Self {
        PageRequest {
            after: Some(cursor),
            limit,
        }
    }
}

impl Backend<'_> {
    /// Commits `writes` at the time `at`: the time the records they store were stamped with, so
    /// that a commit's events carry the same time as its records.
    async fn commit(&self, writes: &[Write], at: Millis) -> Result<Vec<u64>, Error> {
        self.service
            .store
            .commit(writes, at)
            .await
            .map_err(|e| e.into_error(None))
    }

    pub(crate) async fn create<R: Resource>(
        &self,
        record: R,
        requires: Vec<RecordKey>,
    ) -> Result<R, Error> {
        let mut writes: Vec<Write> = requires.into_iter().map(Write::Require).collect();
        let created = record.clone().into_record();
        let at = created.updated_at();
        writes.push(Write::Create(created));
        self.commit(&writes, at).await?;
        Ok(record)
    }

    /// Creates a user with the tiers `change` sets (R6.1); importing existing users included.
    pub async fn create_user(&self, id: &UserId, change: Change) -> Result<User, Error> {
        let s = self.service;
        let user = create_user(id.clone(), &change, &s.limits, s.now())?;
        self.create(user, vec![]).await
    }

    /// Creates a sign-up attempt, in progress.
    pub async fn create_sign_up(&self, id: &SignUpId, change: Change) -> Result<SignUp, Error> {
        let s = self.service;
        let sign_up = create_sign_up(id.clone(), &change, &s.limits, s.now())?;
        self.create(sign_up, vec![]).await
    }

    /// Creates an organization.
    pub async fn create_organization(
        &self,
        id: &OrganizationId,
        change: Change,
    ) -> Result<Organization, Error> {
        let s = self.service;
        let org = create_organization(id.clone(), &change, &s.limits, s.now())?;
        self.create(org, vec![]).await
    }

    /// Makes `user` a member of `organization`; both must exist.
    pub async fn create_membership(
        &self,
        id: &MembershipId,
        organization: &OrganizationId,
        user: &UserId,
        change: Change,
    ) -> Result<Membership, Error> {
        let s = self.service;
        let m = create_membership(
            id.clone(),
            organization.clone(),
            user.clone(),
            &change,
            &s.limits,
            s.now(),
        )?;
        let requires = vec![
            RecordKey::Organization(organization.clone()),
            RecordKey::User(user.clone()),
        ];
        self.create(m, requires).await
    }

    /// Invites `email` to `organization`, which must exist.
    pub async fn create_invitation(
        &self,
        id: &InvitationId,
        organization: &OrganizationId,
        email: &str,
        change: Change,
    ) -> Result<Invitation, Error> {
        let s = self.service;
        let inv = create_invitation(
            id.clone(),
            organization.clone(),
            email,
            &change,
            &s.limits,
            s.now(),
        )?;
        self.create(inv, vec![RecordKey::Organization(organization.clone())])
            .await
    }

    /// A user, whole (R7.1).
    pub fn get_user<'a>(
        &'a self,
        id: &'a UserId,
    ) -> impl Future<Output = Result<User, Error>> + Send + 'a {
        self.service
            .load_id(ResourceKind::User, id.as_str(), move || {
                RecordKey::User(id.clone())
            })
    }

    /// A sign-up attempt.
    pub fn get_sign_up<'a>(
        &'a self,
        id: &'a SignUpId,
    ) -> impl Future<Output = Result<SignUp, Error>> + Send + 'a {
        self.service
            .load_id(ResourceKind::SignUp, id.as_str(), move || {
                RecordKey::SignUp(id.clone())
            })
    }

    /// An organization, whole.
    pub fn get_organization<'a>(
        &'a self,
        id: &'a OrganizationId,
    ) -> impl Future<Output = Result<Organization, Error>> + Send + 'a {
        self.service
            .load_id(ResourceKind::Organization, id.as_str(), move || {
                RecordKey::Organization(id.clone())
            })
    }

    /// The membership of `user` in `organization`, whole.
    pub async fn get_membership(
        &self,
        organization: &OrganizationId,
        user: &UserId,
    ) -> Result<Membership, Error> {
        self.service.load(&membership_key(organization, user)).await
    }

    /// An invitation.
    pub fn get_invitation<'a>(
        &'a self,
        id: &'a InvitationId,
    ) -> impl Future<Output = Result<Invitation, Error>> + Send + 'a {
        self.service
            .load_id(ResourceKind::Invitation, id.as_str(), move || {
                RecordKey::Invitation(id.clone())
            })
    }

    /// Applies `change` to a user (contract §3).
    pub async fn update_user(&self, id: &UserId, change: Change) -> Result<User, Error> {
        self.service
            .update(&RecordKey::User(id.clone()), &change, Surface::Backend)
            .await
    }

    /// Replaces one tier of a user (R3.1).
    pub async fn replace_user(
        &self,
        id: &UserId,
        tier: Tier,
        value: Metadata,
    ) -> Result<User, Error> {
        self.update_user(id, Change::new().replace(tier, value))
            .await
    }

    /// Merges a patch into one tier of a user (R3.2).
    pub async fn merge_user(&self, id: &UserId, tier: Tier, patch: Patch) -> Result<User, Error> {
        self.update_user(id, Change::new().merge(tier, patch)).await
    }

    /// Applies `change` to a sign-up attempt.
    pub async fn update_sign_up(&self, id: &SignUpId, change: Change) -> Result<SignUp, Error> {
        self.service
            .update(&RecordKey::SignUp(id.clone()), &change, Surface::Backend)
            .await
    }

    /// Applies `change` to an organization.
    pub async fn update_organization(
        &self,
        id: &OrganizationId,
        change: Change,
    ) -> Result<Organization, Error> {
        self.service
            .update(
                &RecordKey::Organization(id.clone()),
                &change,
                Surface::Backend,
            )
            .await
    }

    /// Applies `change` to a membership.
    pub async fn update_membership(
        &self,
        organization: &OrganizationId,
        user: &UserId,
        change: Change,
    ) -> Result<Membership, Error> {
        self.service
            .update(
                &membership_key(organization, user),
                &change,
                Surface::Backend,
            )
            .await
    }

    /// Applies `change` to an invitation.
    pub async fn update_invitation(
        &self,
        id: &InvitationId,
        change: Change,
    ) -> Result<Invitation, Error> {
        self.service
            .update(
                &RecordKey::Invitation(id.clone()),
                &change,
                Surface::Backend,
            )
            .await
    }

    /// Reads one tier of a user as `T`, lets `edit` change it, and writes it back keeping every
    /// key `T` does not know (R11.1). Retries if another writer got there first.
    pub async fn edit_user_typed<T, F>(
        &self,
        id: &UserId,
        tier: Tier,
        mut edit: F,
    ) -> Result<User, Error>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(&mut T),
    {
        let s = self.service;
        let key = RecordKey::User(id.clone());
        let mut attempts = Attempts::new(&key);
        while attempts.next() {
            let user: User = s.load(&key).await?;
            let current = user.tier(tier).ok_or(Error::UnsupportedTier {
                kind: User::KIND,
                tier,
            })?;
            let mut typed: T = current
                .to_typed()
                .map_err(|source| Error::Typed { tier, source })?;
            edit(&mut typed);
            let value = current
                .with_typed(&typed, &s.limits)
                .map_err(|e| e.for_tier(tier))?;
            let change = Change::new()
                .replace(tier, value)
                .expect_version(user.version);
            match s.update::<User>(&key, &change, Surface::Backend).await {
                Err(Error::Conflict { .. }) => continue,
                other => return other,
            }
        }
        Err(attempts.gave_up())
    }

    /// Completes a sign-up as the new user `user` (R5.1): the user is created with the sign-up's
    /// unsafe tier, and `change` may set its other tiers, atomically with marking the sign-up
    /// complete. A sign-up completes once.
    pub async fn complete_sign_up(
        &self,
        id: &SignUpId,
        user: &UserId,
        change: Change,
    ) -> Result<User, Error> {
        let s = self.service;
        let key = RecordKey::SignUp(id.clone());
        let mut attempts = Attempts::new(&key);
        while attempts.next() {
            let sign_up: SignUp = s.load(&key).await?;
            let plan = complete_sign_up(&sign_up, user.clone(), &change, &s.limits, s.now())?;
            match s.store.commit(&plan.writes(), plan.user.updated_at).await {
                Ok(_) => return Ok(plan.user),
                // The sign-up changed since it was read (its metadata, or another completion):
                // plan again from the newer record, which refuses a second completion.
                Err(crate::StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into_error(None)),
            }
        }
        Err(attempts.gave_up())
    }

    /// Accepts an invitation for `user` (R5.2): the membership is created with the invitation's
    /// public tier, atomically with marking the invitation accepted. The organization and the
    /// user must exist.
    pub async fn accept_invitation(
        &self,
        id: &InvitationId,
        membership: &MembershipId,
        user: &UserId,
    ) -> Result<Membership, Error> {
        let s = self.service;
        let key = RecordKey::Invitation(id.clone());
        let mut attempts = Attempts::new(&key);
        while attempts.next() {
            let inv: Invitation = s.load(&key).await?;
            let plan =
                accept_invitation(&inv, membership.clone(), user.clone(), &s.limits, s.now())?;
            match s
                .store
                .commit(&plan.writes(), plan.membership.updated_at)
                .await
            {
                Ok(_) => return Ok(plan.membership),
                Err(crate::StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into_error(None)),
            }
        }
        Err(attempts.gave_up())
    }

    /// Revokes a pending invitation.
    pub async fn revoke_invitation(&self, id: &InvitationId) -> Result<Invitation, Error> {
        let s = self.service;
        let inv: Invitation = s.load(&RecordKey::Invitation(id.clone())).await?;
        let revoked = revoke_invitation(&inv, s.now())?;
        self.commit(&[update_write(&inv, revoked.clone())], revoked.updated_at)
            .await?;
        Ok(revoked)
    }

    async fn delete(&self, key: RecordKey) -> Result<bool, Error> {
        let counts = self
            .commit(&delete_writes(&key), self.service.now())
            .await?;
        Ok(counts.first().copied().unwrap_or(0) > 0)
    }

    /// Deletes a user, its metadata and its memberships (R6.2). Says whether it was there.
    pub async fn delete_user(&self, id: &UserId) -> Result<bool, Error> {
        self.delete(RecordKey::User(id.clone())).await
    }

    /// Deletes a sign-up attempt.
    pub async fn delete_sign_up(&self, id: &SignUpId) -> Result<bool, Error> {
        self.delete(RecordKey::SignUp(id.clone())).await
    }

    /// Deletes an organization, its memberships and its invitations (R6.2).
    pub async fn delete_organization(&self, id: &OrganizationId) -> Result<bool, Error> {
        self.delete(RecordKey::Organization(id.clone())).await
    }

    /// Deletes a membership.
    pub async fn delete_membership(
        &self,
        organization: &OrganizationId,
        user: &UserId,
    ) -> Result<bool, Error> {
        self.delete(membership_key(organization, user)).await
    }

    /// Deletes an invitation.
    pub async fn delete_invitation(&self, id: &InvitationId) -> Result<bool, Error> {
        self.delete(RecordKey::Invitation(id.clone())).await
    }

    /// Lists records of kind `R` that `filter` selects, in storage-key order.
    pub async fn list<R: Resource>(
        &self,
        filter: Filter,
        page: PageRequest,
    ) -> Result<Page<R>, Error> {
        let query = ListQuery {
            kind: R::KIND,
            filter,
            after: page.after,
            limit: page.limit,
        };
        query.validate()?;
        let page = self
            .service
            .store
            .list(&query)
            .await
            .map_err(|e| e.into_error(None))?;
        let mut items = Vec::with_capacity(page.items.len());
        for record in page.items {
            let key = record.key();
            items.push(
                R::from_record(record)
                    .ok_or_else(|| ServiceError::WrongKind { key }.into_error())?,
            );
        }
        Ok(Page {
            items,
            next: page.next,
        })
    }

    /// Finds records of kind `R` whose `tier` holds `value` at `path` (R7.2), for example users
    /// whose public metadata has `role` equal to `"admin"`.
    pub async fn find<R: Resource>(
        &self,
        tier: Tier,
        path: &str,
        value: impl Into<LookupValue>,
        page: PageRequest,
    ) -> Result<Page<R>, Error> {
        let path = MetadataPath::parse(path)?;
        self.list(
            Filter::MetadataEquals {
                tier,
                path,
                value: value.into(),
            },
            page,
        )
        .await
    }

    /// Finds users by a metadata value (R7.2).
    pub async fn find_users(
        &self,
        tier: Tier,
        path: &str,
        value: impl Into<LookupValue>,
        page: PageRequest,
    ) -> Result<Page<User>, Error> {
        self.find(tier, path, value, page).await
    }

    /// The memberships of an organization.
    pub async fn memberships_of_organization(
        &self,
        organization: &OrganizationId,
        page: PageRequest,
    ) -> Result<Page<Membership>, Error> {
        self.list(
            Filter::MembershipsOfOrganization(organization.clone()),
            page,
        )
        .await
    }

    /// The memberships of a user.
    pub async fn memberships_of_user(
        &self,
        user: &UserId,
        page: PageRequest,
    ) -> Result<Page<Membership>, Error> {
        self.list(Filter::MembershipsOfUser(user.clone()), page)
            .await
    }

    /// The invitations of an organization.
    pub async fn invitations_of_organization(
        &self,
        organization: &OrganizationId,
        page: PageRequest,
    ) -> Result<Page<Invitation>, Error> {
        self.list(
            Filter::InvitationsOfOrganization(organization.clone()),
            page,
        )
        .await
    }

    /// Any record, whole.
    pub async fn get_record(&self, key: &RecordKey) -> Result<Option<Record>, Error> {
        self.service
            .store
            .get(key)
            .await
            .map_err(|e| e.into_error(None))
    }
}

pub(crate) fn membership_key(organization: &OrganizationId, user: &UserId) -> RecordKey {
    RecordKey::Membership {
        organization_id: organization.clone(),
        user_id: user.clone(),
    }
}
