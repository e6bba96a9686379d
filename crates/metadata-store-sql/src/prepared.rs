//! Writes with their records serialized once, for stores that keep each record's wire JSON,
//! and the names SQL stores give their lookup indexes.
//! Serializing on the caller's thread keeps that work off a store's connection thread or pool.

use metadata_core::{
    ListOrder, MetadataPath, Millis, OrderField, Position, RecordKey, ResourceKind, Tier, Write,
};

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

/// A record to insert, serialized: the columns of its row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRow {
    /// The record's key.
    pub key: RecordKey,
    /// Its version.
    pub version: u64,
    /// Its organization, for cascades.
    pub organization_id: Option<String>,
    /// Its user, for cascades.
    pub user_id: Option<String>,
    /// Its wire JSON.
    pub body: String,
    /// When it was created, for listings ordered by it.
    pub created_at: Millis,
    /// When it last changed, for listings ordered by it.
    pub updated_at: Millis,
}

impl NewRow {
    /// The row's kind, key and version columns, as SQL stores write them.
    pub fn key_columns(&self) -> (&'static str, String, i64) {
        (
            self.key.kind().object_name(),
            self.key.storage_key(),
            self.version as i64,
        )
    }
}

/// A [`Write`] with its record serialized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreparedWrite {
    /// See [`Write::Require`].
    Require(RecordKey),
    /// See [`Write::Create`].
    Create(NewRow),
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
        /// When it changed, for listings ordered by it.
        updated_at: Millis,
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

/// What a delete removes: the records of `kind` whose `column` holds `value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteTarget<'a> {
    /// The kind of the records.
    pub kind: ResourceKind,
    /// The column compared: `key` for one record, the parent's column for a cascade.
    pub column: &'static str,
    /// The value it must hold.
    pub value: std::borrow::Cow<'a, str>,
}

impl PreparedWrite {
    /// For a delete (one record, or a cascade of R6.2), the records it removes; `None` for the
    /// other writes. Both SQL stores build their one `DELETE` statement from it.
    pub fn delete_target(&self) -> Option<DeleteTarget<'_>> {
        match self {
            PreparedWrite::Delete(key) => Some(DeleteTarget {
                kind: key.kind(),
                column: "key",
                value: key.storage_key_cow(),
            }),
            PreparedWrite::DeleteChildren {
                kind,
                column,
                value,
            } => Some(DeleteTarget {
                kind: *kind,
                column: column.name(),
                value: std::borrow::Cow::Borrowed(value),
            }),
            _ => None,
        }
    }
}

/// Serializes the records of `writes`.
pub fn prepare(writes: &[Write]) -> Vec<PreparedWrite> {
    writes
        .iter()
        .map(|w| match w {
            Write::Require(key) => PreparedWrite::Require(key.clone()),
            Write::Create(record) => PreparedWrite::Create(NewRow {
                key: record.key(),
                version: record.version(),
                organization_id: record.organization_id().map(|o| o.to_string()),
                user_id: record.user_id().map(|u| u.to_string()),
                body: record.to_json(),
                created_at: record.created_at(),
                updated_at: record.updated_at(),
            }),
            Write::Update {
                record,
                expected_version,
            } => PreparedWrite::Update {
                key: record.key(),
                version: record.version(),
                expected_version: *expected_version,
                body: record.to_json(),
                updated_at: record.updated_at(),
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

/// The name of the lookup index a SQL store declares for `path` in `tier` of `kind` records,
/// distinct for every distinct (kind, tier, path) and at most 63 bytes (PostgreSQL's limit).
///
/// Lower-case letters and digits stand for themselves; every other byte of a segment (upper
/// case, `_`, `-`) is `_` and two hex digits, and segments are joined by `__`. So `a.b`,
/// `a__b`, `a_b`, `a-b` and `A.b` all get names of their own, even where identifiers ignore
/// case (SQLite). A name that would be longer than 63 bytes ends in a 64-bit hash of the whole
/// instead.
///
/// ```
/// use metadata_core::{MetadataPath, ResourceKind, Tier};
/// use metadata_store_sql::prepared::lookup_index_name;
/// let name = |p: &str| lookup_index_name(ResourceKind::User, Tier::Public, &MetadataPath::parse(p).unwrap());
/// assert_eq!(name("billing.plan"), "lookup_user_public_billing__plan");
/// assert_eq!(name("a_b"), "lookup_user_public_a_5fb");
/// assert_ne!(name("a.b"), name("a__b"));
/// assert_ne!(name("Role"), name("role"));
/// assert!(name(&["x"; 8].map(|_| "y".repeat(60)).join(".")).len() <= 63);
/// ```
pub fn lookup_index_name(kind: ResourceKind, tier: Tier, path: &MetadataPath) -> String {
    let tier = match tier {
        Tier::Public => "public",
        Tier::Private => "private",
        Tier::Unsafe => "unsafe",
    };
    let mut name = format!("lookup_{}_{tier}_", kind.object_name());
    for (i, segment) in path.segments().iter().enumerate() {
        if i > 0 {
            name.push_str("__");
        }
        for b in segment.bytes() {
            if b.is_ascii_lowercase() || b.is_ascii_digit() {
                name.push(char::from(b));
            } else {
                name.push_str(&format!("_{b:02x}"));
            }
        }
    }
    if name.len() <= 63 {
        return name;
    }
    // FNV-1a of the whole name: stable across versions and platforms.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}_{hash:016x}", &name[..46])
}

/// A value a listing binds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bound {
    /// An integer (a time).
    Int(i64),
    /// A text (a storage key).
    Text(String),
}

/// The cursor condition (` AND ...`, empty without a cursor) and the `ORDER BY` terms of a
/// listing in `order` after `start` (R7.5): by the order's column and the key, both in the
/// order's direction, so the indexes on `(kind, created_at, key)` and `(kind, updated_at, key)`
/// serve it. `bind` takes each value and answers its placeholder.
///
/// ```
/// use metadata_core::{ListOrder, Position};
/// use metadata_store_sql::prepared::{order_clauses, Bound};
/// let mut n = 0;
/// let start = Position { value: Some(5), key: "user_a".into() };
/// let (cursor, order) = order_clauses(ListOrder::NEWEST_FIRST, Some(start), &mut |_: Bound| {
///     n += 1;
///     format!("?{n}")
/// });
/// assert_eq!(cursor, " AND (created_at, key) < (?1, ?2)");
/// assert_eq!(order, "created_at DESC, key DESC");
/// ```
pub fn order_clauses(
    order: ListOrder,
    start: Option<Position>,
    bind: &mut dyn FnMut(Bound) -> String,
) -> (String, String) {
    let column = match order.field {
        OrderField::CreatedAt => Some("created_at"),
        OrderField::UpdatedAt => Some("updated_at"),
        OrderField::Id => None,
    };
    let (dir, past) = if order.descending {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    let cursor = match (start, column) {
        (None, _) => String::new(),
        (Some(at), None) => format!(" AND key {past} {}", bind(Bound::Text(at.key))),
        (Some(at), Some(column)) => {
            let value = bind(Bound::Int(at.value.unwrap_or_default()));
            let key = bind(Bound::Text(at.key));
            format!(" AND ({column}, key) {past} ({value}, {key})")
        }
    };
    let order = match column {
        Some(column) => format!("{column} {dir}, key {dir}"),
        None => format!("key {dir}"),
    };
    (cursor, order)
}
