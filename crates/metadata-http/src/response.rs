//! Record responses: the JSON body, `Content-Type: application/json` and `ETag: "<version>"`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// A response whose body is JSON text already written.
fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A JSON response (written straight into its body's bytes, not through `Display`).
pub(crate) fn json(status: StatusCode, body: Value) -> Response {
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| body.to_string().into_bytes());
    json_bytes(status, bytes)
}

/// One record, with its version as the entity tag.
pub(crate) fn record(body: Map<String, Value>) -> Response {
    let version = body.get("version").and_then(Value::as_u64);
    let bytes =
        serde_json::to_vec(&body).unwrap_or_else(|_| Value::Object(body).to_string().into_bytes());
    record_bytes(bytes, version)
}

/// One record whose body is already written, with its version (if any) as the entity tag.
pub(crate) fn record_bytes(body: Vec<u8>, version: Option<u64>) -> Response {
    let mut response = json_bytes(StatusCode::OK, body);
    if let Some(v) = version {
        if let Ok(tag) = HeaderValue::from_str(&format!("\"{v}\"")) {
            response.headers_mut().insert(header::ETAG, tag);
        }
    }
    response
}

/// A page of a lookup by metadata value: `{"data": [...], "next_cursor": ...}`.
pub(crate) fn found(data: Vec<Value>, next: Option<metadata_core::Cursor>) -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({ "data": data, "next_cursor": next }),
    )
}

/// Items already written as JSON, as an array: `[a,b]`, or `{"data": [a,b], "total_count": n}`
/// with a total.
pub(crate) fn items_bytes(items: Vec<Vec<u8>>, total: Option<u64>) -> Response {
    let mut out = Vec::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 40);
    if total.is_some() {
        out.extend_from_slice(b"{\"data\":");
    }
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
    if let Some(total) = total {
        out.extend_from_slice(format!(",\"total_count\":{total}}}").as_bytes());
    }
    json_bytes(StatusCode::OK, out)
}

/// A listing as the reference product answers it: `{"data": [...], "total_count": n}`.
pub(crate) fn counted(data: Vec<Value>, total: u64) -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({ "data": data, "total_count": total }),
    )
}

/// The reference product's answer to a delete.
pub(crate) fn deleted(id: &str, object: &str) -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({ "id": id, "object": object, "deleted": true }),
    )
}
