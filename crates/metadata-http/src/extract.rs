//! Extractors whose rejections come back in the reference envelope, never as plain text: the
//! backend's secret key, path parameters and query strings.

use crate::auth::check_secret_key;
use crate::error::ApiError;
use crate::Shared;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use metadata_core::feed::Actor;
use metadata_core::{codes, OrganizationId};
use serde::de::DeserializeOwned;

/// Proof that the request carried one of the backend's secret keys, and the actor its
/// writes are made by: the backend with that key's id (R14.2).
pub(crate) struct BackendKey(pub(crate) Actor);

impl FromRequestParts<Shared> for BackendKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let at = check_secret_key(&parts.headers, &state.keys)?;
        Ok(BackendKey(Actor::backend_key(state.key_ids[at].clone())))
    }
}

/// Path parameters (one `String`, or a tuple of them).
pub(crate) struct Params<T>(pub(crate) T);

impl<T: DeserializeOwned + Send> FromRequestParts<Shared> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| Params(t))
            .map_err(|_| ApiError::no_route())
    }
}

/// The organization a path names as its only parameter (`/v1/organizations/{org}/...`); an
/// id that cannot be valid names no route.
pub(crate) struct OrgPath(pub(crate) OrganizationId);

impl FromRequestParts<Shared> for OrgPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let Params(text) = Params::<String>::from_request_parts(parts, state).await?;
        OrganizationId::new(text)
            .map(OrgPath)
            .map_err(|_| ApiError::no_route())
    }
}

/// The query string as name and value pairs, in order.
pub(crate) struct QueryPairs(pub(crate) Vec<(String, String)>);

impl FromRequestParts<Shared> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| QueryPairs(q))
            .map_err(|e| ApiError::invalid(codes::VALUE_INVALID, "query", e.body_text()))
    }
}
