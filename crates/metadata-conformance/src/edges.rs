//! Values at the edges real data has, for the suite, the model check and the fuzz corpus:
//! strings with `\u0000` and other control characters, surrogate pairs and escapes; empty and
//! numeric-looking keys; numbers at the edges of `f64`, `i64` and `u64`, spelled as JSON spells
//! them; arrays where a lookup path expects objects and objects where it expects arrays; depth at
//! the limit; tiers of exactly the size limit.
//!
//! Every store must read back exactly what it was given (R8.3) and find exactly what
//! [`metadata_core::ListQuery::matches`] selects (R7.3), for all of these.

use metadata_core::{Limits, LookupValue, Metadata};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Numbers at the edges, as JSON text: the spelling is part of what a store must keep.
pub const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "0.0",
    "1.0",
    "-1",
    "5e-324",
    "1e-7",
    "0.30000000000000004",
    "1e15",
    "1e16",
    "1e17",
    "1e18",
    "1e19",
    "123456789012345680000",
    "1.5e300",
    "-1.5e300",
    "9007199254740993",
    "9223372036854775807",
    "9.223372036854776e18",
    "1.152921504606847e18",
    "9223372036854775808",
    "18446744073709551615",
    "-9223372036854775808",
    "2.5",
];

/// Strings at the edges, as JSON text (escapes included, so a surrogate pair arrives as one).
pub const STRINGS: &[&str] = &[
    r#""""#,
    r#""a\u0000b""#,
    r#""\u0000""#,
    r#""\u0001\u001f\u007f""#,
    r#""tab\tnewline\ncr\r""#,
    r#""quote\" backslash\\ slash\/""#,
    r#""\ud83d\ude00 grin""#,
    r#""😀 raw""#,
    r#""\u2028\u2029""#,
    r#""\ufeffbom""#,
    r#""é""#,
    r#""e\u0301""#,
    r#""1""#,
    r#""true""#,
    r#""null""#,
];

/// Keys at the edges: empty, numeric-looking, escaped, and ordinary ones.
pub const KEYS: &[&str] = &[
    "",
    "0",
    "-1",
    "1e3",
    "01",
    "a",
    "b",
    "items",
    "a\u{0}b",
    "\u{1f}",
    "é",
    "😀",
    "role",
    "a.b",
    "__proto__",
];

/// The edge numbers as JSON values.
pub fn numbers() -> Vec<Value> {
    NUMBERS
        .iter()
        .map(|n| serde_json::from_str(n).expect("an edge number parses"))
        .collect()
}

/// The edge strings as JSON values.
pub fn strings() -> Vec<Value> {
    STRINGS
        .iter()
        .map(|s| serde_json::from_str(s).expect("an edge string parses"))
        .collect()
}

/// Every edge scalar: numbers, strings, booleans and `null`.
pub fn scalars() -> Vec<Value> {
    let mut all = numbers();
    all.extend(strings());
    all.extend([json!(true), json!(false), Value::Null]);
    all
}

/// A scalar from the edges.
pub fn scalar() -> impl Strategy<Value = Value> {
    prop::sample::select(scalars())
}

/// A key from the edges.
pub fn key() -> impl Strategy<Value = String> {
    prop::sample::select(KEYS).prop_map(str::to_owned)
}

/// Any JSON value built from edge scalars and keys, a few levels deep.
pub fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A tier: an object of edge keys and values.
pub fn tier() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), value(), 0..5).prop_map(|m| m.into_iter().collect())
}

/// Fixed tiers, each an edge case named in its first key's value where that helps: the four
/// values one store once altered or refused, objects and arrays where a path expects the
/// other, and one of every edge scalar.
pub fn fixed_tiers() -> Vec<Value> {
    let mut tiers = vec![
        json!({"s": "a\u{0}b"}),
        serde_json::from_str(r#"{"f":1e16}"#).unwrap(),
        serde_json::from_str(r#"{"f":-0.0}"#).unwrap(),
        json!({"items": ["x"]}),
        json!({"items": {"0": "x"}}),
        json!({"": {"0": {"-1": "deep"}}, "0": [], "-1": {}}),
        json!({"a\u{0}b": {"\u{1f}": 1}}),
        // A key holding \u0000 is not the key before it: `b` is missing, `v` is 2.
        json!({"b\u{0}": "x", "v\u{0}z": 1, "v": 2}),
        Value::Object(KEYS.iter().map(|k| (k.to_string(), json!(k))).collect()),
        json!({"n": numbers()}),
        json!({"s": strings()}),
    ];
    for (i, v) in scalars().into_iter().enumerate() {
        tiers.push(json!({ "v": v, "i": i }));
    }
    tiers.push(deepest(&Limits::default()));
    tiers
}

/// The deepest tier `limits` accept: objects nested to exactly the depth limit.
pub fn deepest(limits: &Limits) -> Value {
    let nest = |depth: usize| {
        let mut v = json!(-0.0);
        for _ in 0..depth {
            v = json!({ "d": v });
        }
        v
    };
    let mut depth = 1;
    while Metadata::from_value_with(nest(depth + 1), limits).is_ok() {
        depth += 1;
    }
    nest(depth)
}

/// `tier` padded with a string of edge characters to exactly `limit` bytes of compact JSON,
/// or `None` if it is already too large.
pub fn at_size(tier: &Map<String, Value>, limit: usize) -> Option<Map<String, Value>> {
    let mut padded = tier.clone();
    padded.insert("~pad".into(), Value::String(String::new()));
    let base = serde_json::to_vec(&padded).ok()?.len();
    let mut room = limit.checked_sub(base)?;
    // A third of the room as \u0000 (six bytes escaped), a third of the rest as grins (four),
    // then 'é' (two), then 'a' (one): every size is reached exactly.
    let mut pad = String::new();
    for (c, cost) in [('\u{0}', 6), ('😀', 4), ('é', 2)] {
        let n = room / 3 / cost;
        pad.extend(std::iter::repeat_n(c, n));
        room -= n * cost;
    }
    pad.extend(std::iter::repeat_n('a', room));
    padded.insert("~pad".into(), Value::String(pad));
    let size = serde_json::to_vec(&padded).ok()?.len();
    (size == limit).then_some(padded)
}

/// Lookup paths that reach into edge tiers, as dotted text: numeric-looking segments that
/// must never index an array (R7.3).
pub const PATHS: &[&str] = &[
    "v", "s", "f", "items.0", "0", "-1", "a", "b", "1e3", "01", "d.d",
];

/// Values to look for at those paths: every edge scalar a lookup can name.
pub fn lookup_values() -> Vec<LookupValue> {
    let mut values = vec![
        LookupValue::Integer(0),
        LookupValue::Integer(1),
        LookupValue::Integer(-1),
        LookupValue::Integer(10_000_000_000_000_000),
        LookupValue::Integer(1_000_000_000_000_000),
        LookupValue::Integer(9_007_199_254_740_993),
        LookupValue::Integer(1_152_921_504_606_846_976),
        LookupValue::Integer(1_152_921_504_606_847_000),
        LookupValue::Integer(i64::MAX),
        LookupValue::Integer(i64::MIN),
        LookupValue::Bool(true),
        LookupValue::Bool(false),
    ];
    for s in strings() {
        if let Value::String(s) = s {
            values.push(LookupValue::String(s));
        }
    }
    values.push(LookupValue::String("x".into()));
    values.push(LookupValue::String("deep".into()));
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_reaches_every_size_exactly() {
        let tier = json!({"s": "a\u{0}b", "f": -0.0})
            .as_object()
            .unwrap()
            .clone();
        for limit in 40..300 {
            let padded = at_size(&tier, limit).unwrap();
            assert_eq!(serde_json::to_vec(&padded).unwrap().len(), limit);
        }
        assert!(at_size(&tier, 10).is_none());
    }

    #[test]
    fn the_deepest_tier_is_at_the_limit() {
        let limits = Limits::default();
        let deepest = deepest(&limits);
        assert!(Metadata::from_value_with(deepest.clone(), &limits).is_ok());
        assert!(Metadata::from_value_with(json!({ "d": deepest }), &limits).is_err());
    }

    #[test]
    fn edge_numbers_keep_their_spelling_in_serde_json() {
        for (text, value) in NUMBERS.iter().zip(numbers()) {
            let again = serde_json::to_string(&value).unwrap();
            assert_eq!(
                serde_json::from_str::<Value>(&again).unwrap().to_string(),
                again,
                "{text}"
            );
        }
        assert_eq!(numbers()[2].to_string(), "-0.0");
    }
}
