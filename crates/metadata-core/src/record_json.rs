//! Records to and from their compact wire JSON (R8.1, R8.2).
//!
//! Writing is by hand, field by field in the order the derived `Serialize` impls use, so the
//! text is byte for byte what `serde_json::to_string` gives (a test holds the two together)
//! at a fraction of the cost: a store writes every record it saves this way.

use crate::compact::{write_i64, write_str, write_u64, Fields};
use crate::record::{InvitationStatus, Record, SignUpStatus};
use crate::tier::ResourceKind;

impl Record {
    /// The compact wire JSON (R8.1): what `serde_json::to_string` writes for it.
    ///
    /// ```
    /// use metadata_core::{create_user, Change, Limits, Record, UserId};
    /// let user = create_user(UserId::new("user_1").unwrap(), &Change::new(), &Limits::default(), 7).unwrap();
    /// let record = Record::User(user);
    /// assert_eq!(record.to_json(), serde_json::to_string(&record).unwrap());
    /// ```
    pub fn to_json(&self) -> String {
        let tiers: usize = crate::tier::Tier::ALL
            .iter()
            .filter_map(|t| self.tier(*t))
            .map(|m| m.size())
            .sum();
        let mut out = String::with_capacity(tiers + 320);
        self.write_json(&mut out);
        out
    }

    /// Appends the compact wire JSON to `out`.
    pub(crate) fn write_json(&self, out: &mut String) {
        let mut f = Fields::open(out);
        match self {
            Record::User(u) => {
                write_str(f.field("id"), u.id.as_str());
                f.field("object").push_str("\"user\"");
                u.public_metadata.write_json(f.field("public_metadata"));
                u.private_metadata.write_json(f.field("private_metadata"));
                u.unsafe_metadata.write_json(f.field("unsafe_metadata"));
                write_times(&mut f, u.created_at, u.updated_at, u.version);
            }
            Record::SignUp(s) => {
                write_str(f.field("id"), s.id.as_str());
                f.field("object").push_str("\"sign_up_attempt\"");
                f.field("status").push_str(match s.status {
                    SignUpStatus::MissingRequirements => "\"missing_requirements\"",
                    SignUpStatus::Complete => "\"complete\"",
                });
                match &s.created_user_id {
                    Some(id) => write_str(f.field("created_user_id"), id.as_str()),
                    None => f.field("created_user_id").push_str("null"),
                }
                s.unsafe_metadata.write_json(f.field("unsafe_metadata"));
                write_times(&mut f, s.created_at, s.updated_at, s.version);
            }
            Record::Organization(o) => {
                write_str(f.field("id"), o.id.as_str());
                f.field("object").push_str("\"organization\"");
                o.public_metadata.write_json(f.field("public_metadata"));
                o.private_metadata.write_json(f.field("private_metadata"));
                write_times(&mut f, o.created_at, o.updated_at, o.version);
            }
            Record::Membership(m) => {
                write_str(f.field("id"), m.id.as_str());
                f.field("object").push_str("\"organization_membership\"");
                write_str(f.field("organization_id"), m.organization_id.as_str());
                write_str(f.field("user_id"), m.user_id.as_str());
                m.public_metadata.write_json(f.field("public_metadata"));
                m.private_metadata.write_json(f.field("private_metadata"));
                write_times(&mut f, m.created_at, m.updated_at, m.version);
            }
            Record::Invitation(i) => {
                write_str(f.field("id"), i.id.as_str());
                f.field("object").push_str("\"organization_invitation\"");
                write_str(f.field("organization_id"), i.organization_id.as_str());
                write_str(f.field("email_address"), &i.email_address);
                f.field("status").push_str(match i.status {
                    InvitationStatus::Pending => "\"pending\"",
                    InvitationStatus::Accepted => "\"accepted\"",
                    InvitationStatus::Revoked => "\"revoked\"",
                });
                i.public_metadata.write_json(f.field("public_metadata"));
                write_times(&mut f, i.created_at, i.updated_at, i.version);
            }
        }
        f.close();
    }

    /// Reads a record of a known kind from its wire JSON (R8.2), with every tier validated.
    pub fn from_json(kind: ResourceKind, json: &[u8]) -> Result<Record, serde_json::Error> {
        Ok(match kind {
            ResourceKind::User => Record::User(serde_json::from_slice(json)?),
            ResourceKind::SignUp => Record::SignUp(serde_json::from_slice(json)?),
            ResourceKind::Organization => Record::Organization(serde_json::from_slice(json)?),
            ResourceKind::Membership => Record::Membership(serde_json::from_slice(json)?),
            ResourceKind::Invitation => Record::Invitation(serde_json::from_slice(json)?),
        })
    }
}

/// The three fields every record ends with.
fn write_times(f: &mut Fields<'_>, created_at: i64, updated_at: i64, version: u64) {
    write_i64(f.field("created_at"), created_at);
    write_i64(f.field("updated_at"), updated_at);
    write_u64(f.field("version"), version);
}
