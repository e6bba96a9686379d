//! The pure rules of user and organization metadata: tiers, the access matrix, replace and
//! merge updates, the size limit, versions, sign-up and invitation copies, and the wire format.
//!
//! Nothing here does I/O. A store loads a record, calls a pure function of this crate, and saves
//! what it returns atomically; every rule lives here once.
//!
//! ```
//! use metadata_core::*;
//! use serde_json::json;
//!
//! let limits = Limits::default();
//! // A sign-up attempt carries unsafe metadata from the frontend...
//! let sign_up = create_sign_up(
//!     SignUpId::new("sua_1").unwrap(),
//!     &Change::new().replace_json(Tier::Unsafe, json!({"referrer": "ad"})).unwrap(),
//!     &limits,
//!     1_000,
//! )
//! .unwrap();
//! // ...which is copied to the new user when it completes (R5.1).
//! let done = complete_sign_up(&sign_up, UserId::new("user_1").unwrap(), &Change::new(), &limits, 2_000).unwrap();
//! assert_eq!(done.user.unsafe_metadata.get("referrer"), Some(&json!("ad")));
//!
//! // The backend replaces a tier; the frontend may not (contract §2).
//! let change = Change::new().replace_json(Tier::Public, json!({"role": "admin"})).unwrap();
//! let user = apply_change(&done.user, &change, Surface::Backend, &limits, 3_000).unwrap();
//! assert_eq!(user.version, 2);
//! let refused = apply_change(&user, &change, Surface::Frontend, &limits, 3_000).unwrap_err();
//! assert_eq!(refused.code(), "metadata_access_denied");
//!
//! // The frontend sees a view without the private tier, by type (R2.3).
//! let view = UserView::from(user);
//! assert!(serde_json::to_value(&view).unwrap().get("private_metadata").is_none());
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod access;
mod body;
mod bulk;
mod change;
pub mod claims;
mod compact;
mod error;
pub mod feed;
mod ids;
mod limits;
mod lookup;
mod merge;
mod metadata;
mod order;
mod parse;
mod plan;
mod query;
mod record;
mod record_json;
mod resource;
mod schema;
mod size;
mod text;
mod tier;
mod typed;
mod view;

pub use access::{allows, frontend_sees, Access, Facts, FrontendPrincipal, Surface};
pub use body::{BodyMode, RequestBody};
pub use bulk::{BulkChange, MAX_BULK_PAGE};
pub use change::{
    apply_change, apply_change_owned, check_expected_version, check_size, unchanged, Change, TierOp,
};
pub use compact::write_str as write_json_string;
pub use error::{codes, BoxError, Error, JsonKind, MetadataError};
pub use ids::{IdError, InvitationId, MembershipId, OrganizationId, SignUpId, UserId, MAX_ID_LEN};
pub use limits::{Limits, DEFAULT_MAX_DEPTH, DEFAULT_TIER_BYTES, MAX_DEPTH_CEILING};
pub use lookup::{
    combine, prefix_upper_bound, Bound, Clause, Condition, LookupNumber, MAX_ANY_OF, MAX_CLAUSES,
    MAX_PREFIX_LEN,
};
pub use metadata::{Metadata, Patch};
pub use order::{ListOrder, OrderField, Position};
pub use plan::{
    accept_invitation, complete_sign_up, create_invitation, create_membership, create_organization,
    create_own_sign_up, create_sign_up, create_user, delete_writes, revoke_invitation,
    update_write, InvitationAcceptance, SignUpCompletion, Write, MAX_EMAIL_LEN,
};
pub use query::{
    Cursor, Filter, ListQuery, LookupValue, MetadataPath, Page, MAX_OFFSET, MAX_PAGE_SIZE,
    MAX_PATH_SEGMENTS, MAX_SEGMENT_LEN,
};
pub use record::{
    object, Invitation, InvitationStatus, Membership, Millis, Organization, Record, RecordKey,
    Resource, SignUp, SignUpStatus, User, MEMBERSHIP_KEY_SEPARATOR,
};
pub use schema::{Schemas, MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH};
pub use tier::{ResourceKind, Tier};
pub use view::{MembershipView, OrganizationView, UserView};
