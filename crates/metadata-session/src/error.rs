//! Why a session token is refused.

/// Why a session token was refused, or the key set could not be had. Each has a stable
/// [`code`](SessionError::code) for logs and metrics; none carries the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The request carries no token.
    #[error("no session token")]
    Missing,
    /// The token is not a JWT this can read (three base64url parts of JSON, a known `alg`).
    #[error("the session token is malformed")]
    Malformed,
    /// The token's `alg` is not its key's (RS256 or ES256), or names no signature at all.
    #[error("the session token's algorithm is not its key's")]
    Algorithm,
    /// The token names no `kid`, or one the key set does not hold even after fetching it again.
    #[error("the session token's key is unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the session token's signature does not verify")]
    Signature,
    /// `exp` has passed (beyond the leeway).
    #[error("the session token has expired")]
    Expired,
    /// `nbf` is still ahead (beyond the leeway).
    #[error("the session token is not valid yet")]
    NotYetValid,
    /// `iss` is not the instance's issuer.
    #[error("the session token's issuer is not this instance")]
    Issuer,
    /// `azp` is not one of the allowed origins.
    #[error("the session token is for another origin")]
    Party,
    /// `sub` is missing or not a user id.
    #[error("the session token names no user")]
    Subject,
    /// The key set could not be fetched or read.
    #[error("the key set could not be fetched: {0}")]
    KeySet(String),
}

impl SessionError {
    /// A stable code for the reason.
    pub fn code(&self) -> &'static str {
        match self {
            SessionError::Missing => "session_missing",
            SessionError::Malformed => "session_malformed",
            SessionError::Algorithm => "session_algorithm",
            SessionError::UnknownKey => "session_unknown_key",
            SessionError::Signature => "session_signature",
            SessionError::Expired => "session_expired",
            SessionError::NotYetValid => "session_not_yet_valid",
            SessionError::Issuer => "session_issuer",
            SessionError::Party => "session_authorized_party",
            SessionError::Subject => "session_subject",
            SessionError::KeySet(_) => "session_key_set",
        }
    }
}
