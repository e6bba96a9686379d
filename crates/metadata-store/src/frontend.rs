//! The frontend surface: code acting for one signed-in user or one sign-up attempt (contract §2).
//!
//! Everything it returns is a view without a private tier, by type (R2.3); everything it cannot
//! see is *not found* (R2.2); the only writes it offers are to its own unsafe tier, and the
//! creation of its own sign-up attempt with that tier (R2.4). Every frontend HTTP route calls
//! this surface and checks no rule itself.

use crate::backend::{membership_key, PageRequest};
use crate::observe::{observed, Op};
use crate::service::{not_found, MetadataService};
use metadata_core::feed::Actor;
use metadata_core::{
    create_own_sign_up, frontend_sees, Change, Error, Facts, FrontendPrincipal, Invitation,
    InvitationId, Membership, MembershipView, Metadata, OrganizationId, OrganizationView, Page,
    Patch, Record, RecordKey, Resource, SignUp, SignUpId, Surface, Tier, User, UserId, UserView,
};

/// The frontend surface of a [`MetadataService`], for one principal.
#[derive(Clone, Debug)]
pub struct Frontend<'a> {
    pub(crate) service: &'a MetadataService,
    pub(crate) principal: FrontendPrincipal,
}

/// One of the signed-in user's memberships, with its organization, as a member sees them
/// (public tiers only): what [`Frontend::own_memberships`] lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnMembership {
    /// The membership.
    pub membership: MembershipView,
    /// Its organization.
    pub organization: OrganizationView,
}

/// The principal's own record after a write: a user or a sign-up attempt, as the frontend sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnRecord {
    /// The signed-in user.
    User(UserView),
    /// The sign-up attempt.
    SignUp(SignUp),
}

impl OwnRecord {
    /// The version after the write.
    pub fn version(&self) -> u64 {
        match self {
            OwnRecord::User(u) => u.version,
            OwnRecord::SignUp(s) => s.version,
        }
    }

    /// The unsafe tier after the write.
    pub fn unsafe_metadata(&self) -> &Metadata {
        match self {
            OwnRecord::User(u) => &u.unsafe_metadata,
            OwnRecord::SignUp(s) => &s.unsafe_metadata,
        }
    }
}

impl Frontend<'_> {
    /// Who this surface's commits are made by: the principal's user, or its sign-up attempt
    /// (R14.2).
    pub fn actor(&self) -> Actor {
        Actor::Frontend {
            user_id: self.principal.own_key().storage_key(),
        }
    }

    /// Who this surface acts for.
    pub fn principal(&self) -> &FrontendPrincipal {
        &self.principal
    }

    /// The signed-in user, for the surface's calls that need one: a sign-up principal has no
    /// user, and for it they are [`Error::NotFound`].
    fn own_user_id(&self) -> Result<&UserId, Error> {
        match &self.principal {
            FrontendPrincipal::User { user_id, .. } => Ok(user_id),
            FrontendPrincipal::SignUp { sign_up_id } => Err(Error::NotFound {
                kind: User::KIND,
                id: sign_up_id.to_string(),
            }),
        }
    }

    async fn is_member(&self, organization: &OrganizationId) -> Result<bool, Error> {
        match self.principal.user_id() {
            Some(user) => Ok(self
                .service
                .try_load::<Membership>(&membership_key(organization, user))
                .await?
                .is_some()),
            None => Ok(false),
        }
    }

    /// Loads a record and checks that the principal may see it; anything else is not found.
    async fn visible<R: Resource>(&self, key: RecordKey) -> Result<R, Error> {
        let op = Op::start(
            self.service,
            "get",
            Surface::Frontend,
            key.kind(),
            &key.storage_key_cow(),
        );
        observed(
            op,
            async {
                let record: R = self.service.load(&key).await?;
                let record = record.into_record();
                let organization = match &record {
                    Record::Organization(o) => Some(&o.id),
                    Record::Membership(m) => Some(&m.organization_id),
                    _ => None,
                };
                let facts = Facts {
                    is_member: match organization {
                        Some(org) => self.is_member(org).await?,
                        None => false,
                    },
                };
                if !frontend_sees(&self.principal, &record, facts) {
                    return Err(not_found(&key));
                }
                R::from_record(record).ok_or_else(|| not_found(&key))
            },
            |r: &R| Some(r.version()),
        )
        .await
    }

    /// A user: only the signed-in user itself (R2.2).
    pub async fn get_user(&self, id: &UserId) -> Result<UserView, Error> {
        Ok(self
            .visible::<User>(RecordKey::User(id.clone()))
            .await?
            .into())
    }

    /// The signed-in user's own record; [`Error::NotFound`] for a sign-up principal.
    pub async fn get_own_user(&self) -> Result<UserView, Error> {
        self.get_user(self.own_user_id()?).await
    }

    /// A sign-up attempt: only the principal's own.
    pub async fn get_sign_up(&self, id: &SignUpId) -> Result<SignUp, Error> {
        self.visible(RecordKey::SignUp(id.clone())).await
    }

    /// An organization the signed-in user is a member of.
    pub async fn get_organization(&self, id: &OrganizationId) -> Result<OrganizationView, Error> {
        Ok(self
            .visible::<metadata_core::Organization>(RecordKey::Organization(id.clone()))
            .await?
            .into())
    }

    /// A membership of an organization the signed-in user is a member of.
    pub async fn get_membership(
        &self,
        organization: &OrganizationId,
        user: &UserId,
    ) -> Result<MembershipView, Error> {
        Ok(self
            .visible::<Membership>(membership_key(organization, user))
            .await?
            .into())
    }

    /// An invitation to one of the principal's verified email addresses.
    pub async fn get_invitation(&self, id: &InvitationId) -> Result<Invitation, Error> {
        self.visible(RecordKey::Invitation(id.clone())).await
    }

    /// The memberships of an organization the signed-in user is a member of (R2.2).
    pub async fn memberships_of_organization(
        &self,
        organization: &OrganizationId,
        page: PageRequest,
    ) -> Result<Page<MembershipView>, Error> {
        if !self.is_member(organization).await? {
            return Err(not_found(&RecordKey::Organization(organization.clone())));
        }
        let page = self
            .service
            .backend()
            .memberships_of_organization(organization, page)
            .await?;
        Ok(page.map(MembershipView::from))
    }

    /// Applies `change` to the principal's own record: the signed-in user or the sign-up
    /// attempt. Only its unsafe tier may be named (R2.4); anything else is refused whole with
    /// [`Error::AccessDenied`] or [`Error::UnsupportedTier`] (R2.3).
    pub async fn update_own(&self, change: Change) -> Result<OwnRecord, Error> {
        match &self.principal {
            FrontendPrincipal::User { .. } => {
                Ok(OwnRecord::User(self.update_own_user(change).await?))
            }
            FrontendPrincipal::SignUp { sign_up_id } => Ok(OwnRecord::SignUp(
                self.update_sign_up(sign_up_id, change).await?,
            )),
        }
    }

    /// Applies `change` to the signed-in user's own record. A sign-up principal has no user:
    /// for it this is [`Error::NotFound`] and nothing is written.
    pub async fn update_own_user(&self, change: Change) -> Result<UserView, Error> {
        let key = RecordKey::User(self.own_user_id()?.clone());
        let user: User = self
            .service
            .update(&key, &change, Surface::Frontend, &self.actor())
            .await?;
        Ok(user.into())
    }

    /// Applies `change` to the sign-up attempt `id`, which must be the principal's own: any
    /// other is [`Error::NotFound`] (R2.2), and nothing is written.
    pub async fn update_sign_up(&self, id: &SignUpId, change: Change) -> Result<SignUp, Error> {
        let key = RecordKey::SignUp(id.clone());
        if self.principal.own_key() != key {
            return Err(not_found(&key));
        }
        self.service
            .update(&key, &change, Surface::Frontend, &self.actor())
            .await
    }

    /// Creates the sign-up principal's own sign-up attempt, under the principal's id, with the
    /// tiers `change` sets: the unsafe tier only (R2.4). A signed-in user has none to create
    /// ([`Error::NotFound`]); a tier the frontend may not write is refused whole.
    pub async fn create_own_sign_up(&self, change: Change) -> Result<SignUp, Error> {
        let s = self.service;
        let sign_up = create_own_sign_up(&self.principal, &change, &s.limits, s.now())?;
        s.backend_as(self.actor())
            .create_via(sign_up, vec![], Surface::Frontend)
            .await
    }

    /// One page of the signed-in user's memberships, each with its organization, as a member
    /// sees them (R2.2: each is shown through the frontend's own reads, which check the
    /// membership again; one gone since the listing is left out). [`Error::NotFound`] for a
    /// sign-up principal.
    pub async fn own_memberships(&self, page: PageRequest) -> Result<Page<OwnMembership>, Error> {
        let user = self.own_user_id()?;
        let listed = self
            .service
            .backend()
            .memberships_of_user(user, page)
            .await?;
        let mut items = Vec::with_capacity(listed.items.len());
        for m in &listed.items {
            match (
                self.get_membership(&m.organization_id, user).await,
                self.get_organization(&m.organization_id).await,
            ) {
                (Ok(membership), Ok(organization)) => items.push(OwnMembership {
                    membership,
                    organization,
                }),
                (Err(Error::NotFound { .. }), _) | (_, Err(Error::NotFound { .. })) => {}
                (Err(e), _) | (_, Err(e)) => return Err(e),
            }
        }
        Ok(Page {
            items,
            next: listed.next,
        })
    }

    /// Replaces the principal's own unsafe tier (R3.1), optionally only if it is still at
    /// `expected_version` (R3.5).
    pub async fn update_own_unsafe(
        &self,
        value: Metadata,
        expected_version: Option<u64>,
    ) -> Result<OwnRecord, Error> {
        let mut change = Change::new().replace(Tier::Unsafe, value);
        if let Some(v) = expected_version {
            change = change.expect_version(v);
        }
        self.update_own(change).await
    }

    /// Merges a patch into the principal's own unsafe tier (R3.2).
    pub async fn merge_own_unsafe(&self, patch: Patch) -> Result<OwnRecord, Error> {
        self.update_own(Change::new().merge(Tier::Unsafe, patch))
            .await
    }
}
