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
