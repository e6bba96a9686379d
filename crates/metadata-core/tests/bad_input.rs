//! Bad input gets a typed error, never a panic (R3.4, R4.4, R9.1).

use metadata_core::*;
use serde_json::{json, Map, Value};

fn limits() -> Limits {
    Limits::default()
}

#[test]
fn r3_4_non_objects_as_a_tier_are_refused_with_their_kind() {
    let table = [
        (json!([1, 2]), JsonKind::Array),
        (json!("text"), JsonKind::String),
        (json!(42), JsonKind::Number),
        (json!(true), JsonKind::Bool),
        (json!(null), JsonKind::Null),
    ];
    for (value, kind) in table {
        let bytes = serde_json::to_vec(&value).unwrap();
        assert!(
            matches!(Metadata::from_slice(&bytes), Err(MetadataError::NotAnObject { found }) if found == kind)
        );
        assert!(
            matches!(Metadata::from_value(value.clone()), Err(MetadataError::NotAnObject { found }) if found == kind)
        );
        let err = Change::new()
            .replace_json(Tier::Private, value.clone())
            .unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidMetadata {
                tier: Tier::Private,
                source: MetadataError::NotAnObject { .. }
            }
        ));
        assert_eq!(err.code(), "form_param_value_invalid");
        assert_eq!(err.param(), Some("private_metadata"));
        let body = serde_json::to_vec(&json!({ "unsafe_metadata": value })).unwrap();
        let err = Change::replace_from_request(&body, &limits()).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidMetadata {
                tier: Tier::Unsafe,
                ..
            }
        ));
    }
}

fn deep_bytes(depth: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(depth * 2 + 8);
    out.extend_from_slice(b"{\"a\":");
    out.extend(std::iter::repeat_n(b'[', depth));
    out.extend(std::iter::repeat_n(b']', depth));
    out.push(b'}');
    out
}

fn deep_value(depth: usize) -> Value {
    let mut v = json!({});
    for _ in 0..depth {
        let mut m = Map::new();
        m.insert("a".into(), v);
        v = Value::Object(m);
    }
    v
}

#[test]
fn r4_4_hundred_thousand_deep_bytes_are_refused_unread_or_at_the_depth_limit() {
    let bytes = deep_bytes(100_000);
    // Under the default limits the input is longer than any tier could be: refused unread.
    assert!(
        matches!(Metadata::from_slice(&bytes), Err(MetadataError::InputTooLarge { len, limit: 65536 }) if len == bytes.len())
    );
    // With room for it, the parser stops at the depth limit without recursing further.
    let roomy = Limits::default().with_tier_bytes(1 << 20);
    assert!(matches!(
        Metadata::from_slice_with(&bytes, &roomy),
        Err(MetadataError::TooDeep { limit: 64 })
    ));
    assert!(matches!(
        Patch::from_slice_with(&bytes, &roomy),
        Err(MetadataError::TooDeep { .. })
    ));
}

#[test]
fn r4_4_hundred_thousand_deep_value_is_refused_and_dropped_without_overflow() {
    let value = deep_value(100_000);
    assert!(matches!(
        Metadata::from_value(value),
        Err(MetadataError::TooDeep { limit: 64 })
    ));
    let value = deep_value(100_000);
    assert!(matches!(
        Patch::from_value(value),
        Err(MetadataError::TooDeep { .. })
    ));
    let err = Change::new()
        .merge_json(Tier::Public, deep_value(100_000))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidMetadata {
            tier: Tier::Public,
            source: MetadataError::TooDeep { .. }
        }
    ));
}

#[test]
fn r4_4_depth_limit_is_exact() {
    // Depth 64 (the tier object plus 63 nested) passes, 65 does not.
    assert!(Metadata::from_value(deep_value(63)).is_ok());
    assert!(matches!(
        Metadata::from_value(deep_value(64)),
        Err(MetadataError::TooDeep { .. })
    ));
    let bytes = serde_json::to_vec(&deep_value(63)).unwrap();
    assert!(Metadata::from_slice(&bytes).is_ok());
    let bytes = serde_json::to_vec(&deep_value(64)).unwrap();
    assert!(matches!(
        Metadata::from_slice(&bytes),
        Err(MetadataError::TooDeep { .. })
    ));
}

#[test]
fn invalid_json_is_a_typed_error() {
    for bad in [
        &b""[..],
        b"{",
        b"{\"a\":}",
        b"{} {}",
        b"\xff\xfe",
        b"{\"a\":1,}",
        b"{'a':1}",
        b"{\"a\":NaN}",
    ] {
        let err = Metadata::from_slice(bad).unwrap_err();
        assert!(
            matches!(err, MetadataError::InvalidJson { .. }),
            "{bad:?}: {err:?}"
        );
        assert_eq!(err.code(), "form_param_value_invalid");
    }
    assert!(matches!(
        Change::replace_from_request(b"{\"public_metadata\":", &limits()),
        Err(Error::InvalidRequest {
            source: MetadataError::InvalidJson { .. }
        })
    ));
}

#[test]
fn duplicate_keys_are_refused_at_any_depth() {
    for bad in [
        &br#"{"a":1,"a":2}"#[..],
        br#"{"x":{"b":1,"b":1}}"#,
        br#"{"x":[{"c":1,"c":2}]}"#,
    ] {
        assert!(
            matches!(
                Metadata::from_slice(bad),
                Err(MetadataError::DuplicateKey { .. })
            ),
            "{bad:?}"
        );
        assert!(matches!(
            Patch::from_slice(bad),
            Err(MetadataError::DuplicateKey { .. })
        ));
    }
    assert!(matches!(
        Change::replace_from_request(br#"{"public_metadata":{},"public_metadata":{}}"#, &limits()),
        Err(Error::InvalidRequest {
            source: MetadataError::DuplicateKey { .. }
        })
    ));
}

#[test]
fn r3_1_absent_tier_is_left_alone_and_empty_object_clears() {
    let limits = limits();
    let start = Change::new()
        .replace_json(Tier::Public, json!({"a": 1}))
        .unwrap()
        .replace_json(Tier::Private, json!({"b": 2}))
        .unwrap();
    let user = create_user(UserId::new("u").unwrap(), &start, &limits, 1).unwrap();
    let change = Change::replace_from_request(br#"{"public_metadata":{}}"#, &limits).unwrap();
    let next = apply_change(&user, &change, Surface::Backend, &limits, 2).unwrap();
    assert!(next.public_metadata.is_empty());
    assert_eq!(next.private_metadata.to_value(), json!({"b": 2}));
}

#[test]
fn unknown_request_fields_and_empty_changes_are_refused() {
    assert!(matches!(
        Change::replace_from_request(br#"{"publicMetadata":{}}"#, &limits()),
        Err(Error::UnknownField { field }) if field == "publicMetadata"
    ));
    let user = create_user(UserId::new("u").unwrap(), &Change::new(), &limits(), 1).unwrap();
    let err = apply_change(&user, &Change::new(), Surface::Backend, &limits(), 2).unwrap_err();
    assert!(matches!(err, Error::EmptyChange));
    assert_eq!(err.code(), "form_param_missing");
}

#[test]
fn huge_request_bodies_are_refused_unread() {
    let body = vec![b' '; 10 << 20];
    assert!(matches!(
        Change::replace_from_request(&body, &limits()),
        Err(Error::InvalidRequest {
            source: MetadataError::InputTooLarge { .. }
        })
    ));
}

#[test]
fn bad_ids_emails_and_queries_are_typed_errors() {
    let err: Error = UserId::new("no spaces").unwrap_err().into();
    assert!(matches!(
        err,
        Error::InvalidId(IdError {
            kind: ResourceKind::User,
            ..
        })
    ));
    assert_eq!(err.code(), "form_param_value_invalid");
    let org = OrganizationId::new("org").unwrap();
    for email in [
        "",
        "no-at",
        "@x",
        "a@",
        "a b@c",
        &format!("{}@x", "a".repeat(400)),
    ] {
        let err = create_invitation(
            InvitationId::new("i").unwrap(),
            org.clone(),
            email,
            &Change::new(),
            &limits(),
            1,
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidEmail { .. }), "{email}");
    }
    for path in ["", "a.", ".a", "a b", "a.b.c.d.e.f.g.h.i", "$.a", "a[0]"] {
        assert!(
            matches!(MetadataPath::parse(path), Err(Error::InvalidQuery { .. })),
            "{path}"
        );
    }
    let query = ListQuery {
        kind: ResourceKind::Invitation,
        filter: Filter::All,
        after: None,
        limit: 0,
        order: metadata_core::ListOrder::BY_ID,
        offset: 0,
    };
    assert!(matches!(query.validate(), Err(Error::InvalidQuery { .. })));
    let query = ListQuery {
        kind: ResourceKind::Organization,
        filter: Filter::MetadataEquals {
            tier: Tier::Unsafe,
            path: MetadataPath::parse("a").unwrap(),
            value: 1.into(),
        },
        after: None,
        limit: 10,
        order: metadata_core::ListOrder::BY_ID,
        offset: 0,
    };
    assert!(matches!(
        query.validate(),
        Err(Error::UnsupportedTier {
            kind: ResourceKind::Organization,
            tier: Tier::Unsafe
        })
    ));
}
