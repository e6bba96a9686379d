//! Identifiers, one type per resource kind, so one cannot be passed where another is meant.

use crate::tier::ResourceKind;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// The longest identifier accepted.
pub const MAX_ID_LEN: usize = 128;

/// A malformed identifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id {value:?}: ids are 1 to 128 characters of A-Z, a-z, 0-9, '_' and '-'")]
pub struct IdError {
    /// The kind of id.
    pub kind: ResourceKind,
    /// The refused text (cut to 128 bytes at a character boundary).
    pub value: String,
}

fn valid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn cut(s: &str) -> String {
    let mut end = s.len().min(MAX_ID_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        ///
        /// Ids are 1 to 128 characters of `A-Z a-z 0-9 _ -`; the host chooses them.
        ///
        /// The text is shared behind an `Arc`, so cloning an id costs no allocation.
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Checks and wraps an id.
            pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
                let id = id.into();
                if valid(&id) {
                    Ok($name(Arc::from(id)))
                } else {
                    Err(IdError { kind: $kind, value: cut(&id) })
                }
            }

            /// The id's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $name::new(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// The id of a user.
    UserId,
    ResourceKind::User
);
id_type!(
    /// The id of a sign-up attempt.
    SignUpId,
    ResourceKind::SignUp
);
id_type!(
    /// The id of an organization.
    OrganizationId,
    ResourceKind::Organization
);
id_type!(
    /// The id of an organization membership.
    MembershipId,
    ResourceKind::Membership
);
id_type!(
    /// The id of an organization invitation.
    InvitationId,
    ResourceKind::Invitation
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_empty_long_and_odd_characters() {
        assert!(UserId::new("user_2bxfCJOe0Ocd8DNe9hFN3EXvfOu").is_ok());
        for bad in ["", "a b", "a,b", "a/b", "é", &"x".repeat(129)] {
            let err = UserId::new(bad).unwrap_err();
            assert_eq!(err.kind, ResourceKind::User);
        }
        assert!(serde_json::from_str::<OrganizationId>("\"a,b\"").is_err());
    }
}
