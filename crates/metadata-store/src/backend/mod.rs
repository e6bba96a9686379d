//! The backend surface: the host's trusted code reads and writes every tier. Creates, reads
//! and updates here; `plans` and `lists` hold the rest.

mod bulk;
mod lists;
mod plans;

pub use bulk::{BulkOptions, BulkProgress, BulkRefusal, BulkReport};

use crate::error::ServiceError;
use crate::observe::{observed, Op};
use crate::service::{Attempts, MetadataService};
use metadata_core::feed::{Actor, Stamp};
use metadata_core::{
    accept_invitation, complete_sign_up, create_invitation, create_membership, create_organization,
    create_sign_up, create_user, delete_writes, revoke_invitation, update_write, Change, Cursor,
    Error, Filter, Invitation, InvitationId, Limits, ListOrder, ListQuery, LookupValue, Membership,
    MembershipId, Metadata, MetadataPath, Millis, Organization, OrganizationId, Page, Patch,
    Record, RecordKey, Resource, ResourceKind, SignUp, SignUpId, Surface, Tier, User, UserId,
    Write,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;

/// The backend surface of a [`MetadataService`] (contract §2: every tier, read and write),
/// acting as one [`Actor`] whose commits' events name it (R14.2).
#[derive(Clone, Debug)]
pub struct Backend<'a> {
    pub(crate) service: &'a MetadataService,
    pub(crate) actor: Actor,
}

/// Where a page starts, how long it is and in which order (R7.5).
///
/// ```
/// use metadata_store::PageRequest;
/// use metadata_core::ListOrder;
/// let page = PageRequest::first(10).ordered(ListOrder::NEWEST_FIRST).skip(20);
/// assert_eq!((page.limit, page.offset), (10, 20));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Start after this cursor (from the previous page's `next`, listed in the same order).
    pub after: Option<Cursor>,
    /// The most records to return, 1 to [`metadata_core::MAX_PAGE_SIZE`].
    pub limit: usize,
    /// The order; by id unless asked.
    pub order: ListOrder,
    /// How many records to skip first (after the cursor, if any).
    pub offset: usize,
}

impl PageRequest {
    /// The first page of `limit` records, by id.
    pub fn first(limit: usize) -> Self {
        PageRequest {
            after: None,
            limit,
            order: ListOrder::BY_ID,
            offset: 0,
        }
    }

    /// The page after `cursor`, by id.
    pub fn after(cursor: Cursor, limit: usize) -> Self {
        PageRequest {
            after: Some(cursor),
            ..PageRequest::first(limit)
        }
    }

    /// The same page continuing after `cursor` (none: from the start).
    pub fn after_cursor(mut self, cursor: Option<Cursor>) -> Self {
        self.after = cursor;
        self
    }

    /// The same page in another order.
    pub fn ordered(mut self, order: ListOrder) -> Self {
        self.order = order;
        self
    }

    /// The same page skipping `offset` records first.
    pub fn skip(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }
}

impl Backend<'_> {
    /// Commits `writes` at the time `at`: the time the records they store were stamped with, so
    /// that a commit's events carry the same time as its records.
    async fn commit(&self, writes: &[Write], at: Millis) -> Result<Vec<u64>, Error> {
        self.service
            .store
            .commit(writes, &Stamp::by(at, self.actor.clone()))
            .await
            .map_err(|e| e.into_error(None))
    }

    pub(crate) async fn create<R: Resource>(
        &self,
        record: R,
        requires: Vec<RecordKey>,
    ) -> Result<R, Error> {
        self.create_via(record, requires, Surface::Backend).await
    }

    /// Creates `record` for the surface `via`, once every key of `requires` exists.
    pub(crate) async fn create_via<R: Resource>(
        &self,
        record: R,
        requires: Vec<RecordKey>,
        via: Surface,
    ) -> Result<R, Error> {
        let mut writes: Vec<Write> = requires.into_iter().map(Write::Require).collect();
        let created = record.clone().into_record();
        let op = Op::start(
            self.service,
            "create",
            via,
            R::KIND,
            &created.key().storage_key_cow(),
        );
        let at = created.updated_at();
        writes.push(Write::Create(created));
        self.service.check_creates(&writes)?;
        let committed = async { self.commit(&writes, at).await.map(|_| record) };
        observed(op, committed, |r| Some(r.version())).await
    }

    /// The limits in force (R4.2).
    pub fn limits(&self) -> &Limits {
        &self.service.limits
    }

    /// Who this surface's commits are made by.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The same surface acting as `actor`: a host passes the secret key's id
    /// ([`Actor::backend_key`]), the library itself its operation ([`Actor::library`]).
    pub fn acting_as(mut self, actor: Actor) -> Self {
        self.actor = actor;
        self
    }

    /// Creates a user with the tiers `change` sets (R6.1); importing existing users included.
    pub async fn create_user(&self, id: &UserId, change: Change) -> Result<User, Error> {
        let s = self.service;
        let user = create_user(id.clone(), &change, &s.limits, s.now())?;
        self.create(user, vec![]).await
    }

    /// Creates many users in one commit, as an import does: each planned by the core exactly
    /// as [`Backend::create_user`] plans it (a refused one gets its error in its place), the
    /// rest written in one transaction. When one of them exists already the whole commit is
    /// refused, and each is then created alone so that each gets its own answer
    /// (`AlreadyExists` for those that were there). A storage failure is the batch's error:
    /// nothing of it was written.
    ///
    /// ```
    /// # use metadata_core::{Change, UserId};
    /// # use metadata_store::MetadataService;
    /// # async fn demo(service: MetadataService) {
    /// let users = vec![(UserId::new("user_1").unwrap(), Change::new())];
    /// for created in service.backend().create_users(users).await.unwrap() {
    ///     println!("{:?}", created.map(|user| user.version));
    /// }
    /// # }
    /// ```
    pub async fn create_users(
        &self,
        users: Vec<(UserId, Change)>,
    ) -> Result<Vec<Result<User, Error>>, Error> {
        let s = self.service;
        let now = s.now();
        let mut results: Vec<Option<Result<User, Error>>> = Vec::with_capacity(users.len());
        let mut planned = Vec::with_capacity(users.len());
        let mut writes = Vec::with_capacity(users.len());
        for (i, (id, change)) in users.into_iter().enumerate() {
            let planned_user = create_user(id, &change, &s.limits, now).and_then(|user| {
                if !s.schemas.is_empty() {
                    s.schemas.check_record(&user.clone().into_record())?;
                }
                Ok(user)
            });
            match planned_user {
                Ok(user) => {
                    writes.push(Write::Create(user.clone().into_record()));
                    planned.push((i, user));
                    results.push(None);
                }
                Err(refused) => results.push(Some(Err(refused))),
            }
        }
        if !writes.is_empty() {
            let op = Op::start(s, "create_many", Surface::Backend, ResourceKind::User, "");
            let committed = async { self.commit(&writes, now).await.map(|_| ()) };
            match observed(op, committed, |_| None).await {
                Ok(()) => {
                    for (i, user) in planned {
                        results[i] = Some(Ok(user));
                    }
                }
                Err(Error::AlreadyExists { .. }) => {
                    for (i, user) in planned {
                        results[i] = Some(self.create(user, vec![]).await);
                    }
                }
                Err(failed) => return Err(failed),
            }
        }
        Ok(results.into_iter().flatten().collect())
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
    #[inline]
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
    #[inline]
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
    #[inline]
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
    #[inline]
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
            .update(
                &RecordKey::User(id.clone()),
                &change,
                Surface::Backend,
                &self.actor,
            )
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
            .update(
                &RecordKey::SignUp(id.clone()),
                &change,
                Surface::Backend,
                &self.actor,
            )
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
                &self.actor,
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
                &self.actor,
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
                &self.actor,
            )
            .await
    }
}

pub(crate) fn membership_key(organization: &OrganizationId, user: &UserId) -> RecordKey {
    RecordKey::Membership {
        organization_id: organization.clone(),
        user_id: user.clone(),
    }
}
