//! The reference product's session tokens as the frontend's authenticator: a request whose
//! short-lived session JWT verifies acts for the user the token names, as it would against the
//! hosted product, with no change to the browser's code.
//!
//! [`SessionTokens`] takes the token from `Authorization: Bearer` or the `__session` cookie and
//! accepts it only if all of these hold:
//!
//! - it is signed with RS256 or ES256 by a key of the instance's JWKS, found by its `kid` (the
//!   set is fetched from its URL, cached, and fetched again when a token names a `kid` it does
//!   not hold, at most once per [`SessionTokens::refresh_interval`]); the algorithm is the key's
//!   own, so `alg: none` and an HMAC "signed" with the public key never pass;
//! - `iss` is the instance's issuer; `exp` is in the future and `nbf` (if any) in the past, give
//!   or take a small leeway (five seconds by default);
//! - `azp`, when the token carries one, is one of the allowed origins (when any are set);
//! - `sub` is a user id: the principal.
//!
//! Anything else is no principal, which the frontend routes answer with 401 and the error
//! envelope. [`SessionTokens::verify`] says why, as a typed [`SessionError`].
//!
//! ```no_run
//! use metadata_http::MetadataHttp;
//! use metadata_session::SessionTokens;
//! use metadata_store::MetadataService;
//!
//! # fn demo(service: MetadataService) -> Result<(), metadata_session::SessionError> {
//! let sessions = SessionTokens::new(
//!     "https://clerk.example.com/.well-known/jwks.json",
//!     "https://clerk.example.com",
//! )?
//! .authorized_parties(["https://app.example.com"]);
//! let app = MetadataHttp::new(service).authenticator(sessions).router();
//! # let _ = app; Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod keys;
mod token;

pub use error::SessionError;
pub use token::SessionClaims;

use async_trait::async_trait;
use axum::http::request::Parts;
use keys::KeySet;
use metadata_core::{FrontendPrincipal, UserId};
use metadata_http::Authenticator;
use std::sync::Arc;
use std::time::Duration;

/// The leeway `exp` and `nbf` are checked with unless set: clocks a little apart still agree.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);
/// The least time between two fetches of the key set that unknown `kid`s ask for.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// How long a fetched key set is trusted before it is fetched again.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);

/// Verifies session tokens; an [`Authenticator`] for [`metadata_http::MetadataHttp`].
/// Cloning it shares its key cache.
#[derive(Clone, Debug)]
pub struct SessionTokens {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    issuer: String,
    authorized_parties: Vec<String>,
    leeway: Duration,
    keys: KeySet,
}

impl SessionTokens {
    /// Tokens of the instance whose key set is at `jwks_url` and whose tokens name `issuer` as
    /// their `iss`. Nothing is fetched until the first token arrives.
    pub fn new(jwks_url: &str, issuer: &str) -> Result<Self, SessionError> {
        Ok(SessionTokens {
            inner: Arc::new(Inner {
                issuer: issuer.to_owned(),
                authorized_parties: Vec::new(),
                leeway: DEFAULT_LEEWAY,
                keys: KeySet::new(jwks_url, DEFAULT_REFRESH_INTERVAL, DEFAULT_MAX_AGE)?,
            }),
        })
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => f(inner),
            None => {
                let mut inner = Inner {
                    issuer: self.inner.issuer.clone(),
                    authorized_parties: self.inner.authorized_parties.clone(),
                    leeway: self.inner.leeway,
                    keys: self.inner.keys.fresh_copy(),
                };
                f(&mut inner);
                self.inner = Arc::new(inner);
            }
        }
        self
    }

    /// The origins a token's `azp` may name (a token without `azp` is not checked against
    /// them); none set, any `azp` passes.
    pub fn authorized_parties<I, S>(self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let origins: Vec<String> = origins.into_iter().map(Into::into).collect();
        self.edit(|inner| inner.authorized_parties = origins)
    }

    /// The leeway for `exp` and `nbf` ([`DEFAULT_LEEWAY`] unless set).
    pub fn leeway(self, leeway: Duration) -> Self {
        self.edit(|inner| inner.leeway = leeway)
    }

    /// The least time between two fetches that unknown `kid`s cause
    /// ([`DEFAULT_REFRESH_INTERVAL`] unless set), so a stream of made-up `kid`s cannot make
    /// this fetch the key set for each.
    pub fn refresh_interval(self, interval: Duration) -> Self {
        self.edit(|inner| inner.keys.set_refresh_interval(interval))
    }

    /// How long a fetched key set is used before it is fetched again ([`DEFAULT_MAX_AGE`]
    /// unless set). If that fetch fails, the keys held are kept.
    pub fn max_age(self, age: Duration) -> Self {
        self.edit(|inner| inner.keys.set_max_age(age))
    }

    /// Verifies `token` and answers its claims, or why it is refused.
    pub async fn verify(&self, token: &str) -> Result<SessionClaims, SessionError> {
        let inner = &self.inner;
        let (alg, kid) = token::algorithm_and_key_id(token)?;
        let key = inner.keys.key(&kid).await?;
        if key.algorithm != alg {
            return Err(SessionError::Algorithm);
        }
        let claims = token::decode(token, &key, &inner.issuer, inner.leeway)?;
        if let Some(azp) = &claims.azp {
            if !inner.authorized_parties.is_empty()
                && !inner.authorized_parties.iter().any(|p| p == azp)
            {
                return Err(SessionError::Party);
            }
        }
        UserId::new(claims.sub.as_str()).map_err(|_| SessionError::Subject)?;
        Ok(claims)
    }
}

#[async_trait]
impl Authenticator for SessionTokens {
    async fn authenticate(&self, parts: &Parts) -> Option<FrontendPrincipal> {
        let token = token::from_request(parts)?;
        match self.verify(token).await {
            Ok(claims) => Some(FrontendPrincipal::user(UserId::new(claims.sub).ok()?)),
            Err(refused) => {
                // The reason's code only: never the token or its claims.
                tracing::debug!(code = refused.code(), "session token refused");
                None
            }
        }
    }
}
