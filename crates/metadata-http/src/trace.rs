//! Request ids and a trace span per request.
//!
//! Every response carries `x-request-id`: the caller's, when it sent one, or a new UUID. Each
//! request runs in a `DEBUG` span `http` with its method, its route's template (`/v1/users/{user_id}`,
//! never the query string, which can hold a lookup's metadata value) and its request id; the
//! facade's operation spans nest inside it. A response is a `DEBUG` event with its status and
//! latency, a 5xx an `ERROR` event.

use axum::extract::MatchedPath;
use axum::http::{HeaderName, Request};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// The request id header.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `router` with request ids and a trace span per request.
pub(crate) fn layers(router: Router) -> Router {
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(span))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// The request's span: method, route template and request id, and nothing from the query or
/// the body.
fn span<B>(request: &Request<B>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::debug_span!(
        "http",
        method = %request.method(),
        route,
        request_id,
    )
}
