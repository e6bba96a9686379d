//! The reference product's metadata endpoints (Backend API version 2026-05-12, and the calls its
//! frontend makes) over any [`MetadataService`], as axum [`Router`]s a host mounts in its own
//! app: its official SDKs and a browser can then reach the backend and frontend surfaces.
//!
//! - **Backend routes** (`/v1/users`, `/v1/organizations`, memberships, invitations, sign-ups)
//!   need `Authorization: Bearer <secret key>`, compared in constant time with the keys the host
//!   configures. Beyond the reference product, `GET /v1/users?public_metadata.role=admin` (and
//!   the other tiers and kinds) finds records by a metadata value (R7.2), a cursor at a time.
//! - **Frontend routes** (`/v1/me`, `/v1/client/sign_ups`) act for the principal the host's
//!   [`Authenticator`] names; they never answer with a private tier, and anything the
//!   principal may not see is 404 (contract §2).
//! - Responses are the records' wire JSON plus the fields the reference SDKs read that the
//!   library does not own (empty, filled by the host's [`Hooks`]); errors are the reference
//!   envelope `{"errors":[{"code","message","long_message","meta":{"param_name"}}]}`, axum's own
//!   rejections included. Every record response carries `ETag: "<version>"`, and a write with
//!   `If-Match` states the version it expects (412 when the record has moved on).
//!
//! ```
//! use metadata_http::MetadataHttp;
//! use metadata_store::MetadataService;
//! use metadata_store_sqlite::SqliteStore;
//!
//! let service = MetadataService::new(SqliteStore::open_in_memory().unwrap());
//! let app: axum::Router = MetadataHttp::new(service)
//!     .secret_key("sk_test_example")
//!     .authenticator(|_: &axum::http::request::Parts| None) // the host's session check
//!     .router();
//! // axum::serve(listener, app).await
//! # let _ = app;
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod backend;
mod error;
mod extract;
mod frontend;
mod ids;
mod paging;
mod request;
mod response;
mod shapes;
mod trace;

pub use auth::Authenticator;
pub use error::{http_codes, ApiError};
pub use shapes::{Hooks, NoHooks};

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::Router;
use metadata_store::MetadataService;
use std::sync::Arc;

/// `record` as the backend routes answer it, for what carries records elsewhere in the same
/// shape (webhook payloads, exports): its wire JSON with the fields the reference SDKs read,
/// filled by `hooks`. A membership carries its organization, read through `service` (only its id
/// and object when it is gone).
pub async fn record_shape(
    service: &MetadataService,
    hooks: &dyn Hooks,
    record: &metadata_core::Record,
) -> serde_json::Map<String, serde_json::Value> {
    let organization = match record {
        metadata_core::Record::Membership(m) => service
            .backend()
            .get_organization(&m.organization_id)
            .await
            .ok(),
        _ => None,
    };
    shapes::any(hooks, record, organization.as_ref()).await
}

/// What every handler shares: one reference count to move per request, however many parts
/// the configuration has.
#[derive(Clone)]
pub(crate) struct Shared(Arc<Config>);

impl std::ops::Deref for Shared {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.0
    }
}

/// The configuration the handlers read.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) service: MetadataService,
    pub(crate) hooks: Arc<dyn Hooks>,
    /// No hooks were set: users and organizations are answered from their text (see
    /// `shapes::plain`).
    pub(crate) plain: bool,
    pub(crate) keys: Arc<Vec<Vec<u8>>>,
    /// The id of each key, in the same order: what events name, never the key (R14.2).
    pub(crate) key_ids: Arc<Vec<String>>,
    pub(crate) authenticator: Option<Arc<dyn Authenticator>>,
}

/// The HTTP surface of a [`MetadataService`]: configure it, then take its routers.
#[derive(Clone)]
pub struct MetadataHttp {
    shared: Config,
    body_limit: usize,
}

impl std::fmt::Debug for MetadataHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataHttp")
            .field("secret_keys", &self.shared.keys.len())
            .field("authenticator", &self.shared.authenticator.is_some())
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

impl MetadataHttp {
    /// Serves `service`. Until a secret key is added every backend call is 401, and until an
    /// authenticator is set every frontend call is 401.
    pub fn new(service: MetadataService) -> Self {
        let body_limit = metadata_core::RequestBody::max_len(service.limits());
        MetadataHttp {
            shared: Config {
                service,
                hooks: Arc::new(NoHooks),
                plain: true,
                keys: Arc::new(Vec::new()),
                key_ids: Arc::new(Vec::new()),
                authenticator: None,
            },
            body_limit,
        }
    }

    /// Accepts `key` as a backend secret key (`Authorization: Bearer <key>`); several may be
    /// accepted at once, to rotate them. Writes made with it name the key by its place among
    /// the keys, `key_1` for the first (see [`MetadataHttp::secret_key_with_id`]).
    pub fn secret_key(self, key: impl Into<String>) -> Self {
        let id = format!("key_{}", self.shared.keys.len() + 1);
        self.secret_key_with_id(id, key)
    }

    /// Accepts `key` as a backend secret key whose writes' events name it `id` (R14.2): the
    /// key itself is never written anywhere.
    pub fn secret_key_with_id(mut self, id: impl Into<String>, key: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.shared.keys).push(key.into().into_bytes());
        Arc::make_mut(&mut self.shared.key_ids).push(id.into());
        self
    }

    /// Decides who the frontend routes act for.
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.shared.authenticator = Some(Arc::new(authenticator));
        self
    }

    /// Fills the response fields the host owns.
    pub fn hooks(mut self, hooks: impl Hooks) -> Self {
        self.shared.hooks = Arc::new(hooks);
        self.shared.plain = false;
        self
    }

    /// The largest request body accepted, in bytes; a larger one is 413, refused before it is
    /// parsed. By default, three tiers' worth of the service's input limit (192 KiB with the
    /// default limits).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    fn finish(&self, router: Router<Shared>) -> Router {
        trace::layers(self.routes(router))
    }

    fn routes(&self, router: Router<Shared>) -> Router {
        router
            .fallback(|| async { ApiError::no_route() })
            .method_not_allowed_fallback(|| async {
                ApiError::new(
                    axum::http::StatusCode::METHOD_NOT_ALLOWED,
                    http_codes::METHOD_NOT_ALLOWED,
                    "This method is not allowed on this path",
                )
            })
            .layer(DefaultBodyLimit::max(self.body_limit))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                |_: Box<dyn std::any::Any + Send>| -> Response {
                    ApiError::new(
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        http_codes::INTERNAL,
                        "The server failed",
                    )
                    .into_response()
                },
            ))
            .with_state(Shared(Arc::new(self.shared.clone())))
    }

    /// The backend routes alone, for a host that mounts the two surfaces apart.
    pub fn backend_router(&self) -> Router {
        self.finish(backend::routes())
    }

    /// The frontend routes alone.
    pub fn frontend_router(&self) -> Router {
        self.finish(frontend::routes())
    }

    /// Both surfaces on one router (their paths do not overlap).
    pub fn router(&self) -> Router {
        self.finish(backend::routes().merge(frontend::routes()))
    }
}
