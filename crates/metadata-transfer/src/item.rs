//! One record read from a source, before any rule has looked at it, and one refused.

use metadata_core::Tier;
use serde_json::value::RawValue;
use std::fmt;

/// Where a record was read: what a report line names so that a person can find it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Locator {
    /// A line of a file (JSON Lines, CSV), counted from 1.
    Line(u64),
    /// An element of a JSON array, counted from 1.
    Element(u64),
    /// A page of the Backend API: its path and the record's place in it.
    Api(String),
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locator::Line(n) => write!(f, "line {n}"),
            Locator::Element(n) => write!(f, "element {n}"),
            Locator::Api(at) => f.write_str(at),
        }
    }
}

/// Which kind of record an item is, with what its creation needs besides its tiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// A user.
    User,
    /// An organization.
    Organization,
    /// A membership of `user` in `organization`.
    Membership {
        /// Its organization's id.
        organization: String,
        /// Its user's id.
        user: String,
    },
    /// A pending invitation to `organization` for `email`.
    Invitation {
        /// Its organization's id.
        organization: String,
        /// The invited address.
        email: String,
    },
}

/// One record as a source read it: its id and its tiers, each the source's exact text, which
/// the core's tier parser reads (and keeps, byte for byte) when the record is written.
#[derive(Clone, Debug)]
pub struct Item {
    /// Where it was read.
    pub at: Locator,
    /// Its kind.
    pub kind: ItemKind,
    /// Its id.
    pub id: String,
    /// Its tiers as JSON text (a tier the source leaves out or gives as `null` is `{}`).
    pub tiers: Vec<(Tier, String)>,
}

/// A record a source could not read, or the facade refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Where it was read.
    pub at: Locator,
    /// Its id, when one could be read.
    pub id: Option<String>,
    /// The stable code of the reason (the library's error code, or `malformed_record`).
    pub code: &'static str,
    /// The reason, in words (never a metadata value).
    pub reason: String,
}

/// The code of a record a source could not read.
pub const MALFORMED: &str = "malformed_record";

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}: {}",
            self.at,
            self.id.as_deref().unwrap_or("-"),
            self.code,
            self.reason
        )
    }
}

/// The tiers of a record from their raw texts (`None`, an empty text or `null`: `{}`).
pub(crate) fn tier_texts(tiers: &[(Tier, Option<&str>)]) -> Vec<(Tier, String)> {
    tiers
        .iter()
        .map(|(tier, text)| {
            let text = text
                .map(str::trim)
                .filter(|t| !t.is_empty() && *t != "null");
            (*tier, text.unwrap_or("{}").to_owned())
        })
        .collect()
}

/// [`tier_texts`] of raw values.
pub(crate) fn raw_tier_texts(tiers: &[(Tier, &Option<Box<RawValue>>)]) -> Vec<(Tier, String)> {
    let texts: Vec<(Tier, Option<&str>)> = tiers
        .iter()
        .map(|(tier, raw)| (*tier, raw.as_deref().map(RawValue::get)))
        .collect();
    tier_texts(&texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_null_tiers_are_empty_objects() {
        assert_eq!(
            tier_texts(&[
                (Tier::Public, Some(r#"{"a":1e16}"#)),
                (Tier::Private, Some("")),
                (Tier::Unsafe, Some("null")),
            ]),
            [
                (Tier::Public, r#"{"a":1e16}"#.to_owned()),
                (Tier::Private, "{}".to_owned()),
                (Tier::Unsafe, "{}".to_owned())
            ]
        );
    }
}
