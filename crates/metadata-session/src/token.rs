//! A session token: where a request carries it, its header, and its checked claims.

use crate::error::SessionError;
use crate::keys::Key;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use std::time::Duration;

/// The name of the cookie the reference product's browser SDK keeps the token in.
pub const SESSION_COOKIE: &str = "__session";

/// The claims of a verified session token that this library reads.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SessionClaims {
    /// The user the session belongs to (a token without one is refused).
    #[serde(default)]
    pub sub: String,
    /// The session's id, when the token names it.
    #[serde(default)]
    pub sid: Option<String>,
    /// The origin the token was issued for, when it names one.
    #[serde(default)]
    pub azp: Option<String>,
    /// The issuer (checked against the instance's).
    pub iss: String,
    /// When the token expires, in seconds since the epoch (checked).
    pub exp: u64,
    /// When the token becomes valid, in seconds since the epoch, if it says (checked).
    #[serde(default)]
    pub nbf: Option<u64>,
}

/// The token a request carries: `Authorization: Bearer <token>`, else the `__session` cookie.
pub(crate) fn from_request(parts: &Parts) -> Option<&str> {
    if let Some(bearer) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim());
    }
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
}

/// The token's algorithm and key id, read from its header before anything is trusted. Only
/// RS256 and ES256 are read further; `none` and every HMAC are refused here.
pub(crate) fn algorithm_and_key_id(token: &str) -> Result<(Algorithm, String), SessionError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| SessionError::Malformed)?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(SessionError::Algorithm);
    }
    let kid = header.kid.ok_or(SessionError::UnknownKey)?;
    Ok((header.alg, kid))
}

/// Verifies the signature with `key` (its algorithm alone) and the time and issuer claims.
pub(crate) fn decode(
    token: &str,
    key: &Key,
    issuer: &str,
    leeway: Duration,
) -> Result<SessionClaims, SessionError> {
    let mut validation = Validation::new(key.algorithm);
    validation.algorithms = vec![key.algorithm];
    validation.leeway = leeway.as_secs();
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss"]);
    match jsonwebtoken::decode::<SessionClaims>(token, &key.key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(match e.kind() {
            ErrorKind::ExpiredSignature => SessionError::Expired,
            ErrorKind::ImmatureSignature => SessionError::NotYetValid,
            ErrorKind::InvalidIssuer => SessionError::Issuer,
            ErrorKind::InvalidSignature => SessionError::Signature,
            ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => SessionError::Algorithm,
            _ => SessionError::Malformed,
        }),
    }
}
