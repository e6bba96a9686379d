//! contract §7: reading and finding.

use super::*;

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
