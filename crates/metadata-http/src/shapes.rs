//! Responses in the reference product's JSON shapes: each record's wire JSON (R8.1) plus the
//! fields its SDKs read that this library does not own, present with empty values, which a
//! host may fill through [`Hooks`].

use async_trait::async_trait;
use metadata_core::{
    Invitation, Membership, MembershipView, Organization, OrganizationView, Record, SignUp, User,
    UserView,
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

/// The members of a defaults object as JSON text, without its braces: `"k":v,...`.
fn members_text(defaults: &Map<String, Value>) -> String {
    let text = Value::Object(defaults.clone()).to_string();
    text[1..text.len() - 1].to_owned()
}

/// A user's default fields as text, for [`plain`].
pub(crate) static USER_DEFAULTS_TEXT: LazyLock<String> =
    LazyLock::new(|| members_text(&USER_DEFAULTS));
/// An organization's default fields as text, for [`plain`].
pub(crate) static ORGANIZATION_DEFAULTS_TEXT: LazyLock<String> =
    LazyLock::new(|| members_text(&ORGANIZATION_DEFAULTS));

/// The response body of a user or an organization (or their views) when no [`Hooks`] are set:
/// its wire JSON followed by the default fields, written straight from the record. The members
/// are those [`user`], [`user_view`], [`organization`] and [`organization_view`] give (the
/// record's fields and the defaults never share a name), in another order.
pub(crate) fn plain<T: Serialize>(record: &T, defaults: &LazyLock<String>) -> Vec<u8> {
    plain_with(record, defaults)
}

/// [`plain`] with the members `defaults` (object members as text, without braces).
fn plain_with<T: Serialize>(record: &T, defaults: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    if serde_json::to_writer(&mut out, record).is_err() || out.last() != Some(&b'}') {
        // Records serialize as objects; this is never reached.
        return Value::Object(object_of(record)).to_string().into_bytes();
    }
    out.pop();
    if out.len() > 1 {
        out.push(b',');
    }
    out.extend_from_slice(defaults.as_bytes());
    out.push(b'}');
    out
}

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

/// A membership's default fields but `organization`, as text.
static MEMBERSHIP_DEFAULTS_TEXT: LazyLock<String> = LazyLock::new(|| {
    let Value::Object(mut defaults) = membership_defaults("", Map::new()) else {
        return String::new();
    };
    defaults.remove("organization");
    defaults.remove("public_user_data");
    members_text(&defaults)
});

/// [`membership`] without hooks, written straight from the records' text like [`plain`]: each
/// tier exactly as stored.
pub(crate) fn plain_membership(m: &Membership, org: &Organization) -> Vec<u8> {
    let Value::Object(user_data) = membership_defaults(m.user_id.as_str(), Map::new())
        .get_mut("public_user_data")
        .map(Value::take)
        .unwrap_or_default()
    else {
        return Vec::new();
    };
    let organization = plain(org, &ORGANIZATION_DEFAULTS_TEXT);
    let members = format!(
        "{},\"public_user_data\":{},\"organization\":{}",
        *MEMBERSHIP_DEFAULTS_TEXT,
        Value::Object(user_data),
        String::from_utf8_lossy(&organization)
    );
    plain_with(m, &members)
}

/// An invitation's default fields, as text.
static INVITATION_DEFAULTS_TEXT: LazyLock<String> = LazyLock::new(|| match invitation_defaults() {
    Value::Object(map) => members_text(&map),
    _ => String::new(),
});

/// [`invitation`] without hooks, written straight from the record's text like [`plain`].
pub(crate) fn plain_invitation(inv: &Invitation) -> Vec<u8> {
    plain_with(inv, &INVITATION_DEFAULTS_TEXT)
}

fn invitation_defaults() -> Value {
    json!({
        "role": null, "role_name": null, "url": null, "expires_at": null,
        "public_organization_data": null,
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
    let mut map = with_defaults(object_of(inv), invitation_defaults());
    hooks.invitation(&mut map).await;
    map
}

/// A sign-up attempt (it has no private tier).
pub(crate) async fn sign_up(hooks: &dyn Hooks, s: &SignUp) -> Map<String, Value> {
    let mut map = object_of(s);
    hooks.sign_up(&mut map).await;
    map
}

/// Any record, as the backend routes answer it. A membership is shown with `organization` (its
/// organization as it stands now; only its id and object when it is gone).
pub(crate) async fn any(
    hooks: &dyn Hooks,
    record: &Record,
    of_membership: Option<&Organization>,
) -> Map<String, Value> {
    match record {
        Record::User(u) => user(hooks, u).await,
        Record::SignUp(s) => sign_up(hooks, s).await,
        Record::Organization(o) => organization(hooks, o).await,
        Record::Invitation(i) => invitation(hooks, i).await,
        Record::Membership(m) => match of_membership {
            Some(org) => membership(hooks, m, org).await,
            None => {
                let mut gone = Map::new();
                gone.insert("id".into(), m.organization_id.as_str().into());
                gone.insert("object".into(), "organization".into());
                let defaults = membership_defaults(m.user_id.as_str(), gone);
                let mut map = with_defaults(object_of(m), defaults);
                hooks.membership(&mut map).await;
                map
            }
        },
    }
}

/// A kind of record the routes answer in a shape of its own (the record's wire JSON and the
/// fields the host owns), so that a list of them is shaped in one place.
pub(crate) trait Shape: Serialize + Sync {
    /// The default fields written after the record's own JSON when no hooks are set (see
    /// [`plain`]); `None` for a kind always shaped through its map.
    const PLAIN_DEFAULTS: Option<&'static LazyLock<String>> = None;

    /// The record's response object.
    fn shape(
        &self,
        hooks: &dyn Hooks,
    ) -> impl std::future::Future<Output = Map<String, Value>> + Send;
}

impl Shape for User {
    const PLAIN_DEFAULTS: Option<&'static LazyLock<String>> = Some(&USER_DEFAULTS_TEXT);
    fn shape(
        &self,
        hooks: &dyn Hooks,
    ) -> impl std::future::Future<Output = Map<String, Value>> + Send {
        user(hooks, self)
    }
}

impl Shape for Organization {
    const PLAIN_DEFAULTS: Option<&'static LazyLock<String>> = Some(&ORGANIZATION_DEFAULTS_TEXT);
    fn shape(
        &self,
        hooks: &dyn Hooks,
    ) -> impl std::future::Future<Output = Map<String, Value>> + Send {
        organization(hooks, self)
    }
}

impl Shape for Invitation {
    fn shape(
        &self,
        hooks: &dyn Hooks,
    ) -> impl std::future::Future<Output = Map<String, Value>> + Send {
        invitation(hooks, self)
    }
}

impl Shape for SignUp {
    fn shape(
        &self,
        hooks: &dyn Hooks,
    ) -> impl std::future::Future<Output = Map<String, Value>> + Send {
        sign_up(hooks, self)
    }
}

/// Every record of a list, shaped.
pub(crate) async fn all<R: Shape>(hooks: &dyn Hooks, records: &[R]) -> Vec<Value> {
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        out.push(Value::Object(record.shape(hooks).await));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_core::{create_organization, create_user, Change, Limits, OrganizationId, Tier};
    use metadata_core::{UserId, UserView};

    /// Tiers with the edges real data has (organizations have no unsafe tier).
    fn change(unsafe_tier: bool) -> Change {
        let change = Change::new()
            .replace_json(
                Tier::Public,
                json!({"a": "\u{0}\u{1f}é", "0": -0.0, "z": 1e16}),
            )
            .unwrap()
            .replace_json(Tier::Private, json!({"k": [1, {"n": u64::MAX}]}))
            .unwrap();
        if unsafe_tier {
            return change
                .replace_json(Tier::Unsafe, json!({"u": null}))
                .unwrap();
        }
        change
    }

    fn map_of(text: &[u8]) -> Map<String, Value> {
        object(serde_json::from_slice(text).unwrap())
    }

    /// The plain body has exactly the members the hooks' map has, and the record's own fields
    /// never share a name with a default (a shared name would appear twice in the text).
    fn same_members<T: Serialize>(
        record: &T,
        defaults: &LazyLock<String>,
        mapped: Map<String, Value>,
    ) {
        let own = object_of(record);
        let default_keys = map_of(format!("{{{}}}", defaults.as_str()).as_bytes());
        assert!(own.keys().all(|k| !default_keys.contains_key(k)), "{own:?}");
        assert_eq!(map_of(&plain(record, defaults)), mapped);
    }

    #[test]
    fn plain_bodies_have_the_members_the_hooks_see() {
        let limits = Limits::default();
        let user = create_user(UserId::new("user_1").unwrap(), &change(true), &limits, 7).unwrap();
        let view = UserView::from(user.clone());
        let org = create_organization(
            OrganizationId::new("org_1").unwrap(),
            &change(false),
            &limits,
            7,
        )
        .unwrap();
        let org_view = metadata_core::OrganizationView::from(org.clone());
        let run = futures_lite(async {
            (
                super::user(&NoHooks, &user).await,
                user_view(&NoHooks, &view).await,
                organization(&NoHooks, &org).await,
                organization_view(&NoHooks, &org_view).await,
            )
        });
        same_members(&user, &USER_DEFAULTS_TEXT, run.0);
        same_members(&view, &USER_DEFAULTS_TEXT, run.1);
        same_members(&org, &ORGANIZATION_DEFAULTS_TEXT, run.2);
        same_members(&org_view, &ORGANIZATION_DEFAULTS_TEXT, run.3);

        // Memberships and invitations, written plain, have the members the hooks see too.
        let m = metadata_core::create_membership(
            metadata_core::MembershipId::new("orgmem_1").unwrap(),
            org.id.clone(),
            user.id.clone(),
            &change(false),
            &limits,
            8,
        )
        .unwrap();
        let inv = metadata_core::create_invitation(
            metadata_core::InvitationId::new("orginv_1").unwrap(),
            org.id.clone(),
            "a@example.com",
            &Change::new()
                .replace_json(Tier::Public, json!({"b": 1, "a": -0.0}))
                .unwrap(),
            &limits,
            8,
        )
        .unwrap();
        let (mapped_m, mapped_inv) = futures_lite(async {
            (
                membership(&NoHooks, &m, &org).await,
                invitation(&NoHooks, &inv).await,
            )
        });
        assert_eq!(map_of(&plain_membership(&m, &org)), mapped_m);
        assert_eq!(map_of(&plain_invitation(&inv)), mapped_inv);
        // And their tiers are the stored text, byte for byte.
        let text = String::from_utf8(plain_membership(&m, &org)).unwrap();
        assert!(text.contains(m.public_metadata.json()), "{text}");
    }

    fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
}
