//! A server on a real socket (127.0.0.1:0) over a SQLite store, and a real HTTP client.

#![allow(dead_code)]

use metadata_core::{FrontendPrincipal, SignUpId, UserId};
use metadata_http::MetadataHttp;
use metadata_store::MetadataService;
use metadata_store_sqlite::SqliteStore;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const SECRET: &str = "sk_test_metadata_http";

/// The test's frontend sessions: `x-test-user` (with `x-test-email` as its verified address)
/// or `x-test-sign-up` name the principal. A real host verifies its own session cookie here.
fn authenticate(parts: &axum::http::request::Parts) -> Option<FrontendPrincipal> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(user) = header("x-test-user") {
        let mut p = FrontendPrincipal::user(UserId::new(user).ok()?);
        if let Some(email) = header("x-test-email") {
            p = p.with_verified_email(email);
        }
        return Some(p);
    }
    header("x-test-sign-up")
        .and_then(|s| SignUpId::new(s).ok())
        .map(FrontendPrincipal::sign_up)
}

pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub service: MetadataService,
}

/// Starts a server over a fresh SQLite file and returns its address.
pub async fn start() -> Server {
    start_with(|http| http).await
}

/// Starts a server configured by `configure`.
pub async fn start_with(configure: impl FnOnce(MetadataHttp) -> MetadataHttp) -> Server {
    start_over(|service| service, configure).await
}

/// Starts a server over a fresh SQLite file whose service `service` sets up, configured by
/// `configure`.
#[allow(dead_code)]
pub async fn start_over(
    service: impl FnOnce(MetadataService) -> MetadataService,
    configure: impl FnOnce(MetadataHttp) -> MetadataHttp,
) -> Server {
    static N: AtomicUsize = AtomicUsize::new(0);
    static DIR: std::sync::LazyLock<tempfile::TempDir> = std::sync::LazyLock::new(|| {
        tempfile::Builder::new()
            .prefix("metadata-http-")
            .tempdir()
            .unwrap()
    });
    let path = DIR
        .path()
        .join(format!("{}.db", N.fetch_add(1, Ordering::Relaxed)));
    let service = service(MetadataService::new(SqliteStore::open_file(path).unwrap()));
    let http = configure(
        MetadataHttp::new(service.clone())
            .secret_key(SECRET)
            .authenticator(authenticate),
    );
    let app = http.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        base,
        client: reqwest::Client::new(),
        service,
    }
}

/// What came back: status, headers and the body as JSON (`Null` if it is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The code of the first error in the envelope.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or("")
    }

    /// The `meta.param_name` of the first error.
    pub fn param(&self) -> &str {
        self.body["errors"][0]["meta"]["param_name"]
            .as_str()
            .unwrap_or("")
    }

    /// The `ETag` header.
    pub fn etag(&self) -> &str {
        self.headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the reply is the reference envelope with `status` and `code`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.code(), code, "{}", self.text);
        assert_eq!(
            self.headers.get("content-type").unwrap(),
            "application/json",
            "errors are JSON"
        );
        let error = &self.body["errors"][0];
        for field in ["message", "long_message"] {
            assert!(error[field].is_string(), "{field} in {}", self.text);
        }
        assert!(error["meta"].is_object(), "{}", self.text);
    }
}

/// A request builder with the usual headers.
pub struct Call<'a> {
    server: &'a Server,
    request: reqwest::RequestBuilder,
}

impl Server {
    /// A backend call with the secret key.
    pub fn backend(&self, method: Method, path: &str) -> Call<'_> {
        self.call(method, path)
            .header("authorization", &format!("Bearer {SECRET}"))
    }

    /// A call with no credentials.
    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            server: self,
            request: self.client.request(method, format!("{}{path}", self.base)),
        }
    }

    /// A frontend call for user `user`.
    pub fn as_user(&self, user: &str, method: Method, path: &str) -> Call<'_> {
        self.call(method, path).header("x-test-user", user)
    }
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.request = self
            .request
            .header("content-type", "application/json")
            .body(body.to_string());
        self
    }

    pub fn raw(mut self, content_type: &str, body: impl Into<reqwest::Body>) -> Self {
        self.request = self.request.header("content-type", content_type).body(body);
        self
    }

    pub async fn send(self) -> Reply {
        let _ = self.server;
        let response = self.request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }
}

/// Creates the user `id` with `body` over HTTP and answers the reply's JSON.
#[allow(dead_code)]
pub async fn create_user(s: &Server, id: &str, body: Value) -> Value {
    let mut body = body;
    body["id"] = serde_json::json!(id);
    let reply = s
        .backend(reqwest::Method::POST, "/v1/users")
        .json(body)
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}
