//! Responses in the reference product's JSON shapes: each record's wire JSON (R8.1) plus the
//! fields its SDKs read that this library does not own, present with empty values, which a
//! host may fill through [`Hooks`].

use async_trait::async_trait;
use metadata_core::{
    Invitation, Membership, MembershipView, Organization, OrganizationView, SignUp, User, UserView,
};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::sync::LazyLock;

/// Fills the fields of a response that the host owns (a user's email addresses, an
/// organization's name, a membership's role ...). Each method receives the response object
/// with the library's fields and empty defaults for the others, and may change any of them;
/// the defaults do nothing.
///
/// ```
/// use metadata_http::Hooks;
/// use serde_json::{json, Map, Value};
///
/// struct Names;
/// #[async_trait::async_trait]
/// impl Hooks for Names {
///     async fn user(&self, user: &mut Map<String, Value>) {
///         user.insert("first_name".into(), json!("Ada"));
///     }
/// }
/// ```
#[async_trait]
pub trait Hooks: Send + Sync + 'static {
    /// A user, as the backend or the frontend sees it.
    async fn user(&self, _user: &mut Map<String, Value>) {}
    /// An organization.
    async fn organization(&self, _organization: &mut Map<String, Value>) {}
    /// A membership, with its `organization` and `public_user_data`.
    async fn membership(&self, _membership: &mut Map<String, Value>) {}
    /// An invitation.
    async fn invitation(&self, _invitation: &mut Map<String, Value>) {}
    /// A sign-up attempt.
    async fn sign_up(&self, _sign_up: &mut Map<String, Value>) {}
}

/// The hooks that change nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

#[async_trait]
impl Hooks for NoHooks {}

fn object_of<T: Serialize>(record: &T) -> Map<String, Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map,
        // Records serialize as objects.
        _ => Map::new(),
    }
}

fn with_defaults(mut map: Map<String, Value>, defaults: Value) -> Map<String, Value> {
    if let Value::Object(defaults) = defaults {
        for (k, v) in defaults {
            map.entry(k).or_insert(v);
        }
    }
    map
}

/// [`with_defaults`] with defaults built once: only the fields the record lacks are copied.
fn with_static_defaults(
    mut map: Map<String, Value>,
    defaults: &'static LazyLock<Map<String, Value>>,
) -> Map<String, Value> {
    for (k, v) in defaults.iter() {
        if !map.contains_key(k) {
            map.insert(k.clone(), v.clone());
        }
    }
    map
}

/// The value of an object literal, as a map.
fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

static USER_DEFAULTS: LazyLock<Map<String, Value>> = LazyLock::new(|| object(user_defaults()));
static ORGANIZATION_DEFAULTS: LazyLock<Map<String, Value>> =
    LazyLock::new(|| object(organization_defaults()));

fn user_defaults() -> Value {
    json!({
        "external_id": null, "username": null, "first_name": null, "last_name": null,
        "image_url": "", "has_image": false,
        "primary_email_address_id": null, "primary_phone_number_id": null,
        "primary_web3_wallet_id": null,
        "password_enabled": false, "totp_enabled": false, "backup_code_enabled": false,
        "two_factor_enabled": false, "banned": false, "locked": false,
        "email_addresses": [], "phone_numbers": [], "web3_wallets": [], "passkeys": [],
        "external_accounts": [], "saml_accounts": [], "enterprise_accounts": [],
        "last_sign_in_at": null, "last_active_at": null, "legal_accepted_at": null,
        "create_organization_enabled": true, "create_organizations_limit": null,
        "delete_self_enabled": true,
    })
}

fn organization_defaults() -> Value {
    json!({
        "name": null, "slug": null, "image_url": "", "has_image": false,
        "max_allowed_memberships": 0, "admin_delete_enabled": true, "members_count": null,
        "created_by": null,
    })
}

/// A user, as the backend sees it.
pub(crate) async fn user(hooks: &dyn Hooks, user: &User) -> Map<String, Value> {
    let mut map = with_static_defaults(object_of(user), &USER_DEFAULTS);
    hooks.user(&mut map).await;
    map
}

/// A user, as the frontend sees it: never a private tier.
pub(crate) async fn user_view(hooks: &dyn Hooks, user: &UserView) -> Map<String, Value> {
    let mut map = with_static_defaults(object_of(user), &USER_DEFAULTS);
    hooks.user(&mut map).await;
    map.remove("private_metadata");
    map
}

/// An organization, as the backend sees it.
pub(crate) async fn organization(hooks: &dyn Hooks, org: &Organization) -> Map<String, Value> {
    let mut map = with_static_defaults(object_of(org), &ORGANIZATION_DEFAULTS);
    hooks.organization(&mut map).await;
    map
}

/// An organization, as a member sees it: never a private tier.
pub(crate) async fn organization_view(
    hooks: &dyn Hooks,
    org: &OrganizationView,
) -> Map<String, Value> {
    let mut map = with_static_defaults(object_of(org), &ORGANIZATION_DEFAULTS);
    hooks.organization(&mut map).await;
    map.remove("private_metadata");
    map
}

fn membership_defaults(user_id: &str, organization: Map<String, Value>) -> Value {
    json!({
        "role": null, "role_name": null, "permissions": [],
        "organization": organization,
        "public_user_data": {
            "user_id": user_id, "identifier": "", "first_name": null, "last_name": null,
            "image_url": "", "has_image": false,
        },
    })
}

/// A membership with its organization, as the backend sees them.
pub(crate) async fn membership(
    hooks: &dyn Hooks,
    m: &Membership,
    org: &Organization,
) -> Map<String, Value> {
    let org = organization(hooks, org).await;
    let mut map = with_defaults(object_of(m), membership_defaults(m.user_id.as_str(), org));
    hooks.membership(&mut map).await;
    map
}

/// A membership with its organization, as a member sees them: no private tier in either.
pub(crate) async fn membership_view(
    hooks: &dyn Hooks,
    m: &MembershipView,
    org: &OrganizationView,
) -> Map<String, Value> {
    let org = organization_view(hooks, org).await;
    let mut map = with_defaults(object_of(m), membership_defaults(m.user_id.as_str(), org));
    hooks.membership(&mut map).await;
    map.remove("private_metadata");
    if let Some(Value::Object(org)) = map.get_mut("organization") {
        org.remove("private_metadata");
    }
    map
}

/// An invitation.
pub(crate) async fn invitation(hooks: &dyn Hooks, inv: &Invitation) -> Map<String, Value> {
    let defaults = json!({
        "role": null, "role_name": null, "url": null, "expires_at": null,
        "public_organization_data": null,
    });
    let mut map = with_defaults(object_of(inv), defaults);
    hooks.invitation(&mut map).await;
    map
}

/// A sign-up attempt (it has no private tier).
pub(crate) async fn sign_up(hooks: &dyn Hooks, s: &SignUp) -> Map<String, Value> {
    let mut map = object_of(s);
    hooks.sign_up(&mut map).await;
    map
}
