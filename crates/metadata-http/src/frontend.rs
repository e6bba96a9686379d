//! The frontend routes, acting for the principal the host's authenticator names. They answer
//! with view types only, so no private tier can reach a response (R2.3), and anything the
//! principal may not see is 404 (R2.2).

use crate::error::ApiError;
use crate::extract::Params;
use crate::request::{change_from, write_request, JsonBody, Mode};
use crate::{response, shapes, Shared};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use metadata_core::{
    access, Access, Error, FrontendPrincipal, OrganizationView, ResourceKind, SignUpId, Surface,
    UserView,
};
use metadata_store::{OwnRecord, PageRequest};
use serde_json::{json, Value};

type Result<T> = std::result::Result<T, ApiError>;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/me", get(get_me).patch(replace_me))
        .route("/v1/me/metadata", axum::routing::patch(merge_me))
        .route("/v1/me/organization_memberships", get(my_memberships))
        .route("/v1/client/sign_ups", post(create_sign_up))
        .route(
            "/v1/client/sign_ups/{id}",
            get(get_sign_up).patch(update_sign_up),
        )
}

/// The principal a frontend request acts for; 401 when the authenticator names none.
pub(crate) struct Principal(FrontendPrincipal);

impl FromRequestParts<Shared> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self> {
        let authenticator = state
            .authenticator
            .as_ref()
            .ok_or_else(ApiError::unauthorized)?;
        authenticator
            .authenticate(parts)
            .await
            .map(Principal)
            .ok_or_else(ApiError::unauthorized)
    }
}

fn not_found(kind: ResourceKind, id: &str) -> ApiError {
    ApiError::from(Error::NotFound {
        kind,
        id: id.to_owned(),
    })
}

async fn own_response(s: &Shared, own: OwnRecord) -> Response {
    let hooks = s.hooks.as_ref();
    match own {
        OwnRecord::User(user) => user_view_response(s, &user).await,
        OwnRecord::SignUp(sign_up) => response::record(shapes::sign_up(hooks, &sign_up).await),
    }
}

async fn user_view_response(s: &Shared, user: &UserView) -> Response {
    if s.plain {
        let body = shapes::plain(user, &shapes::USER_DEFAULTS_TEXT);
        return response::record_bytes(body, Some(user.version));
    }
    response::record(shapes::user_view(s.hooks.as_ref(), user).await)
}

/// `GET /v1/me`: the signed-in user's own view (never `private_metadata`).
async fn get_me(State(s): State<Shared>, Principal(p): Principal) -> Result<Response> {
    let FrontendPrincipal::User { user_id, .. } = &p else {
        return Err(not_found(ResourceKind::User, "me"));
    };
    let user = s.service.frontend(p.clone()).get_user(user_id).await?;
    Ok(user_view_response(&s, &user).await)
}

async fn write_own(
    s: Shared,
    p: FrontendPrincipal,
    headers: HeaderMap,
    body: serde_json::Map<String, Value>,
    mode: Mode,
) -> Result<Response> {
    let (change, expected) = write_request(&headers, &body, mode, s.service.limits())?;
    let own = s
        .service
        .frontend(p)
        .update_own(change)
        .await
        .map_err(|e| ApiError::from_error(&e, expected.is_some()))?;
    Ok(own_response(&s, own).await)
}

/// `PATCH /v1/me` with `unsafe_metadata`: replaces it, as the reference product's frontend
/// `user.update` does. Any other tier is refused (403).
async fn replace_me(
    State(s): State<Shared>,
    Principal(p): Principal,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    if !matches!(p, FrontendPrincipal::User { .. }) {
        return Err(not_found(ResourceKind::User, "me"));
    }
    write_own(s, p, headers, body, Mode::Replace).await
}

/// `PATCH /v1/me/metadata` with `unsafe_metadata`: a JSON Merge Patch into it.
async fn merge_me(
    State(s): State<Shared>,
    Principal(p): Principal,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    if !matches!(p, FrontendPrincipal::User { .. }) {
        return Err(not_found(ResourceKind::User, "me"));
    }
    write_own(s, p, headers, body, Mode::Merge).await
}

/// `GET /v1/me/organization_memberships`: the user's memberships, each with its
/// organization, as a member sees them (public tiers only).
async fn my_memberships(State(s): State<Shared>, Principal(p): Principal) -> Result<Response> {
    let FrontendPrincipal::User { user_id, .. } = &p else {
        return Err(not_found(ResourceKind::User, "me"));
    };
    let frontend = s.service.frontend(p.clone());
    let mut data = Vec::new();
    let mut page = PageRequest::first(metadata_core::MAX_PAGE_SIZE);
    loop {
        // The user's own memberships, read through the backend; each is then shown through the
        // frontend's own reads, which check membership again (R2.2).
        let got = s
            .service
            .backend()
            .memberships_of_user(user_id, page)
            .await?;
        for m in &got.items {
            let (membership, org): (_, OrganizationView) = match (
                frontend.get_membership(&m.organization_id, user_id).await,
                frontend.get_organization(&m.organization_id).await,
            ) {
                (Ok(m), Ok(o)) => (m, o),
                // Gone since the listing: not the principal's any more.
                (Err(Error::NotFound { .. }), _) | (_, Err(Error::NotFound { .. })) => continue,
                (Err(e), _) | (_, Err(e)) => return Err(e.into()),
            };
            data.push(Value::Object(
                shapes::membership_view(s.hooks.as_ref(), &membership, &org).await,
            ));
        }
        match got.next {
            Some(c) => page = PageRequest::after(c, metadata_core::MAX_PAGE_SIZE),
            None => break,
        }
    }
    let total = data.len();
    Ok(response::json(
        StatusCode::OK,
        json!({ "data": data, "total_count": total }),
    ))
}

/// `POST /v1/client/sign_ups` with `unsafe_metadata`: creates the principal's own sign-up
/// attempt (its id is the one the host's authenticator gave). Only the unsafe tier may be
/// named (R2.4).
async fn create_sign_up(
    State(s): State<Shared>,
    Principal(p): Principal,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let FrontendPrincipal::SignUp { sign_up_id } = &p else {
        return Err(not_found(ResourceKind::SignUp, "new"));
    };
    let change = change_from(&body, Mode::Replace, s.service.limits())?;
    for (tier, _) in change.ops() {
        access::check(Surface::Frontend, ResourceKind::SignUp, tier, Access::Write)?;
    }
    let sign_up = s
        .service
        .backend()
        .create_sign_up(sign_up_id, change)
        .await?;
    Ok(response::record(
        shapes::sign_up(s.hooks.as_ref(), &sign_up).await,
    ))
}

fn own_sign_up(p: &FrontendPrincipal, id: &str) -> Result<SignUpId> {
    match p {
        FrontendPrincipal::SignUp { sign_up_id } if sign_up_id.as_str() == id => {
            Ok(sign_up_id.clone())
        }
        _ => Err(not_found(ResourceKind::SignUp, id)),
    }
}

async fn get_sign_up(
    State(s): State<Shared>,
    Principal(p): Principal,
    Params(id): Params<String>,
) -> Result<Response> {
    let id = own_sign_up(&p, &id)?;
    let sign_up = s.service.frontend(p).get_sign_up(&id).await?;
    Ok(response::record(
        shapes::sign_up(s.hooks.as_ref(), &sign_up).await,
    ))
}

/// `PATCH /v1/client/sign_ups/{id}` with `unsafe_metadata`: replaces the principal's own
/// sign-up's unsafe tier.
async fn update_sign_up(
    State(s): State<Shared>,
    Principal(p): Principal,
    headers: HeaderMap,
    Params(id): Params<String>,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    own_sign_up(&p, &id)?;
    write_own(s, p, headers, body, Mode::Replace).await
}
