//! One case of the HTTP fuzz target (`fuzz/fuzz_targets/http.rs`), also replayed over the
//! committed corpus by `tests/fuzz_corpus.rs`: an arbitrary request sent to the routers in
//! process (the router as a tower service over a fresh memory store, no socket).
//!
//! The input: byte 0 picks the method; bit 0 of byte 1 adds the valid secret key, bit 1 a
//! frontend principal (`x-test-user: user_1`), bit 2 a sign-up principal; the rest is text:
//! the first line is the path and query, the next lines up to an empty one are headers
//! (`name: value`), and what follows is the body.
//!
//! What must hold: no panic; no 5xx (the memory store never fails, so nothing may); every error
//! is the reference envelope; and without the secret key, no answer holds the marker the
//! fixture wrote only into private tiers.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use metadata_core::{
    Change, FrontendPrincipal, MembershipId, OrganizationId, SignUpId, Tier, UserId,
};
use metadata_http::MetadataHttp;
use metadata_store::MetadataService;
use metadata_store_memory::MemoryStore;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Written only into private tiers.
pub const MARKER: &str = "PRIVATE-7d1e";
const SECRET: &str = "sk_test_fuzz";

fn authenticate(parts: &axum::http::request::Parts) -> Option<FrontendPrincipal> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(user) = header("x-test-user") {
        return Some(FrontendPrincipal::user(UserId::new(user).ok()?));
    }
    header("x-test-sign-up")
        .and_then(|s| SignUpId::new(s).ok())
        .map(FrontendPrincipal::sign_up)
}

async fn fixture() -> axum::Router {
    let service = MetadataService::new(MemoryStore::new());
    let b = service.backend();
    let private = || {
        Change::new()
            .replace_json(Tier::Private, json!({ "secret": MARKER }))
            .unwrap()
            .replace_json(Tier::Public, json!({ "role": "admin" }))
            .unwrap()
    };
    let user = UserId::new("user_1").unwrap();
    let org = OrganizationId::new("org_1").unwrap();
    b.create_user(&user, private()).await.unwrap();
    b.create_user(&UserId::new("user_2").unwrap(), private())
        .await
        .unwrap();
    b.create_organization(&org, private()).await.unwrap();
    b.create_membership(
        &MembershipId::new("orgmem_1").unwrap(),
        &org,
        &user,
        private(),
    )
    .await
    .unwrap();
    b.create_sign_up(&SignUpId::new("sua_1").unwrap(), Change::new())
        .await
        .unwrap();
    MetadataHttp::new(service)
        .secret_key(SECRET)
        .authenticator(authenticate)
        .router()
}

fn request(data: &[u8]) -> Option<(Request<Body>, bool)> {
    let (&method, rest) = data.split_first()?;
    let (&flags, rest) = rest.split_first()?;
    let method = match method % 8 {
        0 => Method::GET,
        1 => Method::POST,
        2 => Method::PATCH,
        3 => Method::PUT,
        4 => Method::DELETE,
        5 => Method::HEAD,
        6 => Method::OPTIONS,
        _ => Method::from_bytes(b"PURGE").ok()?,
    };
    let text = String::from_utf8_lossy(rest);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let mut path = lines.next().unwrap_or("/").to_owned();
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let mut builder = Request::builder().method(method.clone()).uri(path.as_str());
    let keyed = flags & 1 == 1;
    if keyed {
        builder = builder.header("authorization", format!("Bearer {SECRET}"));
    }
    if flags & 2 == 2 {
        builder = builder.header("x-test-user", "user_1");
    }
    if flags & 4 == 4 {
        builder = builder.header("x-test-sign-up", "sua_1");
    }
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            ) {
                // A caller's own authorization header counts as holding the key only if it is
                // the key.
                builder = builder.header(name, value);
            }
        }
    }
    let request = builder.body(Body::from(body.to_owned())).ok()?;
    let keyed = keyed
        || request.headers().get_all("authorization").iter().any(|v| {
            v.as_bytes()
                .windows(SECRET.len())
                .any(|w| w == SECRET.as_bytes())
        });
    Some((request, keyed))
}

/// Runs one case; panics if anything that must hold does not.
pub fn run(data: &[u8]) {
    let Some((request, keyed)) = request(data) else {
        return;
    };
    let is_head = request.method() == Method::HEAD;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let (status, content_type, body) = runtime.block_on(async {
        let router = fixture().await;
        let response = router
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.as_bytes().to_vec());
        let body = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .expect("the body is read");
        (status, content_type, body)
    });
    assert!(
        status < 500,
        "a 5xx from the memory store: {status} {body:?}"
    );
    if status >= 400 && !is_head {
        assert_eq!(
            content_type.as_deref(),
            Some(&b"application/json"[..]),
            "{status}"
        );
        let envelope: Value = serde_json::from_slice(&body).expect("errors are JSON");
        let error = &envelope["errors"][0];
        assert!(error["code"].is_string(), "{envelope}");
        assert!(error["message"].is_string(), "{envelope}");
        assert!(error["long_message"].is_string(), "{envelope}");
        assert!(error["meta"].is_object(), "{envelope}");
    }
    let asked_for_it = data.windows(MARKER.len()).any(|w| w == MARKER.as_bytes());
    if !keyed && !asked_for_it {
        assert!(
            !body.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
            "a private tier reached an answer without the key: {status} {body:?}"
        );
    }
}
