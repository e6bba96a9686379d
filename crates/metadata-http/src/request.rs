//! Reading requests: JSON bodies (413 over the limit before parsing, 415 for another content
//! type, 422 for anything the core refuses), tiers out of a body, `If-Match`, query values.

use crate::error::{http_codes, ApiError};
use crate::Shared;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use metadata_core::{codes, Change, Error, Limits, LookupValue, Metadata, Patch, Tier};
use serde_json::{Map, Value};

/// A request body: a JSON object, parsed by the core's rules (depth limit, no duplicate keys)
/// under the service's limits. An empty body is `{}`.
#[derive(Debug)]
pub(crate) struct JsonBody(pub(crate) Map<String, Value>);

/// The limits a body is read under: room for every tier of a record and a few other fields,
/// and one level deeper than a tier.
pub(crate) fn body_limits(limits: &Limits) -> Limits {
    limits
        .with_tier_bytes(limits.tier_bytes().saturating_mul(3))
        .with_max_depth(limits.max_depth() + 1)
}

impl FromRequest<Shared> for JsonBody {
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
        if bytes.is_empty() {
            return Ok(JsonBody(Map::new()));
        }
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                http_codes::UNSUPPORTED_CONTENT_TYPE,
                "The request body must be application/json",
            ));
        }
        let limits = body_limits(state.service.limits());
        let patch = Patch::from_slice_with(&bytes, &limits)
            .map_err(|source| ApiError::from(Error::InvalidRequest { source }))?;
        Ok(JsonBody(patch.as_map().clone()))
    }
}

/// How a body's tiers change a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Each tier given replaces the stored one (R3.1).
    Replace,
    /// Each tier given is a JSON Merge Patch (R3.2).
    Merge,
}

/// The change a body's tier fields make; other fields are left to the caller. A tier given as
/// anything but an object is refused for that tier (R3.4).
pub(crate) fn change_from(
    body: &Map<String, Value>,
    mode: Mode,
    limits: &Limits,
) -> Result<Change, ApiError> {
    let mut change = Change::new();
    for tier in Tier::ALL {
        let Some(value) = body.get(tier.field_name()) else {
            continue;
        };
        change = match mode {
            Mode::Replace => {
                let value = Metadata::from_value_with(value.clone(), limits)
                    .map_err(|e| e.for_tier(tier))?;
                change.replace(tier, value)
            }
            Mode::Merge => {
                let patch =
                    Patch::from_value_with(value.clone(), limits).map_err(|e| e.for_tier(tier))?;
                change.merge(tier, patch)
            }
        };
    }
    Ok(change)
}

/// A string field of a body, if present; a value of another type is refused.
pub(crate) fn string_field<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(
            codes::VALUE_INVALID,
            name,
            format!("{name} must be a string"),
        )),
    }
}

/// A required string field of a body.
pub(crate) fn required_string<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a str, ApiError> {
    string_field(body, name)?
        .ok_or_else(|| ApiError::invalid(codes::MISSING, name, format!("{name} must be included")))
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
    body: &Map<String, Value>,
    mode: Mode,
    limits: &Limits,
) -> Result<(Change, Option<u64>), ApiError> {
    let expected = if_match(headers)?;
    let change = change_from(body, mode, limits)?;
    let change = match expected {
        Some(v) => change.expect_version(v),
        None => change,
    };
    Ok((change, expected))
}

/// A lookup value from a query string: a JSON integer, `true`/`false` or a quoted JSON string
/// is that value; anything else is the text itself (`role=admin` looks for `"admin"`,
/// `age=30` for `30`, `code="30"` for `"30"`).
pub(crate) fn lookup_value(text: &str) -> LookupValue {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Number(n)) if n.is_i64() => LookupValue::Integer(n.as_i64().unwrap_or(0)),
        Ok(Value::Bool(b)) => LookupValue::Bool(b),
        Ok(Value::String(s)) => LookupValue::String(s),
        _ => LookupValue::String(text.to_owned()),
    }
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
