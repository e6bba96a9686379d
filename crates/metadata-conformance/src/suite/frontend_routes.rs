//! contract §2 as the frontend routes need it: each facade call a frontend HTTP route makes refuses
//! what that route must refuse, with the error the route answers, and writes nothing. The HTTP
//! layer checks no access rule itself; these tests are where its answers are pinned.

use super::*;

/// A user `alice` (a member of `org`, with every tier set), another user `bob` with a
/// membership of his own in `other`, and the sign-up attempts `sua` and `sub`.
async fn world(m: &metadata_store::MetadataService) {
    let b = m.backend();
    let full = replace(Tier::Private, json!({"secret": 1}))
        .replace(Tier::Public, meta(json!({"p": 1})))
        .replace(Tier::Unsafe, meta(json!({"u": 1})));
    for user in ["alice", "bob"] {
        b.create_user(&uid(user), full.clone()).await.unwrap();
    }
    let org_tiers = replace(Tier::Private, json!({"secret": 2}));
    for org in ["org", "other"] {
        b.create_organization(&oid(org), org_tiers.clone())
            .await
            .unwrap();
    }
    for (n, (org, user)) in [("org", "alice"), ("other", "bob")].into_iter().enumerate() {
        let id = MembershipId::new(format!("mem{n}")).unwrap();
        b.create_membership(&id, &oid(org), &uid(user), org_tiers.clone())
            .await
            .unwrap();
    }
    for sign_up in ["sua", "sub"] {
        b.create_sign_up(&SignUpId::new(sign_up).unwrap(), Change::new())
            .await
            .unwrap();
    }
}

fn alice() -> FrontendPrincipal {
    FrontendPrincipal::user(uid("alice"))
}

fn sua() -> SignUpId {
    SignUpId::new("sua").unwrap()
}

/// The backend's record, to show that a refused call wrote nothing.
async fn version(m: &metadata_store::MetadataService, key: RecordKey) -> Option<u64> {
    let record = m.backend().get_record(&key).await.unwrap();
    record.map(|r| r.version())
}

/// `GET /v1/me`: the signed-in user's own view; a sign-up principal has no user.
pub async fn r2_2_route_get_me(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    world(&m).await;
    let me = m.frontend(alice()).get_own_user().await.unwrap();
    assert_eq!(me.id, uid("alice"));
    let refused = m
        .frontend(FrontendPrincipal::sign_up(sua()))
        .get_own_user()
        .await;
    assert!(matches!(
        refused,
        Err(Error::NotFound {
            kind: ResourceKind::User,
            ..
        })
    ));
}

/// `PATCH /v1/me` and `PATCH /v1/me/metadata`: only the own unsafe tier, replaced or merged;
/// the public and private tiers are refused whole (R2.4), a sign-up principal is not found,
/// and nothing is written.
pub async fn r2_4_route_patch_me(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    world(&m).await;
    let me = m.frontend(alice());
    let key = RecordKey::User(uid("alice"));
    for tier in [Tier::Public, Tier::Private] {
        for change in [
            replace(tier, json!({"x": 1})),
            merge(tier, json!({"x": 1})),
            replace(Tier::Unsafe, json!({"ok": 1})).replace(tier, meta(json!({}))),
        ] {
            let refused = me.update_own_user(change).await;
            assert!(
                matches!(refused, Err(Error::AccessDenied { tier: t, .. }) if t == tier),
                "{tier}: {refused:?}"
            );
        }
    }
    assert_eq!(version(&m, key.clone()).await, Some(1), "nothing written");
    let signing_up = m.frontend(FrontendPrincipal::sign_up(sua()));
    let refused = signing_up
        .update_own_user(replace(Tier::Unsafe, json!({"x": 1})))
        .await;
    assert!(matches!(refused, Err(Error::NotFound { .. })));
    let merged = me
        .update_own_user(merge(Tier::Unsafe, json!({"v": 2})))
        .await
        .unwrap();
    assert_eq!(merged.unsafe_metadata.to_value(), json!({"u": 1, "v": 2}));
    assert_eq!(version(&m, key).await, Some(2));
}

/// `GET /v1/me/organization_memberships`: the user's own memberships only, each with its
/// organization, as a member sees them; a sign-up principal has none to list.
pub async fn r2_2_route_my_memberships(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    world(&m).await;
    let mine = m
        .frontend(alice())
        .own_memberships(PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(mine.items.len(), 1, "bob's membership is not alice's");
    let only = &mine.items[0];
    assert_eq!(only.membership.user_id, uid("alice"));
    assert_eq!(only.organization.id, oid("org"));
    let shown = serde_json::to_value(&only.organization).unwrap();
    assert!(shown.get("private_metadata").is_none());
    let refused = m
        .frontend(FrontendPrincipal::sign_up(sua()))
        .own_memberships(PageRequest::first(10))
        .await;
    assert!(matches!(refused, Err(Error::NotFound { .. })));
}

/// `POST /v1/client/sign_ups`: the sign-up principal creates its own attempt, with the unsafe
/// tier only; any other tier, or a signed-in user, is refused and nothing is created.
pub async fn r2_4_route_create_sign_up(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    world(&m).await;
    let new = SignUpId::new("suc").unwrap();
    let me = m.frontend(FrontendPrincipal::sign_up(new.clone()));
    for tier in [Tier::Public, Tier::Private] {
        let refused = me
            .create_own_sign_up(replace(Tier::Unsafe, json!({})).replace(tier, meta(json!({}))))
            .await;
        assert!(
            matches!(refused, Err(Error::UnsupportedTier { tier: t, .. }) if t == tier),
            "{refused:?}"
        );
    }
    let refused = m
        .frontend(alice())
        .create_own_sign_up(replace(Tier::Unsafe, json!({})))
        .await;
    assert!(matches!(refused, Err(Error::NotFound { .. })));
    assert_eq!(version(&m, RecordKey::SignUp(new.clone())).await, None);
    let created = me
        .create_own_sign_up(replace(Tier::Unsafe, json!({"ref": "ad"})))
        .await
        .unwrap();
    assert_eq!(created.id, new);
    let again = me.create_own_sign_up(Change::new()).await;
    assert!(matches!(again, Err(Error::AlreadyExists { .. })));
}

/// `GET` and `PATCH /v1/client/sign_ups/{id}`: the principal's own attempt only; another's
/// (or any for a signed-in user) is not found, exactly as a missing one, and is not written.
pub async fn r2_2_route_sign_up_by_id(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    world(&m).await;
    let sub = SignUpId::new("sub").unwrap();
    let missing = SignUpId::new("nobody").unwrap();
    let unsafe_change = replace(Tier::Unsafe, json!({"x": 1}));
    for principal in [FrontendPrincipal::sign_up(sua()), alice()] {
        let f = m.frontend(principal);
        for id in [&sub, &missing] {
            assert!(matches!(
                f.get_sign_up(id).await,
                Err(Error::NotFound { .. })
            ));
            assert!(matches!(
                f.update_sign_up(id, unsafe_change.clone()).await,
                Err(Error::NotFound { .. })
            ));
        }
    }
    assert_eq!(version(&m, RecordKey::SignUp(sub)).await, Some(1));
    let own = m.frontend(FrontendPrincipal::sign_up(sua()));
    let updated = own.update_sign_up(&sua(), unsafe_change).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(own.get_sign_up(&sua()).await.unwrap(), updated);
}

/// R3.1, R3.5: a change that names no tier writes nothing on either surface: it answers the
/// record as it is, version unchanged, after checking a stated version.
pub async fn r3_1_an_empty_change_writes_nothing_on_every_surface(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    world(&m).await;
    let backend = m.backend().update_user(&uid("alice"), Change::new()).await;
    assert_eq!(backend.unwrap().version, 1);
    let frontend = m.frontend(alice()).update_own_user(Change::new()).await;
    assert_eq!(frontend.unwrap().version, 1);
    let sign_up = m
        .frontend(FrontendPrincipal::sign_up(sua()))
        .update_sign_up(&sua(), Change::new())
        .await;
    assert_eq!(sign_up.unwrap().version, 1);
    let stale = m
        .backend()
        .update_organization(&oid("org"), Change::new().expect_version(5))
        .await;
    assert!(matches!(
        stale,
        Err(Error::Conflict {
            expected: 5,
            actual: 1,
            ..
        })
    ));
    let hidden = m
        .frontend(alice())
        .update_sign_up(&sua(), Change::new())
        .await;
    assert!(matches!(hidden, Err(Error::NotFound { .. })));
    assert_eq!(version(&m, RecordKey::User(uid("alice"))).await, Some(1));
}
