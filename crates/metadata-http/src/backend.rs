//! The backend routes, behind a secret key.

use crate::error::ApiError;
use crate::extract::{BackendKey, Params, QueryPairs};
use crate::ids::new_id;
use crate::paging::{limit_offset, lookup, offset_page};
use crate::request::{
    change_from, if_match, required_string, string_field, with_if_match, JsonBody, Mode,
};
use crate::{response, shapes, Shared};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use metadata_core::{
    codes, Error, Filter, Invitation, InvitationId, Membership, MembershipId, Organization,
    OrganizationId, Page, Resource, SignUp, SignUpId, User, UserId,
};
use serde_json::{json, Map, Value};

type Result<T> = std::result::Result<T, ApiError>;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/users", post(create_user).get(list_users))
        .route("/v1/users/count", get(count_users))
        .route(
            "/v1/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route(
            "/v1/users/{id}/metadata",
            axum::routing::patch(merge_user).put(replace_user),
        )
        .route(
            "/v1/organizations",
            post(create_organization).get(list_organizations),
        )
        .route(
            "/v1/organizations/{id}",
            get(get_organization).delete(delete_organization),
        )
        .route(
            "/v1/organizations/{id}/metadata",
            axum::routing::patch(merge_organization).put(replace_organization),
        )
        .route(
            "/v1/organizations/{org}/memberships",
            post(create_membership).get(list_memberships),
        )
        .route(
            "/v1/organizations/{org}/memberships/{user}",
            axum::routing::delete(delete_membership),
        )
        .route(
            "/v1/organizations/{org}/memberships/{user}/metadata",
            axum::routing::patch(merge_membership),
        )
        .route(
            "/v1/organizations/{org}/invitations",
            post(create_invitation).get(list_invitations),
        )
        .route(
            "/v1/organizations/{org}/invitations/{id}/revoke",
            post(revoke_invitation),
        )
        .route("/v1/organization_memberships", get(find_memberships))
        .route("/v1/organization_invitations", get(find_invitations))
        .route("/v1/sign_ups", get(find_sign_ups))
        .route("/v1/sign_ups/{id}", get(get_sign_up))
}

/// An id from a path: one that cannot be valid names no record.
fn id<T>(
    parse: impl FnOnce(String) -> std::result::Result<T, metadata_core::IdError>,
    s: String,
) -> Result<T> {
    parse(s).map_err(|_| ApiError::no_route())
}

fn user_id(s: String) -> Result<UserId> {
    id(UserId::new, s)
}
fn org_id(s: String) -> Result<OrganizationId> {
    id(OrganizationId::new, s)
}

/// An id from a body field, or a new one with the reference product's prefix.
fn body_id<T>(
    body: &Map<String, Value>,
    prefix: &str,
    parse: impl FnOnce(String) -> std::result::Result<T, metadata_core::IdError>,
) -> Result<T> {
    let text = match string_field(body, "id")? {
        Some(given) => given.to_owned(),
        None => new_id(prefix),
    };
    parse(text).map_err(|e| ApiError::from(Error::InvalidId(e)).param("id"))
}

/// Maps a library error, with 412 for a conflict when the request sent `If-Match`.
fn fail(expected: Option<u64>) -> impl Fn(Error) -> ApiError {
    move |e| ApiError::from_error(&e, expected.is_some())
}

async fn user_response(s: &Shared, user: &User) -> Response {
    response::record(shapes::user(s.hooks.as_ref(), user).await)
}

async fn users_json(s: &Shared, users: &[User]) -> Vec<Value> {
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        out.push(Value::Object(shapes::user(s.hooks.as_ref(), u).await));
    }
    out
}

async fn create_user(
    _: BackendKey,
    State(s): State<Shared>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let id = body_id(&body, "user", UserId::new)?;
    let change = change_from(&body, Mode::Replace, s.service.limits())?;
    let user = s.service.backend().create_user(&id, change).await?;
    Ok(user_response(&s, &user).await)
}

/// The reference product's `GET /v1/users` answers with a plain array (`limit`, `offset`);
/// with a metadata lookup such as `public_metadata.role=admin` it answers with
/// `{"data": [...], "next_cursor": ...}`.
async fn list_users(
    _: BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    if let Some((filter, page)) = lookup(&q)? {
        let found: Page<User> = s.service.backend().list(filter, page).await?;
        let data = users_json(&s, &found.items).await;
        return Ok(response::json(
            StatusCode::OK,
            json!({ "data": data, "next_cursor": found.next }),
        ));
    }
    let (limit, offset) = limit_offset(&q)?;
    let (users, _) = offset_page::<User>(&s.service.backend(), Filter::All, limit, offset).await?;
    Ok(response::json(
        StatusCode::OK,
        Value::Array(users_json(&s, &users).await),
    ))
}

async fn count_users(_: BackendKey, State(s): State<Shared>) -> Result<Response> {
    let (_, total) = offset_page::<User>(&s.service.backend(), Filter::All, 0, 0).await?;
    Ok(response::json(
        StatusCode::OK,
        json!({ "object": "total_count", "total_count": total }),
    ))
}

async fn get_user(
    _: BackendKey,
    State(s): State<Shared>,
    Params(id): Params<String>,
) -> Result<Response> {
    let user = s.service.backend().get_user(&user_id(id)?).await?;
    Ok(user_response(&s, &user).await)
}

async fn write_user(
    s: Shared,
    headers: HeaderMap,
    id: String,
    body: Map<String, Value>,
    mode: Mode,
) -> Result<Response> {
    let id = user_id(id)?;
    let expected = if_match(&headers)?;
    let change = with_if_match(change_from(&body, mode, s.service.limits())?, expected);
    if change.is_empty() {
        // Nothing to write: answer with the record as it is, as the reference product does.
        let user = s.service.backend().get_user(&id).await?;
        return Ok(user_response(&s, &user).await);
    }
    let user = s
        .service
        .backend()
        .update_user(&id, change)
        .await
        .map_err(fail(expected))?;
    Ok(user_response(&s, &user).await)
}

/// `PATCH /v1/users/{id}`: each tier given replaces the stored one, as the reference
/// product's updateUser does; other fields are the host's and are ignored here.
async fn update_user(
    _: BackendKey,
    State(s): State<Shared>,
    headers: HeaderMap,
    Params(id): Params<String>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    write_user(s, headers, id, body, Mode::Replace).await
}

async fn merge_user(
    _: BackendKey,
    State(s): State<Shared>,
    headers: HeaderMap,
    Params(id): Params<String>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    write_user(s, headers, id, body, Mode::Merge).await
}

async fn replace_user(
    _: BackendKey,
    State(s): State<Shared>,
    headers: HeaderMap,
    Params(id): Params<String>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    write_user(s, headers, id, body, Mode::Replace).await
}

async fn delete_user(
    _: BackendKey,
    State(s): State<Shared>,
    Params(id): Params<String>,
) -> Result<Response> {
    let id = user_id(id)?;
    if !s.service.backend().delete_user(&id).await? {
        return Err(not_found(User::KIND, id.as_str()));
    }
    Ok(response::deleted(id.as_str(), "user"))
}

fn not_found(kind: metadata_core::ResourceKind, id: &str) -> ApiError {
    ApiError::from(Error::NotFound {
        kind,
        id: id.to_owned(),
    })
}

async fn org_response(s: &Shared, org: &Organization) -> Response {
    response::record(shapes::organization(s.hooks.as_ref(), org).await)
}

async fn create_organization(
    _: BackendKey,
    State(s): State<Shared>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let id = body_id(&body, "org", OrganizationId::new)?;
    let change = change_from(&body, Mode::Replace, s.service.limits())?;
    let org = s.service.backend().create_organization(&id, change).await?;
    Ok(org_response(&s, &org).await)
}

async fn list_organizations(
    _: BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let hooks = s.hooks.as_ref();
    if let Some((filter, page)) = lookup(&q)? {
        let found: Page<Organization> = s.service.backend().list(filter, page).await?;
        let mut data = Vec::new();
        for o in &found.items {
            data.push(Value::Object(shapes::organization(hooks, o).await));
        }
        return Ok(response::json(
            StatusCode::OK,
            json!({ "data": data, "next_cursor": found.next }),
        ));
    }
    let (limit, offset) = limit_offset(&q)?;
    let (orgs, total) =
        offset_page::<Organization>(&s.service.backend(), Filter::All, limit, offset).await?;
    let mut data = Vec::new();
    for o in &orgs {
        data.push(Value::Object(shapes::organization(hooks, o).await));
    }
    Ok(response::json(
        StatusCode::OK,
        json!({ "data": data, "total_count": total }),
    ))
}

async fn get_organization(
    _: BackendKey,
    State(s): State<Shared>,
    Params(id): Params<String>,
) -> Result<Response> {
    let org = s.service.backend().get_organization(&org_id(id)?).await?;
    Ok(org_response(&s, &org).await)
}

async fn delete_organization(
    _: BackendKey,
    State(s): State<Shared>,
    Params(id): Params<String>,
) -> Result<Response> {
    let id = org_id(id)?;
    if !s.service.backend().delete_organization(&id).await? {
        return Err(not_found(Organization::KIND, id.as_str()));
    }
    Ok(response::deleted(id.as_str(), "organization"))
}

async fn write_organization(
    s: Shared,
    headers: HeaderMap,
    id: String,
    body: Map<String, Value>,
    mode: Mode,
) -> Result<Response> {
    let id = org_id(id)?;
    let expected = if_match(&headers)?;
    let change = with_if_match(change_from(&body, mode, s.service.limits())?, expected);
    if change.is_empty() {
        let org = s.service.backend().get_organization(&id).await?;
        return Ok(org_response(&s, &org).await);
    }
    let org = s
        .service
        .backend()
        .update_organization(&id, change)
        .await
        .map_err(fail(expected))?;
    Ok(org_response(&s, &org).await)
}

async fn merge_organization(
    _: BackendKey,
    State(s): State<Shared>,
    headers: HeaderMap,
    Params(id): Params<String>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    write_organization(s, headers, id, body, Mode::Merge).await
}

async fn replace_organization(
    _: BackendKey,
    State(s): State<Shared>,
    headers: HeaderMap,
    Params(id): Params<String>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    write_organization(s, headers, id, body, Mode::Replace).await
}

async fn membership_response(s: &Shared, m: &Membership) -> Result<Response> {
    let org = s
        .service
        .backend()
        .get_organization(&m.organization_id)
        .await?;
    Ok(response::record(
        shapes::membership(s.hooks.as_ref(), m, &org).await,
    ))
}

async fn create_membership(
    _: BackendKey,
    State(s): State<Shared>,
    Params(org): Params<String>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let org = org_id(org)?;
    let user = UserId::new(required_string(&body, "user_id")?)
        .map_err(|e| ApiError::from(Error::InvalidId(e)).param("user_id"))?;
    let id = body_id(&body, "orgmem", MembershipId::new)?;
    let change = change_from(&body, Mode::Replace, s.service.limits())?;
    let m = s
        .service
        .backend()
        .create_membership(&id, &org, &user, change)
        .await?;
    membership_response(&s, &m).await
}

async fn list_memberships(
    _: BackendKey,
    State(s): State<Shared>,
    Params(org): Params<String>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let org = org_id(org)?;
    let (limit, offset) = limit_offset(&q)?;
    let b = s.service.backend();
    let organization = b.get_organization(&org).await?;
    let (items, total) =
        offset_page::<Membership>(&b, Filter::MembershipsOfOrganization(org), limit, offset)
            .await?;
    let mut data = Vec::new();
    for m in &items {
        data.push(Value::Object(
            shapes::membership(s.hooks.as_ref(), m, &organization).await,
        ));
    }
    Ok(response::json(
        StatusCode::OK,
        json!({ "data": data, "total_count": total }),
    ))
}

async fn delete_membership(
    _: BackendKey,
    State(s): State<Shared>,
    Params((org, user)): Params<(String, String)>,
) -> Result<Response> {
    let (org, user) = (org_id(org)?, user_id(user)?);
    let b = s.service.backend();
    let m = b.get_membership(&org, &user).await?;
    let answer = membership_response(&s, &m).await?;
    if !b.delete_membership(&org, &user).await? {
        return Err(not_found(Membership::KIND, m.id.as_str()));
    }
    Ok(answer)
}

async fn merge_membership(
    _: BackendKey,
    State(s): State<Shared>,
    headers: HeaderMap,
    Params((org, user)): Params<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let (org, user) = (org_id(org)?, user_id(user)?);
    let expected = if_match(&headers)?;
    let change = with_if_match(
        change_from(&body, Mode::Merge, s.service.limits())?,
        expected,
    );
    let b = s.service.backend();
    let m = if change.is_empty() {
        b.get_membership(&org, &user).await?
    } else {
        b.update_membership(&org, &user, change)
            .await
            .map_err(fail(expected))?
    };
    membership_response(&s, &m).await
}

async fn create_invitation(
    _: BackendKey,
    State(s): State<Shared>,
    Params(org): Params<String>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let org = org_id(org)?;
    let email = required_string(&body, "email_address")?;
    let id = body_id(&body, "orginv", InvitationId::new)?;
    let change = change_from(&body, Mode::Replace, s.service.limits())?;
    let inv = s
        .service
        .backend()
        .create_invitation(&id, &org, email, change)
        .await?;
    Ok(response::record(
        shapes::invitation(s.hooks.as_ref(), &inv).await,
    ))
}

async fn list_invitations(
    _: BackendKey,
    State(s): State<Shared>,
    Params(org): Params<String>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let org = org_id(org)?;
    let (limit, offset) = limit_offset(&q)?;
    let b = s.service.backend();
    b.get_organization(&org).await?;
    let (items, total) =
        offset_page::<Invitation>(&b, Filter::InvitationsOfOrganization(org), limit, offset)
            .await?;
    let mut data = Vec::new();
    for inv in &items {
        data.push(Value::Object(
            shapes::invitation(s.hooks.as_ref(), inv).await,
        ));
    }
    Ok(response::json(
        StatusCode::OK,
        json!({ "data": data, "total_count": total }),
    ))
}

async fn revoke_invitation(
    _: BackendKey,
    State(s): State<Shared>,
    Params((org, id)): Params<(String, String)>,
) -> Result<Response> {
    let org = org_id(org)?;
    let id = InvitationId::new(id).map_err(|_| ApiError::no_route())?;
    let b = s.service.backend();
    let inv = b.get_invitation(&id).await?;
    if inv.organization_id != org {
        return Err(not_found(Invitation::KIND, id.as_str()));
    }
    let revoked = b.revoke_invitation(&id).await?;
    Ok(response::record(
        shapes::invitation(s.hooks.as_ref(), &revoked).await,
    ))
}

async fn get_sign_up(
    _: BackendKey,
    State(s): State<Shared>,
    Params(id): Params<String>,
) -> Result<Response> {
    let id = SignUpId::new(id).map_err(|_| ApiError::no_route())?;
    let sign_up = s.service.backend().get_sign_up(&id).await?;
    Ok(response::record(
        shapes::sign_up(s.hooks.as_ref(), &sign_up).await,
    ))
}

/// A lookup of records the reference product cannot find: the query must name one.
fn required_lookup(q: &[(String, String)]) -> Result<(Filter, metadata_store::PageRequest)> {
    lookup(q)?.ok_or_else(|| {
        ApiError::invalid(
            codes::MISSING,
            "query",
            "name a metadata value to find, such as public_metadata.role=admin",
        )
    })
}

async fn find_memberships(
    _: BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (filter, page) = required_lookup(&q)?;
    let b = s.service.backend();
    let found: Page<Membership> = b.list(filter, page).await?;
    let mut data = Vec::new();
    for m in &found.items {
        let org = b.get_organization(&m.organization_id).await?;
        data.push(Value::Object(
            shapes::membership(s.hooks.as_ref(), m, &org).await,
        ));
    }
    Ok(response::json(
        StatusCode::OK,
        json!({ "data": data, "next_cursor": found.next }),
    ))
}

async fn find_invitations(
    _: BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (filter, page) = required_lookup(&q)?;
    let found: Page<Invitation> = s.service.backend().list(filter, page).await?;
    let mut data = Vec::new();
    for inv in &found.items {
        data.push(Value::Object(
            shapes::invitation(s.hooks.as_ref(), inv).await,
        ));
    }
    Ok(response::json(
        StatusCode::OK,
        json!({ "data": data, "next_cursor": found.next }),
    ))
}

async fn find_sign_ups(
    _: BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (filter, page) = required_lookup(&q)?;
    let found: Page<SignUp> = s.service.backend().list(filter, page).await?;
    let mut data = Vec::new();
    for su in &found.items {
        data.push(Value::Object(shapes::sign_up(s.hooks.as_ref(), su).await));
    }
    Ok(response::json(
        StatusCode::OK,
        json!({ "data": data, "next_cursor": found.next }),
    ))
}
