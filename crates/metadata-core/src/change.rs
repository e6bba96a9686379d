//! Updates as values, and the pure function that applies one (contract §3, R4).

use crate::access::{self, Access, Surface};
use crate::body::{BodyMode, RequestBody};
use crate::error::Error;
use crate::limits::Limits;
use crate::metadata::{Metadata, Patch};
use crate::query::MetadataPath;
use crate::record::{Millis, Resource};
use crate::tier::Tier;
use serde_json::Value;

/// What one update does to one tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TierOp {
    /// Replace the tier wholesale (R3.1).
    Replace(Metadata),
    /// Merge a JSON Merge Patch into the tier (R3.2).
    Merge(Patch),
    /// Remove the value at each path, walking objects only (R3.6): a path that leads nowhere
    /// is left alone, and nothing else changes.
    Remove(Vec<MetadataPath>),
}

/// One update of one record: an operation for some of its tiers, all applied or none (R3.3),
/// and optionally the version the writer expects the record to have (R3.5).
///
/// ```
/// use metadata_core::{Change, Metadata, Patch, Tier};
/// use serde_json::json;
/// let change = Change::new()
///     .replace(Tier::Public, Metadata::from_value(json!({"role": "admin"})).unwrap())
///     .merge(Tier::Private, Patch::from_value(json!({"stripe": null})).unwrap())
///     .expect_version(3);
/// assert_eq!(change.expected_version(), Some(3));
/// assert_eq!(change.ops().count(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    ops: [Option<TierOp>; 3],
    expected_version: Option<u64>,
}

impl Change {
    /// An update that does nothing yet.
    pub fn new() -> Self {
        Change::default()
    }

    /// Replaces `tier` with `value` (R3.1); a later call for the same tier wins.
    pub fn replace(mut self, tier: Tier, value: Metadata) -> Self {
        self.ops[tier.index()] = Some(TierOp::Replace(value));
        self
    }

    /// Merges `patch` into `tier` (R3.2); a later call for the same tier wins.
    pub fn merge(mut self, tier: Tier, patch: Patch) -> Self {
        self.ops[tier.index()] = Some(TierOp::Merge(patch));
        self
    }

    /// Removes the values at `paths` from `tier` (R3.6); a later call for the same tier wins.
    pub fn remove(mut self, tier: Tier, paths: Vec<MetadataPath>) -> Self {
        self.ops[tier.index()] = Some(TierOp::Remove(paths));
        self
    }

    /// Replaces `tier` with a JSON value, checked here with the tier named in any error.
    pub fn replace_json(self, tier: Tier, value: Value) -> Result<Self, Error> {
        let value = Metadata::from_value(value).map_err(|e| e.for_tier(tier))?;
        Ok(self.replace(tier, value))
    }

    /// Merges a JSON value as a patch into `tier`, checked here with the tier named in any error.
    pub fn merge_json(self, tier: Tier, patch: Value) -> Result<Self, Error> {
        let patch = Patch::from_value(patch).map_err(|e| e.for_tier(tier))?;
        Ok(self.merge(tier, patch))
    }

    /// Refuses the update unless the record is at `version` (R3.5).
    pub fn expect_version(mut self, version: u64) -> Self {
        self.expected_version = Some(version);
        self
    }

    /// The version the writer expects, if any.
    pub fn expected_version(&self) -> Option<u64> {
        self.expected_version
    }

    /// The operation for `tier`, if any.
    pub fn op(&self, tier: Tier) -> Option<&TierOp> {
        self.ops[tier.index()].as_ref()
    }

    /// The operations, in tier order.
    pub fn ops(&self) -> impl Iterator<Item = (Tier, &TierOp)> {
        Tier::ALL
            .into_iter()
            .filter_map(|t| self.ops[t.index()].as_ref().map(|op| (t, op)))
    }

    /// Whether the update names no tier. Such an update writes nothing on any surface: see
    /// [`unchanged`].
    pub fn is_empty(&self) -> bool {
        self.ops.iter().all(Option::is_none)
    }

    /// Reads a replace request body in the wire format, `{"public_metadata": {...}, ...}`: a
    /// tier that is absent is left as it is; `{}` clears it; anything but an object (`null`
    /// included) is refused for that tier (R3.1, R3.4).
    ///
    /// ```
    /// use metadata_core::{Change, Error, Limits, Tier};
    /// let change = Change::replace_from_request(br#"{"public_metadata":{}}"#, &Limits::default()).unwrap();
    /// assert!(change.op(Tier::Public).is_some() && change.op(Tier::Private).is_none());
    /// let err = Change::replace_from_request(br#"{"private_metadata":null}"#, &Limits::default());
    /// assert!(matches!(err, Err(Error::InvalidMetadata { tier: Tier::Private, .. })));
    /// ```
    pub fn replace_from_request(body: &[u8], limits: &Limits) -> Result<Self, Error> {
        Self::from_request(body, limits, BodyMode::Replace)
    }

    /// Reads a merge request body in the wire format (as the reference product's
    /// `PATCH .../metadata`): each tier given is a JSON Merge Patch (R3.2).
    pub fn merge_from_request(body: &[u8], limits: &Limits) -> Result<Self, Error> {
        Self::from_request(body, limits, BodyMode::Merge)
    }

    fn from_request(body: &[u8], limits: &Limits, mode: BodyMode) -> Result<Self, Error> {
        RequestBody::parse(body, mode, limits)?.into_strict_change()
    }
}

/// Applies `change` to `current` for `surface`, giving the record to write (contract §3, R4).
///
/// Every tier is checked first (access, shape, size); if any check fails, the error names the
/// tier and nothing is returned to write, so the store keeps the record as it was, version
/// included (R3.3). On success the version grows by one and `updated_at` moves to `now`.
///
/// ```
/// use metadata_core::*;
/// use serde_json::json;
/// let limits = Limits::default();
/// let user = create_user(UserId::new("u1").unwrap(), &Change::new(), &limits, 1_000).unwrap();
/// let change = Change::new().replace_json(Tier::Public, json!({"role": "admin"})).unwrap();
/// let next = apply_change(&user, &change, Surface::Backend, &limits, 2_000).unwrap();
/// assert_eq!((next.version, next.updated_at), (2, 2_000));
///
/// let refused = apply_change(&user, &change, Surface::Frontend, &limits, 2_000);
/// assert!(matches!(refused, Err(Error::AccessDenied { tier: Tier::Public, .. })));
/// ```
pub fn apply_change<R: Resource>(
    current: &R,
    change: &Change,
    surface: Surface,
    limits: &Limits,
    now: Millis,
) -> Result<R, Error> {
    apply_change_owned(current.clone(), change, surface, limits, now)
}

/// [`apply_change`] on a record the caller gives up: the same rules, the same outcome, but a
/// merge changes a tier in place when no other copy of the record shares it, instead of
/// copying the whole tier first. A store that holds the only copy of a record (taken out of
/// its caches) merges a small patch into a large tier at the cost of the patch.
///
/// ```
/// use metadata_core::*;
/// use serde_json::json;
/// let limits = Limits::default();
/// let user = create_user(UserId::new("u1").unwrap(), &Change::new(), &limits, 1_000).unwrap();
/// let change = Change::new().merge_json(Tier::Public, json!({"plan": "pro"})).unwrap();
/// let next = apply_change_owned(user, &change, Surface::Backend, &limits, 2_000).unwrap();
/// assert_eq!(next.public_metadata.to_json(), r#"{"plan":"pro"}"#);
/// ```
pub fn apply_change_owned<R: Resource>(
    mut current: R,
    change: &Change,
    surface: Surface,
    limits: &Limits,
    now: Millis,
) -> Result<R, Error> {
    if change.is_empty() {
        return Err(Error::EmptyChange);
    }
    for (tier, _) in change.ops() {
        access::check(surface, R::KIND, tier, Access::Write)?;
    }
    if let Some(status) = current.frozen_status() {
        return Err(Error::Frozen {
            kind: R::KIND,
            id: current.key().storage_key(),
            status,
        });
    }
    check_expected_version(&current, change)?;
    // Every tier is computed and checked before any is stored, so a refusal leaves nothing
    // half applied (R3.3); a merged tier is taken out of the record to be merged in place.
    let mut values: [Option<Metadata>; 3] = [None, None, None];
    for (tier, op) in change.ops() {
        let value = match op {
            TierOp::Replace(value) => value.clone(),
            TierOp::Merge(patch) => match current.tier_mut(tier) {
                Some(target) => patch.apply_to_owned(std::mem::take(target)),
                None => {
                    return Err(Error::UnsupportedTier {
                        kind: R::KIND,
                        tier,
                    })
                }
            },
            TierOp::Remove(paths) => match current.tier_mut(tier) {
                Some(target) => remove_paths(std::mem::take(target), paths, limits)
                    .map_err(|e| e.for_tier(tier))?,
                None => {
                    return Err(Error::UnsupportedTier {
                        kind: R::KIND,
                        tier,
                    })
                }
            },
        };
        check_size(tier, &value, limits)?;
        values[tier.index()] = Some(value);
    }
    for tier in Tier::ALL {
        if let Some(value) = values[tier.index()].take() {
            if let Some(slot) = current.tier_mut(tier) {
                *slot = value;
            }
        }
    }
    current.stamp(now);
    Ok(current)
}

/// `metadata` without the values at `paths` (R3.6): each path walks objects only, as lookups do
/// (R7.3); one that leads nowhere changes nothing. A tier with nothing to remove is returned
/// as it was, spelling included.
fn remove_paths(
    metadata: Metadata,
    paths: &[MetadataPath],
    limits: &Limits,
) -> Result<Metadata, crate::MetadataError> {
    if paths
        .iter()
        .all(|p| metadata.pointer(p.segments()).is_none())
    {
        return Ok(metadata);
    }
    let mut map = metadata.into_map();
    for path in paths {
        remove_at(&mut map, path.segments());
    }
    Metadata::from_map_with(map, limits)
}

/// Removes the value at `segments` below `map`, walking objects only.
fn remove_at(map: &mut serde_json::Map<String, Value>, segments: &[String]) {
    match segments {
        [last] => {
            map.remove(last);
        }
        [first, rest @ ..] => {
            if let Some(Value::Object(child)) = map.get_mut(first) {
                remove_at(child, rest);
            }
        }
        [] => {}
    }
}

/// Checks that `current` is at the version `change` expects, if it states one (R3.5):
/// [`Error::Conflict`] otherwise.
pub fn check_expected_version<R: Resource>(current: &R, change: &Change) -> Result<(), Error> {
    match change.expected_version() {
        Some(expected) if expected != current.version() => Err(Error::Conflict {
            kind: R::KIND,
            id: current.key().storage_key(),
            expected,
            actual: current.version(),
        }),
        _ => Ok(()),
    }
}

/// An update that names no tier ([`Change::is_empty`]) writes nothing, on every surface: it
/// answers `current` as it is, version unchanged, once the version the change expects (if
/// any) is checked (R3.1, R3.5). [`apply_change`] refuses it instead ([`Error::EmptyChange`]),
/// as it has nothing to write; a caller asks this first.
///
/// ```
/// use metadata_core::*;
/// let user = create_user(UserId::new("u1").unwrap(), &Change::new(), &Limits::default(), 1).unwrap();
/// assert_eq!(unchanged(user.clone(), &Change::new()).unwrap(), user);
/// let stale = Change::new().expect_version(7);
/// assert!(matches!(unchanged(user, &stale), Err(Error::Conflict { expected: 7, actual: 1, .. })));
/// ```
pub fn unchanged<R: Resource>(current: R, change: &Change) -> Result<R, Error> {
    debug_assert!(change.is_empty());
    check_expected_version(&current, change)?;
    Ok(current)
}

/// Checks one tier's value against the size limit (R4.1, R4.3).
pub fn check_size(tier: Tier, value: &Metadata, limits: &Limits) -> Result<(), Error> {
    if value.size() > limits.tier_bytes() {
        return Err(Error::TooLarge {
            tier,
            size: value.size(),
            limit: limits.tier_bytes(),
        });
    }
    Ok(())
}
