//! Listing and finding records by a metadata value (R7.2), as pure data with reference
//! semantics that every store must match.

use crate::error::Error;
use crate::ids::{OrganizationId, UserId};
use crate::lookup::Clause;
use crate::order::{ListOrder, Position};
use crate::record::Record;
use crate::tier::{ResourceKind, Tier};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The most records one page may hold.
pub const MAX_PAGE_SIZE: usize = 1000;
/// The most keys a metadata path may have.
pub const MAX_PATH_SEGMENTS: usize = 8;
/// The longest key in a metadata path.
pub const MAX_SEGMENT_LEN: usize = 64;

/// A path of keys into a tier, such as `role` or `billing.plan`. Keys are 1 to 64 characters of
/// `A-Z a-z 0-9 _ -`, so every store can spell the path in its own query language safely.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetadataPath {
    segments: Vec<String>,
}

impl MetadataPath {
    /// Parses a dotted path.
    ///
    /// ```
    /// use metadata_core::MetadataPath;
    /// assert_eq!(MetadataPath::parse("billing.plan").unwrap().segments(), ["billing", "plan"]);
    /// assert!(MetadataPath::parse("a..b").is_err());
    /// ```
    pub fn parse(dotted: &str) -> Result<Self, Error> {
        let segments: Vec<String> = dotted.split('.').map(str::to_owned).collect();
        if segments.len() > MAX_PATH_SEGMENTS || !segments.iter().all(|s| Self::is_segment(s)) {
            return Err(Error::InvalidQuery {
                reason: format!(
                    "a metadata path is 1 to {MAX_PATH_SEGMENTS} dot-separated keys of A-Z, a-z, 0-9, '_' and '-'; got {:?}",
                    dotted.chars().take(200).collect::<String>()
                ),
            });
        }
        Ok(MetadataPath { segments })
    }

    /// Whether `key` can be one segment of a path: 1 to 64 characters of `A-Z a-z 0-9 _ -`.
    /// A key that is not can never be reached by a lookup.
    pub fn is_segment(key: &str) -> bool {
        !key.is_empty()
            && key.len() <= MAX_SEGMENT_LEN
            && key.bytes().all(|b| SEGMENT_BYTE[b as usize])
    }

    /// The keys, outermost first.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The path as written, keys joined by dots.
    pub fn dotted(&self) -> String {
        self.segments.join(".")
    }
}

impl fmt::Display for MetadataPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dotted())
    }
}

/// The bytes a path segment may hold: `A-Z a-z 0-9 _ -`.
static SEGMENT_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    table
};

/// A value to look for. Lookups compare scalars only.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LookupValue {
    /// A string, compared exactly.
    String(String),
    /// An integer; it also matches a JSON number with a fractional form of the same value
    /// (`1.0` matches `1`).
    Integer(i64),
    /// `true` or `false`.
    Bool(bool),
}

impl LookupValue {
    /// A lookup value written as text (a query string, a command line): a JSON integer,
    /// `true`/`false` or a quoted JSON string is that value; anything else is the text itself
    /// (`admin` looks for `"admin"`, `30` for `30`, `"30"` for `"30"`).
    ///
    /// ```
    /// use metadata_core::LookupValue;
    /// assert_eq!(LookupValue::from_text("admin"), LookupValue::String("admin".into()));
    /// assert_eq!(LookupValue::from_text("30"), LookupValue::Integer(30));
    /// assert_eq!(LookupValue::from_text("\"30\""), LookupValue::String("30".into()));
    /// assert_eq!(LookupValue::from_text("true"), LookupValue::Bool(true));
    /// assert_eq!(LookupValue::from_text("1.5"), LookupValue::String("1.5".into()));
    /// ```
    pub fn from_text(text: &str) -> LookupValue {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Number(n)) if n.is_i64() => LookupValue::Integer(n.as_i64().unwrap_or(0)),
            Ok(Value::Bool(b)) => LookupValue::Bool(b),
            Ok(Value::String(s)) => LookupValue::String(s),
            _ => LookupValue::String(text.to_owned()),
        }
    }

    /// Whether a stored JSON value equals this one (R7.3): by JSON type, and an integer matches
    /// a number of exactly its value whatever its spelling (`1`, `1.0`, `1e0`).
    pub fn matches(&self, value: &Value) -> bool {
        LookupValue::of(value).as_ref() == Some(self)
    }

    /// The one lookup value that a stored JSON value matches, if any: the canonical form a
    /// store may index. A string or a boolean is itself; a number is the integer it is exactly
    /// (an integral float within `i64` included); a fractional number, one outside `i64`,
    /// `null`, an array and an object match no lookup value.
    ///
    /// ```
    /// use metadata_core::LookupValue;
    /// let v = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
    /// assert_eq!(LookupValue::of(&v("1e16")), Some(LookupValue::Integer(10_000_000_000_000_000)));
    /// assert_eq!(LookupValue::of(&v("-0.0")), Some(LookupValue::Integer(0)));
    /// assert_eq!(LookupValue::of(&v("1.5")), None);
    /// assert_eq!(LookupValue::of(&v("[1]")), None);
    /// ```
    pub fn of(value: &Value) -> Option<LookupValue> {
        match value {
            Value::String(s) => Some(LookupValue::String(s.clone())),
            Value::Bool(b) => Some(LookupValue::Bool(*b)),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    return Some(LookupValue::Integer(i));
                }
                // -2^63 <= f < 2^63 and integral: the cast is exact (a saturating cast would
                // let 2^63 pass for i64::MAX).
                let f = n.as_f64().filter(|_| n.is_f64())?;
                (f.fract() == 0.0
                    && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f))
                .then_some(LookupValue::Integer(f as i64))
            }
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            LookupValue::String(s) => Value::String(s.clone()),
            LookupValue::Integer(i) => Value::from(*i),
            LookupValue::Bool(b) => Value::Bool(*b),
        }
    }
}

impl From<&str> for LookupValue {
    fn from(s: &str) -> Self {
        LookupValue::String(s.to_owned())
    }
}

impl From<String> for LookupValue {
    fn from(s: String) -> Self {
        LookupValue::String(s)
    }
}

impl From<i64> for LookupValue {
    fn from(i: i64) -> Self {
        LookupValue::Integer(i)
    }
}

impl From<bool> for LookupValue {
    fn from(b: bool) -> Self {
        LookupValue::Bool(b)
    }
}

/// Which records of a kind a listing returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// All of them.
    All,
    /// Those whose `tier` holds `value` at `path` (R7.2).
    MetadataEquals {
        /// The tier to look in.
        tier: Tier,
        /// The path within the tier.
        path: MetadataPath,
        /// The value to find.
        value: LookupValue,
    },
    /// Those meeting every clause (R7.4): 1 to [`MAX_CLAUSES`](crate::MAX_CLAUSES) of them,
    /// combined with AND.
    Metadata(Vec<Clause>),
    /// The memberships of one organization.
    MembershipsOfOrganization(OrganizationId),
    /// The memberships of one user.
    MembershipsOfUser(UserId),
    /// The invitations of one organization.
    InvitationsOfOrganization(OrganizationId),
}

/// Where a page ends: the storage key of its last record. Pass it back for the next page.
/// Serializes as its text, so a host can hand it to its own callers and take it back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// A cursor from text a host stored or passed through its own API.
    pub fn new(text: impl Into<String>) -> Self {
        Cursor(text.into())
    }

    /// The cursor's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One listing request: records of `kind` matching `filter`, in `order`, after the cursor,
/// skipping `offset` of them, at most `limit`. [`ListQuery::select`] is the reference every
/// store matches.
///
/// ```
/// use metadata_core::{Filter, ListOrder, ListQuery, ResourceKind};
/// let query = ListQuery::new(ResourceKind::User, Filter::All, 10).ordered(ListOrder::NEWEST_FIRST);
/// assert!(query.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// The kind to list.
    pub kind: ResourceKind,
    /// Which records.
    pub filter: Filter,
    /// Start after this record (a cursor written by the same order).
    pub after: Option<Cursor>,
    /// The most records to return, 1 to [`MAX_PAGE_SIZE`].
    pub limit: usize,
    /// The order (R7.5); by id unless asked.
    pub order: ListOrder,
    /// How many records to skip after the cursor (the reference product's `offset`), at most
    /// [`MAX_OFFSET`].
    pub offset: usize,
}

/// The largest offset a listing takes: what every store can bind as a signed 64-bit integer.
pub const MAX_OFFSET: usize = i64::MAX as usize;

impl ListQuery {
    /// The first `limit` records of `kind` that `filter` selects, by id.
    pub fn new(kind: ResourceKind, filter: Filter, limit: usize) -> Self {
        ListQuery {
            kind,
            filter,
            after: None,
            limit,
            order: ListOrder::BY_ID,
            offset: 0,
        }
    }

    /// The same query in another order.
    pub fn ordered(mut self, order: ListOrder) -> Self {
        self.order = order;
        self
    }

    /// The same query continuing after `cursor`.
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.after = cursor;
        self
    }

    /// The same query skipping `offset` records.
    pub fn skip(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// Where the cursor points, if there is one; a cursor of another order is refused.
    pub fn start(&self) -> Result<Option<Position>, Error> {
        self.after
            .as_ref()
            .map(|cursor| self.order.position(cursor))
            .transpose()
    }

    /// Checks the query: a limit and offset in range, a filter that fits the kind, a tier the
    /// kind has, a cursor its order wrote.
    pub fn validate(&self) -> Result<(), Error> {
        if self.offset > MAX_OFFSET {
            return Err(Error::InvalidQuery {
                reason: format!("an offset is at most {MAX_OFFSET}"),
            });
        }
        self.start()?;
        if self.limit == 0 || self.limit > MAX_PAGE_SIZE {
            return Err(Error::InvalidQuery {
                reason: format!(
                    "a page holds 1 to {MAX_PAGE_SIZE} records, not {}",
                    self.limit
                ),
            });
        }
        let fits = match &self.filter {
            Filter::All => true,
            Filter::MetadataEquals { tier, .. } => {
                if !self.kind.has_tier(*tier) {
                    return Err(Error::UnsupportedTier {
                        kind: self.kind,
                        tier: *tier,
                    });
                }
                true
            }
            Filter::Metadata(clauses) => {
                if clauses.is_empty() || clauses.len() > crate::lookup::MAX_CLAUSES {
                    return Err(Error::InvalidQuery {
                        reason: format!(
                            "a lookup combines 1 to {} conditions",
                            crate::lookup::MAX_CLAUSES
                        ),
                    });
                }
                for clause in clauses {
                    if !self.kind.has_tier(clause.tier) {
                        return Err(Error::UnsupportedTier {
                            kind: self.kind,
                            tier: clause.tier,
                        });
                    }
                    clause.condition.validate()?;
                }
                true
            }
            Filter::MembershipsOfOrganization(_) | Filter::MembershipsOfUser(_) => {
                self.kind == ResourceKind::Membership
            }
            Filter::InvitationsOfOrganization(_) => self.kind == ResourceKind::Invitation,
        };
        if !fits {
            return Err(Error::InvalidQuery {
                reason: format!("that filter does not list {} records", self.kind),
            });
        }
        Ok(())
    }

    /// Whether `record` belongs in this listing, cursor aside: the reference semantics.
    pub fn matches(&self, record: &Record) -> bool {
        if record.kind() != self.kind {
            return false;
        }
        match &self.filter {
            Filter::All => true,
            Filter::MetadataEquals { tier, path, value } => record
                .tier(*tier)
                .and_then(|m| m.pointer(path.segments()))
                .is_some_and(|v| value.matches(v)),
            Filter::Metadata(clauses) => clauses.iter().all(|c| c.matches(record)),
            Filter::MembershipsOfOrganization(org) => record.organization_id() == Some(org),
            Filter::MembershipsOfUser(user) => record.user_id() == Some(user),
            Filter::InvitationsOfOrganization(org) => record.organization_id() == Some(org),
        }
    }
}

impl ListQuery {
    /// The reference listing (R7.2, R7.5): of `records` (any order), those the query
    /// [matches](ListQuery::matches) and that come after its cursor, sorted by its order, past
    /// its offset, one page of them. Stores may find them faster; they must find these.
    pub fn select<'a>(
        &self,
        records: impl IntoIterator<Item = &'a Record>,
    ) -> Result<Page<Record>, Error> {
        let start = self.start()?;
        let mut chosen: Vec<(Position, &Record)> = records
            .into_iter()
            .filter(|r| self.matches(r))
            .map(|r| (self.order.position_of(r), r))
            .filter(|(p, _)| {
                start
                    .as_ref()
                    .is_none_or(|s| self.order.compare(s, p) == std::cmp::Ordering::Less)
            })
            .collect();
        chosen.sort_by(|(a, _), (b, _)| self.order.compare(a, b));
        let page: Vec<Record> = chosen
            .into_iter()
            .skip(self.offset)
            .take(self.limit.saturating_add(1))
            .map(|(_, r)| r.clone())
            .collect();
        Ok(self.page(page))
    }

    /// Builds a page from up to `limit + 1` records in the query's order: a store fetches one
    /// more than the limit so that it knows whether another page follows.
    pub fn page(&self, mut items: Vec<Record>) -> Page<Record> {
        let more = items.len() > self.limit;
        items.truncate(self.limit);
        let next = if more {
            items.last().map(|r| self.order.cursor_of(r))
        } else {
            None
        };
        Page { items, next }
    }
}

/// One page of a listing. Serializes as `{"items": [...], "next": "<cursor>" | null}`.
///
/// ```
/// use metadata_core::{Cursor, Page};
/// let page = Page { items: vec![1, 2], next: Some(Cursor::new("user_2")) };
/// let json = serde_json::to_string(&page).unwrap();
/// assert_eq!(json, r#"{"items":[1,2],"next":"user_2"}"#);
/// assert_eq!(serde_json::from_str::<Page<i32>>(&json).unwrap(), page);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The records, in storage-key order.
    pub items: Vec<T>,
    /// Where to continue, if there may be more.
    pub next: Option<Cursor>,
}

impl Page<Record> {
    /// Builds a page from up to `limit + 1` records in order: a store fetches one more than the
    /// limit so that it knows whether another page follows.
    pub fn from_overfetch(mut items: Vec<Record>, limit: usize) -> Self {
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items.last().map(|r| Cursor(r.key().storage_key()))
        } else {
            None
        };
        Page { items, next }
    }
}

impl<T> Page<T> {
    /// Converts every item.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R7.3: a segment is 1 to 64 of `A-Z a-z 0-9 _ -`, checked for every ASCII character in
    /// every position, and for characters past ASCII.
    #[test]
    fn r7_3_segments_are_exactly_letters_digits_underscores_and_hyphens() {
        for c in (0u8..=0x7f).map(char::from).chain(['é', '日', '\u{80}']) {
            let allowed = c.is_ascii_alphanumeric() || c == '_' || c == '-';
            for at in 0..3 {
                let mut key: Vec<char> = "abc".chars().collect();
                key[at] = c;
                let key: String = key.into_iter().collect();
                assert_eq!(MetadataPath::is_segment(&key), allowed, "{key:?}");
            }
        }
        assert!(!MetadataPath::is_segment(""));
        assert!(MetadataPath::is_segment(&"a".repeat(MAX_SEGMENT_LEN)));
        assert!(!MetadataPath::is_segment(&"a".repeat(MAX_SEGMENT_LEN + 1)));
    }
}
