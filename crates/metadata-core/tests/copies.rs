//! The copies between records and the cascades, as pure plans (contract §5, R6.2).

use metadata_core::*;
use serde_json::json;

fn limits() -> Limits {
    Limits::default()
}

#[test]
fn r5_1_sign_up_completion_copies_unsafe_and_completes_once() {
    let sign_up = create_sign_up(
        SignUpId::new("sua_1").unwrap(),
        &Change::new()
            .replace_json(Tier::Unsafe, json!({"plan": "pro"}))
            .unwrap(),
        &limits(),
        1,
    )
    .unwrap();
    let backend = Change::new()
        .replace_json(Tier::Public, json!({"role": "owner"}))
        .unwrap();
    let plan = complete_sign_up(
        &sign_up,
        UserId::new("user_9").unwrap(),
        &backend,
        &limits(),
        2,
    )
    .unwrap();
    assert_eq!(plan.user.unsafe_metadata.to_value(), json!({"plan": "pro"}));
    assert_eq!(
        plan.user.public_metadata.to_value(),
        json!({"role": "owner"})
    );
    assert!(plan.user.private_metadata.is_empty());
    assert_eq!(plan.user.version, 1);
    assert_eq!(plan.sign_up.status, SignUpStatus::Complete);
    assert_eq!(
        plan.sign_up.created_user_id,
        Some(UserId::new("user_9").unwrap())
    );
    assert_eq!(plan.expected_version, sign_up.version);
    assert!(matches!(
        plan.writes()[..],
        [
            Write::Create(Record::User(_)),
            Write::Update {
                expected_version: 1,
                ..
            }
        ]
    ));
    // Completing again, or writing the completed sign-up, is refused: it is frozen.
    let err = complete_sign_up(
        &plan.sign_up,
        UserId::new("user_10").unwrap(),
        &Change::new(),
        &limits(),
        3,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        Error::Frozen {
            kind: ResourceKind::SignUp,
            status: "complete",
            ..
        }
    ));
    let change = Change::new().replace_json(Tier::Unsafe, json!({})).unwrap();
    let err = apply_change(&plan.sign_up, &change, Surface::Frontend, &limits(), 3).unwrap_err();
    assert!(matches!(err, Error::Frozen { .. }));
}

#[test]
fn r5_2_invitation_acceptance_copies_public_and_freezes() {
    let org = OrganizationId::new("org_1").unwrap();
    let inv = create_invitation(
        InvitationId::new("inv_1").unwrap(),
        org.clone(),
        "a@example.com",
        &Change::new()
            .replace_json(Tier::Public, json!({"role": "editor"}))
            .unwrap(),
        &limits(),
        1,
    )
    .unwrap();
    let plan = accept_invitation(
        &inv,
        MembershipId::new("mem_1").unwrap(),
        UserId::new("u1").unwrap(),
        &limits(),
        2,
    )
    .unwrap();
    assert_eq!(
        plan.membership.public_metadata.to_value(),
        json!({"role": "editor"})
    );
    assert!(plan.membership.private_metadata.is_empty());
    assert_eq!(plan.membership.organization_id, org);
    assert_eq!(plan.invitation.status, InvitationStatus::Accepted);
    let writes = plan.writes();
    assert!(writes.contains(&Write::Require(RecordKey::Organization(org.clone()))));
    assert!(writes.contains(&Write::Require(RecordKey::User(UserId::new("u1").unwrap()))));
    let err = accept_invitation(
        &plan.invitation,
        MembershipId::new("m2").unwrap(),
        UserId::new("u2").unwrap(),
        &limits(),
        3,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        Error::Frozen {
            status: "accepted",
            ..
        }
    ));
    let revoked = revoke_invitation(&inv, 4).unwrap();
    assert!(matches!(
        revoke_invitation(&revoked, 5),
        Err(Error::Frozen {
            status: "revoked",
            ..
        })
    ));
}

#[test]
fn r6_2_deletes_cascade() {
    let user = RecordKey::User(UserId::new("u").unwrap());
    assert_eq!(
        delete_writes(&user),
        vec![
            Write::Delete(user.clone()),
            Write::DeleteMembershipsOfUser(UserId::new("u").unwrap())
        ]
    );
    let org_id = OrganizationId::new("o").unwrap();
    let org = RecordKey::Organization(org_id.clone());
    assert_eq!(
        delete_writes(&org),
        vec![
            Write::Delete(org.clone()),
            Write::DeleteMembershipsOfOrganization(org_id.clone()),
            Write::DeleteInvitationsOfOrganization(org_id),
        ]
    );
}
