//! The frontend routes over a real socket: the access matrix through HTTP (contract §2).

mod common;

use common::{start, Server};
use reqwest::Method;
use serde_json::json;

/// Two users, each a member of their own organization, with every tier set.
async fn two_users(s: &Server) {
    let b = |m, p: &str| s.backend(m, p);
    for (user, org) in [("user_a", "org_a"), ("user_b", "org_b")] {
        let r = b(Method::POST, "/v1/users")
            .json(json!({"id": user, "public_metadata": {"p": 1}, "private_metadata": {"secret": "s"}, "unsafe_metadata": {"u": 1}}))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        b(Method::POST, "/v1/organizations")
            .json(json!({"id": org, "public_metadata": {"plan": "pro"}, "private_metadata": {"secret": "s"}}))
            .send()
            .await;
        let r = b(Method::POST, &format!("/v1/organizations/{org}/memberships"))
            .json(json!({"user_id": user, "public_metadata": {"title": "x"}, "private_metadata": {"secret": "s"}}))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_principal_is_401() {
    let s = start().await;
    s.call(Method::GET, "/v1/me")
        .send()
        .await
        .assert_error(401, "authentication_invalid");
    // A backend key does not make a frontend principal.
    s.backend(Method::GET, "/v1/me")
        .send()
        .await
        .assert_error(401, "authentication_invalid");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_frontend_never_receives_a_private_tier() {
    let s = start().await;
    two_users(&s).await;
    let me = s.as_user("user_a", Method::GET, "/v1/me").send().await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["public_metadata"], json!({"p": 1}));
    assert_eq!(me.body["unsafe_metadata"], json!({"u": 1}));
    assert!(
        me.body.get("private_metadata").is_none(),
        "R2.3: {}",
        me.text
    );
    assert!(!me.text.contains("secret"));
    assert_eq!(me.etag(), "\"1\"");
    let memberships = s
        .as_user("user_a", Method::GET, "/v1/me/organization_memberships")
        .send()
        .await;
    assert_eq!(memberships.body["total_count"], 1, "{}", memberships.text);
    let m = &memberships.body["data"][0];
    assert_eq!(m["organization"]["id"], "org_a");
    assert_eq!(m["organization"]["public_metadata"], json!({"plan": "pro"}));
    assert_eq!(m["public_metadata"], json!({"title": "x"}));
    assert!(
        !memberships.text.contains("secret"),
        "R2.3: {}",
        memberships.text
    );
    assert!(
        !memberships.text.contains("org_b"),
        "R2.2: only the user's own"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_frontend_writes_only_its_own_unsafe_tier() {
    let s = start().await;
    two_users(&s).await;
    let replaced = s
        .as_user("user_a", Method::PATCH, "/v1/me")
        .json(json!({"unsafe_metadata": {"theme": "dark"}}))
        .send()
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.body["unsafe_metadata"], json!({"theme": "dark"}));
    assert!(replaced.body.get("private_metadata").is_none());
    let merged = s
        .as_user("user_a", Method::PATCH, "/v1/me/metadata")
        .header("if-match", "\"2\"")
        .json(json!({"unsafe_metadata": {"lang": "en"}}))
        .send()
        .await;
    assert_eq!(
        merged.body["unsafe_metadata"],
        json!({"theme": "dark", "lang": "en"})
    );
    s.as_user("user_a", Method::PATCH, "/v1/me/metadata")
        .header("if-match", "\"2\"")
        .json(json!({"unsafe_metadata": {"lang": "fr"}}))
        .send()
        .await
        .assert_error(412, "precondition_failed");
    // Public and private tiers are refused, whole (R2.3, R2.4, R3.3).
    for tier in ["public_metadata", "private_metadata"] {
        let refused = s
            .as_user("user_a", Method::PATCH, "/v1/me")
            .json(json!({tier: {"x": 1}, "unsafe_metadata": {"y": 2}}))
            .send()
            .await;
        refused.assert_error(403, "metadata_access_denied");
        assert_eq!(refused.param(), tier);
    }
    let backend = s.backend(Method::GET, "/v1/users/user_a").send().await;
    assert_eq!(backend.body["public_metadata"], json!({"p": 1}));
    assert_eq!(backend.body["private_metadata"], json!({"secret": "s"}));
    assert_eq!(
        backend.body["unsafe_metadata"],
        json!({"theme": "dark", "lang": "en"})
    );
    // A user that does not exist is not found, as anything hidden is.
    s.as_user("user_nobody", Method::GET, "/v1/me")
        .send()
        .await
        .assert_error(404, "resource_not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_ups_from_the_frontend() {
    let s = start().await;
    let as_sign_up = |id: &'static str, m, p: &str| s.call(m, p).header("x-test-sign-up", id);
    let created = as_sign_up("sua_1", Method::POST, "/v1/client/sign_ups")
        .json(json!({"unsafe_metadata": {"referrer": "ad"}}))
        .send()
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    as_sign_up("sua_2", Method::POST, "/v1/client/sign_ups")
        .json(json!({"public_metadata": {"x": 1}}))
        .send()
        .await
        .assert_error(422, "unsupported_metadata_tier");
    let updated = as_sign_up("sua_1", Method::PATCH, "/v1/client/sign_ups/sua_1")
        .json(json!({"unsafe_metadata": {"step": 2}}))
        .send()
        .await;
    assert_eq!(updated.body["unsafe_metadata"], json!({"step": 2}));
    assert_eq!(updated.etag(), "\"2\"");
    // Another sign-up's record is not found (R2.2).
    as_sign_up("sua_2", Method::GET, "/v1/client/sign_ups/sua_1")
        .send()
        .await
        .assert_error(404, "resource_not_found");
    as_sign_up("sua_2", Method::PATCH, "/v1/client/sign_ups/sua_1")
        .json(json!({"unsafe_metadata": {}}))
        .send()
        .await
        .assert_error(404, "resource_not_found");
    s.as_user("user_a", Method::GET, "/v1/client/sign_ups/sua_1")
        .send()
        .await
        .assert_error(404, "resource_not_found");
    let read = as_sign_up("sua_1", Method::GET, "/v1/client/sign_ups/sua_1")
        .send()
        .await;
    assert_eq!(read.body["unsafe_metadata"], json!({"step": 2}));
}
