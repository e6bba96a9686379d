//! Session tokens against a key set served on loopback (issue 22 item 3): of every token below
//! only the valid ones pass; every other one is 401 with the error envelope.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use metadata_core::{Change, UserId};
use metadata_http::MetadataHttp;
use metadata_session::{SessionError, SessionTokens};
use metadata_store::MetadataService;
use metadata_store_memory::MemoryStore;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tower::ServiceExt;

const ISSUER: &str = "https://clerk.example.test";
const ORIGIN: &str = "https://app.example.test";

/// A signing key and the JWK of its public half.
struct Signer {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
    jwk: Value,
}

fn rsa_signer(kid: &str) -> (Signer, Vec<u8>) {
    use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
    use rsa::traits::PublicKeyParts;
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let der = private.to_pkcs1_der().unwrap();
    let public_der = private
        .to_public_key()
        .to_pkcs1_der()
        .unwrap()
        .as_bytes()
        .to_vec();
    let jwk = json!({
        "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
        "n": B64.encode(private.n().to_bytes_be()),
        "e": B64.encode(private.e().to_bytes_be()),
    });
    let signer = Signer {
        kid: kid.into(),
        alg: Algorithm::RS256,
        key: EncodingKey::from_rsa_der(der.as_bytes()),
        jwk,
    };
    (signer, public_der)
}

fn ec_signer(kid: &str) -> Signer {
    use p256::pkcs8::EncodePrivateKey;
    let signing = p256::ecdsa::SigningKey::random(&mut rand::thread_rng());
    let point = signing.verifying_key().to_encoded_point(false);
    let jwk = json!({
        "kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
        "x": B64.encode(point.x().unwrap()),
        "y": B64.encode(point.y().unwrap()),
    });
    Signer {
        kid: kid.into(),
        alg: Algorithm::ES256,
        key: EncodingKey::from_ec_der(signing.to_pkcs8_der().unwrap().as_bytes()),
        jwk,
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims of a session of `user_1` for `ORIGIN`, valid now for a minute.
fn claims() -> Value {
    json!({
        "sub": "user_1", "sid": "sess_1", "iss": ISSUER, "azp": ORIGIN,
        "iat": now(), "nbf": now() - 10, "exp": now() + 60,
    })
}

fn sign(signer: &Signer, claims: &Value) -> String {
    let mut header = Header::new(signer.alg);
    header.kid = Some(signer.kid.clone());
    encode(&header, claims, &signer.key).unwrap()
}

/// A key set served on loopback that can change, counting its fetches.
struct KeyServer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

async fn serve_keys(keys: Vec<Value>) -> KeyServer {
    let keys = Arc::new(Mutex::new(keys));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (k, f) = (keys.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let (k, f) = (k.clone(), f.clone());
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({ "keys": *k.lock().unwrap() }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    KeyServer {
        url: format!("http://{addr}/.well-known/jwks.json"),
        keys,
        fetches,
    }
}

/// `GET /v1/me` with `token` as a bearer token (or as the `__session` cookie): the status and
/// the body.
async fn me(app: &axum::Router, token: &str, cookie: bool) -> (StatusCode, Value) {
    let request = Request::get("/v1/me");
    let request = if cookie {
        request.header("cookie", format!("theme=dark; __session={token}"))
    } else {
        request.header("authorization", format!("Bearer {token}"))
    };
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_valid_session_token_names_a_principal() {
    let (rsa, rsa_public_der) = rsa_signer("rsa_1");
    let ec = ec_signer("ec_1");
    let stranger = ec_signer("ec_1"); // the same kid, another key
    let unlisted = ec_signer("ec_unlisted");
    let keys = serve_keys(vec![rsa.jwk.clone(), ec.jwk.clone()]).await;
    let sessions = SessionTokens::new(&keys.url, ISSUER)
        .unwrap()
        .authorized_parties([ORIGIN])
        .refresh_interval(Duration::ZERO);
    let service = MetadataService::new(MemoryStore::new());
    service
        .backend()
        .create_user(&UserId::new("user_1").unwrap(), Change::new())
        .await
        .unwrap();
    let app = MetadataHttp::new(service)
        .authenticator(sessions.clone())
        .router();

    // Valid: RS256 and ES256, by bearer and by cookie.
    for signer in [&rsa, &ec] {
        let token = sign(signer, &claims());
        for cookie in [false, true] {
            let (status, body) = me(&app, &token, cookie).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{:?} cookie={cookie}: {body}",
                signer.alg
            );
            assert_eq!(body["id"], "user_1");
            assert!(body.get("private_metadata").is_none());
        }
    }

    let with = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims();
        edit(&mut c);
        c
    };
    let none_token = {
        let header = B64.encode(br#"{"alg":"none","typ":"JWT","kid":"rsa_1"}"#);
        let body = B64.encode(claims().to_string());
        format!("{header}.{body}.")
    };
    let hs256_with_public_key = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa_1".into());
        encode(
            &header,
            &claims(),
            &EncodingKey::from_secret(&rsa_public_der),
        )
        .unwrap()
    };
    let refused: Vec<(&str, String, SessionError)> = vec![
        (
            "expired",
            sign(&rsa, &with(&|c| c["exp"] = json!(now() - 30))),
            SessionError::Expired,
        ),
        (
            "not yet valid",
            sign(&ec, &with(&|c| c["nbf"] = json!(now() + 60))),
            SessionError::NotYetValid,
        ),
        (
            "wrong issuer",
            sign(&rsa, &with(&|c| c["iss"] = json!("https://evil.test"))),
            SessionError::Issuer,
        ),
        (
            "wrong key",
            sign(&stranger, &claims()),
            SessionError::Signature,
        ),
        (
            "unknown kid",
            sign(&unlisted, &claims()),
            SessionError::UnknownKey,
        ),
        ("alg none", none_token, SessionError::Malformed),
        (
            "HS256 with the public key",
            hs256_with_public_key,
            SessionError::Algorithm,
        ),
        (
            "another origin",
            sign(&ec, &with(&|c| c["azp"] = json!("https://evil.test"))),
            SessionError::Party,
        ),
        (
            "no subject",
            sign(
                &ec,
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("sub");
                }),
            ),
            SessionError::Subject,
        ),
        ("garbage", "not.a.token".to_owned(), SessionError::Malformed),
    ];
    for (name, token, expected) in &refused {
        let err = sessions.verify(token).await.unwrap_err();
        assert_eq!(err.code(), expected.code(), "{name}: {err}");
        for cookie in [false, true] {
            let (status, body) = me(&app, token, cookie).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
            assert!(
                body["errors"][0]["code"].is_string(),
                "{name}: the envelope: {body}"
            );
        }
    }
    // No token at all.
    let response = app
        .clone()
        .oneshot(Request::get("/v1/me").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // A key the instance starts using is found by fetching the set again for its kid.
    let fetches = keys.fetches.load(Ordering::SeqCst);
    keys.keys.lock().unwrap().push(unlisted.jwk.clone());
    let (status, _) = me(&app, &sign(&unlisted, &claims()), false).await;
    assert_eq!(status, StatusCode::OK, "the rotated-in key verifies");
    assert_eq!(keys.fetches.load(Ordering::SeqCst), fetches + 1);
    // Known kids are served from the cache.
    for _ in 0..5 {
        assert_eq!(
            me(&app, &sign(&rsa, &claims()), false).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(keys.fetches.load(Ordering::SeqCst), fetches + 1);
}

/// Unknown kids fetch the key set at most once per refresh interval, so made-up kids cannot
/// turn every request into a fetch.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_kids_do_not_fetch_more_than_once_per_interval() {
    let ec = ec_signer("ec_1");
    let keys = serve_keys(vec![ec.jwk.clone()]).await;
    let sessions = SessionTokens::new(&keys.url, ISSUER)
        .unwrap()
        .refresh_interval(Duration::from_secs(3600));
    sessions.verify(&sign(&ec, &claims())).await.unwrap();
    for i in 0..20 {
        let made_up = ec_signer(&format!("made_up_{i}"));
        let err = sessions
            .verify(&sign(&made_up, &claims()))
            .await
            .unwrap_err();
        assert!(matches!(err, SessionError::UnknownKey), "{err}");
    }
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 1);
    // A key set that cannot be fetched is a typed error, not a panic.
    let nowhere = SessionTokens::new("http://127.0.0.1:9/jwks.json", ISSUER).unwrap();
    let err = nowhere.verify(&sign(&ec, &claims())).await.unwrap_err();
    assert!(matches!(err, SessionError::KeySet(_)), "{err}");
}

/// A key set that fails to fetch is not asked for again on every token until the interval
/// has passed.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_key_set_is_not_fetched_on_every_token() {
    let ec = ec_signer("ec_1");
    // Not a key set: the fetch fails.
    let keys = serve_keys(vec![json!("not a key")]).await;
    let sessions = SessionTokens::new(&keys.url, ISSUER)
        .unwrap()
        .refresh_interval(Duration::from_secs(3600));
    for _ in 0..10 {
        let err = sessions.verify(&sign(&ec, &claims())).await.unwrap_err();
        assert!(matches!(err, SessionError::KeySet(_)), "{err}");
    }
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 1);
}
