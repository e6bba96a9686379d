//! The backend routes, behind a secret key: users and organizations (`top_level`), the
//! memberships and invitations of an organization (`organizations`), sign-ups and lookups by
//! metadata value (`lookups`), and bulk changes (`bulk`).

use crate::error::ApiError;
use crate::extract::{BackendKey, OrgPath, Params, QueryPairs};
use crate::ids::new_id;
use crate::paging::{lookup, offset_page, offset_request};
use crate::request::{write_request, Body, MergeBody, ReplaceBody};
use crate::{response, shapes, Shared};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use metadata_core::{
    codes, Error, Filter, Invitation, InvitationId, ListOrder, Membership, MembershipId,
    Organization, OrganizationId, Page, RequestBody, Resource, SignUp, SignUpId, User, UserId,
};
use serde_json::{json, Value};

type Result<T> = std::result::Result<T, ApiError>;

mod bulk;
mod lookups;
mod organizations;
mod top_level;

use bulk::*;
use lookups::*;
use organizations::*;
use top_level::*;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/users", post(create::<User>).get(list::<User>))
        .route("/v1/users/count", get(count_users))
        .route(
            "/v1/users/{id}",
            get(read::<User>)
                .patch(write::<User, false>)
                .delete(remove::<User>),
        )
        .route(
            "/v1/users/{id}/metadata",
            axum::routing::patch(write::<User, true>).put(write::<User, false>),
        )
        .route(
            "/v1/organizations",
            post(create::<Organization>).get(list::<Organization>),
        )
        .route(
            "/v1/organizations/{id}",
            get(read::<Organization>).delete(remove::<Organization>),
        )
        .route(
            "/v1/organizations/{id}/metadata",
            axum::routing::patch(write::<Organization, true>).put(write::<Organization, false>),
        )
        .route(
            "/v1/organizations/{org}/memberships",
            post(create_membership).get(list_of_organization::<Membership>),
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
            post(create_invitation).get(list_of_organization::<Invitation>),
        )
        .route(
            "/v1/organizations/{org}/invitations/{id}/revoke",
            post(revoke_invitation),
        )
        .route("/v1/organization_memberships", get(find_memberships))
        .route("/v1/organization_invitations", get(find::<Invitation>))
        .route("/v1/sign_ups", get(find::<SignUp>))
        .route("/v1/sign_ups/{id}", get(get_sign_up))
        .route("/v1/bulk_changes", post(bulk_change))
}

/// One whole record (a user or an organization): written straight from its text and the
/// default fields when no hooks are set, else through the hooks' map.
pub(super) async fn whole<R: Resource + shapes::Shape>(s: &Shared, record: &R) -> Response {
    if let (true, Some(defaults)) = (s.plain, R::PLAIN_DEFAULTS) {
        let body = shapes::plain(record, defaults);
        return response::record_bytes(body, Some(record.version()));
    }
    response::record(record.shape(s.hooks.as_ref()).await)
}

/// An id from a path: one that cannot be valid names no record.
pub(super) fn id<T>(
    parse: impl FnOnce(String) -> std::result::Result<T, metadata_core::IdError>,
    s: String,
) -> Result<T> {
    parse(s).map_err(|_| ApiError::no_route())
}

pub(super) fn user_id(s: String) -> Result<UserId> {
    id(UserId::new, s)
}
pub(super) fn org_id(s: String) -> Result<OrganizationId> {
    id(OrganizationId::new, s)
}

/// An id from a body field, or a new one with the reference product's prefix.
pub(super) fn body_id<T>(
    body: &RequestBody,
    prefix: &str,
    parse: impl FnOnce(String) -> std::result::Result<T, metadata_core::IdError>,
) -> Result<T> {
    let text = match body.string("id")? {
        Some(given) => given.to_owned(),
        None => new_id(prefix),
    };
    parse(text).map_err(|e| ApiError::from(Error::InvalidId(e)).param("id"))
}

/// Maps a library error, with 412 for a conflict when the request sent `If-Match`.
pub(super) fn fail(expected: Option<u64>) -> impl Fn(Error) -> ApiError {
    move |e| ApiError::from_error(&e, expected.is_some())
}

pub(super) fn not_found(kind: metadata_core::ResourceKind, id: &str) -> ApiError {
    ApiError::from(Error::NotFound {
        kind,
        id: id.to_owned(),
    })
}
