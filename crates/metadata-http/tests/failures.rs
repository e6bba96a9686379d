//! Storage failures and panics over a real socket: 503 for a retryable storage failure (with
//! `Retry-After`), 500 otherwise and for a panic, always in the envelope; and the host's hooks.

mod common;

use async_trait::async_trait;
use metadata_core::{ListQuery, Page, Record, RecordKey, Write};
use metadata_http::{Hooks, MetadataHttp};
use metadata_store::{MetadataService, MetadataStore, StoreError};
use reqwest::Method;
use serde_json::{json, Map, Value};

/// A store that fails every call: retryably, permanently, or by panicking.
#[derive(Debug)]
enum Broken {
    Retryable,
    Permanent,
    Panics,
}

impl Broken {
    fn fail(&self) -> StoreError {
        match self {
            Broken::Retryable => StoreError::backend("test", true, "connection lost"),
            Broken::Permanent => StoreError::backend("test", false, "disk gone"),
            Broken::Panics => panic!("the store panicked"),
        }
    }
}

#[async_trait]
impl MetadataStore for Broken {
    async fn get(&self, _: &RecordKey) -> Result<Option<Record>, StoreError> {
        Err(self.fail())
    }
    async fn commit(
        &self,
        _: &[Write],
        _: &metadata_core::feed::Stamp,
    ) -> Result<Vec<u64>, StoreError> {
        Err(self.fail())
    }
    async fn list(&self, _: &ListQuery) -> Result<Page<Record>, StoreError> {
        Err(self.fail())
    }
}

async fn serve(http: MetadataHttp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = http.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

async fn get(base: &str, path: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(common::SECRET)
        .send()
        .await
        .unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (
        status,
        headers,
        serde_json::from_str(&r.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_failures_are_503_or_500_in_the_envelope() {
    for (store, status, code) in [
        (Broken::Retryable, 503, "storage_error"),
        (Broken::Permanent, 500, "storage_error"),
        (Broken::Panics, 500, "internal_error"),
    ] {
        let http = MetadataHttp::new(MetadataService::new(store)).secret_key(common::SECRET);
        let base = serve(http).await;
        let (got, headers, body) = get(&base, "/v1/users/user_1").await;
        assert_eq!(got, status, "{body}");
        assert_eq!(body["errors"][0]["code"], code);
        assert!(
            !body.to_string().contains("disk gone")
                && !body.to_string().contains("connection lost"),
            "the storage's own message stays the host's"
        );
        assert_eq!(headers.contains_key("retry-after"), status == 503);
    }
}

/// A host filling the fields it owns; it cannot smuggle a private tier to the frontend.
struct Names;

#[async_trait]
impl Hooks for Names {
    async fn user(&self, user: &mut Map<String, Value>) {
        user.insert("first_name".into(), json!("Ada"));
        user.insert("private_metadata".into(), json!({"leak": true}));
    }
    async fn organization(&self, org: &mut Map<String, Value>) {
        org.insert("name".into(), json!("Acme"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hooks_fill_the_hosts_fields() {
    let s = common::start_with(|http| http.hooks(Names)).await;
    let created = s
        .backend(Method::POST, "/v1/users")
        .json(json!({"id": "user_1"}))
        .send()
        .await;
    assert_eq!(created.body["first_name"], "Ada");
    let me = s.as_user("user_1", Method::GET, "/v1/me").send().await;
    assert_eq!(me.body["first_name"], "Ada");
    assert!(
        me.body.get("private_metadata").is_none(),
        "R2.3 holds whatever a hook does"
    );
    let org = s
        .backend(Method::POST, "/v1/organizations")
        .json(json!({"id": "org_1", "public_metadata": {"x": 1}}))
        .send()
        .await;
    assert_eq!(org.body["name"], "Acme");
    let found = s
        .backend(Method::GET, "/v1/organizations?public_metadata.x=1")
        .send()
        .await;
    assert_eq!(found.body["data"][0]["name"], "Acme");
    let invitation = s
        .backend(Method::POST, "/v1/organizations/org_1/invitations")
        .json(json!({"email_address": "a@example.com", "public_metadata": {"team": "x"}}))
        .send()
        .await;
    assert_eq!(invitation.status, 200);
    let found = s
        .backend(
            Method::GET,
            "/v1/organization_invitations?public_metadata.team=x",
        )
        .send()
        .await;
    assert_eq!(found.body["data"][0]["email_address"], "a@example.com");
    assert_eq!(found.body["next_cursor"], Value::Null);
}
