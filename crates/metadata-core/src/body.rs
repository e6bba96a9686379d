//! Request bodies: the one parser from a body's bytes to a [`Change`], used by every surface
//! that takes a body (the HTTP routes, [`Change::replace_from_request`], the fuzz targets).

use crate::change::Change;
use crate::error::{Error, JsonKind, MetadataError};
use crate::limits::Limits;
use crate::metadata::{Metadata, Patch};
use crate::parse::{Node, Refusal};
use crate::tier::Tier;
use serde::de::DeserializeSeed;
use serde_json::{Map, Value};

/// How a body's tiers change a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyMode {
    /// Each tier given replaces the stored one (R3.1).
    Replace,
    /// Each tier given is a JSON Merge Patch (R3.2).
    Merge,
}

/// A request body read by the core's rules: the [`Change`] its tier fields make, and its other
/// top-level fields.
///
/// **Unknown fields.** The reference product's bodies carry fields this library does not own
/// (a user's `first_name`, an invitation's `email_address`): every field that is not a tier is
/// kept, unread, for the caller, which takes the ones it knows ([`RequestBody::string`]) and
/// ignores the rest. [`RequestBody::into_strict_change`] (and [`Change::replace_from_request`])
/// refuse any of them instead, for a caller whose bodies hold tiers only.
///
/// **The whole body** must be a JSON object (an empty body is `{}`), at most three tiers' worth
/// of [`Limits::max_input_bytes`], one level deeper than a tier may nest, with no duplicate key
/// (R4.4). A tier given as anything but an object is refused for that tier (R3.4).
///
/// ```
/// use metadata_core::{BodyMode, Error, Limits, RequestBody, Tier};
/// let body = RequestBody::parse(
///     br#"{"email_address":"a@example.com","public_metadata":{"seat":3}}"#,
///     BodyMode::Replace,
///     &Limits::default(),
/// )?;
/// assert_eq!(body.string("email_address")?, Some("a@example.com"));
/// assert!(body.change().op(Tier::Public).is_some());
/// assert!(matches!(body.into_strict_change(), Err(Error::UnknownField { .. })));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestBody {
    change: Change,
    fields: Map<String, Value>,
}

impl RequestBody {
    /// Reads `body` under `limits`, its tiers as `mode` says.
    pub fn parse(body: &[u8], mode: BodyMode, limits: &Limits) -> Result<Self, Error> {
        let mut fields = parse_object(body, limits)?;
        let mut change = Change::new();
        for tier in Tier::ALL {
            let Some(value) = fields.remove(tier.field_name()) else {
                continue;
            };
            change = match mode {
                BodyMode::Replace => {
                    let value =
                        Metadata::from_value_with(value, limits).map_err(|e| e.for_tier(tier))?;
                    change.replace(tier, value)
                }
                BodyMode::Merge => {
                    let patch =
                        Patch::from_value_with(value, limits).map_err(|e| e.for_tier(tier))?;
                    change.merge(tier, patch)
                }
            };
        }
        Ok(RequestBody { change, fields })
    }

    /// The longest body accepted under `limits`, in bytes: room for every tier of a record and
    /// a few other fields (three times [`Limits::max_input_bytes`]). A longer one is refused
    /// unread (R4.4); an HTTP server can refuse it before reading it off the socket.
    pub fn max_len(limits: &Limits) -> usize {
        limits.max_input_bytes().saturating_mul(3)
    }

    /// The change the body's tiers make (empty if it names none).
    pub fn change(&self) -> &Change {
        &self.change
    }

    /// The change, for a caller that has read the fields it wants.
    pub fn into_change(self) -> Change {
        self.change
    }

    /// The change, refusing a body with any field that is not a tier
    /// ([`Error::UnknownField`], naming the first in key order).
    pub fn into_strict_change(self) -> Result<Change, Error> {
        match self.fields.into_iter().next() {
            Some((field, _)) => Err(Error::UnknownField { field }),
            None => Ok(self.change),
        }
    }

    /// The fields that are not tiers.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// A string field, if present (`null` counts as absent); a value of another type is
    /// [`Error::InvalidField`].
    pub fn string(&self, name: &'static str) -> Result<Option<&str>, Error> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(Error::InvalidField {
                field: name,
                expected: JsonKind::String,
                found: JsonKind::of(other),
            }),
        }
    }

    /// A string field that must be present: [`Error::MissingField`] if it is not.
    pub fn required_string(&self, name: &'static str) -> Result<&str, Error> {
        self.string(name)?
            .ok_or(Error::MissingField { field: name })
    }
}

/// The body as a JSON object (R4.4 bounds it before and while it is parsed).
fn parse_object(body: &[u8], limits: &Limits) -> Result<Map<String, Value>, Error> {
    let invalid = |source| Error::InvalidRequest { source };
    if body.is_empty() {
        return Ok(Map::new());
    }
    Limits::check_input(body.len(), RequestBody::max_len(limits)).map_err(invalid)?;
    // The body is one level above the tiers, so it may nest one level deeper.
    let refusal = Refusal::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = Node::top(limits.max_depth() + 1, &refusal)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok((Value::Object(map), _)) => Ok(map),
        Ok((other, _)) => Err(invalid(MetadataError::NotAnObject {
            found: JsonKind::of(&other),
        })),
        Err(err) => Err(invalid(refusal.into_error(err))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str, mode: BodyMode) -> Result<RequestBody, Error> {
        RequestBody::parse(body.as_bytes(), mode, &Limits::default())
    }

    #[test]
    fn an_empty_body_is_an_empty_object() {
        let body = parse("", BodyMode::Replace).unwrap();
        assert!(body.change().is_empty() && body.fields().is_empty());
    }

    #[test]
    fn other_fields_are_kept_and_tiers_taken_out() {
        let body = parse(
            r#"{"id":"u1","first_name":"Ada","unsafe_metadata":{"a":null}}"#,
            BodyMode::Merge,
        )
        .unwrap();
        assert_eq!(body.fields().len(), 2);
        assert!(matches!(
            body.change().op(Tier::Unsafe),
            Some(crate::TierOp::Merge(_))
        ));
        assert_eq!(body.string("id").unwrap(), Some("u1"));
        assert_eq!(body.string("absent").unwrap(), None);
    }

    #[test]
    fn fields_of_the_wrong_type_or_missing_are_typed_errors() {
        let body = parse(r#"{"user_id":7,"email_address":null}"#, BodyMode::Replace).unwrap();
        let err = body.string("user_id").unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidField {
                field: "user_id",
                found: JsonKind::Number,
                ..
            }
        ));
        assert_eq!(err.param(), Some("user_id"));
        let err = body.required_string("email_address").unwrap_err();
        assert!(matches!(
            err,
            Error::MissingField {
                field: "email_address"
            }
        ));
        assert_eq!(err.code(), crate::codes::MISSING);
    }

    #[test]
    fn a_body_that_is_not_an_object_or_too_deep_is_refused_whole() {
        for bad in ["[]", "null", "{", r#"{"a":1,"a":2}"#] {
            assert!(
                matches!(
                    parse(bad, BodyMode::Replace),
                    Err(Error::InvalidRequest { .. })
                ),
                "{bad}"
            );
        }
        let deep = format!("{}1{}", "{\"a\":".repeat(70), "}".repeat(70));
        assert!(matches!(
            parse(&deep, BodyMode::Replace),
            Err(Error::InvalidRequest {
                source: MetadataError::TooDeep { .. }
            })
        ));
    }

    #[test]
    fn a_tier_that_is_not_an_object_is_refused_for_that_tier() {
        for mode in [BodyMode::Replace, BodyMode::Merge] {
            let err = parse(r#"{"private_metadata":[1]}"#, mode).unwrap_err();
            assert!(matches!(
                err,
                Error::InvalidMetadata {
                    tier: Tier::Private,
                    ..
                }
            ));
        }
    }
}
