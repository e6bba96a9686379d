//! Schemas per kind and tier (R13.1): a host declares a JSON Schema (draft 2020-12) for a tier of
//! a kind, and every write of that tier must match it.
//!
//! Validation is the `jsonschema` crate's, without remote references (a `$ref` outside the
//! schema is refused when it is declared) and with linear-time regular expressions for
//! `pattern`, so no schema or value can make a write hang.

use crate::change::Change;
use crate::error::Error;
use crate::metadata::Metadata;
use crate::record::Record;
use crate::tier::{ResourceKind, Tier};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The largest schema a host may declare, in bytes of its compact JSON.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;
/// The deepest a declared schema may nest: compiling and checking recurse through it.
pub const MAX_SCHEMA_DEPTH: usize = 64;

/// The declared schemas, at most one per kind and tier. Cheap to clone.
///
/// ```
/// use metadata_core::{Error, Metadata, ResourceKind, Schemas, Tier};
/// use serde_json::json;
///
/// let mut schemas = Schemas::new();
/// schemas
///     .declare(
///         ResourceKind::User,
///         Tier::Public,
///         &json!({"type": "object", "properties": {"age": {"type": "integer"}}}),
///     )
///     .unwrap();
/// let bad = Metadata::from_value(json!({"age": "23"})).unwrap();
/// let err = schemas.check(ResourceKind::User, Tier::Public, &bad).unwrap_err();
/// assert!(matches!(&err, Error::SchemaMismatch { tier: Tier::Public, pointer, .. } if pointer == "/age"));
/// assert_eq!(err.code(), "form_param_value_invalid");
/// ```
#[derive(Clone, Default)]
pub struct Schemas {
    declared: HashMap<(ResourceKind, Tier), Arc<Declared>>,
}

struct Declared {
    source: Value,
    validator: jsonschema::Validator,
}

impl fmt::Debug for Schemas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<String> = self
            .declared
            .keys()
            .map(|(kind, tier)| format!("{kind} {tier}"))
            .collect();
        keys.sort();
        f.debug_struct("Schemas").field("declared", &keys).finish()
    }
}

impl Schemas {
    /// No schemas: every tier takes any object.
    pub fn new() -> Self {
        Schemas::default()
    }

    /// Whether no schema is declared.
    pub fn is_empty(&self) -> bool {
        self.declared.is_empty()
    }

    /// Declares (or replaces) the schema of `tier` of `kind`. A schema that does not compile
    /// under draft 2020-12, refers outside itself, is over [`MAX_SCHEMA_BYTES`], or is for a
    /// tier the kind lacks is refused as [`Error::SchemaInvalid`] or [`Error::UnsupportedTier`].
    pub fn declare(&mut self, kind: ResourceKind, tier: Tier, schema: &Value) -> Result<(), Error> {
        if !kind.has_tier(tier) {
            return Err(Error::UnsupportedTier { kind, tier });
        }
        let invalid = |reason: String| Error::SchemaInvalid { kind, tier, reason };
        if too_deep(schema) {
            return Err(invalid(format!(
                "a schema nests at most {MAX_SCHEMA_DEPTH} levels"
            )));
        }
        let size = serde_json::to_vec(schema)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > MAX_SCHEMA_BYTES {
            return Err(invalid(format!(
                "a schema is at most {MAX_SCHEMA_BYTES} bytes, not {size}"
            )));
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_pattern_options(jsonschema::PatternOptions::regex())
            .build(schema)
            .map_err(|e| invalid(e.masked().to_string()))?;
        self.declared.insert(
            (kind, tier),
            Arc::new(Declared {
                source: schema.clone(),
                validator,
            }),
        );
        Ok(())
    }

    /// Schemas from one document: an object whose keys are kinds as the wire names them
    /// (`user`, `organization`, `organization_membership`, ...) and whose values are objects
    /// from tier fields (`public_metadata`, ...) to schemas.
    ///
    /// ```
    /// use metadata_core::{ResourceKind, Schemas, Tier};
    /// let doc = serde_json::json!({"user": {"public_metadata": {"type": "object"}}});
    /// let schemas = Schemas::from_document(&doc).unwrap();
    /// assert!(schemas.get(ResourceKind::User, Tier::Public).is_some());
    /// assert!(Schemas::from_document(&serde_json::json!({"robot": {}})).is_err());
    /// ```
    pub fn from_document(document: &Value) -> Result<Schemas, Error> {
        let refuse = |reason: String| Error::InvalidQuery { reason };
        let Value::Object(kinds) = document else {
            return Err(refuse("a schema document is an object of kinds".into()));
        };
        let mut schemas = Schemas::new();
        for (kind_name, tiers) in kinds {
            let kind = ResourceKind::from_object_name(kind_name).ok_or_else(|| {
                refuse(format!(
                    "a schema document names kinds as the wire does (user, organization, ...), not {:?}",
                    kind_name.chars().take(64).collect::<String>()
                ))
            })?;
            let Value::Object(tiers) = tiers else {
                return Err(refuse(format!(
                    "the schemas of {kind} are an object of tiers"
                )));
            };
            for (tier_name, schema) in tiers {
                let tier = Tier::ALL
                    .into_iter()
                    .find(|t| t.field_name() == tier_name)
                    .ok_or_else(|| {
                        refuse(format!(
                            "tiers are public_metadata, private_metadata and unsafe_metadata, not {:?}",
                            tier_name.chars().take(64).collect::<String>()
                        ))
                    })?;
                schemas.declare(kind, tier, schema)?;
            }
        }
        Ok(schemas)
    }

    /// Removes the schema of `tier` of `kind`, if any.
    pub fn remove(&mut self, kind: ResourceKind, tier: Tier) {
        self.declared.remove(&(kind, tier));
    }

    /// The schema declared for `tier` of `kind`, as given.
    pub fn get(&self, kind: ResourceKind, tier: Tier) -> Option<&Value> {
        self.declared.get(&(kind, tier)).map(|d| &d.source)
    }

    /// Checks one tier value against its kind's schema, if one is declared: the first mismatch
    /// as [`Error::SchemaMismatch`], naming the tier and the JSON pointer of the offending value
    /// (never the value itself).
    pub fn check(&self, kind: ResourceKind, tier: Tier, metadata: &Metadata) -> Result<(), Error> {
        let Some(declared) = self.declared.get(&(kind, tier)) else {
            return Ok(());
        };
        let instance = metadata.to_value();
        if declared.validator.is_valid(&instance) {
            return Ok(());
        }
        let Err(error) = declared.validator.validate(&instance) else {
            return Ok(());
        };
        Err(Error::SchemaMismatch {
            kind,
            tier,
            pointer: error.instance_path().as_str().to_owned(),
            reason: error.masked().to_string(),
        })
    }

    /// Checks every tier of a record being created (R13.1).
    pub fn check_record(&self, record: &Record) -> Result<(), Error> {
        if self.declared.is_empty() {
            return Ok(());
        }
        for tier in Tier::ALL {
            if let Some(metadata) = record.tier(tier) {
                self.check(record.kind(), tier, metadata)?;
            }
        }
        Ok(())
    }

    /// Checks the tiers `change` writes, as they stand in `updated` (R13.1): a tier the change
    /// leaves alone is not checked again, so declaring a schema never blocks writes to other
    /// tiers of records stored before it.
    pub fn check_change(&self, updated: &Record, change: &Change) -> Result<(), Error> {
        if self.declared.is_empty() {
            return Ok(());
        }
        for (tier, _) in change.ops() {
            if let Some(metadata) = updated.tier(tier) {
                self.check(updated.kind(), tier, metadata)?;
            }
        }
        Ok(())
    }

    /// The records of `records` whose tiers do not match a declared schema, each with the
    /// first mismatch: what a host reviews after declaring a schema over existing data.
    pub fn scan<'a>(
        &self,
        records: impl IntoIterator<Item = &'a Record>,
    ) -> Vec<(crate::RecordKey, Error)> {
        records
            .into_iter()
            .filter_map(|r| self.check_record(r).err().map(|e| (r.key(), e)))
            .collect()
    }
}

/// Whether `value` nests deeper than [`MAX_SCHEMA_DEPTH`], found without recursion.
fn too_deep(value: &Value) -> bool {
    let mut stack = vec![(value, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(map) => Box::new(map.values()),
            Value::Array(items) => Box::new(items.iter()),
            _ => continue,
        };
        if depth > MAX_SCHEMA_DEPTH {
            return true;
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(v: Value) -> Metadata {
        Metadata::from_value(v).unwrap()
    }

    #[test]
    fn r13_1_a_mismatch_names_the_tier_and_pointer_never_the_value() {
        let mut schemas = Schemas::new();
        let schema = json!({
            "type": "object",
            "properties": {"plan": {"enum": ["free", "pro"]}, "seats": {"type": "integer", "minimum": 1}},
            "required": ["plan"]
        });
        schemas
            .declare(ResourceKind::Organization, Tier::Private, &schema)
            .unwrap();
        let check = |v: Value| schemas.check(ResourceKind::Organization, Tier::Private, &meta(v));
        assert!(check(json!({"plan": "pro", "seats": 3})).is_ok());
        let err = check(json!({"plan": "SECRET-PLAN"})).unwrap_err();
        assert!(
            matches!(&err, Error::SchemaMismatch { pointer, tier: Tier::Private, .. } if pointer == "/plan"),
            "{err:?}"
        );
        assert!(!err.to_string().contains("SECRET-PLAN"), "{err}");
        let err = check(json!({"plan": "pro", "seats": 0})).unwrap_err();
        assert!(matches!(&err, Error::SchemaMismatch { pointer, .. } if pointer == "/seats"));
        let err = check(json!({})).unwrap_err();
        assert!(matches!(&err, Error::SchemaMismatch { pointer, .. } if pointer.is_empty()));
        // Other kinds and tiers are free.
        assert!(schemas
            .check(ResourceKind::User, Tier::Private, &meta(json!({"plan": 1})))
            .is_ok());
    }

    #[test]
    fn r13_1_bad_schemas_and_remote_references_are_refused() {
        let mut schemas = Schemas::new();
        for schema in [
            json!({"type": "no-such-type"}),
            json!({"$ref": "https://example.com/schema.json"}),
            json!({"$ref": "file:///etc/passwd"}),
            json!({"pattern": "("}),
            json!({"minimum": "three"}),
        ] {
            let err = schemas
                .declare(ResourceKind::User, Tier::Public, &schema)
                .unwrap_err();
            assert!(
                matches!(err, Error::SchemaInvalid { .. }),
                "{schema}: {err:?}"
            );
            assert_eq!(err.code(), "form_param_value_invalid");
        }
        let err = schemas
            .declare(ResourceKind::Organization, Tier::Unsafe, &json!({}))
            .unwrap_err();
        assert!(matches!(err, Error::UnsupportedTier { .. }));
        // Nested far past the limit, taken apart without recursion.
        let mut deep = json!({});
        for _ in 0..1_000 {
            deep = json!({ "not": deep });
        }
        assert!(matches!(
            schemas.declare(ResourceKind::User, Tier::Public, &deep),
            Err(Error::SchemaInvalid { .. })
        ));
        let mut rest = Some(deep);
        while let Some(Value::Object(mut map)) = rest.take() {
            rest = map.remove("not");
        }
        let huge = json!({"description": "x".repeat(MAX_SCHEMA_BYTES)});
        assert!(matches!(
            schemas.declare(ResourceKind::User, Tier::Public, &huge),
            Err(Error::SchemaInvalid { .. })
        ));
        assert!(schemas.is_empty());
    }

    /// A pattern that backtracks exponentially in a backtracking engine runs in linear time.
    #[test]
    fn r13_1_patterns_cannot_hang_a_write() {
        let mut schemas = Schemas::new();
        schemas
            .declare(
                ResourceKind::User,
                Tier::Unsafe,
                &json!({"properties": {"s": {"pattern": "^(a+)+$"}}}),
            )
            .unwrap();
        let value = meta(json!({"s": format!("{}!", "a".repeat(5000))}));
        assert!(schemas
            .check(ResourceKind::User, Tier::Unsafe, &value)
            .is_err());
    }
}
