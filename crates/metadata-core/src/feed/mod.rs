//! The change feed's events (contract §12: what a commit tells the outside world).
//!
//! Every record a commit creates, updates or deletes yields one [`RecordChange`], derived here
//! from the record before and after the write by [`RecordChange::of`]; a store writes it in the
//! same transaction as the record and gives it a position, making a [`ChangeEvent`].
//!
//! ```
//! use metadata_core::feed::{Operation, RecordChange};
//! use metadata_core::*;
//! use serde_json::json;
//!
//! let limits = Limits::default();
//! let user = create_user(UserId::new("user_1").unwrap(), &Change::new(), &limits, 1).unwrap();
//! let change = Change::new().replace_json(Tier::Public, json!({"role": "admin"})).unwrap();
//! let next = apply_change(&user, &change, Surface::Backend, &limits, 2).unwrap();
//! let (before, after) = (Record::User(user), Record::User(next));
//! let event = RecordChange::of(Some(&before), Some(&after)).unwrap();
//! assert_eq!(event.operation, Operation::Updated);
//! assert_eq!((event.previous_version, event.version), (Some(1), 2));
//! assert_eq!(event.tiers, vec![Tier::Public]);
//! ```

mod actor;
mod privacy;

pub use actor::{Actor, Stamp};
pub use privacy::{ClaimsScope, PublicChangeEvent};

use crate::plan::Write;
use crate::record::{Millis, Record};
use crate::tier::{ResourceKind, Tier};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// What a write did to one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// The record did not exist before the commit.
    Created,
    /// The record was stored at a new version.
    Updated,
    /// The record was deleted (directly, or by a cascade).
    Deleted,
}

impl Operation {
    /// Its name on the wire: `created`, `updated` or `deleted`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Created => "created",
            Operation::Updated => "updated",
            Operation::Deleted => "deleted",
        }
    }

    /// The operation named `name` (see [`Operation::as_str`]).
    pub fn parse(name: &str) -> Option<Operation> {
        [Operation::Created, Operation::Updated, Operation::Deleted]
            .into_iter()
            .find(|op| op.as_str() == name)
    }
}

/// What one commit did to one record: everything of an event but where the feed puts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordChange {
    /// The record's kind.
    pub kind: ResourceKind,
    /// The record's storage key ([`crate::RecordKey::storage_key`]).
    pub id: String,
    /// What the write did.
    pub operation: Operation,
    /// The version after the write. A deletion moves the record one version on (the version
    /// it had, plus one), so a record's events have increasing versions until it is created
    /// again, when its versions start at 1.
    pub version: u64,
    /// The version before the write; `None` for a creation.
    pub previous_version: Option<u64>,
    /// The tiers whose value the write changed, in [`Tier::ALL`] order: for a creation the
    /// tiers that are not empty, for a deletion the tiers that were not empty.
    pub tiers: Vec<Tier>,
    /// The record after the write, in its exact wire JSON (R8.1); `None` for a deletion.
    #[serde(
        serialize_with = "raw_json::serialize",
        deserialize_with = "raw_json::deserialize"
    )]
    pub record: Option<String>,
    /// Who made the commit (R14.2); `None` when its writer did not say, and for events
    /// written before actors were kept. Set by the store from the commit's [`Stamp`].
    #[serde(default)]
    pub actor: Option<Actor>,
}

impl RecordChange {
    /// The change from `before` to `after` (either absent: a creation or a deletion), or `None`
    /// when both are absent. `after`'s wire JSON is serialized here; a store that already holds
    /// it uses [`RecordChange::with_text`].
    pub fn of(before: Option<&Record>, after: Option<&Record>) -> Option<RecordChange> {
        RecordChange::with_text(before, after, after.map(Record::to_json))
    }

    /// The events of one [`Write`] a store has run, added to `out`: the one derivation of
    /// events from writes, which every store uses (R12.1, R12.3). `before` holds what the
    /// write found: the stored record an `Update` replaced, every record a `Delete` or a
    /// cascade removed, in the order it removed them (nothing for a `Create` or a `Require`).
    /// `text` is the wire JSON of the record a `Create` or an `Update` stored, as
    /// [`RecordChange::with_text`] takes it (`None`: the store writes it when the event is read).
    ///
    /// ```
    /// use metadata_core::feed::{Operation, RecordChange};
    /// use metadata_core::*;
    /// let user = create_user(UserId::new("u1").unwrap(), &Change::new(), &Limits::default(), 1).unwrap();
    /// let mut events = Vec::new();
    /// RecordChange::of_write(&Write::Create(user.clone().into_record()), [], None, &mut events);
    /// RecordChange::of_write(&Write::Delete(user.key()), [&user.into_record()], None, &mut events);
    /// let operations: Vec<_> = events.iter().map(|e| e.operation).collect();
    /// assert_eq!(operations, [Operation::Created, Operation::Deleted]);
    /// ```
    pub fn of_write<'a>(
        write: &Write,
        before: impl IntoIterator<Item = &'a Record>,
        text: Option<String>,
        out: &mut impl Extend<RecordChange>,
    ) {
        let mut before = before.into_iter();
        match write {
            Write::Require(_) => {}
            Write::Create(after) | Write::Update { record: after, .. } => {
                let replaced = match write {
                    Write::Update { .. } => before.next(),
                    _ => None,
                };
                out.extend(RecordChange::with_text(replaced, Some(after), text));
            }
            Write::Delete(_)
            | Write::DeleteMembershipsOfUser(_)
            | Write::DeleteMembershipsOfOrganization(_)
            | Write::DeleteInvitationsOfOrganization(_) => {
                out.extend(before.filter_map(|b| RecordChange::with_text(Some(b), None, None)));
            }
        }
    }

    /// [`RecordChange::of`] with `after`'s wire JSON given (`text` must be
    /// `after.to_json()`; it is ignored for a deletion).
    pub fn with_text(
        before: Option<&Record>,
        after: Option<&Record>,
        text: Option<String>,
    ) -> Option<RecordChange> {
        let (kind, id) = match (before, after) {
            (_, Some(r)) | (Some(r), None) => (r.kind(), r.key().storage_key()),
            (None, None) => return None,
        };
        let tiers = kind
            .tiers()
            .iter()
            .copied()
            .filter(|&tier| non_empty(before, tier) != non_empty(after, tier))
            .collect();
        Some(match (before, after) {
            (None, Some(after)) => RecordChange {
                kind,
                id,
                operation: Operation::Created,
                version: after.version(),
                previous_version: None,
                tiers,
                record: text,
                actor: None,
            },
            (Some(before), Some(after)) => RecordChange {
                kind,
                id,
                operation: Operation::Updated,
                version: after.version(),
                previous_version: Some(before.version()),
                tiers,
                record: text,
                actor: None,
            },
            (Some(before), None) => RecordChange {
                kind,
                id,
                operation: Operation::Deleted,
                version: before.version().saturating_add(1),
                previous_version: Some(before.version()),
                tiers,
                record: None,
                actor: None,
            },
            (None, None) => return None,
        })
    }

    /// The record after the write, parsed (`None` for a deletion).
    pub fn parse_record(&self) -> Option<Result<Record, serde_json::Error>> {
        self.record
            .as_ref()
            .map(|text| Record::from_json(self.kind, text.as_bytes()))
    }

    /// The tiers as their wire field names joined by commas (`public_metadata,unsafe_metadata`),
    /// for a store's column; [`RecordChange::parse_tiers`] reads it back.
    pub fn tiers_text(&self) -> String {
        self.tiers
            .iter()
            .map(|t| t.field_name())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads [`RecordChange::tiers_text`]; unknown names are dropped.
    pub fn parse_tiers(text: &str) -> Vec<Tier> {
        Tier::ALL
            .into_iter()
            .filter(|t| text.split(',').any(|name| name == t.field_name()))
            .collect()
    }
}

fn non_empty(record: Option<&Record>, tier: Tier) -> Option<&crate::Metadata> {
    record.and_then(|r| r.tier(tier)).filter(|m| !m.is_empty())
}

/// One committed change, with its place in the feed. Its JSON is flat: `position`,
/// `commit_id`, `committed_at`, then the fields of [`RecordChange`], `record` as the record's
/// exact JSON, and `actor` (a field of this project's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeEvent {
    /// Its position: positions start at 1, increase by 1 with no gap, and are never reused.
    pub position: u64,
    /// Shared by every event of one commit, and by no other (a sign-up completion is one commit
    /// with two events).
    pub commit_id: u64,
    /// When the store wrote it, in ms since the epoch.
    pub committed_at: Millis,
    /// What the commit did to the record.
    pub change: RecordChange,
}

/// The flat wire form of a [`ChangeEvent`] (`serde(flatten)` cannot carry the raw record).
#[derive(Serialize)]
struct EventRef<'a> {
    position: u64,
    commit_id: u64,
    committed_at: Millis,
    kind: ResourceKind,
    id: &'a str,
    operation: Operation,
    version: u64,
    previous_version: Option<u64>,
    tiers: &'a [Tier],
    #[serde(serialize_with = "raw_json::serialize_ref")]
    record: &'a Option<String>,
    actor: &'a Option<Actor>,
}

#[derive(Deserialize)]
struct EventOwned {
    position: u64,
    commit_id: u64,
    committed_at: Millis,
    kind: ResourceKind,
    id: String,
    operation: Operation,
    version: u64,
    previous_version: Option<u64>,
    tiers: Vec<Tier>,
    #[serde(default, deserialize_with = "raw_json::deserialize")]
    record: Option<String>,
    #[serde(default)]
    actor: Option<Actor>,
}

impl Serialize for ChangeEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = &self.change;
        EventRef {
            position: self.position,
            commit_id: self.commit_id,
            committed_at: self.committed_at,
            kind: c.kind,
            id: &c.id,
            operation: c.operation,
            version: c.version,
            previous_version: c.previous_version,
            tiers: &c.tiers,
            record: &c.record,
            actor: &c.actor,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ChangeEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let e = EventOwned::deserialize(d)?;
        Ok(ChangeEvent {
            position: e.position,
            commit_id: e.commit_id,
            committed_at: e.committed_at,
            change: RecordChange {
                kind: e.kind,
                id: e.id,
                operation: e.operation,
                version: e.version,
                previous_version: e.previous_version,
                tiers: e.tiers,
                record: e.record,
                actor: e.actor,
            },
        })
    }
}

mod raw_json {
    use super::*;

    pub(super) fn serialize<S: Serializer>(text: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        // A record's text is compact JSON the core wrote; it is checked once more here.
        match text {
            Some(text) => RawValue::from_string(text.clone())
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn serialize_ref<S: Serializer>(
        text: &&Option<String>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        serialize(text, s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let raw: Option<Box<RawValue>> = Option::deserialize(d)?;
        match raw {
            Some(raw) if raw.get() == "null" => Ok(None),
            Some(raw) => Ok(Some(raw.get().to_owned())),
            None => Ok(None),
        }
        .map_err(|e: serde_json::Error| D::Error::custom(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_round_trips_through_its_flat_json_keeping_the_records_spelling() {
        let event = ChangeEvent {
            position: 7,
            commit_id: 6,
            committed_at: 1_000,
            change: RecordChange {
                kind: ResourceKind::User,
                id: "user_1".into(),
                operation: Operation::Updated,
                version: 2,
                previous_version: Some(1),
                tiers: vec![Tier::Public],
                record: Some(r#"{"f":1e+16,"z":-0.0}"#.into()),
                actor: Some(Actor::backend_key("key_1")),
            },
        };
        let text = serde_json::to_string(&event).unwrap();
        assert!(text.contains(r#""record":{"f":1e+16,"z":-0.0}"#), "{text}");
        assert!(text.contains(r#""position":7"#) && text.contains(r#""kind":"user""#));
        let back: ChangeEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(back, event);
        let deleted = ChangeEvent {
            change: RecordChange {
                record: None,
                operation: Operation::Deleted,
                ..event.change.clone()
            },
            ..event
        };
        let back: ChangeEvent =
            serde_json::from_str(&serde_json::to_string(&deleted).unwrap()).unwrap();
        assert_eq!(back, deleted);
    }
}
