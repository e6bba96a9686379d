//! Bulk changes (R14.1): one change applied to every record a filter selects, each record on
//! its own by compare-and-set. A record the change leaves as it was is not written, so running
//! the same bulk change again (after a crash, or twice) changes each record exactly once.

use crate::change::{Change, TierOp};
use crate::error::Error;
use crate::query::{Cursor, Filter, ListQuery};
use crate::record::Record;
use crate::tier::{ResourceKind, Tier};

/// The most records a bulk change reads in one page.
pub const MAX_BULK_PAGE: usize = crate::query::MAX_PAGE_SIZE;

/// One change for every record of `kind` that `filter` selects.
///
/// ```
/// use metadata_core::*;
/// use serde_json::json;
/// let plan_free = Filter::Metadata(vec![Clause::new(
///     Tier::Public,
///     "plan",
///     Condition::Equals("free".into()),
/// )?]);
/// let change = Change::new().merge_json(Tier::Public, json!({"plan": "pro"}))?;
/// let bulk = BulkChange::new(ResourceKind::User, plan_free, change)?;
/// assert_eq!(bulk.query(None, 100).limit, 100);
/// // A change that states a version cannot apply to many records.
/// let pinned = Change::new().merge_json(Tier::Public, json!({}))?.expect_version(3);
/// assert!(BulkChange::new(ResourceKind::User, Filter::All, pinned).is_err());
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkChange {
    /// The kind of the records.
    pub kind: ResourceKind,
    /// Which of them.
    pub filter: Filter,
    /// What to do to each.
    pub change: Change,
}

impl BulkChange {
    /// Checks and builds a bulk change: a filter that fits the kind, a change that names at
    /// least one tier the kind has and states no expected version.
    pub fn new(kind: ResourceKind, filter: Filter, change: Change) -> Result<BulkChange, Error> {
        ListQuery::new(kind, filter.clone(), 1).validate()?;
        if change.is_empty() {
            return Err(Error::EmptyChange);
        }
        if change.expected_version().is_some() {
            return Err(Error::InvalidQuery {
                reason: "a bulk change applies to many records and states no expected version"
                    .into(),
            });
        }
        for (tier, op) in change.ops() {
            if !kind.has_tier(tier) {
                return Err(Error::UnsupportedTier { kind, tier });
            }
            if let TierOp::Remove(paths) = op {
                if paths.is_empty() {
                    return Err(Error::InvalidQuery {
                        reason: format!("a removal from {tier} names at least one path"),
                    });
                }
            }
        }
        Ok(BulkChange {
            kind,
            filter,
            change,
        })
    }

    /// The page of records to change after `after`, by id: records keep their place while
    /// they change, so a bulk change neither skips nor repeats one that was there all along.
    pub fn query(&self, after: Option<Cursor>, limit: usize) -> ListQuery {
        ListQuery::new(
            self.kind,
            self.filter.clone(),
            limit.clamp(1, MAX_BULK_PAGE),
        )
        .after(after)
    }

    /// Whether applying the change to `before` gave a record whose tiers differ from its own:
    /// only then is it written (R14.1).
    pub fn changes(before: &Record, after: &Record) -> bool {
        Tier::ALL
            .into_iter()
            .any(|tier| before.tier(tier).map(|m| m.json()) != after.tier(tier).map(|m| m.json()))
    }
}
