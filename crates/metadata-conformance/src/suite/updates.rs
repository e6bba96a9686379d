//! contract §3 and 4: replace, merge, atomic updates, versions and the size limit.

use super::*;

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
    assert!(is_conflict(&err, 1, 2), "{err:?}");
    assert!(matches!(
        err,
        Error::Conflict {
            kind: ResourceKind::User,
            ..
        }
    ));
    assert_eq!(err.code(), "version_conflict");
    assert!(
        !err.is_retryable(),
        "R3.5: the same call with a stale expected version can never succeed"
    );
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
        .commit(
            &[update_write(&current, a.clone())],
            &metadata_core::feed::Stamp::at(5),
        )
        .await
        .unwrap();
    let err = store
        .commit(
            &[update_write(&current, c)],
            &metadata_core::feed::Stamp::at(5),
        )
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
