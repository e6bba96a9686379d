//! Who is calling: the backend by a secret key, the frontend by the host's authenticator.

use crate::error::ApiError;
use async_trait::async_trait;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use metadata_core::FrontendPrincipal;

/// Decides which frontend principal a request acts for, from its parts (headers, cookies,
/// extensions set by the host's own middleware): the host verifies its own sessions. `None` is
/// answered with 401.
///
/// A closure `Fn(&Parts) -> Option<FrontendPrincipal>` is an authenticator:
///
/// ```
/// use metadata_core::{FrontendPrincipal, UserId};
/// use metadata_http::Authenticator;
///
/// fn check(auth: impl Authenticator) {}
/// check(|parts: &axum::http::request::Parts| {
///     let user = parts.headers.get("x-user-id")?.to_str().ok()?; // after the host's checks
///     Some(FrontendPrincipal::user(UserId::new(user).ok()?))
/// });
/// ```
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The principal the request acts for, or `None` for no one.
    async fn authenticate(&self, parts: &Parts) -> Option<FrontendPrincipal>;
}

#[async_trait]
impl<F> Authenticator for F
where
    F: Fn(&Parts) -> Option<FrontendPrincipal> + Send + Sync + 'static,
{
    async fn authenticate(&self, parts: &Parts) -> Option<FrontendPrincipal> {
        self(parts)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks `Authorization: Bearer <key>` against every configured key (each compared in
/// constant time, all of them every time); answers the index of the key that matched.
pub(crate) fn check_secret_key(headers: &HeaderMap, keys: &[Vec<u8>]) -> Result<usize, ApiError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .and_then(|v| v.strip_prefix(b"Bearer "))
        .ok_or_else(ApiError::unauthorized)?;
    let matched =
        keys.iter()
            .enumerate()
            .fold(None, |found, (i, key)| match constant_time_eq(given, key) {
                true => Some(i),
                false => found,
            });
    matched.ok_or_else(ApiError::unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_exactly() {
        assert!(constant_time_eq(b"sk_test_1", b"sk_test_1"));
        assert!(!constant_time_eq(b"sk_test_1", b"sk_test_2"));
        assert!(!constant_time_eq(b"sk_test_1", b"sk_test_12"));
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer sk_2".parse().unwrap());
        assert_eq!(
            check_secret_key(&headers, &[b"sk_1".to_vec(), b"sk_2".to_vec()]).ok(),
            Some(1)
        );
        assert!(check_secret_key(&headers, &[b"sk_1".to_vec()]).is_err());
        assert!(check_secret_key(&headers, &[]).is_err());
        headers.insert(header::AUTHORIZATION, "Basic sk_2".parse().unwrap());
        assert!(check_secret_key(&headers, &[b"sk_2".to_vec()]).is_err());
    }
}
