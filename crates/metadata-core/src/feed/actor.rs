//! Who made a commit (R14.2): the backend (with the id of the secret key it used, never the
//! key), a frontend principal, or the library itself for the writes it makes on its own
//! account (imports, bulk changes), with the operation's id.

use crate::record::Millis;
use serde::{Deserialize, Serialize};

/// Who made a commit. Serializes as an object tagged by `type`:
/// `{"type": "backend", "key_id": "key_3f2a"}`, `{"type": "frontend", "user_id": "user_1"}`,
/// `{"type": "library", "operation": "bulk_change", "operation_id": "bulk_1"}`.
///
/// ```
/// use metadata_core::feed::Actor;
/// let actor = Actor::library("import", "import_20261206");
/// let json = serde_json::to_string(&actor).unwrap();
/// assert_eq!(json, r#"{"type":"library","operation":"import","operation_id":"import_20261206"}"#);
/// assert_eq!(serde_json::from_str::<Actor>(&json).unwrap(), actor);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// The host's backend, through the library or with a secret key over HTTP.
    Backend {
        /// The id of the secret key the request was made with (never the key), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
    },
    /// A signed-in user, through the frontend surface.
    Frontend {
        /// The user's id, or the sign-up attempt's id for a sign-up's own writes.
        user_id: String,
    },
    /// The library, on its own account: an import or a bulk change.
    Library {
        /// What it was doing (`import`, `bulk_change`, ...).
        operation: String,
        /// The id of that operation's run.
        operation_id: String,
    },
}

impl Actor {
    /// The backend, without a key id (a host calling the library directly).
    pub const BACKEND: Actor = Actor::Backend { key_id: None };

    /// The backend acting with the secret key whose id is `key_id`.
    pub fn backend_key(key_id: impl Into<String>) -> Actor {
        Actor::Backend {
            key_id: Some(key_id.into()),
        }
    }

    /// The library running `operation`, whose run is `operation_id`.
    pub fn library(operation: impl Into<String>, operation_id: impl Into<String>) -> Actor {
        Actor::Library {
            operation: operation.into(),
            operation_id: operation_id.into(),
        }
    }

    /// The actor as the JSON text a store keeps.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// An actor from a store's text; `None` when it does not read as one.
    pub fn from_json(text: &str) -> Option<Actor> {
        serde_json::from_str(text).ok()
    }
}

/// When and by whom a commit is made: what a store writes on each of its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The commit's time, ms since the epoch: the time its records were stamped with.
    pub at: Millis,
    /// Who made it; `None` when the caller did not say (a store used directly).
    pub actor: Option<Actor>,
}

impl Stamp {
    /// A commit at `at` by no one in particular.
    pub fn at(at: Millis) -> Stamp {
        Stamp { at, actor: None }
    }

    /// A commit at `at` by `actor`.
    pub fn by(at: Millis, actor: Actor) -> Stamp {
        Stamp {
            at,
            actor: Some(actor),
        }
    }

    /// The actor as the text a store keeps in its events' `actor` column.
    pub fn actor_json(&self) -> Option<String> {
        self.actor.as_ref().map(Actor::to_json)
    }
}
