//! Updates, versions and typed metadata (contract §3, 11); the copies are in `copies.rs`.

use metadata_core::*;
use serde_json::json;

fn limits() -> Limits {
    Limits::default()
}

fn user() -> User {
    let change = Change::new()
        .replace_json(
            Tier::Public,
            json!({"role": "member", "nested": {"a": 1, "b": 2}}),
        )
        .unwrap()
        .replace_json(Tier::Private, json!({"stripe": "cus_1"}))
        .unwrap();
    create_user(UserId::new("user_1").unwrap(), &change, &limits(), 1_000).unwrap()
}

#[test]
fn r1_2_new_records_start_with_empty_tiers_at_version_1() {
    let u = create_user(UserId::new("u").unwrap(), &Change::new(), &limits(), 5).unwrap();
    for tier in Tier::ALL {
        assert!(u.tier(tier).unwrap().is_empty());
    }
    assert_eq!((u.version, u.created_at, u.updated_at), (1, 5, 5));
}

#[test]
fn r3_1_replace_does_not_merge_and_leaves_other_tiers() {
    let u = user();
    let change = Change::new()
        .replace_json(Tier::Public, json!({"nested": {"a": 9}}))
        .unwrap();
    let next = apply_change(&u, &change, Surface::Backend, &limits(), 2_000).unwrap();
    assert_eq!(next.public_metadata.to_value(), json!({"nested": {"a": 9}}));
    assert_eq!(next.private_metadata, u.private_metadata);
    assert_eq!(next.version, u.version + 1);
    assert_eq!(next.updated_at, 2_000);
}

#[test]
fn r3_2_merge_is_deep_and_null_deletes() {
    let u = user();
    let change = Change::new()
        .merge_json(
            Tier::Public,
            json!({"nested": {"a": null, "c": 3}, "x": [null]}),
        )
        .unwrap();
    let next = apply_change(&u, &change, Surface::Backend, &limits(), 2_000).unwrap();
    assert_eq!(
        next.public_metadata.to_value(),
        json!({"role": "member", "nested": {"b": 2, "c": 3}, "x": [null]})
    );
}

#[test]
fn r3_3_multi_tier_update_is_all_or_nothing_and_names_the_tier() {
    let u = user();
    let change = Change::new()
        .replace_json(Tier::Public, json!({"ok": true}))
        .unwrap()
        .replace(
            Tier::Private,
            Metadata::from_value_with(
                json!({"k": "x".repeat(8185)}),
                &Limits::default().with_tier_bytes(9000),
            )
            .unwrap(),
        );
    let err = apply_change(&u, &change, Surface::Backend, &limits(), 2_000).unwrap_err();
    assert!(matches!(
        err,
        Error::TooLarge {
            tier: Tier::Private,
            size: 8193,
            limit: 8192
        }
    ));
    // The frontend may write unsafe but not public: the whole update is refused.
    let change = Change::new()
        .replace_json(Tier::Unsafe, json!({"ok": true}))
        .unwrap()
        .replace_json(Tier::Public, json!({"evil": true}))
        .unwrap();
    let err = apply_change(&u, &change, Surface::Frontend, &limits(), 2_000).unwrap_err();
    assert!(matches!(
        err,
        Error::AccessDenied {
            surface: Surface::Frontend,
            tier: Tier::Public,
            access: Access::Write,
            ..
        }
    ));
}

#[test]
fn r3_5_expected_version_must_match() {
    let u = user();
    let change = Change::new()
        .replace_json(Tier::Public, json!({}))
        .unwrap()
        .expect_version(u.version);
    let next = apply_change(&u, &change, Surface::Backend, &limits(), 2_000).unwrap();
    let err = apply_change(&next, &change, Surface::Backend, &limits(), 3_000).unwrap_err();
    assert!(matches!(
        err,
        Error::Conflict {
            expected: 1,
            actual: 2,
            kind: ResourceKind::User,
            ..
        }
    ));
}

#[test]
fn r3_5_updated_at_never_moves_back() {
    let u = user();
    let change = Change::new().replace_json(Tier::Public, json!({})).unwrap();
    let next = apply_change(&u, &change, Surface::Backend, &limits(), 10).unwrap();
    assert_eq!(next.updated_at, 1_000);
}

#[test]
fn r1_1_a_tier_the_resource_lacks_is_an_error() {
    let org = create_organization(
        OrganizationId::new("o").unwrap(),
        &Change::new(),
        &limits(),
        1,
    )
    .unwrap();
    let change = Change::new().replace_json(Tier::Unsafe, json!({})).unwrap();
    let err = apply_change(&org, &change, Surface::Backend, &limits(), 2).unwrap_err();
    assert!(matches!(
        err,
        Error::UnsupportedTier {
            kind: ResourceKind::Organization,
            tier: Tier::Unsafe
        }
    ));
    assert!(org.tier(Tier::Unsafe).is_none());
}

#[test]
fn r4_2_limit_is_configurable() {
    let small = Limits::default().with_tier_bytes(16);
    let change = Change::new()
        .replace_json(Tier::Public, json!({"k": "0123456789"}))
        .unwrap();
    let err = apply_change(&user(), &change, Surface::Backend, &small, 2).unwrap_err();
    assert!(matches!(
        err,
        Error::TooLarge {
            size: 18,
            limit: 16,
            ..
        }
    ));
    let big = Limits::default().with_tier_bytes(20_000);
    let value = Metadata::from_value_with(json!({"k": "x".repeat(15_000)}), &big).unwrap();
    let next = apply_change(
        &user(),
        &Change::new().replace(Tier::Public, value),
        Surface::Backend,
        &big,
        2,
    )
    .unwrap();
    assert_eq!(next.public_metadata.size(), 15_008);
}

#[test]
fn r4_1_size_is_checked_after_the_merge() {
    let u = create_user(
        UserId::new("u").unwrap(),
        &Change::new()
            .replace_json(Tier::Public, json!({"a": "x".repeat(8000)}))
            .unwrap(),
        &limits(),
        1,
    )
    .unwrap();
    let change = Change::new()
        .merge_json(Tier::Public, json!({"b": "y".repeat(200)}))
        .unwrap();
    assert!(matches!(
        apply_change(&u, &change, Surface::Backend, &limits(), 2),
        Err(Error::TooLarge {
            tier: Tier::Public,
            ..
        })
    ));
    let change = Change::new()
        .merge_json(Tier::Public, json!({"a": null, "b": "y".repeat(200)}))
        .unwrap();
    assert!(apply_change(&u, &change, Surface::Backend, &limits(), 2).is_ok());
}

#[test]
fn r11_1_typed_round_trip_keeps_unknown_keys_at_any_depth() {
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Billing {
        plan: String,
        limits: Limits2,
        #[serde(skip_serializing_if = "Option::is_none")]
        coupon: Option<String>,
    }
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Limits2 {
        seats: u32,
    }
    let m = Metadata::from_value(json!({
        "plan": "pro", "coupon": "X", "limits": {"seats": 3, "storage": 10}, "other": {"k": [1]}
    }))
    .unwrap();
    let mut billing: Billing = m.to_typed().unwrap();
    billing.limits.seats = 5;
    billing.coupon = None;
    let written = m.with_typed(&billing, &limits()).unwrap();
    assert_eq!(
        written.to_value(),
        json!({"plan": "pro", "limits": {"seats": 5, "storage": 10}, "other": {"k": [1]}})
    );
    assert_eq!(written.size(), written.to_json().len());
    let err = Metadata::new().to_typed::<Billing>().unwrap_err();
    assert!(err.is_data());
}

#[test]
fn r11_1_typed_round_trip_keeps_unknown_keys_inside_arrays() {
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Team {
        members: Vec<Member>,
        grid: Vec<Vec<Member>>,
    }
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Member {
        name: String,
    }
    let m = Metadata::from_value(json!({
        "members": [
            {"name": "a", "since": 2020, "tags": {"x": 1}},
            {"name": "b", "note": [{"deep": true}]}
        ],
        "grid": [[{"name": "c", "color": "red"}]],
    }))
    .unwrap();
    let mut team: Team = m.to_typed().unwrap();
    team.members[1].name = "B".into();
    team.members.push(Member { name: "new".into() });
    team.grid[0][0].name = "C".into();
    let written = m.with_typed(&team, &limits()).unwrap();
    assert_eq!(
        written.to_value(),
        json!({
            "members": [
                {"name": "a", "since": 2020, "tags": {"x": 1}},
                {"name": "B", "note": [{"deep": true}]},
                {"name": "new"}
            ],
            "grid": [[{"name": "C", "color": "red"}]],
        }),
        "R11.1: unknown keys inside array elements are kept, element by position"
    );
    assert_eq!(written.size(), written.to_json().len());
    // An element the type removed takes nothing with it into a position that is gone.
    team.members.truncate(1);
    let written = m.with_typed(&team, &limits()).unwrap();
    assert_eq!(
        written.to_value()["members"],
        json!([{"name": "a", "since": 2020, "tags": {"x": 1}}])
    );
}

#[test]
fn r3_2_an_owned_merge_never_changes_a_copy_that_shares_the_tier() {
    let u = user();
    let kept = u.clone(); // shares every tier with `u`
    let before = u.public_metadata.json().to_owned(); // the text is kept once written
    let change = Change::new()
        .merge_json(
            Tier::Public,
            json!({"nested": {"a": null}, "role": "admin"}),
        )
        .unwrap();
    let next = apply_change_owned(u, &change, Surface::Backend, &limits(), 2_000).unwrap();
    assert_eq!(
        next.public_metadata.to_value(),
        json!({"role": "admin", "nested": {"b": 2}})
    );
    assert_eq!(
        next.public_metadata.size(),
        next.public_metadata.to_json().len()
    );
    assert_eq!(kept.public_metadata.json(), before);
    assert_eq!(
        kept.public_metadata.to_value(),
        json!({"role": "member", "nested": {"a": 1, "b": 2}}),
        "the shared copy is as it was"
    );
    // The only copy is merged in place and measured as it goes (R4.1).
    let alone = Metadata::from_value(json!({"a": {"b": 1}, "c": "x"})).unwrap();
    assert_eq!(alone.json(), r#"{"a":{"b":1},"c":"x"}"#);
    let merged = Patch::from_value(json!({"a": {"d": [1]}, "c": null}))
        .unwrap()
        .apply_to_owned(alone);
    assert_eq!(merged.json(), r#"{"a":{"b":1,"d":[1]}}"#, "no stale text");
    assert_eq!(merged.size(), merged.to_json().len());
}

#[test]
fn r3_3_an_owned_change_refused_on_its_second_tier_is_refused_whole() {
    let u = user();
    let change = Change::new()
        .merge_json(Tier::Public, json!({"role": "admin"}))
        .unwrap()
        .merge_json(Tier::Private, json!({"big": "x".repeat(9_000)}))
        .unwrap();
    let err =
        apply_change_owned(u.clone(), &change, Surface::Backend, &limits(), 2_000).unwrap_err();
    assert!(matches!(
        err,
        Error::TooLarge {
            tier: Tier::Private,
            ..
        }
    ));
    assert_eq!(u.public_metadata.to_value()["role"], "member");
}

/// R3.2 / R4.1: the empty tier has one meaning however it came about (new, parsed, merged
/// empty), and a merge into it fills a tier of its own.
#[test]
fn r3_2_every_empty_tier_is_the_same_value() {
    let emptied = Patch::from_str(r#"{"a":null}"#)
        .unwrap()
        .apply_to_owned(Metadata::from_str(r#"{"a":1}"#).unwrap());
    let empties = [
        Metadata::new(),
        Metadata::default(),
        Metadata::from_str("{ }").unwrap(),
        emptied,
    ];
    for empty in &empties {
        assert_eq!(*empty, Metadata::new());
        assert_eq!(Metadata::new(), *empty);
        assert!(empty.is_empty());
        assert_eq!((empty.json(), empty.size()), ("{}", 2));
        assert_eq!(empty.clone().into_value(), json!({}));
    }
    let empty = Metadata::new();
    let filled = Patch::from_str(r#"{"a":1}"#)
        .unwrap()
        .apply_to_owned(empty.clone());
    assert_eq!((filled.json(), filled.size()), (r#"{"a":1}"#, 7));
    assert_ne!(filled, empty);
    assert!(
        empty.is_empty(),
        "the empty tier it was merged into is unchanged"
    );
}
