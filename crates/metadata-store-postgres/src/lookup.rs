//! The `lookup` column: what lookups read and index, apart from the record's exact text.
//!
//! `jsonb` refuses `\u0000` in strings and keys, re-spells numbers and lets `#>` index arrays,
//! so the record itself is kept as text (R8.3) and lookups read a projection of its tiers that
//! keeps exactly what a lookup can match (R7.3):
//!
//! - objects, with only the keys a path can name ([`MetadataPath::is_segment`]), so that `#>`
//!   walks objects only;
//! - a scalar as its [`LookupValue::of`], the one lookup value it matches: a string or a boolean
//!   as itself, a number as the exact integer it is; a string holding `\u0000` as a one-element
//!   array of its escaped text, which no other string can equal;
//! - nothing for arrays, `null`, and numbers no integer equals: no lookup value matches them.
//!
//! A lookup compares the projection with [`lookup_value`] of what it looks for, so `jsonb`
//! equality agrees with [`LookupValue::matches`] exactly.

use metadata_core::{LookupValue, Metadata, MetadataPath, Record, Tier};
use serde_json::{Map, Value};

/// The projection of a record's tiers, as JSON text for a `jsonb` parameter.
pub(crate) fn projection(record: &Record) -> String {
    let mut tiers = Map::new();
    for tier in Tier::ALL {
        if let Some(metadata) = record.tier(tier) {
            tiers.insert(tier.field_name().to_owned(), project_tier(metadata));
        }
    }
    Value::Object(tiers).to_string()
}

fn project_tier(metadata: &Metadata) -> Value {
    // Recursion is bounded: a tier is at most MAX_DEPTH_CEILING (100) levels deep.
    project_object(metadata.as_map())
}

fn project_object(object: &Map<String, Value>) -> Value {
    let mut copy = Map::new();
    for (key, value) in object {
        if !MetadataPath::is_segment(key) {
            continue;
        }
        let projected = match value {
            Value::Object(child) => Some(project_object(child)),
            scalar => LookupValue::of(scalar).map(|v| lookup_json(&v)),
        };
        if let Some(projected) = projected {
            copy.insert(key.clone(), projected);
        }
    }
    Value::Object(copy)
}

fn lookup_json(value: &LookupValue) -> Value {
    match value {
        LookupValue::String(s) if s.contains('\0') => {
            let escaped = s.replace('\\', "\\\\").replace('\0', "\\0");
            Value::Array(vec![Value::String(escaped)])
        }
        LookupValue::String(s) => Value::String(s.clone()),
        LookupValue::Integer(i) => Value::from(*i),
        LookupValue::Bool(b) => Value::Bool(*b),
    }
}

/// What a lookup for `value` compares the projection with, as JSON text.
pub(crate) fn lookup_value(value: &LookupValue) -> String {
    lookup_json(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_core::{create_user, Change, Limits, UserId};

    fn user(public: &str) -> Record {
        let change = Change::new().replace(Tier::Public, Metadata::from_str(public).unwrap());
        Record::User(
            create_user(UserId::new("u").unwrap(), &change, &Limits::default(), 1).unwrap(),
        )
    }

    #[test]
    fn the_projection_keeps_what_a_lookup_can_match() {
        let record = user(
            r#"{"s":"a\u0000b","t":"x","f":1e16,"g":1.5,"z":-0.0,"items":["x"],"o":{"0":"x","n":null,"a\u0000":1},"":1,"big":18446744073709551615}"#,
        );
        let projected: Value = serde_json::from_str(&projection(&record)).unwrap();
        assert_eq!(
            projected["public_metadata"],
            serde_json::json!({
                "s": ["a\\0b"], "t": "x", "f": 10_000_000_000_000_000i64, "z": 0,
                "o": {"0": "x"}
            })
        );
        assert!(!projection(&record).contains("\\u0000"));
        assert_eq!(projected["private_metadata"], serde_json::json!({}));
    }

    #[test]
    fn escaped_strings_cannot_collide() {
        let a = lookup_value(&LookupValue::from("\\0"));
        let b = lookup_value(&LookupValue::from("\0"));
        assert_ne!(a, b);
        assert_eq!(b, r#"["\\0"]"#);
        assert_eq!(lookup_value(&LookupValue::from("a\\\0")), r#"["a\\\\\\0"]"#);
    }
}
