//! The instance's key set: fetched from its URL, cached by `kid`, fetched again when it is old
//! or when a token names a `kid` it does not hold (at most once per refresh interval).

use crate::error::SessionError;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The largest key set read: a real one is a few kilobytes.
const MAX_KEY_SET_BYTES: usize = 256 * 1024;
/// How long one fetch of the key set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// One verification key and the one algorithm it verifies.
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) algorithm: Algorithm,
    pub(crate) key: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// What the fetches left: the keys by `kid`, when they were fetched, and when a fetch was last
/// tried (failed ones included).
#[derive(Debug, Default)]
struct Held {
    keys: HashMap<String, Key>,
    fetched_at: Option<Instant>,
    tried_at: Option<Instant>,
}

/// The key set of one instance.
#[derive(Debug)]
pub(crate) struct KeySet {
    url: String,
    client: reqwest::Client,
    refresh_interval: Duration,
    max_age: Duration,
    held: RwLock<Arc<Held>>,
    /// One fetch at a time; the others wait for it and use what it found.
    fetching: tokio::sync::Mutex<()>,
}

impl KeySet {
    pub(crate) fn new(
        url: &str,
        refresh_interval: Duration,
        max_age: Duration,
    ) -> Result<Self, SessionError> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| SessionError::KeySet(e.to_string()))?;
        Ok(KeySet {
            url: url.to_owned(),
            client,
            refresh_interval,
            max_age,
            held: RwLock::default(),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The same source and settings with nothing held yet.
    pub(crate) fn fresh_copy(&self) -> KeySet {
        KeySet {
            url: self.url.clone(),
            client: self.client.clone(),
            refresh_interval: self.refresh_interval,
            max_age: self.max_age,
            held: RwLock::default(),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn set_refresh_interval(&mut self, interval: Duration) {
        self.refresh_interval = interval;
    }

    pub(crate) fn set_max_age(&mut self, age: Duration) {
        self.max_age = age;
    }

    fn held(&self) -> Arc<Held> {
        self.held
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The key named `kid`: from the cache while it is young enough, else after a fetch.
    pub(crate) async fn key(&self, kid: &str) -> Result<Key, SessionError> {
        let held = self.held();
        let young = held
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.max_age);
        if let (Some(key), true) = (held.keys.get(kid), young) {
            return Ok(key.clone());
        }
        let _one_fetch = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        let held = self.held();
        let since =
            |at: Option<Instant>, interval: Duration| at.is_some_and(|at| at.elapsed() < interval);
        if let Some(key) = held.keys.get(kid) {
            if since(held.fetched_at, self.max_age) {
                return Ok(key.clone());
            }
        } else if since(held.tried_at, self.refresh_interval) {
            // Tried lately: a made-up kid (or a key set that is down) is not worth another fetch.
            return Err(if held.fetched_at.is_some() {
                SessionError::UnknownKey
            } else {
                SessionError::KeySet("the last fetch failed; not tried again yet".into())
            });
        }
        match self.fetch().await {
            Ok(fresh) => {
                let found = fresh.keys.get(kid).cloned();
                *self
                    .held
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(fresh);
                found.ok_or(SessionError::UnknownKey)
            }
            // An old set is better than none: keep verifying with it.
            Err(e) => {
                tracing::warn!(code = e.code(), "the session key set could not be fetched");
                let found = held.keys.get(kid).cloned();
                *self
                    .held
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(Held {
                    keys: held.keys.clone(),
                    fetched_at: held.fetched_at,
                    tried_at: Some(Instant::now()),
                });
                found.ok_or(e)
            }
        }
    }

    /// Fetches and reads the key set: the RSA keys (RS256) and P-256 keys (ES256) with a
    /// `kid`; any other key is left out.
    async fn fetch(&self) -> Result<Held, SessionError> {
        let failed = |e: &dyn std::fmt::Display| SessionError::KeySet(e.to_string());
        let mut response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| failed(&e))?;
        if !response.status().is_success() {
            return Err(SessionError::KeySet(format!(
                "the key set URL answered {}",
                response.status()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| failed(&e))? {
            if body.len() + chunk.len() > MAX_KEY_SET_BYTES {
                return Err(SessionError::KeySet(format!(
                    "the key set is over {MAX_KEY_SET_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| failed(&e))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = &jwk.common.key_id else {
                continue;
            };
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                _ => continue,
            };
            let declared = jwk.common.key_algorithm;
            let agrees = match declared {
                None => true,
                Some(KeyAlgorithm::RS256) => algorithm == Algorithm::RS256,
                Some(KeyAlgorithm::ES256) => algorithm == Algorithm::ES256,
                Some(_) => false,
            };
            if !agrees {
                continue;
            }
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid.clone(), Key { algorithm, key });
            }
        }
        let now = Instant::now();
        Ok(Held {
            keys,
            fetched_at: Some(now),
            tried_at: Some(now),
        })
    }
}
