//! contract §2: who may do what.

use super::*;

/// R2.2, R7.1: the frontend reads its own user and sign-up, organizations and memberships
/// only as a member, invitations only to a verified address; everything else is not found,
/// exactly as a missing record is.
pub async fn r2_2_frontend_sees_only_its_own_and_hidden_is_not_found(
    store: Arc<dyn MetadataStore>,
) {
    let m = service(store);
    let b = m.backend();
    let secret =
        replace(Tier::Private, json!({"secret": 1})).replace(Tier::Public, meta(json!({"p": 1})));
    b.create_user(&uid("alice"), secret.clone()).await.unwrap();
    b.create_user(&uid("bob"), secret.clone()).await.unwrap();
    b.create_organization(&oid("org"), secret.clone())
        .await
        .unwrap();
    let inv = InvitationId::new("inv").unwrap();
    b.create_invitation(&inv, &oid("org"), "Alice@Example.com", Change::new())
        .await
        .unwrap();
    let sua = SignUpId::new("sua").unwrap();
    b.create_sign_up(&sua, Change::new()).await.unwrap();

    let alice =
        m.frontend(FrontendPrincipal::user(uid("alice")).with_verified_email("alice@example.com"));
    let own = alice.get_user(&uid("alice")).await.unwrap();
    assert_eq!(own.public_metadata.to_value(), json!({"p": 1}));
    assert!(serde_json::to_value(&own)
        .unwrap()
        .get("private_metadata")
        .is_none());
    let hidden = alice.get_user(&uid("bob")).await.unwrap_err();
    let missing = alice.get_user(&uid("nobody")).await.unwrap_err();
    assert!(matches!(&hidden, Error::NotFound { kind: ResourceKind::User, id } if id == "bob"));
    assert_eq!(hidden.code(), missing.code());
    assert!(matches!(
        alice.get_organization(&oid("org")).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        alice
            .memberships_of_organization(&oid("org"), PageRequest::first(10))
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        alice.get_sign_up(&sua).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        alice.get_invitation(&inv).await.unwrap().id,
        inv,
        "verified email, any case"
    );
    let bob =
        m.frontend(FrontendPrincipal::user(uid("bob")).with_verified_email("bob@example.com"));
    assert!(matches!(
        bob.get_invitation(&inv).await,
        Err(Error::NotFound { .. })
    ));

    b.create_membership(
        &MembershipId::new("m_a").unwrap(),
        &oid("org"),
        &uid("alice"),
        secret.clone(),
    )
    .await
    .unwrap();
    b.create_membership(
        &MembershipId::new("m_b").unwrap(),
        &oid("org"),
        &uid("bob"),
        secret,
    )
    .await
    .unwrap();
    let org = alice.get_organization(&oid("org")).await.unwrap();
    assert!(serde_json::to_value(&org)
        .unwrap()
        .get("private_metadata")
        .is_none());
    let members = alice
        .memberships_of_organization(&oid("org"), PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(members.items.len(), 2);
    assert!(serde_json::to_value(&members.items)
        .unwrap()
        .to_string()
        .find("secret")
        .is_none());
    assert_eq!(
        alice
            .get_membership(&oid("org"), &uid("bob"))
            .await
            .unwrap()
            .user_id,
        uid("bob")
    );

    let signing_up = m.frontend(FrontendPrincipal::sign_up(sua.clone()));
    assert_eq!(signing_up.get_sign_up(&sua).await.unwrap().id, sua);
    assert!(matches!(
        signing_up.get_user(&uid("alice")).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        signing_up.get_organization(&oid("org")).await,
        Err(Error::NotFound { .. })
    ));
}

/// R2.3, R2.4: the frontend writes only the unsafe tier of its own user or sign-up; a refused
/// write changes nothing and names the rule.
pub async fn r2_3_r2_4_frontend_writes_only_its_own_unsafe_tier(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    let before = b
        .create_user(
            &uid("alice"),
            replace(Tier::Public, json!({"role": "member"})),
        )
        .await
        .unwrap();
    let alice = m.frontend(FrontendPrincipal::user(uid("alice")));
    for tier in [Tier::Public, Tier::Private] {
        let err = alice
            .update_own(replace(tier, json!({"role": "admin"})))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::AccessDenied { surface: Surface::Frontend, kind: ResourceKind::User, tier: t, access: Access::Write } if t == tier)
        );
        assert_eq!(err.code(), "metadata_access_denied");
        let err = alice
            .update_own(merge(tier, json!({"role": "admin"})))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::AccessDenied { .. }));
    }
    let mixed =
        replace(Tier::Unsafe, json!({"theme": "dark"})).replace(Tier::Public, meta(json!({})));
    assert!(matches!(
        alice.update_own(mixed).await,
        Err(Error::AccessDenied { .. })
    ));
    assert_eq!(
        b.get_user(&uid("alice")).await.unwrap(),
        before,
        "refusals change nothing"
    );
    let own = alice
        .update_own_unsafe(meta(json!({"theme": "dark"})), Some(1))
        .await
        .unwrap();
    assert_eq!(own.version(), 2);
    let own = alice
        .merge_own_unsafe(Patch::from_value(json!({"lang": "en"})).unwrap())
        .await
        .unwrap();
    assert_eq!(
        own.unsafe_metadata().to_value(),
        json!({"theme": "dark", "lang": "en"})
    );
    let err = alice
        .update_own_unsafe(meta(json!({})), Some(1))
        .await
        .unwrap_err();
    assert!(is_conflict(&err, 1, 3), "{err:?}");
    let after = b.get_user(&uid("alice")).await.unwrap();
    assert_eq!(after.public_metadata, before.public_metadata);
    assert_eq!(after.private_metadata, before.private_metadata);
    // A sign-up principal has no user to write, and its sign-up is left alone.
    let sua = SignUpId::new("sua_w").unwrap();
    let open = b.create_sign_up(&sua, Change::new()).await.unwrap();
    let signing_up = m.frontend(FrontendPrincipal::sign_up(sua.clone()));
    let err = signing_up
        .update_own_user(replace(Tier::Unsafe, json!({"x": 1})))
        .await
        .unwrap_err();
    assert!(is_not_found(&err, ResourceKind::User), "{err:?}");
    assert_eq!(b.get_sign_up(&sua).await.unwrap(), open);
    // A frontend whose user does not exist finds nothing to write.
    let ghost = m.frontend(FrontendPrincipal::user(uid("ghost")));
    assert!(matches!(
        ghost.update_own_unsafe(meta(json!({})), None).await,
        Err(Error::NotFound { .. })
    ));
}
