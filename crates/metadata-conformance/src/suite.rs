//! The conformance suite: one `pub async fn` per storage-touching rule of SPEC.md, each given a
//! fresh, empty store. A failure panics with the rule's number in the test's name.

use crate::fixtures::{merge, meta, replace, service};
use metadata_core::*;
use metadata_store::{MetadataStore, PageRequest};
use serde_json::json;
use std::sync::Arc;

fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}
fn oid(s: &str) -> OrganizationId {
    OrganizationId::new(s).unwrap()
}

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
    assert!(matches!(
        err,
        Error::AlreadyExists {
            kind: ResourceKind::User,
            ..
        }
    ));
    assert_eq!(
        b.get_user(&uid("user_1")).await.unwrap(),
        created,
        "a collision changes nothing"
    );
    let err = b.get_user(&uid("nobody")).await.unwrap_err();
    assert!(matches!(
        err,
        Error::NotFound {
            kind: ResourceKind::User,
            ..
        }
    ));
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

/// R3.1, R3.5: replace swaps one tier wholesale, leaves the others, and moves the version.
pub async fn r3_1_replace_persists_and_leaves_other_tiers(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    let start = replace(Tier::Public, json!({"a": {"x": 1}, "b": 2}))
        .replace(Tier::Private, meta(json!({"p": 1})));
    let created = b.create_user(&uid("u"), start).await.unwrap();
    let updated = b
        .replace_user(&uid("u"), Tier::Public, meta(json!({"a": {"y": 2}})))
        .await
        .unwrap();
    let read = b.get_user(&uid("u")).await.unwrap();
    assert_eq!(read, updated);
    assert_eq!(
        read.public_metadata.to_value(),
        json!({"a": {"y": 2}}),
        "replace, not merge"
    );
    assert_eq!(read.private_metadata, created.private_metadata);
    assert_eq!(read.version, 2);
    assert!(read.updated_at > created.updated_at);
    assert_eq!(read.created_at, created.created_at);
    let cleared = b
        .update_user(&uid("u"), replace(Tier::Public, json!({})))
        .await
        .unwrap();
    assert!(cleared.public_metadata.is_empty());
    assert_eq!(b.get_user(&uid("u")).await.unwrap().version, 3);
}

/// R3.2: a merge patch is applied deeply and persisted.
pub async fn r3_2_merge_persists(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    b.create_user(
        &uid("u"),
        replace(Tier::Private, json!({"a": {"b": 1, "c": 2}, "d": 3})),
    )
    .await
    .unwrap();
    b.update_user(
        &uid("u"),
        merge(
            Tier::Private,
            json!({"a": {"b": null, "e": [null]}, "d": null}),
        ),
    )
    .await
    .unwrap();
    let read = b.get_user(&uid("u")).await.unwrap();
    assert_eq!(
        read.private_metadata.to_value(),
        json!({"a": {"c": 2, "e": [null]}})
    );
    assert_eq!(
        read.private_metadata.size(),
        read.private_metadata.to_json().len()
    );
}

/// R3.3: when one tier of an update fails, no tier changes and the version stays.
pub async fn r3_3_failed_multi_tier_update_changes_nothing(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    let before = b
        .create_user(&uid("u"), replace(Tier::Public, json!({"keep": true})))
        .await
        .unwrap();
    let big = Patch::from_value(json!({"k": "x".repeat(8190)})).unwrap();
    let change = replace(Tier::Public, json!({"new": true}))
        .replace(Tier::Unsafe, meta(json!({"n": 1})))
        .merge(Tier::Private, big);
    let err = b.update_user(&uid("u"), change).await.unwrap_err();
    assert!(matches!(
        err,
        Error::TooLarge {
            tier: Tier::Private,
            ..
        }
    ));
    assert_eq!(err.param(), Some("private_metadata"));
    assert_eq!(b.get_user(&uid("u")).await.unwrap(), before);
}

/// R3.5: a write stating a stale version is refused and changes nothing.
pub async fn r3_5_stale_expected_version_conflicts(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    b.create_user(&uid("u"), Change::new()).await.unwrap();
    b.update_user(
        &uid("u"),
        replace(Tier::Public, json!({"v": 2})).expect_version(1),
    )
    .await
    .unwrap();
    let before = b.get_user(&uid("u")).await.unwrap();
    let err = b
        .update_user(
            &uid("u"),
            replace(Tier::Public, json!({"v": 3})).expect_version(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Conflict {
            expected: 1,
            actual: 2,
            kind: ResourceKind::User,
            ..
        }
    ));
    assert_eq!(err.code(), "version_conflict");
    assert_eq!(b.get_user(&uid("u")).await.unwrap(), before);
    let err = b
        .update_user(&uid("nobody"), replace(Tier::Public, json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
}

/// R3.5: two writers that read the same version cannot both write with it; without an expected
/// version, neither update is lost.
pub async fn r3_5_racing_writers_lose_nothing(store: Arc<dyn MetadataStore>) {
    let m = service(store.clone());
    let b = m.backend();
    b.create_user(&uid("u"), Change::new()).await.unwrap();
    // Both read version 1, then each writes the record it computed: the store takes one.
    let current = b.get_user(&uid("u")).await.unwrap();
    let limits = Limits::default();
    let a = apply_change(
        &current,
        &replace(Tier::Public, json!({"a": 1})),
        Surface::Backend,
        &limits,
        5,
    )
    .unwrap();
    let c = apply_change(
        &current,
        &replace(Tier::Private, json!({"c": 1})),
        Surface::Backend,
        &limits,
        5,
    )
    .unwrap();
    store
        .commit(&[update_write(&current, a.clone())])
        .await
        .unwrap();
    let err = store
        .commit(&[update_write(&current, c)])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        metadata_store::StoreError::Conflict { actual: 2, .. }
    ));
    assert_eq!(b.get_user(&uid("u")).await.unwrap(), a);
    // Through the facade, updates of different tiers without an expected version both land.
    b.update_user(&uid("u"), replace(Tier::Private, json!({"c": 1})))
        .await
        .unwrap();
    let read = b.get_user(&uid("u")).await.unwrap();
    assert_eq!(read.public_metadata.to_value(), json!({"a": 1}));
    assert_eq!(read.private_metadata.to_value(), json!({"c": 1}));
    assert_eq!(read.version, 3);
}

/// R4.1, R4.3: exactly 8192 bytes is stored and read back; 8193 is refused with the sizes.
pub async fn r4_1_size_limit_is_exact_through_the_store(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    b.create_user(&uid("u"), Change::new()).await.unwrap();
    // {"k":"…"} with a multi-byte character: 8 bytes of framing, "é" is 2 bytes.
    let exact = json!({"k": format!("é{}", "x".repeat(8182))});
    assert_eq!(serde_json::to_vec(&exact).unwrap().len(), 8192);
    b.update_user(&uid("u"), replace(Tier::Unsafe, exact.clone()))
        .await
        .unwrap();
    let read = b.get_user(&uid("u")).await.unwrap();
    assert_eq!(read.unsafe_metadata.to_value(), exact);
    assert_eq!(read.unsafe_metadata.size(), 8192);
    let over = Patch::from_value(json!({"k": format!("é{}", "x".repeat(8183))})).unwrap();
    let err = b
        .update_user(&uid("u"), Change::new().merge(Tier::Unsafe, over))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::TooLarge {
            tier: Tier::Unsafe,
            size: 8193,
            limit: 8192
        }
    ));
    assert_eq!(err.code(), "form_param_exceeds_allowed_size");
    assert_eq!(b.get_user(&uid("u")).await.unwrap(), read);
}

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
    assert!(matches!(
        err,
        Error::AlreadyExists {
            kind: ResourceKind::User,
            ..
        }
    ));
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
    assert!(matches!(
        err,
        Error::NotFound {
            kind: ResourceKind::User,
            ..
        }
    ));
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
    assert!(matches!(
        err,
        Error::AlreadyExists {
            kind: ResourceKind::Membership,
            ..
        }
    ));
    assert_eq!(
        b.get_invitation(&inv2).await.unwrap().status,
        InvitationStatus::Pending
    );
    assert_eq!(
        b.get_membership(&oid("org"), &uid("u1")).await.unwrap(),
        membership
    );
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
    assert!(matches!(
        err,
        Error::NotFound {
            kind: ResourceKind::Organization,
            ..
        }
    ));
    b.create_organization(&oid("org"), Change::new())
        .await
        .unwrap();
    let err = b
        .create_membership(&mem, &oid("org"), &uid("nope"), Change::new())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::NotFound {
            kind: ResourceKind::User,
            ..
        }
    ));
    let err = b
        .create_invitation(
            &InvitationId::new("i").unwrap(),
            &oid("nope"),
            "a@b.c",
            Change::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::NotFound {
            kind: ResourceKind::Organization,
            ..
        }
    ));
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

/// R7.2: records whose tier holds a value at a path, in storage-key order, page by page.
pub async fn r7_2_find_by_metadata_value_in_pages(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    let mut admins = Vec::new();
    for i in 0..23 {
        let id = format!("user_{i:02}");
        let role = if i % 3 == 0 { "admin" } else { "member" };
        if role == "admin" {
            admins.push(uid(&id));
        }
        let public = json!({"role": role, "org": {"seats": i % 2, "level": i}, "flag": i % 2 == 0, "n": "1"});
        b.create_user(&uid(&id), replace(Tier::Public, public))
            .await
            .unwrap();
    }
    // An organization with the same metadata is not a user.
    b.create_organization(&oid("org"), replace(Tier::Public, json!({"role": "admin"})))
        .await
        .unwrap();
    let mut found = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let got = b
            .find_users(Tier::Public, "role", "admin", page.clone())
            .await
            .unwrap();
        assert!(got.items.len() <= 3);
        found.extend(got.items.iter().map(|u| u.id.clone()));
        match got.next {
            Some(cursor) => page = PageRequest::after(cursor, 3),
            None => break,
        }
    }
    assert_eq!(found, admins, "every admin once, in key order");
    let by_nested = b
        .find_users(Tier::Public, "org.level", 7, PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(
        by_nested
            .items
            .iter()
            .map(|u| u.id.as_str())
            .collect::<Vec<_>>(),
        ["user_07"]
    );
    let by_bool = b
        .find_users(Tier::Public, "flag", true, PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(by_bool.items.len(), 12);
    let ones = b
        .find_users(Tier::Public, "org.seats", 1, PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(ones.items.len(), 11, "integer 1 matches 1, not true");
    let typed = b
        .find_users(Tier::Public, "n", 1, PageRequest::first(50))
        .await
        .unwrap();
    assert!(
        typed.items.is_empty(),
        "the string \"1\" is not the integer 1"
    );
    let none = b
        .find_users(Tier::Private, "role", "admin", PageRequest::first(50))
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next.is_none());
    let orgs = b
        .find::<Organization>(Tier::Public, "role", "admin", PageRequest::first(5))
        .await
        .unwrap();
    assert_eq!(orgs.items.len(), 1);
    let err = b
        .find_users(Tier::Public, "bad path!", "x", PageRequest::first(5))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidQuery { .. }));
    let err = b
        .find_users(Tier::Public, "role", "x", PageRequest::first(0))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidQuery { .. }));
}

/// R7.2, R6: memberships and invitations of one organization, page by page, in key order.
pub async fn r7_2_listing_children_in_pages(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    // "org" and "org-b": one id is a prefix of the other, and '-' sorts below letters.
    for o in ["org", "org-b"] {
        b.create_organization(&oid(o), Change::new()).await.unwrap();
    }
    for i in 0..7 {
        let u = uid(&format!("u{i}"));
        b.create_user(&u, Change::new()).await.unwrap();
        for o in ["org", "org-b"] {
            b.create_membership(
                &MembershipId::new(format!("m_{o}_{i}")).unwrap(),
                &oid(o),
                &u,
                Change::new(),
            )
            .await
            .unwrap();
        }
        b.create_invitation(
            &InvitationId::new(format!("i{i}")).unwrap(),
            &oid("org"),
            "a@b.c",
            Change::new(),
        )
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let got = b
            .memberships_of_organization(&oid("org"), page.clone())
            .await
            .unwrap();
        seen.extend(
            got.items
                .iter()
                .map(|m| (m.organization_id.to_string(), m.user_id.to_string())),
        );
        match got.next {
            Some(c) => page = PageRequest::after(c, 2),
            None => break,
        }
    }
    let expected: Vec<_> = (0..7)
        .map(|i| ("org".to_owned(), format!("u{i}")))
        .collect();
    assert_eq!(seen, expected);
    let of_user = b
        .memberships_of_user(&uid("u3"), PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(of_user.items.len(), 2);
    let invs = b
        .invitations_of_organization(&oid("org"), PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(invs.items.len(), 7);
    assert!(invs.next.is_none());
    let none = b
        .invitations_of_organization(&oid("org-b"), PageRequest::first(100))
        .await
        .unwrap();
    assert!(none.items.is_empty());
}

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
    assert!(matches!(
        err,
        Error::Conflict {
            expected: 1,
            actual: 3,
            ..
        }
    ));
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
    assert!(matches!(
        err,
        Error::NotFound {
            kind: ResourceKind::User,
            ..
        }
    ));
    assert_eq!(b.get_sign_up(&sua).await.unwrap(), open);
    // A frontend whose user does not exist finds nothing to write.
    let ghost = m.frontend(FrontendPrincipal::user(uid("ghost")));
    assert!(matches!(
        ghost.update_own_unsafe(meta(json!({})), None).await,
        Err(Error::NotFound { .. })
    ));
}

/// R11.1: a typed edit through the store keeps keys the type does not know.
pub async fn r11_1_typed_edit_keeps_unknown_keys(store: Arc<dyn MetadataStore>) {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Billing {
        plan: String,
    }
    let m = service(store);
    let b = m.backend();
    b.create_user(
        &uid("u"),
        replace(Tier::Private, json!({"plan": "free", "stripe_id": "cus_1"})),
    )
    .await
    .unwrap();
    let user = b
        .edit_user_typed(&uid("u"), Tier::Private, |billing: &mut Billing| {
            billing.plan = "pro".into()
        })
        .await
        .unwrap();
    assert_eq!(
        user.private_metadata.to_value(),
        json!({"plan": "pro", "stripe_id": "cus_1"})
    );
    assert_eq!(b.get_user(&uid("u")).await.unwrap(), user);
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Wrong {
        plan: u32,
    }
    let err = b
        .edit_user_typed(&uid("u"), Tier::Private, |_: &mut Wrong| {})
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Typed {
            tier: Tier::Private,
            ..
        }
    ));
}
