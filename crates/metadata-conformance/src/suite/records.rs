//! contract §1 and 6: records, their tiers and their lifetimes.

use super::*;

/// R1.2, R6.1, R7.1: a created record reads back whole; a second create collides.
pub async fn r1_2_r6_1_create_read_and_collide(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    let change = replace(Tier::Public, json!({"role": "admin"}))
        .replace(Tier::Private, meta(json!({"k": [1, 2]})));
    let created = b.create_user(&uid("user_1"), change).await.unwrap();
    assert_eq!(created.version, 1);
    let read = b.get_user(&uid("user_1")).await.unwrap();
    assert_eq!(read, created);
    assert!(
        read.unsafe_metadata.is_empty(),
        "R1.2: an unset tier reads as {{}}"
    );
    let err = b
        .create_user(&uid("user_1"), Change::new())
        .await
        .unwrap_err();
    assert!(is_already_existing(&err, ResourceKind::User), "{err:?}");
    assert_eq!(
        b.get_user(&uid("user_1")).await.unwrap(),
        created,
        "a collision changes nothing"
    );
    let err = b.get_user(&uid("nobody")).await.unwrap_err();
    assert!(is_not_found(&err, ResourceKind::User), "{err:?}");
    assert_eq!(err.code(), "resource_not_found");
    let org = b
        .create_organization(&oid("org_1"), Change::new())
        .await
        .unwrap();
    assert_eq!(b.get_organization(&oid("org_1")).await.unwrap(), org);
}

/// R1.1: asking for a tier a resource lacks is an error, and changes nothing.
pub async fn r1_1_tiers_a_kind_lacks_are_refused(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    b.create_organization(&oid("org_1"), Change::new())
        .await
        .unwrap();
    let err = b
        .update_organization(&oid("org_1"), replace(Tier::Unsafe, json!({})))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::UnsupportedTier {
            kind: ResourceKind::Organization,
            tier: Tier::Unsafe
        }
    ));
    let err = b
        .create_sign_up(
            &SignUpId::new("sua_1").unwrap(),
            replace(Tier::Public, json!({})),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::UnsupportedTier {
            kind: ResourceKind::SignUp,
            tier: Tier::Public
        }
    ));
    assert!(b
        .get_sign_up(&SignUpId::new("sua_1").unwrap())
        .await
        .is_err());
    assert_eq!(b.get_organization(&oid("org_1")).await.unwrap().version, 1);
}

/// R6.1: a membership or invitation needs its organization (and user) to exist.
pub async fn r6_1_memberships_need_their_organization_and_user(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    let mem = MembershipId::new("mem").unwrap();
    b.create_user(&uid("u"), Change::new()).await.unwrap();
    let err = b
        .create_membership(&mem, &oid("nope"), &uid("u"), Change::new())
        .await
        .unwrap_err();
    assert!(is_not_found(&err, ResourceKind::Organization), "{err:?}");
    b.create_organization(&oid("org"), Change::new())
        .await
        .unwrap();
    let err = b
        .create_membership(&mem, &oid("org"), &uid("nope"), Change::new())
        .await
        .unwrap_err();
    assert!(is_not_found(&err, ResourceKind::User), "{err:?}");
    let err = b
        .create_invitation(
            &InvitationId::new("i").unwrap(),
            &oid("nope"),
            "a@b.c",
            Change::new(),
        )
        .await
        .unwrap_err();
    assert!(is_not_found(&err, ResourceKind::Organization), "{err:?}");
    let created = b
        .create_membership(
            &mem,
            &oid("org"),
            &uid("u"),
            replace(Tier::Private, json!({"seat": 1})),
        )
        .await
        .unwrap();
    assert_eq!(
        b.get_membership(&oid("org"), &uid("u")).await.unwrap(),
        created
    );
    let err = b
        .create_membership(&mem, &oid("org"), &uid("u"), Change::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }));
}

/// R6.2: deleting a user deletes its memberships; deleting an organization its memberships and
/// invitations; deleting says whether anything was there.
pub async fn r6_2_deleting_cascades_and_is_idempotent(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    for o in ["org_a", "org_b"] {
        b.create_organization(&oid(o), Change::new()).await.unwrap();
    }
    for u in ["u1", "u2"] {
        b.create_user(&uid(u), Change::new()).await.unwrap();
    }
    for (i, (o, u)) in [
        ("org_a", "u1"),
        ("org_b", "u1"),
        ("org_a", "u2"),
        ("org_b", "u2"),
    ]
    .iter()
    .enumerate()
    {
        b.create_membership(
            &MembershipId::new(format!("m{i}")).unwrap(),
            &oid(o),
            &uid(u),
            Change::new(),
        )
        .await
        .unwrap();
    }
    for (i, o) in ["org_a", "org_b"].iter().enumerate() {
        b.create_invitation(
            &InvitationId::new(format!("i{i}")).unwrap(),
            &oid(o),
            "x@y.z",
            Change::new(),
        )
        .await
        .unwrap();
    }
    assert!(b.delete_user(&uid("u1")).await.unwrap());
    assert!(
        !b.delete_user(&uid("u1")).await.unwrap(),
        "a second delete finds nothing"
    );
    assert!(matches!(
        b.get_user(&uid("u1")).await,
        Err(Error::NotFound { .. })
    ));
    for o in ["org_a", "org_b"] {
        assert!(matches!(
            b.get_membership(&oid(o), &uid("u1")).await,
            Err(Error::NotFound { .. })
        ));
        assert!(b.get_membership(&oid(o), &uid("u2")).await.is_ok());
    }
    assert!(b.delete_organization(&oid("org_a")).await.unwrap());
    assert!(matches!(
        b.get_membership(&oid("org_a"), &uid("u2")).await,
        Err(Error::NotFound { .. })
    ));
    assert!(b.get_membership(&oid("org_b"), &uid("u2")).await.is_ok());
    assert!(matches!(
        b.get_invitation(&InvitationId::new("i0").unwrap()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(b
        .get_invitation(&InvitationId::new("i1").unwrap())
        .await
        .is_ok());
    assert!(b.get_user(&uid("u2")).await.is_ok());
    assert!(!b.delete_organization(&oid("org_a")).await.unwrap());
    assert!(b
        .delete_membership(&oid("org_b"), &uid("u2"))
        .await
        .unwrap());
    assert!(!b
        .delete_membership(&oid("org_b"), &uid("u2"))
        .await
        .unwrap());
    assert!(!b
        .delete_sign_up(&SignUpId::new("none").unwrap())
        .await
        .unwrap());
}

/// R6.1 for a batch: `create_users` answers each user as `create_user` would (created, refused
/// by a rule, or already there), writes the valid ones, and one event each.
pub async fn r6_1_a_batch_of_creates_answers_each_user(store: Arc<dyn MetadataStore>) {
    let m = service(store.clone());
    let b = m.backend();
    b.create_user(&uid("user_there"), replace(Tier::Public, json!({"a": 1})))
        .await
        .unwrap();
    let before = feed_head(&m).await;
    // A patch may be large; the tier it makes is what the size rule refuses (R4.1).
    let over = Patch::from_value(json!({ "blob": "x".repeat(9000) })).unwrap();
    // First all new and valid: one commit.
    let created = b
        .create_users(vec![
            (uid("user_a"), replace(Tier::Public, json!({"n": 1}))),
            (uid("user_b"), replace(Tier::Unsafe, json!({"t": "dark"}))),
        ])
        .await
        .unwrap();
    assert!(created.iter().all(Result::is_ok));
    // Then a mix: a refused one, one already there, a new one.
    let mixed = b
        .create_users(vec![
            (uid("user_big"), Change::new().merge(Tier::Private, over)),
            (uid("user_there"), Change::new()),
            (uid("user_c"), Change::new()),
        ])
        .await
        .unwrap();
    assert!(
        matches!(mixed[0], Err(Error::TooLarge { .. })),
        "{:?}",
        mixed[0]
    );
    assert!(is_already_existing(
        mixed[1].as_ref().unwrap_err(),
        ResourceKind::User
    ));
    assert_eq!(mixed[2].as_ref().unwrap().version, 1);
    for id in ["user_a", "user_b", "user_c"] {
        assert_eq!(b.get_user(&uid(id)).await.unwrap().version, 1, "{id}");
    }
    assert!(is_not_found(
        &b.get_user(&uid("user_big")).await.unwrap_err(),
        ResourceKind::User
    ));
    assert_eq!(
        b.get_user(&uid("user_there"))
            .await
            .unwrap()
            .public_metadata
            .get("a"),
        Some(&json!(1)),
        "the stored user is untouched"
    );
    if store.feed().is_some() {
        assert_eq!(
            feed_head(&m).await - before,
            3,
            "one event per created user"
        );
    }
}

/// The feed's head, or 0 for a store without a feed.
async fn feed_head(m: &metadata_store::MetadataService) -> u64 {
    m.feed().stats().await.map(|s| s.head).unwrap_or(0)
}
