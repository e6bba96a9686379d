//! The wire format (contract §8).

use metadata_core::*;
use serde_json::json;

fn sample_records() -> Vec<Record> {
    let limits = Limits::default();
    let all = |tiers: &[Tier]| {
        tiers.iter().fold(Change::new(), |c, t| {
            c.replace_json(
                *t,
                json!({"k": t.field_name(), "n": [1, 2.5, null], "é": {"x": "\"q\""}}),
            )
            .unwrap()
        })
    };
    let org = OrganizationId::new("org_1").unwrap();
    let user = create_user(
        UserId::new("user_1").unwrap(),
        &all(&Tier::ALL),
        &limits,
        1_700_000_000_000,
    )
    .unwrap();
    let sign_up = create_sign_up(
        SignUpId::new("sua_1").unwrap(),
        &all(&[Tier::Unsafe]),
        &limits,
        5,
    )
    .unwrap();
    let done = complete_sign_up(
        &sign_up,
        UserId::new("user_2").unwrap(),
        &Change::new(),
        &limits,
        6,
    )
    .unwrap();
    let organization = create_organization(
        org.clone(),
        &all(&[Tier::Public, Tier::Private]),
        &limits,
        7,
    )
    .unwrap();
    let membership = create_membership(
        MembershipId::new("orgmem_1").unwrap(),
        org.clone(),
        UserId::new("user_1").unwrap(),
        &all(&[Tier::Public, Tier::Private]),
        &limits,
        8,
    )
    .unwrap();
    let invitation = create_invitation(
        InvitationId::new("orginv_1").unwrap(),
        org,
        "a@example.com",
        &all(&[Tier::Public]),
        &limits,
        9,
    )
    .unwrap();
    vec![
        Record::User(user),
        Record::SignUp(sign_up),
        Record::SignUp(done.sign_up),
        Record::Organization(organization),
        Record::Membership(membership),
        Record::Invitation(invitation),
    ]
}

#[test]
fn r8_1_user_fields_are_snake_case_with_object_and_version() {
    let user = create_user(
        UserId::new("user_1").unwrap(),
        &Change::new(),
        &Limits::default(),
        1_708_103_362_688,
    )
    .unwrap();
    let value = serde_json::to_value(&user).unwrap();
    assert_eq!(
        value,
        json!({
            "id": "user_1",
            "object": "user",
            "public_metadata": {},
            "private_metadata": {},
            "unsafe_metadata": {},
            "created_at": 1_708_103_362_688_i64,
            "updated_at": 1_708_103_362_688_i64,
            "version": 1
        })
    );
}

#[test]
fn r8_1_each_kind_has_its_object_name_and_fields() {
    for record in sample_records() {
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["object"], json!(record.kind().object_name()));
        for tier in Tier::ALL {
            assert_eq!(
                value.get(tier.field_name()).is_some(),
                record.kind().has_tier(tier),
                "{record:?} {tier}"
            );
        }
        match &record {
            Record::Membership(_) => {
                assert!(value["organization_id"].is_string() && value["user_id"].is_string());
            }
            Record::Invitation(_) => {
                assert_eq!(value["status"], json!("pending"));
                assert_eq!(value["email_address"], json!("a@example.com"));
            }
            Record::SignUp(s) => {
                assert!(value.get("status").is_some());
                assert_eq!(
                    value["created_user_id"],
                    json!(s.created_user_id.as_ref().map(|u| u.to_string()))
                );
            }
            _ => {}
        }
    }
}

#[test]
fn r8_2_records_round_trip_exactly() {
    for record in sample_records() {
        let json = record.to_json();
        // The hand-written writer agrees with the derived serialization, field for field.
        assert_eq!(json, serde_json::to_string(&record).unwrap());
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), record);
        assert_eq!(
            Record::from_json(record.kind(), json.as_bytes()).unwrap(),
            record
        );
        assert_eq!(
            serde_json::to_string(&serde_json::from_str::<Record>(&json).unwrap()).unwrap(),
            json
        );
    }
}

#[test]
fn r8_2_a_record_of_another_kind_or_without_a_tier_is_refused() {
    let user = &sample_records()[0];
    let json = user.to_json();
    assert!(Record::from_json(ResourceKind::Organization, json.as_bytes()).is_err());
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value.as_object_mut().unwrap().remove("private_metadata");
    assert!(
        serde_json::from_value::<User>(value.clone()).is_err(),
        "R1.2: a tier is never absent"
    );
    value["private_metadata"] = json!(null);
    assert!(
        serde_json::from_value::<User>(value.clone()).is_err(),
        "R1.2: a tier is never null"
    );
    value["private_metadata"] = json!({});
    value["object"] = json!("organization");
    assert!(serde_json::from_value::<User>(value).is_err());
}

#[test]
fn r2_3_r8_1_frontend_views_have_no_private_tier() {
    for record in sample_records() {
        let value = match record {
            Record::User(u) => serde_json::to_value(UserView::from(u)).unwrap(),
            Record::Organization(o) => serde_json::to_value(OrganizationView::from(o)).unwrap(),
            Record::Membership(m) => serde_json::to_value(MembershipView::from(m)).unwrap(),
            other => serde_json::to_value(other).unwrap(),
        };
        assert!(value.get("private_metadata").is_none());
        assert!(value.get("object").is_some());
    }
}

#[test]
fn r9_1_codes_are_stable() {
    let kind = ResourceKind::User;
    let id = String::from("u");
    let cases: Vec<(Error, &str)> = vec![
        (
            Error::TooLarge {
                tier: Tier::Public,
                size: 9000,
                limit: 8192,
            },
            "form_param_exceeds_allowed_size",
        ),
        (
            Error::NotFound {
                kind,
                id: id.clone(),
            },
            "resource_not_found",
        ),
        (
            Error::Conflict {
                kind,
                id: id.clone(),
                expected: 1,
                actual: 2,
            },
            "version_conflict",
        ),
        (
            Error::AlreadyExists {
                kind,
                id: id.clone(),
            },
            "resource_already_exists",
        ),
        (
            Error::AccessDenied {
                surface: Surface::Frontend,
                kind,
                tier: Tier::Public,
                access: Access::Write,
            },
            "metadata_access_denied",
        ),
        (
            Error::UnsupportedTier {
                kind: ResourceKind::SignUp,
                tier: Tier::Public,
            },
            "unsupported_metadata_tier",
        ),
        (
            Error::Frozen {
                kind,
                id,
                status: "complete",
            },
            "resource_frozen",
        ),
    ];
    for (err, code) in cases {
        assert_eq!(err.code(), code);
    }
}

#[test]
fn r4_3_size_error_message_reads_like_the_reference_product() {
    let err = Error::TooLarge {
        tier: Tier::Public,
        size: 9000,
        limit: 8192,
    };
    assert_eq!(
        err.to_string(),
        "The given public_metadata exceeds the maximum allowed size of 8192 bytes (8 KB)."
    );
    assert_eq!(err.param(), Some("public_metadata"));
}

/// `Resource::from_record_ref` (the facade's point reads) builds the same value as unwrapping
/// an owned record of that kind, and nothing from a record of another kind.
#[test]
fn a_resource_is_copied_from_a_borrowed_record_of_its_kind_only() {
    fn check<R: Resource>(records: &[Record]) {
        for record in records {
            let copied = R::from_record_ref(record);
            assert_eq!(copied, R::from_record(record.clone()), "{record:?}");
            assert_eq!(copied.is_some(), record.kind() == R::KIND, "{record:?}");
        }
    }
    let records = sample_records();
    check::<User>(&records);
    check::<SignUp>(&records);
    check::<Organization>(&records);
    check::<Membership>(&records);
    check::<Invitation>(&records);
}
