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

use metadata_core::{write_json_string, LookupValue, Metadata, MetadataPath, Record, Tier};
use serde_json::{Map, Value};

/// The projection of a record's tiers, as JSON text for a `jsonb` parameter. It is written
/// straight from the tiers, with no intermediate value: every write computes it, and building
/// and serializing a copy of an 8 KiB tier cost more client time than the rest of the write.
pub(crate) fn projection(record: &Record) -> String {
    // At most the tiers' own text, but for strings holding `\u0000`.
    let tiers: usize = Tier::ALL
        .into_iter()
        .filter_map(|t| record.tier(t).map(|m| m.size()))
        .sum();
    let mut out = String::with_capacity(64 + tiers);
    out.push('{');
    let mut first = true;
    for tier in Tier::ALL {
        if let Some(metadata) = record.tier(tier) {
            separate(&mut out, &mut first);
            write_json_string(&mut out, tier.field_name());
            out.push(':');
            write_tier(&mut out, metadata);
        }
    }
    out.push('}');
    out
}

fn separate(out: &mut String, first: &mut bool) {
    if !std::mem::take(first) {
        out.push(',');
    }
}

/// Writes a tier's projection. Entries whose projection is their own text (see
/// [`as_written`]) are copied from the tier's kept text, a run of them in one copy; the others
/// are written as [`write_object`] writes them.
fn write_tier(out: &mut String, metadata: &Metadata) {
    let json = metadata.json();
    out.push('{');
    let mut first = true;
    // The run of entries copied as they stand, not yet written.
    let mut run: Option<std::ops::Range<usize>> = None;
    for (key, value, at) in metadata.entry_spans() {
        let projected = MetadataPath::is_segment(key);
        if projected && as_written(value) {
            // Entries stand one after another: the run grows over the `,` between them.
            run = Some(run.map_or(at.clone(), |r| r.start..at.end));
            continue;
        }
        if let Some(r) = run.take() {
            separate(out, &mut first);
            out.push_str(&json[r]);
        }
        if projected {
            write_entry(out, &mut first, key, value);
        }
    }
    if let Some(r) = run {
        separate(out, &mut first);
        out.push_str(&json[r]);
    }
    out.push('}');
}

/// Whether a value's projection is the value as `serde_json` writes it: a string without
/// `\u0000`, a boolean, an integer serde_json holds as `i64`, or an object of such values under
/// keys a path can name. Arrays, `null` and other numbers are projected otherwise or dropped.
fn as_written(value: &Value) -> bool {
    match value {
        // Without an early exit, the check runs many bytes at a time.
        Value::String(text) => text.bytes().fold(true, |plain, b| plain & (b != 0)),
        Value::Bool(_) => true,
        Value::Number(n) => n.is_i64(),
        // Recursion is bounded: a tier is at most MAX_DEPTH_CEILING (100) levels deep.
        Value::Object(object) => object
            .iter()
            .all(|(key, value)| MetadataPath::is_segment(key) && as_written(value)),
        Value::Null | Value::Array(_) => false,
    }
}

/// Writes an object's projection: the keys a path can name, with objects projected in turn
/// and scalars as the lookup value they match; nothing for the rest.
fn write_object(out: &mut String, object: &Map<String, Value>) {
    out.push('{');
    let mut first = true;
    for (key, value) in object {
        if MetadataPath::is_segment(key) {
            write_entry(out, &mut first, key, value);
        }
    }
    out.push('}');
}

/// Writes one entry's projection under `key` (a segment), if its value has one.
fn write_entry(out: &mut String, first: &mut bool, key: &str, value: &Value) {
    // A segment is plain ASCII: nothing in it to escape.
    let entry = |out: &mut String, first: &mut bool| {
        separate(out, first);
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
    };
    match value {
        Value::Object(child) => {
            entry(out, first);
            // Recursion is bounded: a tier is at most MAX_DEPTH_CEILING (100) levels deep.
            write_object(out, child);
        }
        // A string is its own lookup value: written without a copy.
        Value::String(text) => {
            entry(out, first);
            write_lookup_string(out, text);
        }
        scalar => match LookupValue::of(scalar) {
            Some(LookupValue::Integer(i)) => {
                entry(out, first);
                out.push_str(itoa::Buffer::new().format(i));
            }
            Some(LookupValue::Bool(b)) => {
                entry(out, first);
                out.push_str(if b { "true" } else { "false" });
            }
            Some(LookupValue::String(text)) => {
                entry(out, first);
                write_lookup_string(out, &text);
            }
            None => {}
        },
    }
}

/// A string lookup value as [`lookup_json`] spells it.
fn write_lookup_string(out: &mut String, text: &str) {
    if text.contains('\0') {
        out.push('[');
        write_json_string(out, &escape_nul(text));
        out.push(']');
    } else {
        write_json_string(out, text);
    }
}

/// A string holding `\u0000`, as text `jsonb` accepts and no other string can equal.
fn escape_nul(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\0', "\\0")
}

fn lookup_json(value: &LookupValue) -> Value {
    match value {
        LookupValue::String(s) if s.contains('\0') => {
            Value::Array(vec![Value::String(escape_nul(s))])
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
    use metadata_core::{create_user, Change, Limits, Metadata, UserId};

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

    /// The projection as it was first written: a copy of each tier built as a value, then
    /// serialized. The text written straight from the tiers must mean the same to `jsonb`.
    fn projection_by_value(record: &Record) -> Value {
        fn object(o: &Map<String, Value>) -> Value {
            let mut copy = Map::new();
            for (key, value) in o.iter().filter(|(k, _)| MetadataPath::is_segment(k)) {
                let projected = match value {
                    Value::Object(child) => Some(object(child)),
                    scalar => LookupValue::of(scalar).map(|v| lookup_json(&v)),
                };
                if let Some(projected) = projected {
                    copy.insert(key.clone(), projected);
                }
            }
            Value::Object(copy)
        }
        let mut tiers = Map::new();
        for tier in Tier::ALL {
            if let Some(m) = record.tier(tier) {
                tiers.insert(tier.field_name().to_owned(), object(m.as_map()));
            }
        }
        Value::Object(tiers)
    }

    #[test]
    fn r7_3_the_written_projection_equals_the_projection_by_value() {
        use proptest::strategy::{Strategy, ValueTree};
        let mut tiers = metadata_conformance::edges::fixed_tiers();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for _ in 0..300 {
            let tier = metadata_conformance::edges::tier()
                .new_tree(&mut runner)
                .unwrap()
                .current();
            tiers.push(Value::Object(tier));
        }
        for tier in tiers {
            let record = user(&tier.to_string());
            let written: Value = serde_json::from_str(&projection(&record)).unwrap();
            assert_eq!(written, projection_by_value(&record), "tier {tier}");
        }
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
