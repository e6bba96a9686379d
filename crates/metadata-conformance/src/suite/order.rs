//! R7.5: listings in every order, cursors that stay put while records arrive, and counts.

use super::*;
use crate::model::store_records;
use metadata_store::MetadataService;
use std::sync::atomic::{AtomicI64, Ordering};

/// Every order a listing takes.
const ORDERS: [&str; 6] = [
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "id",
    "-id",
];

/// Times with ties, zero, and integers past 2^53 (a store must compare them exactly).
const TIMES: [Millis; 6] = [
    0,
    5,
    5,
    9_007_199_254_740_993,
    9_007_199_254_740_992,
    1_700_000_000_000,
];

/// A service whose clock reads `now`.
fn clocked(store: Arc<dyn MetadataStore>) -> (MetadataService, Arc<AtomicI64>) {
    let now = Arc::new(AtomicI64::new(1));
    let clock = now.clone();
    let m = MetadataService::from_arc(store).with_clock(move || clock.load(Ordering::SeqCst));
    (m, now)
}

/// Every record of `query`'s kind the store holds, paged in `query`'s order from the start,
/// `limit` at a time, each page checked against the reference page of the same request.
async fn pages_match_the_reference(
    m: &MetadataService,
    store: &dyn MetadataStore,
    query: ListQuery,
) -> Vec<Record> {
    let all = store_records(store).await;
    let mut query = query;
    let mut seen = Vec::new();
    loop {
        let expected = query.select(&all).unwrap();
        let got = store.list(&query).await.unwrap();
        assert_eq!(
            got.items.iter().map(Record::key).collect::<Vec<_>>(),
            expected.items.iter().map(Record::key).collect::<Vec<_>>(),
            "{} {:?} after {:?} offset {}",
            query.order,
            query.filter,
            query.after,
            query.offset
        );
        assert_eq!(got.next, expected.next, "{}", query.order);
        // The facade answers the same page.
        if query.kind == ResourceKind::User {
            let page = PageRequest::first(query.limit)
                .ordered(query.order)
                .after_cursor(query.after.clone())
                .skip(query.offset);
            let users: Page<User> = m.backend().list(query.filter.clone(), page).await.unwrap();
            assert_eq!(users.items.len(), got.items.len());
        }
        seen.extend(got.items);
        match got.next {
            Some(next) => {
                query.after = Some(next);
                query.offset = 0;
            }
            None => return seen,
        }
    }
}

/// R7.5: in each of the six orders, with ties, zero and times past 2^53, every page a store
/// answers — first pages with offsets, and the pages that follow by cursor — is exactly the
/// page the core's reference builds; lookups and children keep their filters in every order.
pub async fn r7_5_every_order_pages_exactly_as_the_reference(store: Arc<dyn MetadataStore>) {
    let (m, now) = clocked(store.clone());
    let b = m.backend();
    let org = oid("org_1");
    now.store(3, Ordering::SeqCst);
    b.create_organization(&org, Change::new()).await.unwrap();
    for i in 0..18usize {
        now.store(TIMES[i % TIMES.len()], Ordering::SeqCst);
        let id = uid(&format!("user_{:02}", (i * 7) % 18));
        let role = if i % 3 == 0 { "admin" } else { "member" };
        b.create_user(&id, replace(Tier::Public, json!({ "role": role })))
            .await
            .unwrap();
        if i % 2 == 0 {
            let membership = MembershipId::new(format!("orgmem_{i:02}")).unwrap();
            b.create_membership(&membership, &org, &id, Change::new())
                .await
                .unwrap();
        }
    }
    // Some records change later, so the two times order them differently.
    for (i, id) in ["user_03", "user_11", "user_00", "user_16"]
        .iter()
        .enumerate()
    {
        now.store(TIMES[(i + 2) % TIMES.len()], Ordering::SeqCst);
        b.update_user(&uid(id), merge(Tier::Private, json!({ "seen": i })))
            .await
            .unwrap();
    }
    let role = |value: &str| Filter::MetadataEquals {
        tier: Tier::Public,
        path: MetadataPath::parse("role").unwrap(),
        value: LookupValue::from(value),
    };
    for order in ORDERS.map(|o| ListOrder::parse(o).unwrap()) {
        for (kind, filter) in [
            (ResourceKind::User, Filter::All),
            (ResourceKind::User, role("admin")),
            (
                ResourceKind::Membership,
                Filter::MembershipsOfOrganization(org.clone()),
            ),
        ] {
            for limit in [1, 4, 7, 100] {
                for offset in [0, 3, 40] {
                    let query = ListQuery::new(kind, filter.clone(), limit)
                        .ordered(order)
                        .skip(offset);
                    let listed = pages_match_the_reference(&m, store.as_ref(), query).await;
                    if offset == 0 {
                        let n = m.backend().count::<User>(Filter::All).await.unwrap();
                        if kind == ResourceKind::User && filter == Filter::All {
                            assert_eq!(listed.len() as u64, n, "{order}: every user once");
                        }
                    }
                }
            }
        }
    }
    // A cursor that another order wrote is refused, typed, not misread.
    let by_id = b
        .list::<User>(Filter::All, PageRequest::first(2))
        .await
        .unwrap();
    let refused = b
        .list::<User>(
            Filter::All,
            PageRequest::first(2)
                .ordered(ListOrder::NEWEST_FIRST)
                .after_cursor(by_id.next),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::InvalidQuery { .. }), "{refused:?}");
}

/// R7.5: paging newest first while records are created between pages (newer, older and at
/// the very time of the cursor) lists every record that was there from the start exactly
/// once, in order.
pub async fn r7_5_cursors_hold_their_place_while_records_arrive(store: Arc<dyn MetadataStore>) {
    let (m, now) = clocked(store);
    let b = m.backend();
    let mut before = Vec::new();
    for i in 0..20 {
        now.store(100 + (i / 3) as Millis, Ordering::SeqCst);
        let id = uid(&format!("user_b{i:02}"));
        b.create_user(&id, Change::new()).await.unwrap();
        before.push(b.get_user(&id).await.unwrap());
    }
    let order = ListOrder::NEWEST_FIRST;
    let mut seen: Vec<User> = Vec::new();
    let mut page = PageRequest::first(3).ordered(order);
    let mut arrivals = 0;
    loop {
        let got = b.list::<User>(Filter::All, page.clone()).await.unwrap();
        seen.extend(got.items.iter().cloned());
        let Some(next) = got.next else { break };
        // Between pages: a newer record, an older one, and one at the cursor's own time whose
        // key sorts on either side of it.
        let last = got.items.last().unwrap();
        for (at, name) in [
            (1_000, format!("user_n{arrivals:02}")),
            (1, format!("user_o{arrivals:02}")),
            (last.created_at, format!("user_a{arrivals:02}")),
            (last.created_at, format!("user_z{arrivals:02}")),
        ] {
            now.store(at, Ordering::SeqCst);
            b.create_user(&uid(&name), Change::new()).await.unwrap();
        }
        arrivals += 1;
        page = PageRequest::first(3)
            .ordered(order)
            .after_cursor(Some(next));
    }
    let original: Vec<&str> = seen
        .iter()
        .map(|u| u.id.as_str())
        .filter(|id| id.starts_with("user_b"))
        .collect();
    let mut expected = before.clone();
    expected.sort_by(|a, b| {
        let (a, b) = (Record::User(a.clone()), Record::User(b.clone()));
        order.compare(&order.position_of(&a), &order.position_of(&b))
    });
    let expected: Vec<&str> = expected.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(original, expected, "every original user once, in order");
    let positions: Vec<Position> = seen
        .iter()
        .map(|u| order.position_of(&Record::User(u.clone())))
        .collect();
    assert!(
        positions
            .windows(2)
            .all(|w| order.compare(&w[0], &w[1]) == std::cmp::Ordering::Less),
        "no record twice and none out of order"
    );
}

/// R7.5: counts follow creations, deletions and cascades, for every record of a kind and for
/// each filter, and equal what a listing holds.
pub async fn r7_5_counts_follow_every_write(store: Arc<dyn MetadataStore>) {
    let m = service(store.clone());
    let b = m.backend();
    assert_eq!(b.count::<User>(Filter::All).await.unwrap(), 0);
    let (o1, o2) = (oid("org_1"), oid("org_2"));
    b.create_organization(&o1, Change::new()).await.unwrap();
    b.create_organization(&o2, Change::new()).await.unwrap();
    for i in 0..12 {
        let id = uid(&format!("user_{i:02}"));
        b.create_user(&id, replace(Tier::Public, json!({ "even": i % 2 == 0 })))
            .await
            .unwrap();
        let org = if i < 8 { &o1 } else { &o2 };
        b.create_membership(
            &MembershipId::new(format!("orgmem_{i:02}")).unwrap(),
            org,
            &id,
            Change::new(),
        )
        .await
        .unwrap();
    }
    for i in 0..3 {
        b.create_invitation(
            &InvitationId::new(format!("orginv_{i}")).unwrap(),
            &o1,
            &format!("i{i}@example.com"),
            Change::new(),
        )
        .await
        .unwrap();
    }
    // A refused create and an update count nothing.
    assert!(b.create_user(&uid("user_00"), Change::new()).await.is_err());
    b.update_user(&uid("user_01"), merge(Tier::Public, json!({ "x": 1 })))
        .await
        .unwrap();
    let even = Filter::MetadataEquals {
        tier: Tier::Public,
        path: MetadataPath::parse("even").unwrap(),
        value: LookupValue::Bool(true),
    };
    let check = |users: u64, orgs: u64, members_of_1: u64, even_users: u64| {
        let b = m.backend();
        let (o1, even) = (o1.clone(), even.clone());
        async move {
            assert_eq!(b.count::<User>(Filter::All).await.unwrap(), users);
            assert_eq!(b.count::<Organization>(Filter::All).await.unwrap(), orgs);
            assert_eq!(
                b.count::<Membership>(Filter::MembershipsOfOrganization(o1))
                    .await
                    .unwrap(),
                members_of_1
            );
            assert_eq!(b.count::<User>(even).await.unwrap(), even_users);
        }
    };
    check(12, 2, 8, 6).await;
    assert_eq!(
        b.count::<Invitation>(Filter::InvitationsOfOrganization(o1.clone()))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        b.count::<Membership>(Filter::MembershipsOfUser(uid("user_09")))
            .await
            .unwrap(),
        1
    );
    // A user's deletion takes its membership; an organization's takes its memberships and
    // invitations; deleting twice counts once.
    assert!(b.delete_user(&uid("user_02")).await.unwrap());
    assert!(!b.delete_user(&uid("user_02")).await.unwrap());
    check(11, 2, 7, 5).await;
    assert!(b.delete_organization(&o1).await.unwrap());
    check(11, 1, 0, 5).await;
    assert_eq!(
        b.count::<Membership>(Filter::All).await.unwrap(),
        4,
        "org_2's four memberships remain"
    );
    assert_eq!(b.count::<Invitation>(Filter::All).await.unwrap(), 0);
    // The count is what a full listing holds.
    let listed = store_records(store.as_ref())
        .await
        .iter()
        .filter(|r| r.kind() == ResourceKind::User)
        .count();
    assert_eq!(listed as u64, 11);
    // A filter that does not fit the kind is refused, typed.
    let refused = b
        .count::<User>(Filter::MembershipsOfUser(uid("user_01")))
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::InvalidQuery { .. }), "{refused:?}");
}
