//! The change feed: every commit's events, written with it, in a gapless order.

use super::*;
use metadata_core::feed::{ChangeEvent, ClaimsScope, Operation};
use metadata_store::feed::FeedError;
use metadata_store::{Feed, MetadataService};

async fn all_events(m: &MetadataService) -> Vec<ChangeEvent> {
    m.feed().read(0, 10_000).await.unwrap()
}

fn assert_gapless(events: &[ChangeEvent]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "positions start at 1 with no gap");
    }
}

/// The (operation, kind, id, previous version, version, tiers) of an event.
fn summary(e: &ChangeEvent) -> (Operation, ResourceKind, String, Option<u64>, u64, Vec<Tier>) {
    let c = &e.change;
    (
        c.operation,
        c.kind,
        c.id.clone(),
        c.previous_version,
        c.version,
        c.tiers.clone(),
    )
}

/// Each operation yields exactly its events, with versions, changed tiers and the record after
/// the write; a multi-record commit's events share one commit id.
pub async fn feed_each_operation_yields_exactly_its_events(store: Arc<dyn MetadataStore>) {
    use Operation::*;
    use ResourceKind as K;
    let m = service(store);
    let b = m.backend();
    let u = b
        .create_user(&uid("u1"), replace(Tier::Public, json!({"role": "a"})))
        .await
        .unwrap();
    b.update_user(&uid("u1"), replace(Tier::Private, json!({"k": 1})))
        .await
        .unwrap();
    // Replacing a tier with its own value changes no tier, but is still a new version.
    b.update_user(&uid("u1"), replace(Tier::Public, json!({"role": "a"})))
        .await
        .unwrap();
    b.merge_user(
        &uid("u1"),
        Tier::Unsafe,
        Patch::from_value(json!({"x": 1})).unwrap(),
    )
    .await
    .unwrap();
    b.create_organization(&oid("o1"), Change::new())
        .await
        .unwrap();
    let mid = MembershipId::new("mem_1").unwrap();
    b.create_membership(
        &mid,
        &oid("o1"),
        &uid("u1"),
        replace(Tier::Public, json!({"r": 1})),
    )
    .await
    .unwrap();
    let inv = InvitationId::new("inv_1").unwrap();
    b.create_invitation(&inv, &oid("o1"), "a@example.com", Change::new())
        .await
        .unwrap();
    let sua = SignUpId::new("sua_1").unwrap();
    b.create_sign_up(&sua, replace(Tier::Unsafe, json!({"ref": "ad"})))
        .await
        .unwrap();
    b.complete_sign_up(&sua, &uid("u2"), Change::new())
        .await
        .unwrap();
    assert!(b.delete_organization(&oid("o1")).await.unwrap());

    let events = all_events(&m).await;
    assert_gapless(&events);
    let s: Vec<_> = events.iter().map(summary).collect();
    let ms = "o1,u1".to_owned();
    let expected = [
        (Created, K::User, "u1".into(), None, 1, vec![Tier::Public]),
        (
            Updated,
            K::User,
            "u1".into(),
            Some(1),
            2,
            vec![Tier::Private],
        ),
        (Updated, K::User, "u1".into(), Some(2), 3, vec![]),
        (
            Updated,
            K::User,
            "u1".into(),
            Some(3),
            4,
            vec![Tier::Unsafe],
        ),
        (Created, K::Organization, "o1".into(), None, 1, vec![]),
        (
            Created,
            K::Membership,
            ms.clone(),
            None,
            1,
            vec![Tier::Public],
        ),
        (Created, K::Invitation, "inv_1".into(), None, 1, vec![]),
        (
            Created,
            K::SignUp,
            "sua_1".into(),
            None,
            1,
            vec![Tier::Unsafe],
        ),
    ];
    assert_eq!(s[..8], expected[..], "one event per write, in commit order");
    // The sign-up completion: one commit, two events (R5.1).
    let completion = &events[8..10];
    let created = completion
        .iter()
        .find(|e| e.change.kind == K::User)
        .unwrap();
    let frozen = completion
        .iter()
        .find(|e| e.change.kind == K::SignUp)
        .unwrap();
    assert_eq!(
        (created.change.operation, created.change.version),
        (Created, 1)
    );
    assert_eq!(created.change.tiers, vec![Tier::Unsafe]);
    assert_eq!(
        (frozen.change.operation, frozen.change.version),
        (Updated, 2)
    );
    assert!(frozen.change.tiers.is_empty());
    assert_eq!(completion[0].commit_id, completion[1].commit_id);
    // The organization's deletion cascades: one commit, every deleted record its own event.
    let deletion = &events[10..];
    let mut deleted: Vec<_> = deletion.iter().map(summary).collect();
    deleted.sort_by(|a, b| (a.1, &a.2).cmp(&(b.1, &b.2)));
    assert_eq!(
        deleted,
        vec![
            (Deleted, K::Organization, "o1".into(), Some(1), 2, vec![]),
            (Deleted, K::Membership, ms, Some(1), 2, vec![Tier::Public]),
            (Deleted, K::Invitation, "inv_1".into(), Some(1), 2, vec![]),
        ]
    );
    assert!(deletion
        .iter()
        .all(|e| e.commit_id == deletion[0].commit_id));
    let commits: std::collections::BTreeSet<u64> = events.iter().map(|e| e.commit_id).collect();
    assert_eq!(commits.len(), 10, "ten commits, each its own commit id");
    // Every event carries the record after the write, exactly as stored; deletions none.
    assert_eq!(
        events[0].change.parse_record().unwrap().unwrap(),
        Record::User(u)
    );
    let stored_u2 = b.get_user(&uid("u2")).await.unwrap();
    assert_eq!(
        created.change.record.as_deref(),
        Some(Record::User(stored_u2).to_json().as_str())
    );
    assert!(deletion.iter().all(|e| e.change.record.is_none()));
    assert!(events
        .windows(2)
        .all(|w| w[0].committed_at <= w[1].committed_at));
}

/// A refused or failed write yields no event.
pub async fn feed_a_refused_write_yields_no_event(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    b.create_user(&uid("u1"), Change::new()).await.unwrap();
    b.create_user(&uid("u1"), Change::new()).await.unwrap_err();
    let stale = Change::new()
        .replace_json(Tier::Public, json!({"a": 1}))
        .unwrap()
        .expect_version(7);
    b.update_user(&uid("u1"), stale).await.unwrap_err();
    let half = |key: &str| json!({ key: "y".repeat(m.limits().tier_bytes() / 2) });
    b.update_user(&uid("u1"), replace(Tier::Public, half("a")))
        .await
        .unwrap();
    let too_large = b
        .merge_user(
            &uid("u1"),
            Tier::Public,
            Patch::from_value(half("b")).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(too_large, Error::TooLarge { .. }));
    b.update_user(&uid("nobody"), replace(Tier::Public, json!({})))
        .await
        .unwrap_err();
    let me = m.frontend(FrontendPrincipal::user(uid("u1")));
    me.update_own(replace(Tier::Public, json!({"role": "admin"})))
        .await
        .unwrap_err();
    let mid = MembershipId::new("mem_1").unwrap();
    b.create_membership(&mid, &oid("missing"), &uid("u1"), Change::new())
        .await
        .unwrap_err();
    assert!(!b.delete_organization(&oid("missing")).await.unwrap());
    let events = all_events(&m).await;
    assert_eq!(
        events.len(),
        2,
        "the creation and the one update: {events:?}"
    );
    b.update_user(&uid("u1"), replace(Tier::Public, json!({"a": 1})))
        .await
        .unwrap();
    let events = all_events(&m).await;
    assert_gapless(&events);
    assert_eq!(events[2].change.version, 3);
}

/// Reads page through the feed in position order; a named cursor moves by compare-and-set.
pub async fn feed_cursors_advance_by_compare_and_set(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    for i in 0..25 {
        b.create_user(&uid(&format!("u{i:02}")), Change::new())
            .await
            .unwrap();
    }
    let feed = m.feed();
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = feed.read(after, 7).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        after = page.last().unwrap().position;
        seen.extend(page);
    }
    assert_gapless(&seen);
    assert_eq!(seen.len(), 25);

    let one = feed.consumer("indexer");
    let two = feed.consumer("indexer");
    assert_eq!(one.position().await.unwrap(), None);
    let first = one.next(10).await.unwrap();
    let same = two.next(10).await.unwrap();
    assert_eq!(first, same);
    one.ack(&first).await.unwrap();
    assert!(matches!(
        two.ack(&same).await,
        Err(FeedError::CursorMoved {
            expected: None,
            actual: Some(10),
            ..
        })
    ));
    let next = two.next(10).await.unwrap();
    assert_eq!(next.events[0].position, 11);
    two.ack(&next).await.unwrap();
    assert_eq!(one.position().await.unwrap(), Some(20));
    // An empty batch acks nothing.
    let rest = one.next(100).await.unwrap();
    one.ack(&rest).await.unwrap();
    let empty = one.next(100).await.unwrap();
    assert!(empty.events.is_empty());
    assert_eq!((empty.from, empty.to), (Some(25), 25));
    one.ack(&empty).await.unwrap();
    for bad in ["", "a\u{0}b"] {
        let err = feed.consumer(bad).position().await.unwrap_err();
        assert_eq!(err.code(), "invalid_cursor_name");
    }
    assert!(one.remove().await.unwrap());
    assert!(!one.remove().await.unwrap());
}

/// Pruning deletes old events, never past the lowest cursor; a reader behind the pruned mark
/// gets `cursor_expired`, and re-syncs from a snapshot.
pub async fn feed_pruning_stops_at_the_lowest_cursor(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    for i in 0..10 {
        b.create_user(&uid(&format!("u{i}")), Change::new())
            .await
            .unwrap();
    }
    let feed = m.feed();
    let slow = feed.consumer("slow");
    slow.ack(&metadata_store::Batch {
        events: vec![],
        from: None,
        to: 4,
    })
    .await
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    // Too young: nothing goes.
    assert_eq!(
        feed.prune(std::time::Duration::from_secs(3600), 3)
            .await
            .unwrap(),
        0
    );
    assert_eq!(feed.prune(std::time::Duration::ZERO, 3).await.unwrap(), 4);
    let err = feed.read(2, 10).await.unwrap_err();
    assert!(matches!(
        err,
        FeedError::CursorExpired {
            after: 2,
            pruned_through: 4
        }
    ));
    assert_eq!(err.code(), "cursor_expired");
    let rest = feed.read(4, 100).await.unwrap();
    assert_eq!(rest.first().map(|e| e.position), Some(5));
    assert_eq!(rest.len(), 6);
    // Without cursors, everything old enough goes; positions are never reused.
    slow.remove().await.unwrap();
    assert_eq!(feed.prune(std::time::Duration::ZERO, 4).await.unwrap(), 6);
    assert!(feed.read(10, 100).await.unwrap().is_empty());
    b.create_user(&uid("late"), Change::new()).await.unwrap();
    let late = feed.read(10, 100).await.unwrap();
    assert_eq!(
        late.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![11]
    );
    // A snapshot holds every record and the position it is consistent with.
    let (page, position) = feed
        .snapshot(&ListQuery {
            kind: ResourceKind::User,
            filter: Filter::All,
            after: None,
            limit: 100,
            order: metadata_core::ListOrder::BY_ID,
            offset: 0,
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 11);
    assert_eq!(position, 11);
}

/// The client-facing view drops private tiers, and private-only writes altogether; claims
/// scopes name whose session claims may have changed.
pub async fn feed_public_view_and_claims_scopes(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    b.create_user(&uid("u1"), replace(Tier::Private, json!({"secret": 1})))
        .await
        .unwrap();
    b.update_user(&uid("u1"), replace(Tier::Private, json!({"secret": 2})))
        .await
        .unwrap();
    b.update_user(&uid("u1"), replace(Tier::Unsafe, json!({"theme": "dark"})))
        .await
        .unwrap();
    b.create_organization(&oid("o1"), Change::new())
        .await
        .unwrap();
    b.update_organization(&oid("o1"), replace(Tier::Private, json!({"plan": "x"})))
        .await
        .unwrap();
    b.update_organization(&oid("o1"), replace(Tier::Public, json!({"plan": "y"})))
        .await
        .unwrap();
    let events = all_events(&m).await;
    let read = m.feed().read_public(0, 100).await.unwrap();
    assert_eq!(
        read.through, 6,
        "the read went through the last event, shown or not"
    );
    let public = read.events;
    let positions: Vec<u64> = public.iter().map(|e| e.position).collect();
    assert_eq!(
        positions,
        vec![1, 3, 4, 6],
        "private-only updates are not shown"
    );
    assert!(
        public[0].tiers.is_empty(),
        "the created user's only tier was private"
    );
    for e in &public {
        let text = serde_json::to_string(e).unwrap();
        assert!(
            !text.contains("private_metadata") && !text.contains("secret"),
            "{text}"
        );
    }
    assert_eq!(
        public[1].record.as_ref().unwrap()["unsafe_metadata"],
        json!({"theme": "dark"})
    );
    let scopes = Feed::claims_scopes(&events);
    assert_eq!(
        scopes.into_iter().collect::<Vec<_>>(),
        vec![
            ClaimsScope::User(uid("u1")),
            ClaimsScope::Organization(oid("o1"))
        ]
    );
    assert_eq!(
        events[1].claims_scope(),
        None,
        "a private tier is never in claims"
    );
}

/// A waiter wakes when a commit in this process passes its position.
pub async fn feed_wait_wakes_on_a_commit(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    b.create_user(&uid("u1"), Change::new()).await.unwrap();
    let head = m.feed().read(0, 10).await.unwrap().last().unwrap().position;
    assert_eq!(m.feed().wait(0).await.unwrap(), head, "already past 0");
    // The waiter runs on a thread of its own, so a missing wake-up fails the test instead of
    // hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = m.clone();
    std::thread::spawn(move || {
        let _ = tx.send(futures::executor::block_on(waiter.feed().wait(head)));
    });
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(rx.try_recv().is_err(), "nothing past {head} yet");
    let written = b
        .update_user(&uid("u1"), replace(Tier::Unsafe, json!({"a": 1})))
        .await
        .unwrap();
    assert_eq!(written.version, 2);
    let woken = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the commit woke the waiter");
    assert_eq!(woken.unwrap(), head + 1);
}

/// For a store opened with its feed off (not part of the suite, which needs a feed): writes of
/// every kind work as with the feed on, and every feed call is `feed_disabled`.
pub async fn feed_off_store_still_writes_and_says_disabled(store: Arc<dyn MetadataStore>) {
    let m = service(store.clone());
    let b = m.backend();
    b.create_user(&uid("u1"), replace(Tier::Public, json!({"a": 1})))
        .await
        .unwrap();
    for i in 0..3 {
        let user = b
            .update_user(&uid("u1"), replace(Tier::Public, json!({ "i": i })))
            .await
            .unwrap();
        assert_eq!(user.version, i + 2);
    }
    let stale = replace(Tier::Public, json!({})).expect_version(1);
    assert!(matches!(
        b.update_user(&uid("u1"), stale).await,
        Err(Error::Conflict { actual: 4, .. })
    ));
    b.create_organization(&oid("o1"), Change::new())
        .await
        .unwrap();
    assert!(b.delete_organization(&oid("o1")).await.unwrap());
    assert!(b.delete_user(&uid("u1")).await.unwrap());
    assert!(store.feed().is_none());
    for err in [
        m.feed().read(0, 10).await.unwrap_err(),
        m.feed().consumer("c").position().await.unwrap_err(),
        m.feed().wait(0).await.unwrap_err(),
    ] {
        assert_eq!(err.code(), "feed_disabled");
    }
}
