//! Session claims templates (contract §10): copy metadata into a session token, safely.
//!
//! A template is compiled once, and rendered for each token against a user and, optionally, an
//! organization and the user's membership of it. A template that names a private tier is refused
//! when it is compiled, so no rendering can ever copy private metadata into a token.
//!
//! ```
//! use metadata_core::claims::{ClaimsContext, ClaimsTemplate};
//! use metadata_core::{create_user, Change, Limits, Tier, UserId};
//! use serde_json::json;
//!
//! let template = ClaimsTemplate::compile(br#"{
//!     "role": "{{user.public_metadata.role}}",
//!     "meta": "{{user.public_metadata}}",
//!     "age": "{{user.public_metadata.age || user.unsafe_metadata.age || 30}}",
//!     "greeting": "hello {{user.id}}",
//!     "missing": "{{user.public_metadata.nope}}"
//! }"#).unwrap();
//!
//! let change = Change::new().replace_json(Tier::Public, json!({"role": "admin", "tags": ["a"]})).unwrap();
//! let user = create_user(UserId::new("user_1").unwrap(), &change, &Limits::default(), 1).unwrap();
//! let claims = template.render(&ClaimsContext::user(&user)).unwrap();
//! assert_eq!(claims, json!({
//!     "role": "admin",
//!     "meta": {"role": "admin", "tags": ["a"]},
//!     "age": 30,
//!     "greeting": "hello user_1",
//!     "missing": null
//! }));
//!
//! let refused = ClaimsTemplate::compile(br#"{"secret": "{{user.private_metadata.key}}"}"#);
//! assert!(refused.unwrap_err().to_string().contains("secret"));
//! ```

mod error;
mod shortcode;
mod template;

pub use error::ClaimsError;
pub use template::{ClaimsContext, ClaimsTemplate, DEFAULT_CLAIMS_BUDGET};
