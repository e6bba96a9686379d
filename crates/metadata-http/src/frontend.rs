//! The frontend routes, acting for the principal the host's authenticator names, through the
//! facade's frontend surface alone: it answers with view types only, so no private tier can
//! reach a response (R2.3), and anything the principal may not see is 404 (R2.2). No route
//! checks an access rule itself.

use crate::error::ApiError;
use crate::extract::Params;
use crate::request::{write_request, Body, ReplaceBody};
use crate::{response, shapes, Shared};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use metadata_core::{FrontendPrincipal, SignUp, SignUpId, UserView};
use metadata_store::PageRequest;
use serde_json::{json, Value};

type Result<T> = std::result::Result<T, ApiError>;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/me", get(get_me).patch(write_me::<false>))
        .route("/v1/me/metadata", axum::routing::patch(write_me::<true>))
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

async fn user_view_response(s: &Shared, user: &UserView) -> Response {
    if s.plain {
        let body = shapes::plain(user, &shapes::USER_DEFAULTS_TEXT);
        return response::record_bytes(body, Some(user.version));
    }
    response::record(shapes::user_view(s.hooks.as_ref(), user).await)
}

async fn sign_up_response(s: &Shared, sign_up: &SignUp) -> Response {
    response::record(shapes::sign_up(s.hooks.as_ref(), sign_up).await)
}

/// `GET /v1/me`: the signed-in user's own view (never `private_metadata`).
async fn get_me(State(s): State<Shared>, Principal(p): Principal) -> Result<Response> {
    let user = s.service.frontend(p).get_own_user().await?;
    Ok(user_view_response(&s, &user).await)
}

/// `PATCH /v1/me` with `unsafe_metadata`: replaces it, as the reference product's frontend
/// `user.update` does; `PATCH /v1/me/metadata` (`MERGE`): a JSON Merge Patch into it. The
/// facade refuses any other tier (403) and a principal that is not a signed-in user (404).
async fn write_me<const MERGE: bool>(
    State(s): State<Shared>,
    Principal(p): Principal,
    headers: HeaderMap,
    Body(body): Body<MERGE>,
) -> Result<Response> {
    let (change, expected) = write_request(&headers, body)?;
    let user = s.service.frontend(p).update_own_user(change).await;
    let user = user.map_err(|e| ApiError::from_error(&e, expected.is_some()))?;
    Ok(user_view_response(&s, &user).await)
}

/// `GET /v1/me/organization_memberships`: the user's memberships, each with its
/// organization, as a member sees them (public tiers only).
async fn my_memberships(State(s): State<Shared>, Principal(p): Principal) -> Result<Response> {
    let frontend = s.service.frontend(p);
    let mut data = Vec::new();
    let mut page = PageRequest::first(metadata_core::MAX_PAGE_SIZE);
    loop {
        let got = frontend.own_memberships(page).await?;
        for mine in &got.items {
            data.push(Value::Object(
                shapes::membership_view(s.hooks.as_ref(), &mine.membership, &mine.organization)
                    .await,
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
/// attempt (its id is the one the host's authenticator gave; the facade refuses any other
/// tier).
async fn create_sign_up(
    State(s): State<Shared>,
    Principal(p): Principal,
    Body(body): ReplaceBody,
) -> Result<Response> {
    let frontend = s.service.frontend(p);
    let sign_up = frontend.create_own_sign_up(body.into_change()).await?;
    Ok(sign_up_response(&s, &sign_up).await)
}

/// A sign-up id from a path: one that cannot be valid names no record.
fn sign_up_id(id: String) -> Result<SignUpId> {
    SignUpId::new(id).map_err(|_| ApiError::no_route())
}

async fn get_sign_up(
    State(s): State<Shared>,
    Principal(p): Principal,
    Params(id): Params<String>,
) -> Result<Response> {
    let sign_up = s.service.frontend(p).get_sign_up(&sign_up_id(id)?).await?;
    Ok(sign_up_response(&s, &sign_up).await)
}

/// `PATCH /v1/client/sign_ups/{id}` with `unsafe_metadata`: replaces the principal's own
/// sign-up's unsafe tier.
async fn update_sign_up(
    State(s): State<Shared>,
    Principal(p): Principal,
    headers: HeaderMap,
    Params(id): Params<String>,
    Body(body): ReplaceBody,
) -> Result<Response> {
    let id = sign_up_id(id)?;
    let (change, expected) = write_request(&headers, body)?;
    let sign_up = s
        .service
        .frontend(p)
        .update_sign_up(&id, change)
        .await
        .map_err(|e| ApiError::from_error(&e, expected.is_some()))?;
    Ok(sign_up_response(&s, &sign_up).await)
}
