//! contract §4.5: a declared schema holds on every path that writes its tier, on every store.

use super::*;

/// The service the tests use: user public `age` an integer, user unsafe `theme` one of two
/// words, organization private `plan` required, membership public `title` a string.
fn with_schemas(store: Arc<dyn MetadataStore>) -> metadata_store::MetadataService {
    let mut schemas = Schemas::new();
    let mut declare = |kind, tier, schema| schemas.declare(kind, tier, &schema).unwrap();
    declare(
        ResourceKind::User,
        Tier::Public,
        json!({"type": "object", "properties": {"age": {"type": "integer"}}}),
    );
    declare(
        ResourceKind::User,
        Tier::Unsafe,
        json!({"properties": {"theme": {"enum": ["dark", "light"]}}}),
    );
    declare(
        ResourceKind::Organization,
        Tier::Private,
        json!({"required": ["plan"], "properties": {"plan": {"type": "string"}}}),
    );
    declare(
        ResourceKind::Membership,
        Tier::Public,
        json!({"properties": {"title": {"type": "string"}}}),
    );
    service(store).with_schemas(schemas)
}

#[track_caller]
fn assert_mismatch<T: std::fmt::Debug>(result: Result<T, Error>, tier: Tier, at: &str) {
    match result {
        Err(Error::SchemaMismatch {
            tier: t, pointer, ..
        }) => {
            assert_eq!((t, pointer.as_str()), (tier, at));
        }
        other => panic!("R13.1: expected a schema mismatch at {tier} {at}, got {other:?}"),
    }
}

/// R13.1: creates, backend replaces and merges (the merged result is checked), frontend updates,
/// batches of creates (each user alone) are refused when a written tier does not match, and a
/// refused write changes nothing.
pub async fn r13_1_schemas_hold_on_every_direct_write(store: Arc<dyn MetadataStore>) {
    let m = with_schemas(store);
    let b = m.backend();
    let u = uid("user_1");
    assert_mismatch(
        b.create_user(&u, replace(Tier::Public, json!({"age": "23"})))
            .await,
        Tier::Public,
        "/age",
    );
    assert!(
        b.get_user(&u).await.is_err(),
        "a refused create stores nothing"
    );
    b.create_user(&u, replace(Tier::Public, json!({"age": 23})))
        .await
        .unwrap();
    assert_mismatch(
        b.update_user(&u, replace(Tier::Public, json!({"age": 1.5})))
            .await,
        Tier::Public,
        "/age",
    );
    assert_mismatch(
        b.update_user(&u, merge(Tier::Public, json!({"age": [1]})))
            .await,
        Tier::Public,
        "/age",
    );
    let me = m.frontend(FrontendPrincipal::user(u.clone()));
    assert_mismatch(
        me.update_own_user(replace(Tier::Unsafe, json!({"theme": "blue"})))
            .await,
        Tier::Unsafe,
        "/theme",
    );
    me.update_own_user(replace(Tier::Unsafe, json!({"theme": "dark"})))
        .await
        .unwrap();
    let user = b.get_user(&u).await.unwrap();
    assert_eq!(user.version, 2, "refused updates wrote nothing");
    assert_eq!(user.public_metadata, meta(json!({"age": 23})));

    let o = oid("org_1");
    assert_mismatch(
        b.create_organization(&o, replace(Tier::Private, json!({})))
            .await,
        Tier::Private,
        "",
    );
    b.create_organization(&o, replace(Tier::Private, json!({"plan": "pro"})))
        .await
        .unwrap();
    // The merge patch is valid JSON merge patch; its result lacks `plan`.
    assert_mismatch(
        b.update_organization(&o, merge(Tier::Private, json!({"plan": null})))
            .await,
        Tier::Private,
        "",
    );
    // A tier without a schema takes anything.
    b.update_organization(&o, replace(Tier::Public, json!({"plan": 5})))
        .await
        .unwrap();

    let batch = b
        .create_users(vec![
            (uid("user_2"), replace(Tier::Public, json!({"age": 2}))),
            (uid("user_3"), replace(Tier::Public, json!({"age": "3"}))),
        ])
        .await
        .unwrap();
    assert!(batch[0].is_ok());
    assert_mismatch(
        batch[1].as_ref().map(|_| ()).map_err(clone_mismatch),
        Tier::Public,
        "/age",
    );
    assert!(b.get_user(&uid("user_3")).await.is_err());
}

/// The schema mismatch of `err`, rebuilt (errors are not `Clone`).
fn clone_mismatch(err: &Error) -> Error {
    match err {
        Error::SchemaMismatch {
            kind,
            tier,
            pointer,
            reason,
        } => Error::SchemaMismatch {
            kind: *kind,
            tier: *tier,
            pointer: pointer.clone(),
            reason: reason.clone(),
        },
        other => Error::InvalidQuery {
            reason: format!("{other:?}"),
        },
    }
}

/// R13.1 with R5: the copies of sign-up completion and invitation acceptance are checked against
/// the schema of the tier they land in, and a refused copy leaves the sign-up pending and the
/// invitation open.
pub async fn r13_1_copies_are_checked_where_they_land(store: Arc<dyn MetadataStore>) {
    let m = with_schemas(store);
    let b = m.backend();
    let su = SignUpId::new("sua_1").unwrap();
    // Sign-ups have no schema: the value is accepted there...
    b.create_sign_up(&su, replace(Tier::Unsafe, json!({"theme": "blue"})))
        .await
        .unwrap();
    // ...and refused where the copy would land.
    assert_mismatch(
        b.complete_sign_up(&su, &uid("user_9"), Change::new()).await,
        Tier::Unsafe,
        "/theme",
    );
    assert!(b.get_user(&uid("user_9")).await.is_err());
    b.update_sign_up(&su, replace(Tier::Unsafe, json!({"theme": "light"})))
        .await
        .unwrap();
    b.complete_sign_up(&su, &uid("user_9"), Change::new())
        .await
        .unwrap();

    let o = oid("org_1");
    b.create_organization(&o, replace(Tier::Private, json!({"plan": "pro"})))
        .await
        .unwrap();
    let inv = InvitationId::new("inv_1").unwrap();
    b.create_invitation(
        &inv,
        &o,
        "a@example.com",
        replace(Tier::Public, json!({"title": 5})),
    )
    .await
    .unwrap();
    let mem = MembershipId::new("mem_1").unwrap();
    assert_mismatch(
        b.accept_invitation(&inv, &mem, &uid("user_9")).await,
        Tier::Public,
        "/title",
    );
    let still = b.get_invitation(&inv).await.unwrap();
    assert_eq!(still.status, InvitationStatus::Pending);
}

/// R13.1: a schema declared over existing records refuses only writes of its tier; the scan
/// reports the records that do not match.
pub async fn r13_2_a_late_schema_spares_other_tiers_and_the_scan_finds_mismatches(
    store: Arc<dyn MetadataStore>,
) {
    let before = service(store.clone());
    for (id, age) in [
        ("user_1", json!("old")),
        ("user_2", json!(2)),
        ("user_3", json!(null)),
    ] {
        before
            .backend()
            .create_user(&uid(id), replace(Tier::Public, json!({ "age": age })))
            .await
            .unwrap();
    }
    let m = with_schemas(store);
    let b = m.backend();
    b.update_user(&uid("user_1"), replace(Tier::Private, json!({"x": 1})))
        .await
        .unwrap();
    let found = b.schema_mismatches().await.unwrap();
    let keys: Vec<String> = found.iter().map(|(k, _)| k.storage_key()).collect();
    assert_eq!(keys, ["user_1", "user_3"]);
    assert!(found
        .iter()
        .all(|(_, e)| matches!(e, Error::SchemaMismatch { pointer, .. } if pointer == "/age")));
}
