//! contract §5: copies between resources, atomically.

use super::*;

/// R5.1: completing a sign-up creates the user with the unsafe copy and freezes the sign-up,
/// atomically and once.
pub async fn r5_1_sign_up_completion_copies_once_and_atomically(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    let sua = SignUpId::new("sua_1").unwrap();
    b.create_sign_up(&sua, Change::new()).await.unwrap();
    let me = m.frontend(FrontendPrincipal::sign_up(sua.clone()));
    me.update_own_unsafe(meta(json!({"referrer": "ad", "plan": "pro"})), Some(1))
        .await
        .unwrap();
    // A user id that is taken: the completion fails whole, the sign-up stays open.
    b.create_user(&uid("taken"), Change::new()).await.unwrap();
    let err = b
        .complete_sign_up(&sua, &uid("taken"), Change::new())
        .await
        .unwrap_err();
    assert!(is_already_existing(&err, ResourceKind::User), "{err:?}");
    let open = b.get_sign_up(&sua).await.unwrap();
    assert_eq!(open.status, SignUpStatus::MissingRequirements);
    assert_eq!(open.created_user_id, None);
    assert!(b
        .get_user(&uid("taken"))
        .await
        .unwrap()
        .unsafe_metadata
        .is_empty());
    // Completion with backend-supplied public metadata.
    let user = b
        .complete_sign_up(
            &sua,
            &uid("user_new"),
            replace(Tier::Public, json!({"role": "owner"})),
        )
        .await
        .unwrap();
    assert_eq!(
        user.unsafe_metadata.to_value(),
        json!({"referrer": "ad", "plan": "pro"})
    );
    assert_eq!(user.public_metadata.to_value(), json!({"role": "owner"}));
    assert!(user.private_metadata.is_empty());
    assert_eq!(b.get_user(&uid("user_new")).await.unwrap(), user);
    let done = b.get_sign_up(&sua).await.unwrap();
    assert_eq!(done.status, SignUpStatus::Complete);
    assert_eq!(done.created_user_id, Some(uid("user_new")));
    // Once only, and frozen afterwards.
    let err = b
        .complete_sign_up(&sua, &uid("user_other"), Change::new())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Frozen {
            kind: ResourceKind::SignUp,
            ..
        }
    ));
    assert!(matches!(
        b.get_user(&uid("user_other")).await,
        Err(Error::NotFound { .. })
    ));
    let err = me
        .update_own_unsafe(meta(json!({})), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Frozen { .. }));
    assert_eq!(b.get_sign_up(&sua).await.unwrap(), done);
}

/// R5.2: accepting an invitation creates the membership with the public copy and freezes the
/// invitation, atomically.
pub async fn r5_2_invitation_acceptance_copies_and_is_atomic(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    b.create_organization(&oid("org"), Change::new())
        .await
        .unwrap();
    b.create_user(&uid("u1"), Change::new()).await.unwrap();
    let inv_id = InvitationId::new("inv_1").unwrap();
    b.create_invitation(
        &inv_id,
        &oid("org"),
        "a@example.com",
        replace(Tier::Public, json!({"role": "editor"})),
    )
    .await
    .unwrap();
    let mem = MembershipId::new("mem_1").unwrap();
    // The user does not exist: nothing changes.
    let err = b
        .accept_invitation(&inv_id, &mem, &uid("ghost"))
        .await
        .unwrap_err();
    assert!(is_not_found(&err, ResourceKind::User), "{err:?}");
    assert_eq!(
        b.get_invitation(&inv_id).await.unwrap().status,
        InvitationStatus::Pending
    );
    let membership = b
        .accept_invitation(&inv_id, &mem, &uid("u1"))
        .await
        .unwrap();
    assert_eq!(
        membership.public_metadata.to_value(),
        json!({"role": "editor"})
    );
    assert!(membership.private_metadata.is_empty());
    assert_eq!(
        b.get_membership(&oid("org"), &uid("u1")).await.unwrap(),
        membership
    );
    let accepted = b.get_invitation(&inv_id).await.unwrap();
    assert_eq!(accepted.status, InvitationStatus::Accepted);
    let err = b
        .update_invitation(&inv_id, replace(Tier::Public, json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Frozen { .. }));
    let err = b
        .accept_invitation(&inv_id, &mem, &uid("u1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Frozen { .. }));
    // A second invitation for a user who is already a member: refused whole.
    let inv2 = InvitationId::new("inv_2").unwrap();
    b.create_invitation(&inv2, &oid("org"), "a@example.com", Change::new())
        .await
        .unwrap();
    let err = b
        .accept_invitation(&inv2, &MembershipId::new("mem_2").unwrap(), &uid("u1"))
        .await
        .unwrap_err();
    assert!(
        is_already_existing(&err, ResourceKind::Membership),
        "{err:?}"
    );
    assert_eq!(
        b.get_invitation(&inv2).await.unwrap().status,
        InvitationStatus::Pending
    );
    assert_eq!(
        b.get_membership(&oid("org"), &uid("u1")).await.unwrap(),
        membership
    );
}
