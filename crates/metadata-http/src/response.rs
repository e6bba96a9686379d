//! Record responses: the JSON body, `Content-Type: application/json` and `ETag: "<version>"`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// A JSON response (written straight into its body's bytes, not through `Display`).
pub(crate) fn json(status: StatusCode, body: Value) -> Response {
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| body.to_string().into_bytes());
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// One record, with its version as the entity tag.
pub(crate) fn record(body: Map<String, Value>) -> Response {
    let version = body.get("version").and_then(Value::as_u64);
    let mut response = json(StatusCode::OK, Value::Object(body));
    if let Some(v) = version {
        if let Ok(tag) = HeaderValue::from_str(&format!("\"{v}\"")) {
            response.headers_mut().insert(header::ETAG, tag);
        }
    }
    response
}

/// One record whose body is already written, with its version as the entity tag.
pub(crate) fn record_bytes(body: Vec<u8>, version: u64) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        headers.insert(header::ETAG, tag);
    }
    response
}

/// The reference product's answer to a delete.
pub(crate) fn deleted(id: &str, object: &str) -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({ "id": id, "object": object, "deleted": true }),
    )
}
