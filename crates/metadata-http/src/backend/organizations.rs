//! The memberships and invitations of an organization.

use super::*;

pub(super) async fn membership_response(s: &Shared, m: &Membership) -> Result<Response> {
    let org = s
        .service
        .backend()
        .get_organization(&m.organization_id)
        .await?;
    Ok(response::record(
        shapes::membership(s.hooks.as_ref(), m, &org).await,
    ))
}

pub(super) async fn create_membership(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    OrgPath(org): OrgPath,
    Body(body): ReplaceBody,
) -> Result<Response> {
    let user = UserId::new(body.required_string("user_id")?)
        .map_err(|e| ApiError::from(Error::InvalidId(e)).param("user_id"))?;
    let id = body_id(&body, "orgmem", MembershipId::new)?;
    let b = s.service.backend_as(actor);
    let m = b.create_membership(&id, &org, &user, body.into_change());
    membership_response(&s, &m.await?).await
}

pub(super) async fn delete_membership(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    Params((org, user)): Params<(String, String)>,
) -> Result<Response> {
    let (org, user) = (org_id(org)?, user_id(user)?);
    let b = s.service.backend_as(actor);
    let m = b.get_membership(&org, &user).await?;
    let answer = membership_response(&s, &m).await?;
    if !b.delete_membership(&org, &user).await? {
        return Err(not_found(Membership::KIND, m.id.as_str()));
    }
    Ok(answer)
}

pub(super) async fn merge_membership(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    headers: HeaderMap,
    Params((org, user)): Params<(String, String)>,
    Body(body): MergeBody,
) -> Result<Response> {
    let (org, user) = (org_id(org)?, user_id(user)?);
    let (change, expected) = write_request(&headers, body)?;
    let b = s.service.backend_as(actor);
    let m = b.update_membership(&org, &user, change).await;
    membership_response(&s, &m.map_err(fail(expected))?).await
}

pub(super) async fn create_invitation(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    OrgPath(org): OrgPath,
    Body(body): ReplaceBody,
) -> Result<Response> {
    let email = body.required_string("email_address")?.to_owned();
    let id = body_id(&body, "orginv", InvitationId::new)?;
    let inv = s
        .service
        .backend_as(actor)
        .create_invitation(&id, &org, &email, body.into_change())
        .await?;
    Ok(response::record(
        shapes::invitation(s.hooks.as_ref(), &inv).await,
    ))
}

pub(super) async fn revoke_invitation(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    Params((org, id)): Params<(String, String)>,
) -> Result<Response> {
    let org = org_id(org)?;
    let id = InvitationId::new(id).map_err(|_| ApiError::no_route())?;
    let b = s.service.backend_as(actor);
    let inv = b.get_invitation(&id).await?;
    if inv.organization_id != org {
        return Err(not_found(Invitation::KIND, id.as_str()));
    }
    let revoked = b.revoke_invitation(&id).await?;
    Ok(response::record(
        shapes::invitation(s.hooks.as_ref(), &revoked).await,
    ))
}

/// The records listed under an organization: its memberships and its invitations.
pub(super) trait OfOrganization: Resource + Sync {
    /// The filter that selects them.
    const FILTER: fn(OrganizationId) -> Filter;
    /// One of them written straight from its text, as [`OfOrganization::shape_under`] shapes
    /// it without hooks.
    fn plain_under(&self, organization: &Organization) -> Vec<u8>;
    /// One of them in its response shape, under its organization.
    fn shape_under(
        &self,
        hooks: &dyn shapes::Hooks,
        organization: &Organization,
    ) -> impl std::future::Future<Output = serde_json::Map<String, Value>> + Send;
}

impl OfOrganization for Membership {
    const FILTER: fn(OrganizationId) -> Filter = Filter::MembershipsOfOrganization;
    fn plain_under(&self, organization: &Organization) -> Vec<u8> {
        shapes::plain_membership(self, organization)
    }
    fn shape_under(
        &self,
        hooks: &dyn shapes::Hooks,
        organization: &Organization,
    ) -> impl std::future::Future<Output = serde_json::Map<String, Value>> + Send {
        shapes::membership(hooks, self, organization)
    }
}

impl OfOrganization for Invitation {
    const FILTER: fn(OrganizationId) -> Filter = Filter::InvitationsOfOrganization;
    fn plain_under(&self, _: &Organization) -> Vec<u8> {
        shapes::plain_invitation(self)
    }
    fn shape_under(
        &self,
        hooks: &dyn shapes::Hooks,
        _: &Organization,
    ) -> impl std::future::Future<Output = serde_json::Map<String, Value>> + Send {
        shapes::invitation(hooks, self)
    }
}

/// `GET /v1/organizations/{org}/memberships` and `.../invitations`: a page by `limit` and
/// `offset`, with the total; 404 unless the organization exists.
pub(super) async fn list_of_organization<R: OfOrganization>(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    OrgPath(org): OrgPath,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let page = offset_request(&q, ListOrder::BY_ID)?;
    let b = s.service.backend_as(actor);
    let organization = b.get_organization(&org).await?;
    let (items, total) = offset_page::<R>(&b, R::FILTER(org), page, true).await?;
    if s.plain {
        let items = items.iter().map(|i| i.plain_under(&organization)).collect();
        return Ok(response::items_bytes(items, Some(total)));
    }
    let mut data = Vec::with_capacity(items.len());
    for item in &items {
        let shaped = item.shape_under(s.hooks.as_ref(), &organization).await;
        data.push(Value::Object(shaped));
    }
    Ok(response::counted(data, total))
}
