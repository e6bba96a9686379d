//! The reference semantics of finding records by a metadata value (R7.2, R7.3).

use metadata_core::LookupValue;
use serde_json::{json, Value};

fn number(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn r7_3_an_integer_matches_a_number_of_exactly_its_value() {
    let one = LookupValue::Integer(1);
    assert!(one.matches(&number("1")));
    assert!(one.matches(&number("1.0")));
    assert!(!one.matches(&number("1.5")));
    assert!(!one.matches(&json!("1")), "a string never matches a number");
    assert!(!one.matches(&json!(true)), "true never matches 1");
    assert!(LookupValue::Integer(10_000_000_000_000_000).matches(&number("1e16")));
    assert!(LookupValue::Integer(0).matches(&number("-0.0")));
    // 2^63 as a float is not i64::MAX (2^63 - 1), though `as i64` would saturate to it.
    assert!(!LookupValue::Integer(i64::MAX).matches(&number("9.223372036854776e18")));
    assert!(LookupValue::Integer(i64::MAX).matches(&number("9223372036854775807")));
    assert!(LookupValue::Integer(i64::MIN).matches(&number("-9.223372036854776e18")));
    // 2^53 + 1 has no f64; the float 2^53 is a different value.
    assert!(!LookupValue::Integer(9_007_199_254_740_993).matches(&number("9007199254740992.0")));
    assert!(!LookupValue::Integer(-1).matches(&number("18446744073709551615")));
}

#[test]
fn r7_3_strings_and_booleans_match_exactly() {
    assert!(LookupValue::from("a\u{0}b").matches(&json!("a\u{0}b")));
    assert!(!LookupValue::from("a").matches(&json!("a\u{0}")));
    assert!(!LookupValue::from("é").matches(&json!("e\u{301}")));
    assert!(LookupValue::Bool(false).matches(&json!(false)));
    assert!(!LookupValue::Bool(false).matches(&json!(0)));
    assert!(!LookupValue::Bool(false).matches(&Value::Null));
}

#[test]
fn r7_3_a_value_matches_exactly_its_canonical_lookup_value() {
    for text in [
        "0",
        "-0",
        "-0.0",
        "1.0",
        "1e16",
        "1.152921504606847e18",
        "9.223372036854776e18",
        "-9.223372036854776e18",
        "9223372036854775807",
        "18446744073709551615",
        "5e-324",
        "1.5",
        "\"a\\u0000b\"",
        "\"1\"",
        "true",
        "null",
        "[1]",
        "{\"0\":1}",
    ] {
        let value = number(text);
        let canonical = LookupValue::of(&value);
        for candidate in [
            LookupValue::Integer(0),
            LookupValue::Integer(1),
            LookupValue::Integer(10_000_000_000_000_000),
            LookupValue::Integer(1_152_921_504_606_846_976),
            LookupValue::Integer(1_152_921_504_606_847_000),
            LookupValue::Integer(i64::MAX),
            LookupValue::Integer(i64::MIN),
            LookupValue::from("a\u{0}b"),
            LookupValue::from("1"),
            LookupValue::Bool(true),
        ] {
            assert_eq!(
                candidate.matches(&value),
                canonical.as_ref() == Some(&candidate),
                "{text} against {candidate:?}"
            );
        }
    }
    // 2^60 as a float is spelled 1.152921504606847e18 but is exactly 1152921504606846976.
    assert_eq!(
        LookupValue::of(&number("1.152921504606847e18")),
        Some(LookupValue::Integer(1_152_921_504_606_846_976))
    );
}
