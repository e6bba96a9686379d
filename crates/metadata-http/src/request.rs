//! Reading requests: JSON bodies (413 over the limit before parsing, 415 for another content
//! type, then the core's body parser: 422 for anything it refuses), `If-Match`, query values.

use crate::error::{http_codes, ApiError};
use crate::Shared;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use metadata_core::{codes, BodyMode, Change, RequestBody};

/// A request body, read by the core's one body parser ([`RequestBody::parse`]) under the
/// service's limits, its tiers replacing (`MERGE = false`) or merging (`MERGE = true`). The
/// content type must be JSON unless the body is empty (then it is `{}`); a body over the
/// router's limit is 413, refused before it is read.
#[derive(Debug)]
pub(crate) struct Body<const MERGE: bool>(pub(crate) RequestBody);

/// A body whose tiers replace the stored ones (R3.1).
pub(crate) type ReplaceBody = Body<false>;
/// A body whose tiers are JSON Merge Patches (R3.2).
pub(crate) type MergeBody = Body<true>;

/// A JSON request body's bytes, not yet parsed: the content type must be JSON unless the body
/// is empty; a body over the router's limit is 413, refused before it is read; every refusal
/// in the reference envelope.
#[derive(Debug)]
pub(crate) struct JsonBytes(pub(crate) Bytes);

impl FromRequest<Shared> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    http_codes::BODY_TOO_LARGE,
                    "The request body is larger than this server accepts",
                )
            } else {
                ApiError::new(e.status(), codes::VALUE_INVALID, e.body_text())
            }
        })?;
        if !bytes.is_empty() && !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                http_codes::UNSUPPORTED_CONTENT_TYPE,
                "The request body must be application/json",
            ));
        }
        Ok(JsonBytes(bytes))
    }
}

impl<const MERGE: bool> FromRequest<Shared> for Body<MERGE> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, ApiError> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        let mode = if MERGE {
            BodyMode::Merge
        } else {
            BodyMode::Replace
        };
        Ok(Body(RequestBody::parse(
            &bytes,
            mode,
            state.service.limits(),
        )?))
    }
}

/// The version `If-Match: "<version>"` states, if the header is there. `*` states none.
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    text.strip_prefix("W/")
        .unwrap_or(text)
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid(
                codes::VALUE_INVALID,
                "If-Match",
                "If-Match must be an entity tag this server gave, such as \"3\"",
            )
        })
}

/// The change a write request makes: its body's tiers, and the version its `If-Match`
/// states (also returned, so that a conflict can be answered with 412).
pub(crate) fn write_request(
    headers: &HeaderMap,
    body: RequestBody,
) -> Result<(Change, Option<u64>), ApiError> {
    let expected = if_match(headers)?;
    let change = body.into_change();
    let change = match expected {
        Some(v) => change.expect_version(v),
        None => change,
    };
    Ok((change, expected))
}

/// A paging query parameter (`limit` or `offset`) as a number.
pub(crate) fn number_param(
    query: &[(String, String)],
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match query.iter().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                ApiError::invalid(
                    codes::VALUE_INVALID,
                    name,
                    format!("{name} must be a whole number from 0 to {max}"),
                )
            }),
    }
}
