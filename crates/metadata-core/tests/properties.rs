//! Properties of the pure rules, over generated JSON (contract §2, 3, 4).

use metadata_core::*;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn key() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{1,6}", "[\\u{0}-\\u{1f}\"\\\\a-z]{0,4}", "\\PC{0,4}",]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        "[\\u{0}-\\u{7f}]{0,8}".prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), json(), 0..6).prop_map(|m| m.into_iter().collect())
}

/// RFC 7396 written out plainly, recursion and all, as the reference.
fn reference_merge(target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut result = match target {
                Value::Object(t) => t.clone(),
                _ => Map::new(),
            };
            for (k, v) in p {
                if v.is_null() {
                    result.remove(k);
                } else {
                    let merged = reference_merge(result.get(k).unwrap_or(&Value::Null), v);
                    result.insert(k.clone(), merged);
                }
            }
            Value::Object(result)
        }
        other => other.clone(),
    }
}

fn big_limits() -> Limits {
    Limits::default().with_tier_bytes(1 << 20)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn r4_1_measured_size_equals_serialized_length(obj in object()) {
        let bytes = serde_json::to_vec(&obj).unwrap();
        let from_value = Metadata::from_value_with(Value::Object(obj), &big_limits()).unwrap();
        prop_assert_eq!(from_value.size(), bytes.len());
        let from_bytes = Metadata::from_slice_with(&bytes, &big_limits()).unwrap();
        prop_assert_eq!(from_bytes.size(), bytes.len());
        prop_assert_eq!(from_value.to_json().len(), bytes.len());
        // The project's own writer writes exactly serde_json's text (R4.1, R8.1).
        let written = from_value.to_json();
        prop_assert_eq!(written.as_bytes(), &bytes[..]);
    }

    #[test]
    fn r3_1_replace_then_read_returns_what_was_written(obj in object()) {
        let limits = big_limits();
        let user = create_user(UserId::new("u").unwrap(), &Change::new(), &limits, 1).unwrap();
        let value = Metadata::from_value_with(Value::Object(obj.clone()), &limits).unwrap();
        for tier in Tier::ALL {
            let next = apply_change(&user, &Change::new().replace(tier, value.clone()), Surface::Backend, &limits, 2).unwrap();
            prop_assert_eq!(next.tier(tier).unwrap().as_map(), &obj);
        }
    }

    #[test]
    fn r3_2_merge_with_empty_patch_is_identity(obj in object()) {
        let target = Metadata::from_value_with(Value::Object(obj), &big_limits()).unwrap();
        let merged = Patch::from_value(Value::Object(Map::new())).unwrap().apply_to(&target);
        prop_assert_eq!(&merged, &target);
        prop_assert_eq!(merged.size(), target.size());
    }

    #[test]
    fn r3_2_merge_agrees_with_plain_rfc7396(target in object(), patch in object()) {
        let t = Metadata::from_value_with(Value::Object(target.clone()), &big_limits()).unwrap();
        let p = Patch::from_value_with(Value::Object(patch.clone()), &big_limits()).unwrap();
        let merged = p.apply_to(&t);
        let expected = reference_merge(&Value::Object(target), &Value::Object(patch));
        prop_assert_eq!(merged.size(), serde_json::to_vec(&expected).unwrap().len());
        prop_assert_eq!(merged.into_value(), expected.clone());
        // Merged in place into the only copy, its kept text rewritten where the patch
        // touched it: the text is exactly the merged object's (R3.2, R4.1).
        let alone = Metadata::from_value_with(t.to_value(), &big_limits()).unwrap();
        let _ = alone.json();
        let in_place = p.apply_to_owned(alone);
        prop_assert_eq!(in_place.json(), serde_json::to_string(&expected).unwrap());
        prop_assert_eq!(in_place.size(), in_place.json().len());
        // Each entry's text is that entry alone, as serde_json writes it.
        let mut last = 0;
        for (key, value, at) in in_place.entry_spans() {
            let alone = serde_json::to_string(&serde_json::json!({ key: value })).unwrap();
            prop_assert_eq!(&in_place.json()[at.clone()], &alone[1..alone.len() - 1]);
            prop_assert_eq!(at.start, last + 1, "one separator before each entry");
            last = at.end;
        }
        let end = if in_place.is_empty() { 2 } else { last + 1 };
        prop_assert_eq!(in_place.json().len(), end, "the closing brace follows the last entry");
    }

    #[test]
    fn r4_1_exactly_the_limit_passes_and_one_more_fails(prefix in "\\PC{0,300}", limit in 400usize..9000) {
        // {"k":"<prefix><padding>"} sized to exactly `limit`, multi-byte characters included.
        let overhead = serde_json::to_vec(&serde_json::json!({"k": prefix})).unwrap().len();
        prop_assume!(overhead <= limit);
        let exact = format!("{prefix}{}", "a".repeat(limit - overhead));
        let limits = Limits::default().with_tier_bytes(limit);
        let fits = serde_json::json!({"k": exact});
        prop_assert_eq!(serde_json::to_vec(&fits).unwrap().len(), limit);
        prop_assert!(Metadata::from_value_with(fits.clone(), &limits).is_ok());
        prop_assert!(Metadata::from_slice_with(&serde_json::to_vec(&fits).unwrap(), &limits).is_ok());
        let over = serde_json::json!({"k": format!("{exact}a")});
        let err = Metadata::from_value_with(over.clone(), &limits).unwrap_err();
        let refused = matches!(err, MetadataError::TooLarge { size, limit: l } if size == limit + 1 && l == limit);
        prop_assert!(refused);
        if limit >= 8192 {
            // Beyond the default limit, the tier-aware constructor names the tier.
            let err = Change::new().replace_json(Tier::Public, over).unwrap_err();
            let refused = matches!(err, Error::TooLarge { tier: Tier::Public, .. });
            prop_assert!(refused);
        }
    }

    #[test]
    fn r2_frontend_sequences_never_touch_public_or_private(ops in prop::collection::vec((0usize..3, any::<bool>(), object()), 1..12)) {
        let limits = big_limits();
        let start = Change::new()
            .replace_json(Tier::Public, serde_json::json!({"p": 1})).unwrap()
            .replace_json(Tier::Private, serde_json::json!({"secret": "s"})).unwrap();
        let mut user = create_user(UserId::new("u").unwrap(), &start, &limits, 1).unwrap();
        let (public, private) = (user.public_metadata.clone(), user.private_metadata.clone());
        for (tier, merge, obj) in ops {
            let tier = Tier::ALL[tier];
            let change = if merge {
                Change::new().merge(tier, Patch::from_value_with(Value::Object(obj), &limits).unwrap())
            } else {
                Change::new().replace(tier, Metadata::from_value_with(Value::Object(obj), &limits).unwrap())
            };
            match apply_change(&user, &change, Surface::Frontend, &limits, 2) {
                Ok(next) => {
                    prop_assert_eq!(tier, Tier::Unsafe);
                    user = next;
                }
                Err(err) => {
                    prop_assert!(tier != Tier::Unsafe);
                    let denied = matches!(err, Error::AccessDenied { surface: Surface::Frontend, .. });
                    prop_assert!(denied);
                }
            }
            prop_assert_eq!(&user.public_metadata, &public);
            prop_assert_eq!(&user.private_metadata, &private);
            let view = serde_json::to_value(UserView::from(user.clone())).unwrap();
            prop_assert!(view.get("private_metadata").is_none());
        }
    }

    #[test]
    fn r3_3_a_multi_tier_update_with_one_bad_tier_is_refused_whole(a in object(), b in object(), c in object(), bad_tier in 0usize..3) {
        let limits = Limits::default();
        let fits = |obj: &Map<String, Value>| serde_json::to_vec(obj).unwrap().len() <= limits.tier_bytes();
        prop_assume!(fits(&a) && fits(&b) && fits(&c));
        let start = Change::new().replace_json(Tier::Public, serde_json::json!({"start": 1})).unwrap();
        let user = create_user(UserId::new("u").unwrap(), &start, &limits, 1).unwrap();
        let too_big = Metadata::from_value_with(serde_json::json!({"k": "x".repeat(9000)}), &big_limits()).unwrap();
        let bad = Tier::ALL[bad_tier];
        let mut good = Change::new();
        for (tier, obj) in Tier::ALL.into_iter().zip([a, b, c]) {
            if tier != bad {
                good = good.replace(tier, Metadata::from_value_with(Value::Object(obj), &limits).unwrap());
            }
        }
        // Without the bad tier the change is accepted, so every other tier it names would
        // have been written...
        let accepted = apply_change(&user, &good, Surface::Backend, &limits, 2).unwrap();
        prop_assert_eq!(accepted.version, 2);
        // ...and with it, whatever its place among the tiers, the whole change is refused and
        // the error names the bad tier and its size.
        let with_bad = good.replace(bad, too_big.clone());
        let err = apply_change(&user, &with_bad, Surface::Backend, &limits, 2).unwrap_err();
        let named = matches!(err, Error::TooLarge { tier, size, limit: 8192 } if tier == bad && size == too_big.size());
        prop_assert!(named, "{err:?}");
        prop_assert_eq!(err.param(), Some(bad.field_name()));
    }

    #[test]
    fn r8_2_user_round_trips(a in object(), b in object(), c in object()) {
        let limits = big_limits();
        let change = Change::new()
            .replace(Tier::Public, Metadata::from_value_with(Value::Object(a), &limits).unwrap())
            .replace(Tier::Private, Metadata::from_value_with(Value::Object(b), &limits).unwrap())
            .replace(Tier::Unsafe, Metadata::from_value_with(Value::Object(c), &limits).unwrap());
        let user = create_user(UserId::new("u").unwrap(), &change, &limits, 1).unwrap();
        let json = serde_json::to_string(&user).unwrap();
        prop_assert_eq!(serde_json::from_str::<User>(&json).unwrap(), user.clone());
        // The record writer stores exactly the derived serialization (R8.1).
        prop_assert_eq!(Record::User(user).to_json(), json);
    }
}
