//! R14.1 over HTTP: `POST /v1/bulk_changes`.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn r14_1_bulk_changes_over_http() {
    let s = start().await;
    for i in 0..12 {
        let plan = if i % 3 == 0 { "free" } else { "team" };
        create_user(
            &s,
            &format!("user_{i:02}"),
            json!({"public_metadata": {"plan": plan, "age": 20 + i}}),
        )
        .await;
    }
    let bulk = |body: serde_json::Value| s.backend(Method::POST, "/v1/bulk_changes").json(body);
    let dry = bulk(json!({
        "object": "user",
        "where": {"public_metadata.plan": "free", "public_metadata.age[gte]": 23},
        "public_metadata": {"plan": "pro"},
        "dry_run": true
    }))
    .send()
    .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(
        (dry.body["changed"].clone(), dry.body["dry_run"].clone()),
        (json!(3), json!(true))
    );
    let run = bulk(json!({
        "object": "user",
        "where": {"public_metadata.plan": "free", "public_metadata.age[gte]": 23},
        "mode": "merge",
        "public_metadata": {"plan": "pro"},
        "operation_id": "to_pro",
        "page_size": 2
    }))
    .send()
    .await;
    assert_eq!(run.body["object"], "bulk_change");
    assert_eq!(run.body["operation_id"], "to_pro");
    assert_eq!(
        (run.body["examined"].clone(), run.body["changed"].clone()),
        (json!(3), json!(3))
    );
    assert_eq!(run.body["complete"], true);
    let pro = s
        .backend(Method::GET, "/v1/users/count?public_metadata.plan=pro")
        .send()
        .await;
    assert_eq!(pro.body["total_count"], 3);
    let removed = bulk(json!({"object": "user", "mode": "remove", "public_metadata": ["age"]}))
        .send()
        .await;
    assert_eq!(removed.body["changed"], 12, "{}", removed.text);
    let again = bulk(json!({"object": "user", "mode": "remove", "public_metadata": ["age"]}))
        .send()
        .await;
    assert_eq!(
        (
            again.body["changed"].clone(),
            again.body["unchanged"].clone()
        ),
        (json!(0), json!(12))
    );
    for (body, param) in [
        (json!({"object": "robot", "public_metadata": {}}), "object"),
        (
            json!({"object": "user", "mode": "swap", "public_metadata": {}}),
            "mode",
        ),
        (
            json!({"object": "user", "public_metadata": {}, "limit": 3}),
            "limit",
        ),
        (
            json!({"object": "user", "mode": "remove", "public_metadata": "age"}),
            "public_metadata",
        ),
        (
            json!({"object": "user", "where": {"public_metadata.age[gte]": "x"}, "public_metadata": {}}),
            "public_metadata.age[gte]",
        ),
    ] {
        let reply = bulk(body.clone()).send().await;
        reply.assert_error(422, "form_param_value_invalid");
        assert_eq!(reply.param(), param, "{body}");
    }
    let huge = json!({"object": "user", "public_metadata": {"pad": "x".repeat(1_000_000)}});
    bulk(huge)
        .send()
        .await
        .assert_error(413, "request_body_too_large");
    s.backend(Method::POST, "/v1/bulk_changes")
        .raw("text/plain", "{}")
        .send()
        .await
        .assert_error(415, "unsupported_content_type");
    let empty = bulk(json!({"object": "user"})).send().await;
    empty.assert_error(422, "form_param_missing");
    s.call(Method::POST, "/v1/bulk_changes")
        .json(json!({"object": "user", "public_metadata": {}}))
        .send()
        .await
        .assert_error(401, "authentication_invalid");
}
