//! The `lookup` column: what lookups read and index, apart from the record's exact text.
//!
//! `jsonb` refuses `\u0000` in strings and keys, re-spells numbers and lets `#>` index arrays,
//! so the record itself is kept as text (R8.3) and lookups read a projection of its tiers that
//! keeps exactly what a lookup can tell apart (R7.3, R7.4):
//!
//! - objects, with only the keys a path can name ([`MetadataPath::is_segment`]), so that `#>`
//!   walks objects only;
//! - a string or a boolean as itself; a string holding `\u0000` as an object whose one key
//!   (` nul`) no path can name, holding the string's escaped text, which no other string has;
//! - a number as the exact decimal of its lookup value: the integer it is when a lookup
//!   integer can equal it ([`LookupValue::of`]), otherwise every digit of the `f64` it is read
//!   as ([`LookupNumber::of`]), so that `numeric` comparison agrees with the core's exactly;
//! - `null` for `null` and for an array: the path exists, and nothing else matches it.
//!
//! A lookup compares the projection with [`lookup_value`] of what it looks for, so `jsonb`
//! equality and order agree with [`Condition::holds`](metadata_core::Condition::holds).

use metadata_core::{
    write_json_string, LookupNumber, LookupValue, Metadata, MetadataPath, Record, Tier,
};
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
        Value::Bool(_) | Value::Null => true,
        Value::Number(n) => n.is_i64(),
        // Recursion is bounded: a tier is at most MAX_DEPTH_CEILING (100) levels deep.
        Value::Object(object) => object
            .iter()
            .all(|(key, value)| MetadataPath::is_segment(key) && as_written(value)),
        Value::Array(_) => false,
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
        Value::Bool(b) => {
            entry(out, first);
            out.push_str(if *b { "true" } else { "false" });
        }
        Value::Number(n) => {
            entry(out, first);
            match LookupValue::of(value) {
                Some(LookupValue::Integer(i)) => out.push_str(itoa::Buffer::new().format(i)),
                _ => out.push_str(&lookup_number(LookupNumber::of(n))),
            }
        }
        Value::Null | Value::Array(_) => {
            entry(out, first);
            out.push_str("null");
        }
    }
}

/// A string lookup value as [`lookup_json`] spells it.
fn write_lookup_string(out: &mut String, text: &str) {
    if text.contains('\0') {
        out.push_str(NUL_OPEN);
        write_json_string(out, &escape_nul(text));
        out.push('}');
    } else {
        write_json_string(out, text);
    }
}

/// How the projection of a string holding `\u0000` opens: an object under a key no path can
/// name.
const NUL_OPEN: &str = "{\" nul\":";

/// The key under which the projection of a string holding `\u0000` keeps its escaped text.
pub(crate) const NUL_KEY: &str = " nul";

/// A string holding `\u0000`, as text `jsonb` accepts and no other string can equal. Each
/// character is escaped on its own and no escape is a prefix of another, so a prefix of the
/// string escapes to a prefix of its escaped text, and only a prefix does.
pub(crate) fn escape_nul(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\0', "\\0")
}

fn lookup_json(value: &LookupValue) -> Value {
    match value {
        LookupValue::String(s) if s.contains('\0') => {
            let mut object = Map::new();
            object.insert(NUL_KEY.to_owned(), Value::String(escape_nul(s)));
            Value::Object(object)
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

/// A number as the projection writes it: an integer as itself, a float as every digit of its
/// exact value.
pub(crate) fn lookup_number(n: LookupNumber) -> String {
    match n {
        LookupNumber::Integer(i) => itoa::Buffer::new().format(i).to_owned(),
        LookupNumber::Float(f) => exact_decimal(f),
    }
}

/// The exact decimal value of a finite `f64` (up to 1,074 digits after the point for the
/// smallest subnormal): `mantissa * 2^exponent` computed in base 10^9.
fn exact_decimal(f: f64) -> String {
    let bits = f.to_bits();
    let negative = bits >> 63 == 1;
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exponent) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | 1 << 52, biased - 1075),
    };
    if mantissa == 0 || !f.is_finite() {
        return "0".to_owned();
    }
    let mut limbs = vec![
        (mantissa % 1_000_000_000) as u32,
        (mantissa / 1_000_000_000) as u32,
    ];
    // Multiplies by `factor^count`, `factor^chunk_power` (below 2^31) at a time.
    let mut times = |factor: u64, chunk_power: u32, mut count: u32| {
        while count > 0 {
            let step = count.min(chunk_power);
            let by = factor.pow(step);
            let mut carry = 0u64;
            for limb in limbs.iter_mut() {
                let v = u64::from(*limb) * by + carry;
                *limb = (v % 1_000_000_000) as u32;
                carry = v / 1_000_000_000;
            }
            while carry > 0 {
                limbs.push((carry % 1_000_000_000) as u32);
                carry /= 1_000_000_000;
            }
            count -= step;
        }
    };
    let point = if exponent >= 0 {
        times(2, 29, exponent as u32);
        0
    } else {
        times(5, 13, exponent.unsigned_abs());
        exponent.unsigned_abs() as usize
    };
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut digits = limbs.last().map(|l| l.to_string()).unwrap_or_default();
    for limb in limbs.iter().rev().skip(1) {
        digits.push_str(&format!("{limb:09}"));
    }
    if point > 0 {
        if digits.len() <= point {
            digits.insert_str(0, &"0".repeat(point + 1 - digits.len()));
        }
        digits.insert(digits.len() - point, '.');
        let trimmed = digits.trim_end_matches('0').trim_end_matches('.').len();
        digits.truncate(trimmed);
    }
    if negative {
        digits.insert(0, '-');
    }
    digits
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
                "s": {" nul": "a\\0b"}, "t": "x", "f": 10_000_000_000_000_000i64, "z": 0,
                "g": 1.5, "items": null, "big": 18446744073709551616u128 as f64,
                "o": {"0": "x", "n": null}
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
                    Value::Object(child) => object(child),
                    Value::Null | Value::Array(_) => Value::Null,
                    Value::Number(n) => match LookupValue::of(value) {
                        Some(v) => lookup_json(&v),
                        None => serde_json::from_str(&lookup_number(LookupNumber::of(n))).unwrap(),
                    },
                    scalar => lookup_json(&LookupValue::of(scalar).unwrap()),
                };
                copy.insert(key.clone(), projected);
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
        assert_eq!(b, r#"{" nul":"\\0"}"#);
        assert_eq!(
            lookup_value(&LookupValue::from("a\\\0")),
            r#"{" nul":"a\\\\\\0"}"#
        );
    }

    #[test]
    fn r7_4_floats_project_to_their_exact_decimal() {
        assert_eq!(exact_decimal(1.5), "1.5");
        assert_eq!(
            exact_decimal(-0.1),
            "-0.1000000000000000055511151231257827021181583404541015625"
        );
        assert_eq!(exact_decimal(1e16), "10000000000000000");
        assert_eq!(exact_decimal(2f64.powi(64)), "18446744073709551616");
        assert_eq!(exact_decimal(0.0), "0");
        let tiny = exact_decimal(f64::from_bits(1));
        assert!(tiny.starts_with("0.000") && tiny.ends_with("625"), "{tiny}");
        assert_eq!(tiny.len(), 2 + 1074);
        assert_eq!(exact_decimal(f64::MAX).len(), 309);
        for f in [0.3, 123.456, 1e-7, 9007199254740993.0, 1e300, -2.5e-300] {
            let text = exact_decimal(f);
            assert_eq!(text.parse::<f64>().unwrap(), f, "{text}");
        }
    }
}
