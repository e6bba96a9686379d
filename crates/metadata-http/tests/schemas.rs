//! R13.1 over HTTP: a value that does not match its schema is a 422 whose envelope names the
//! tier and the JSON pointer, on the backend and the frontend routes.

mod common;

use common::*;
use metadata_core::{ResourceKind, Schemas, Tier};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn r13_1_a_mismatch_is_a_422_naming_the_tier_and_pointer() {
    let mut schemas = Schemas::new();
    schemas
        .declare(
            ResourceKind::User,
            Tier::Public,
            &json!({"properties": {"plan": {"enum": ["free", "pro"]}, "age": {"type": "integer"}}}),
        )
        .unwrap();
    schemas
        .declare(
            ResourceKind::User,
            Tier::Unsafe,
            &json!({"properties": {"prefs": {"properties": {"theme": {"type": "string"}}}}}),
        )
        .unwrap();
    let s = start_over(move |service| service.with_schemas(schemas), |http| http).await;
    let created = s
        .backend(Method::POST, "/v1/users")
        .json(json!({"id": "user_1", "public_metadata": {"plan": "pro"}}))
        .send()
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    for (method, path, body, tier, pointer) in [
        (
            Method::PATCH,
            "/v1/users/user_1/metadata",
            json!({"public_metadata": {"age": "23"}}),
            "public_metadata",
            "/age",
        ),
        (
            Method::PUT,
            "/v1/users/user_1/metadata",
            json!({"public_metadata": {"plan": "gold"}}),
            "public_metadata",
            "/plan",
        ),
        (
            Method::POST,
            "/v1/users",
            json!({"id": "user_2", "public_metadata": {"age": 1.5}}),
            "public_metadata",
            "/age",
        ),
    ] {
        let reply = s.backend(method, path).json(body).send().await;
        reply.assert_error(422, "form_param_value_invalid");
        assert_eq!(reply.param(), tier);
        assert_eq!(
            reply.body["errors"][0]["meta"]["pointer"], pointer,
            "{}",
            reply.text
        );
        assert!(
            !reply.text.contains("gold"),
            "the value is not echoed: {}",
            reply.text
        );
    }
    let reply = s
        .as_user("user_1", Method::PATCH, "/v1/me/metadata")
        .json(json!({"unsafe_metadata": {"prefs": {"theme": 7}}}))
        .send()
        .await;
    reply.assert_error(422, "form_param_value_invalid");
    assert_eq!(reply.param(), "unsafe_metadata");
    assert_eq!(reply.body["errors"][0]["meta"]["pointer"], "/prefs/theme");
    let user = s.backend(Method::GET, "/v1/users/user_1").send().await;
    assert_eq!(user.body["public_metadata"], json!({"plan": "pro"}));
}
