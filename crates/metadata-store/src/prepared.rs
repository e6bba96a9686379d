//! Writes with their records serialized once, for stores that keep each record's wire JSON.
//! Serializing on the caller's thread keeps that work off a store's connection thread or pool.

use metadata_core::{RecordKey, ResourceKind, Write};

/// Which column names the parent in a cascade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParentColumn {
    /// The `organization_id` of memberships and invitations.
    OrganizationId,
    /// The `user_id` of memberships.
    UserId,
}

impl ParentColumn {
    /// The column's name.
    pub fn name(self) -> &'static str {
        match self {
            ParentColumn::OrganizationId => "organization_id",
            ParentColumn::UserId => "user_id",
        }
    }
}

/// A [`Write`] with its record serialized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreparedWrite {
    /// See [`Write::Require`].
    Require(RecordKey),
    /// See [`Write::Create`].
    Create {
        /// The record's key.
        key: RecordKey,
        /// Its version.
        version: u64,
        /// Its organization, for cascades.
        organization_id: Option<String>,
        /// Its user, for cascades.
        user_id: Option<String>,
        /// Its wire JSON.
        body: String,
    },
    /// See [`Write::Update`].
    Update {
        /// The record's key.
        key: RecordKey,
        /// The version to store.
        version: u64,
        /// The version the stored record must have.
        expected_version: u64,
        /// The wire JSON to store.
        body: String,
    },
    /// See [`Write::Delete`].
    Delete(RecordKey),
    /// Deletes every record of `kind` whose `column` is `value` (the cascades of R6.2).
    DeleteChildren {
        /// The kind of the children.
        kind: ResourceKind,
        /// The column naming the parent.
        column: ParentColumn,
        /// The parent's id.
        value: String,
    },
}

/// Serializes the records of `writes`.
pub fn prepare(writes: &[Write]) -> Vec<PreparedWrite> {
    writes
        .iter()
        .map(|w| match w {
            Write::Require(key) => PreparedWrite::Require(key.clone()),
            Write::Create(record) => PreparedWrite::Create {
                key: record.key(),
                version: record.version(),
                organization_id: record.organization_id().map(|o| o.to_string()),
                user_id: record.user_id().map(|u| u.to_string()),
                body: record.to_json(),
            },
            Write::Update {
                record,
                expected_version,
            } => PreparedWrite::Update {
                key: record.key(),
                version: record.version(),
                expected_version: *expected_version,
                body: record.to_json(),
            },
            Write::Delete(key) => PreparedWrite::Delete(key.clone()),
            Write::DeleteMembershipsOfUser(u) => PreparedWrite::DeleteChildren {
                kind: ResourceKind::Membership,
                column: ParentColumn::UserId,
                value: u.to_string(),
            },
            Write::DeleteMembershipsOfOrganization(o) => PreparedWrite::DeleteChildren {
                kind: ResourceKind::Membership,
                column: ParentColumn::OrganizationId,
                value: o.to_string(),
            },
            Write::DeleteInvitationsOfOrganization(o) => PreparedWrite::DeleteChildren {
                kind: ResourceKind::Invitation,
                column: ParentColumn::OrganizationId,
                value: o.to_string(),
            },
        })
        .collect()
}
