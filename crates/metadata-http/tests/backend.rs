//! Every backend route over a real socket, with every status and error body it gives.

mod common;

use common::{create_user, start, Server};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_carries_a_request_id_given_or_made() {
    let s = start().await;
    let given = s
        .backend(Method::GET, "/v1/users")
        .header("x-request-id", "caller-chose-this")
        .send()
        .await;
    assert_eq!(given.headers["x-request-id"], "caller-chose-this");
    let ids: Vec<String> = futures_ids(&s).await;
    assert!(ids.iter().all(|id| !id.is_empty()));
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "made ids are unique: {ids:?}");
    // Errors and unknown routes carry one too.
    let missing = s.backend(Method::GET, "/v1/users/nobody").send().await;
    assert!(missing.headers.contains_key("x-request-id"));
    let nowhere = s.call(Method::GET, "/nowhere").send().await;
    assert!(nowhere.headers.contains_key("x-request-id"));
}

async fn futures_ids(s: &Server) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..20 {
        let reply = s.call(Method::GET, "/v1/users").send().await;
        ids.push(reply.headers["x-request-id"].to_str().unwrap().to_owned());
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_key_is_required() {
    let s = start().await;
    s.call(Method::GET, "/v1/users")
        .send()
        .await
        .assert_error(401, "authentication_invalid");
    s.call(Method::GET, "/v1/users")
        .header("authorization", "Bearer sk_wrong")
        .send()
        .await
        .assert_error(401, "authentication_invalid");
    s.call(Method::GET, "/v1/users")
        .header("authorization", "sk_test_metadata_http")
        .send()
        .await
        .assert_error(401, "authentication_invalid");
    assert_eq!(s.backend(Method::GET, "/v1/users").send().await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn users_are_created_read_updated_merged_replaced_and_deleted() {
    let s = start().await;
    let created = create_user(
        &s,
        "user_1",
        json!({"public_metadata": {"role": "admin", "nested": {"a": 1, "b": 2}}, "private_metadata": {"k": 1}, "first_name": "ignored"}),
    )
    .await;
    assert_eq!(created["object"], "user");
    assert_eq!(created["public_metadata"]["role"], "admin");
    assert_eq!(created["unsafe_metadata"], json!({}), "R1.2");
    // The fields the reference SDKs read are there, empty.
    for field in [
        "email_addresses",
        "phone_numbers",
        "web3_wallets",
        "external_accounts",
        "passkeys",
    ] {
        assert_eq!(created[field], json!([]), "{field}");
    }
    let read = s.backend(Method::GET, "/v1/users/user_1").send().await;
    assert_eq!(read.status, 200);
    assert_eq!(read.etag(), "\"1\"");
    assert_eq!(read.body, created);

    // PATCH /v1/users/{id}: the tiers given are replaced.
    let updated = s
        .backend(Method::PATCH, "/v1/users/user_1")
        .json(json!({"unsafe_metadata": {"theme": "dark"}}))
        .send()
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.etag(), "\"2\"");
    assert_eq!(updated.body["unsafe_metadata"], json!({"theme": "dark"}));
    assert_eq!(updated.body["public_metadata"], created["public_metadata"]);

    // PATCH .../metadata: a deep merge, null deletes (R3.2).
    let merged = s
        .backend(Method::PATCH, "/v1/users/user_1/metadata")
        .json(json!({"public_metadata": {"nested": {"a": null, "c": 3}}}))
        .send()
        .await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    assert_eq!(
        merged.body["public_metadata"],
        json!({"role": "admin", "nested": {"b": 2, "c": 3}})
    );

    // PUT .../metadata: the tier is replaced whole (R3.1); tiers not given stay.
    let replaced = s
        .backend(Method::PUT, "/v1/users/user_1/metadata")
        .json(json!({"public_metadata": {"only": true}}))
        .send()
        .await;
    assert_eq!(replaced.body["public_metadata"], json!({"only": true}));
    assert_eq!(replaced.body["private_metadata"], json!({"k": 1}));
    assert_eq!(replaced.etag(), "\"4\"");

    let deleted = s.backend(Method::DELETE, "/v1/users/user_1").send().await;
    assert_eq!(
        deleted.body,
        json!({"id": "user_1", "object": "user", "deleted": true})
    );
    s.backend(Method::GET, "/v1/users/user_1")
        .send()
        .await
        .assert_error(404, "resource_not_found");
    s.backend(Method::DELETE, "/v1/users/user_1")
        .send()
        .await
        .assert_error(404, "resource_not_found");
    // A create without an id gets one.
    let generated = s
        .backend(Method::POST, "/v1/users")
        .json(json!({}))
        .send()
        .await;
    assert!(generated.body["id"].as_str().unwrap().starts_with("user_"));
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_count_and_lookups_by_metadata_value() {
    let s = start().await;
    for i in 0..7 {
        let role = if i % 2 == 0 { "admin" } else { "member" };
        create_user(
            &s,
            &format!("user_{i}"),
            json!({"public_metadata": {"role": role, "n": i, "code": i.to_string()}}),
        )
        .await;
    }
    // Newest first by default, as the reference product lists (R7.5); the users were created
    // in id order, and equal times fall back to the id in the same direction.
    let ids = |page: &serde_json::Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = s
        .backend(Method::GET, "/v1/users?limit=3&offset=2")
        .send()
        .await;
    assert_eq!(ids(&all.body), ["user_4", "user_3", "user_2"]);
    for (order, expected) in [
        ("%2Bid", ["user_2", "user_3", "user_4"]),
        ("id", ["user_2", "user_3", "user_4"]),
        ("-id", ["user_4", "user_3", "user_2"]),
        ("created_at", ["user_2", "user_3", "user_4"]),
        ("-updated_at", ["user_4", "user_3", "user_2"]),
    ] {
        let page = s
            .backend(
                Method::GET,
                &format!("/v1/users?limit=3&offset=2&order_by={order}"),
            )
            .send()
            .await;
        assert_eq!(ids(&page.body), expected, "{order}");
    }
    s.backend(Method::GET, "/v1/users?order_by=email_address")
        .send()
        .await
        .assert_error(422, "form_param_value_invalid");
    let past_the_end = s.backend(Method::GET, "/v1/users?offset=7").send().await;
    assert_eq!(past_the_end.body, json!([]));
    let count = s.backend(Method::GET, "/v1/users/count").send().await;
    assert_eq!(
        count.body,
        json!({"object": "total_count", "total_count": 7})
    );

    // Beyond the reference product: find by a metadata value (R7.2), a cursor at a time.
    let mut found = Vec::new();
    let mut path = "/v1/users?public_metadata.role=admin&limit=2".to_owned();
    loop {
        let page = s.backend(Method::GET, &path).send().await;
        assert_eq!(page.status, 200, "{}", page.text);
        for u in page.body["data"].as_array().unwrap() {
            found.push(u["id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/users?public_metadata.role=admin&limit=2&after={c}"),
            None => break,
        }
    }
    assert_eq!(found, ["user_0", "user_2", "user_4", "user_6"]);
    // Typed values: a number, and a quoted string that looks like one (R7.3).
    let by_number = s
        .backend(Method::GET, "/v1/users?public_metadata.n=3")
        .send()
        .await;
    assert_eq!(by_number.body["data"][0]["id"], "user_3");
    let by_string = s
        .backend(Method::GET, "/v1/users?public_metadata.code=%223%22")
        .send()
        .await;
    assert_eq!(by_string.body["data"][0]["id"], "user_3");
    let none = s
        .backend(Method::GET, "/v1/users?public_metadata.code=3")
        .send()
        .await;
    assert_eq!(none.body["data"], json!([]));
    s.backend(Method::GET, "/v1/users?public_metadata.a..b=1")
        .send()
        .await
        .assert_error(422, "form_param_value_invalid");
    s.backend(Method::GET, "/v1/users?limit=x")
        .send()
        .await
        .assert_error(422, "form_param_value_invalid");
}

/// R7.4 over HTTP: `tier.path[operator]=value`, several combined with AND, on lists and counts.
#[tokio::test(flavor = "multi_thread")]
async fn r7_4_conditions_in_the_query_string() {
    let s = start().await;
    for i in 0..8 {
        let plan = ["free", "pro", "team"][i % 3];
        let mut public = json!({"age": 20 + i * 5, "plan": plan});
        if i % 2 == 0 {
            public["stripe_id"] = json!(format!("cus_{i}"));
        }
        if i == 7 {
            public["age"] = json!(49.5);
        }
        create_user(
            &s,
            &format!("user_{i}"),
            json!({ "public_metadata": public }),
        )
        .await;
    }
    let found = |query: &'static str| {
        let s = &s;
        async move {
            let reply = s
                .backend(Method::GET, &format!("/v1/users?{query}"))
                .send()
                .await;
            assert_eq!(reply.status, 200, "{query}: {}", reply.text);
            let mut ids: Vec<String> = reply.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    // ages 20 25 30 35 40 45 50 49.5; plans free pro team free pro team free pro.
    assert_eq!(
        found("public_metadata.age[gte]=30&public_metadata.age[lt]=45").await,
        ["user_2", "user_3", "user_4"]
    );
    assert_eq!(
        found("public_metadata.age[gt]=49").await,
        ["user_6", "user_7"]
    );
    assert_eq!(
        found("public_metadata.age[lte]=49.5&public_metadata.age[gt]=45").await,
        ["user_7"]
    );
    assert_eq!(
        found("public_metadata.plan[in]=pro,team&public_metadata.age[lt]=35").await,
        ["user_1", "user_2"]
    );
    assert_eq!(
        found("public_metadata.stripe_id[exists]=true").await,
        ["user_0", "user_2", "user_4", "user_6"]
    );
    assert_eq!(
        found("public_metadata.stripe_id[exists]=false&public_metadata.plan=pro").await,
        ["user_1", "user_7"]
    );
    assert_eq!(
        found("public_metadata.stripe_id[prefix]=cus_").await.len(),
        4
    );
    assert_eq!(
        found("public_metadata.plan[prefix]=t").await,
        ["user_2", "user_5"]
    );
    let count = s
        .backend(
            Method::GET,
            "/v1/users/count?public_metadata.plan[in]=%5B%22pro%22%5D",
        )
        .send()
        .await;
    assert_eq!(count.body["total_count"], 3);
    for (query, param) in [
        (
            "public_metadata.age[gte]=thirty",
            "public_metadata.age[gte]",
        ),
        ("public_metadata.age[about]=3", "public_metadata.age[about]"),
        (
            "public_metadata.age[exists]=maybe",
            "public_metadata.age[exists]",
        ),
        (
            "public_metadata.age[gte]=1&public_metadata.age[gt]=2",
            "query",
        ),
    ] {
        let reply = s
            .backend(Method::GET, &format!("/v1/users?{query}"))
            .send()
            .await;
        reply.assert_error(422, "form_param_value_invalid");
        assert_eq!(reply.param(), param, "{query}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bodies_get_the_envelope() {
    let s = start().await;
    create_user(&s, "user_1", json!({})).await;
    let patch = |body: reqwest::Body, ct: &'static str| {
        s.backend(Method::PATCH, "/v1/users/user_1/metadata")
            .raw(ct, body)
    };
    // Over the size limit (R4.3): 422 naming the tier.
    let big = json!({"public_metadata": {"k": "x".repeat(9000)}}).to_string();
    let reply = patch(big.into(), "application/json").send().await;
    reply.assert_error(422, "form_param_exceeds_allowed_size");
    assert_eq!(reply.param(), "public_metadata");
    assert!(reply.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("8192"));
    // A tier that is not an object (R3.4).
    let reply = patch(r#"{"private_metadata":[1]}"#.into(), "application/json")
        .send()
        .await;
    reply.assert_error(422, "form_param_value_invalid");
    assert_eq!(reply.param(), "private_metadata");
    // Malformed JSON, a body that is not an object, duplicate keys.
    patch(r#"{"public_metadata":"#.into(), "application/json")
        .send()
        .await
        .assert_error(422, "form_param_value_invalid");
    patch("[1]".into(), "application/json")
        .send()
        .await
        .assert_error(422, "form_param_value_invalid");
    patch(r#"{"a":1,"a":2}"#.into(), "application/json")
        .send()
        .await
        .assert_error(422, "form_param_value_invalid");
    // Not JSON at all: 415.
    patch(
        "public_metadata=1".into(),
        "application/x-www-form-urlencoded",
    )
    .send()
    .await
    .assert_error(415, "unsupported_content_type");
    // Over the body limit: 413, refused before parsing.
    let huge = format!(
        "{{\"public_metadata\":{{\"k\":\"{}\"}}}}",
        "x".repeat(300_000)
    );
    patch(huge.into(), "application/json")
        .send()
        .await
        .assert_error(413, "request_body_too_large");
    // Wrongly typed fields.
    s.backend(Method::POST, "/v1/users")
        .json(json!({"id": 5}))
        .send()
        .await
        .assert_error(422, "form_param_value_invalid");
    s.backend(Method::POST, "/v1/users")
        .json(json!({"id": "bad id!"}))
        .send()
        .await
        .assert_error(422, "form_param_value_invalid");
    // A create that collides: 409.
    s.backend(Method::POST, "/v1/users")
        .json(json!({"id": "user_1"}))
        .send()
        .await
        .assert_error(409, "resource_already_exists");
    // Routes and methods that are not served.
    s.backend(Method::GET, "/v1/nothing")
        .send()
        .await
        .assert_error(404, "resource_not_found");
    s.backend(Method::DELETE, "/v1/users/user_1/metadata")
        .send()
        .await
        .assert_error(405, "method_not_allowed");
    s.backend(Method::GET, "/v1/users/bad%20id")
        .send()
        .await
        .assert_error(404, "resource_not_found");
    // Nothing changed through all of it.
    let user = s.backend(Method::GET, "/v1/users/user_1").send().await;
    assert_eq!(user.etag(), "\"1\"");
}

#[tokio::test(flavor = "multi_thread")]
async fn if_match_states_the_expected_version() {
    let s = start().await;
    create_user(&s, "user_1", json!({})).await;
    let write = |tag: &str| {
        s.backend(Method::PATCH, "/v1/users/user_1/metadata")
            .header("if-match", tag)
            .json(json!({"public_metadata": {"a": 1}}))
    };
    let ok = write("\"1\"").send().await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.etag(), "\"2\"");
    write("\"1\"")
        .send()
        .await
        .assert_error(412, "precondition_failed");
    write("not-a-tag")
        .send()
        .await
        .assert_error(422, "form_param_value_invalid");
    assert_eq!(write("*").send().await.etag(), "\"3\"");
    assert_eq!(write("W/\"3\"").send().await.etag(), "\"4\"");
    // On organizations and memberships too.
    s.backend(Method::POST, "/v1/organizations")
        .json(json!({"id": "org_1"}))
        .send()
        .await;
    s.backend(Method::PUT, "/v1/organizations/org_1/metadata")
        .header("if-match", "\"7\"")
        .json(json!({"public_metadata": {}}))
        .send()
        .await
        .assert_error(412, "precondition_failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn organizations_memberships_and_invitations() {
    let s = start().await;
    create_user(&s, "user_1", json!({})).await;
    let org = s
        .backend(Method::POST, "/v1/organizations")
        .json(json!({"id": "org_1", "name": "Acme", "public_metadata": {"plan": "pro"}, "private_metadata": {"billing": 1}}))
        .send()
        .await;
    assert_eq!(org.status, 200, "{}", org.text);
    assert_eq!(org.body["object"], "organization");
    let merged = s
        .backend(Method::PATCH, "/v1/organizations/org_1/metadata")
        .json(json!({"public_metadata": {"seats": 5}}))
        .send()
        .await;
    assert_eq!(
        merged.body["public_metadata"],
        json!({"plan": "pro", "seats": 5})
    );
    let replaced = s
        .backend(Method::PUT, "/v1/organizations/org_1/metadata")
        .json(json!({"private_metadata": {}}))
        .send()
        .await;
    assert_eq!(replaced.body["private_metadata"], json!({}));
    assert_eq!(
        s.backend(Method::GET, "/v1/organizations/org_1")
            .send()
            .await
            .body,
        replaced.body
    );
    let listed = s
        .backend(Method::GET, "/v1/organizations?limit=5")
        .send()
        .await;
    assert_eq!(listed.body["total_count"], 1);

    // Memberships: created with metadata, listed, merged, deleted.
    let m = s
        .backend(Method::POST, "/v1/organizations/org_1/memberships")
        .json(
            json!({"user_id": "user_1", "role": "org:admin", "public_metadata": {"title": "cto"}}),
        )
        .send()
        .await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert_eq!(m.body["object"], "organization_membership");
    assert_eq!(m.body["organization"]["id"], "org_1");
    assert_eq!(m.body["public_user_data"]["user_id"], "user_1");
    s.backend(Method::POST, "/v1/organizations/org_1/memberships")
        .json(json!({"role": "org:admin"}))
        .send()
        .await
        .assert_error(422, "form_param_missing");
    s.backend(Method::POST, "/v1/organizations/org_1/memberships")
        .json(json!({"user_id": "user_nobody"}))
        .send()
        .await
        .assert_error(404, "resource_not_found");
    let list = s
        .backend(Method::GET, "/v1/organizations/org_1/memberships")
        .send()
        .await;
    assert_eq!(list.body["total_count"], 1);
    assert_eq!(
        list.body["data"][0]["public_metadata"],
        json!({"title": "cto"})
    );
    let merged = s
        .backend(
            Method::PATCH,
            "/v1/organizations/org_1/memberships/user_1/metadata",
        )
        .json(json!({"private_metadata": {"note": "x"}}))
        .send()
        .await;
    assert_eq!(merged.body["private_metadata"], json!({"note": "x"}));
    assert_eq!(merged.etag(), "\"2\"");
    let found = s
        .backend(
            Method::GET,
            "/v1/organization_memberships?public_metadata.title=cto",
        )
        .send()
        .await;
    assert_eq!(found.body["data"][0]["user_id"], "user_1");

    // Invitations: created, listed, revoked once.
    let inv = s
        .backend(Method::POST, "/v1/organizations/org_1/invitations")
        .json(json!({"email_address": "a@example.com", "role": "org:member", "public_metadata": {"team": "x"}}))
        .send()
        .await;
    assert_eq!(inv.status, 200, "{}", inv.text);
    assert_eq!(inv.body["status"], "pending");
    s.backend(Method::POST, "/v1/organizations/org_1/invitations")
        .json(json!({"public_metadata": {}}))
        .send()
        .await
        .assert_error(422, "form_param_missing");
    let id = inv.body["id"].as_str().unwrap();
    let list = s
        .backend(Method::GET, "/v1/organizations/org_1/invitations")
        .send()
        .await;
    assert_eq!(list.body["total_count"], 1);
    let revoke = format!("/v1/organizations/org_1/invitations/{id}/revoke");
    let revoked = s.backend(Method::POST, &revoke).send().await;
    assert_eq!(revoked.body["status"], "revoked");
    s.backend(Method::POST, &revoke)
        .send()
        .await
        .assert_error(409, "resource_frozen");
    s.backend(
        Method::POST,
        &format!("/v1/organizations/org_2/invitations/{id}/revoke"),
    )
    .send()
    .await
    .assert_error(404, "resource_not_found");

    let gone = s
        .backend(Method::DELETE, "/v1/organizations/org_1/memberships/user_1")
        .send()
        .await;
    assert_eq!(gone.body["object"], "organization_membership");
    s.backend(Method::DELETE, "/v1/organizations/org_1/memberships/user_1")
        .send()
        .await
        .assert_error(404, "resource_not_found");
    let deleted = s
        .backend(Method::DELETE, "/v1/organizations/org_1")
        .send()
        .await;
    assert_eq!(deleted.body["deleted"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_ups_are_read_by_the_backend() {
    let s = start().await;
    let created = s
        .call(Method::POST, "/v1/client/sign_ups")
        .header("x-test-sign-up", "sua_1")
        .json(json!({"unsafe_metadata": {"referrer": "ad"}}))
        .send()
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let read = s.backend(Method::GET, "/v1/sign_ups/sua_1").send().await;
    assert_eq!(read.body["unsafe_metadata"], json!({"referrer": "ad"}));
    assert_eq!(read.body["object"], "sign_up_attempt");
    let found = s
        .backend(Method::GET, "/v1/sign_ups?unsafe_metadata.referrer=ad")
        .send()
        .await;
    assert_eq!(found.body["data"][0]["id"], "sua_1");
    s.backend(Method::GET, "/v1/sign_ups")
        .send()
        .await
        .assert_error(422, "form_param_missing");
}
