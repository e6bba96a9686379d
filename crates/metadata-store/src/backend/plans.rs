//! The backend's writes that plan from what they read: typed edits, the copies of contract §5
//! (sign-up completion, invitation acceptance), revocation, and deletes with their cascades
//! (R6.2).

use super::*;

impl Backend<'_> {
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
        let op = Op::start(
            self.service,
            "edit_user_typed",
            Surface::Backend,
            ResourceKind::User,
            id.as_str(),
        );
        observed(
            op,
            async {
                let s = self.service;
                let key = RecordKey::User(id.clone());
                let mut attempts = Attempts::new(s, &key);
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
                    match s
                        .update::<User>(&key, &change, Surface::Backend, &self.actor)
                        .await
                    {
                        Err(Error::Conflict { .. }) => continue,
                        other => return other,
                    }
                }
                Err(attempts.gave_up())
            },
            |u: &User| Some(u.version),
        )
        .await
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
        let limits = self.service.limits;
        self.plan_and_commit(
            "complete_sign_up",
            RecordKey::SignUp(id.clone()),
            Actor::library("sign_up_completion", id.as_str()),
            |sign_up: &SignUp, now| {
                let plan = complete_sign_up(sign_up, user.clone(), &change, &limits, now)?;
                Ok((plan.writes(), plan.user.updated_at, plan.user))
            },
        )
        .await
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
        let limits = self.service.limits;
        self.plan_and_commit(
            "accept_invitation",
            RecordKey::Invitation(id.clone()),
            Actor::library("invitation_acceptance", id.as_str()),
            |inv: &Invitation, now| {
                let plan = accept_invitation(inv, membership.clone(), user.clone(), &limits, now)?;
                Ok((plan.writes(), plan.membership.updated_at, plan.membership))
            },
        )
        .await
    }

    /// Reads the record under `key`, plans a commit from it (its writes, their time, and the
    /// record to answer) and commits it, observed as the operation `name`. When another writer
    /// changed the record between the read and the commit, it plans again from the newer record,
    /// whose plan refuses what it no longer allows (a second completion, a second acceptance).
    /// The commit is made by `actor`: the library itself, for the copies of contract §5.
    async fn plan_and_commit<R: Resource, T: Resource>(
        &self,
        name: &'static str,
        key: RecordKey,
        actor: Actor,
        mut plan: impl FnMut(&R, Millis) -> Result<(Vec<Write>, Millis, T), Error>,
    ) -> Result<T, Error> {
        let s = self.service;
        let op = Op::start(
            s,
            name,
            Surface::Backend,
            key.kind(),
            &key.storage_key_cow(),
        );
        let planned = async {
            let mut attempts = Attempts::new(s, &key);
            while attempts.next() {
                let read: R = s.load(&key).await?;
                let (writes, at, made) = plan(&read, s.now())?;
                s.check_creates(&writes)?;
                match s.store.commit(&writes, &Stamp::by(at, actor.clone())).await {
                    Ok(_) => return Ok(made),
                    Err(crate::StoreError::Conflict { .. }) => continue,
                    Err(e) => return Err(e.into_error(None)),
                }
            }
            Err(attempts.gave_up())
        };
        observed(op, planned, |t: &T| Some(t.version())).await
    }

    /// Revokes a pending invitation.
    pub async fn revoke_invitation(&self, id: &InvitationId) -> Result<Invitation, Error> {
        let op = Op::start(
            self.service,
            "revoke_invitation",
            Surface::Backend,
            ResourceKind::Invitation,
            id.as_str(),
        );
        observed(
            op,
            async {
                let s = self.service;
                let inv: Invitation = s.load(&RecordKey::Invitation(id.clone())).await?;
                let revoked = revoke_invitation(&inv, s.now())?;
                self.commit(&[update_write(&inv, revoked.clone())], revoked.updated_at)
                    .await?;
                Ok(revoked)
            },
            |i: &Invitation| Some(i.version),
        )
        .await
    }

    async fn delete(&self, key: RecordKey) -> Result<bool, Error> {
        let op = Op::start(
            self.service,
            "delete",
            Surface::Backend,
            key.kind(),
            &key.storage_key_cow(),
        );
        observed(
            op,
            async {
                let counts = self
                    .commit(&delete_writes(&key), self.service.now())
                    .await?;
                Ok(counts.first().copied().unwrap_or(0) > 0)
            },
            |_: &bool| None,
        )
        .await
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
}
