//! contract §8.3 and 7.3: every store keeps exactly what it was given, and finds exactly what the
//! core's reference selects, for values at the edges real data has.

use super::*;
use crate::edges;
use metadata_store::OwnRecord;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value};

/// `n` values of `strategy`, the same on every run.
pub(crate) fn samples<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("a value").current())
        .collect()
}

/// Two tiers are the same: equal as values, equal in measured size, and spelled the same.
#[track_caller]
pub(crate) fn assert_same_tier(read: &Metadata, written: &Metadata, what: &str) {
    assert_eq!(read, written, "R8.3 {what}: value");
    assert_eq!(read.size(), written.size(), "R8.3 {what}: measured size");
    assert_eq!(read.to_json(), written.to_json(), "R8.3 {what}: spelling");
}

/// Two records are the same, down to the spelling of every number.
#[track_caller]
pub(crate) fn assert_same_record(read: &Record, written: &Record, what: &str) {
    assert_eq!(read, written, "R8.3 {what}");
    assert_eq!(read.to_json(), written.to_json(), "R8.3 {what}: spelling");
}

/// The edge tiers every store must keep: the fixed ones, random ones, and some of each padded
/// to exactly the size limit.
fn edge_tiers() -> Vec<Metadata> {
    let limits = Limits::default();
    let mut tiers: Vec<Metadata> = edges::fixed_tiers().into_iter().map(meta).collect();
    let random = samples(edges::tier(), 48);
    for (i, tier) in random.iter().enumerate() {
        if let Ok(m) = Metadata::from_map_with(tier.clone(), &limits) {
            tiers.push(m);
        }
        if i % 8 == 0 {
            if let Some(full) = edges::at_size(tier, limits.tier_bytes()) {
                tiers.push(Metadata::from_map_with(full, &limits).expect("exactly the limit fits"));
            }
        }
    }
    tiers
}

/// R8.3: tiers of edge values (control characters, `\u0000`, surrogate pairs, `-0.0`,
/// `1e16`..`1e19`, `u64::MAX`, `i64::MIN`, empty and numeric-looking keys, depth at the limit,
/// exactly the size limit) read back identical, by value, size and spelling, on every kind
/// and through both reads and listings.
pub async fn r8_3_every_store_keeps_exactly_what_it_was_given(store: Arc<dyn MetadataStore>) {
    let m = service(store.clone());
    let b = m.backend();
    let tiers = edge_tiers();
    let org = oid("org");
    b.create_organization(&org, Change::new()).await.unwrap();
    let mut written = Vec::new();
    for (i, tier) in tiers.iter().enumerate() {
        let next = &tiers[(i + 1) % tiers.len()];
        let id = uid(&format!("user_{i:03}"));
        let change = Change::new()
            .replace(Tier::Public, tier.clone())
            .replace(Tier::Private, next.clone())
            .replace(Tier::Unsafe, tier.clone());
        let created = b.create_user(&id, change).await.unwrap();
        let read = b.get_user(&id).await.unwrap();
        assert_same_tier(&read.public_metadata, tier, &format!("user {i} public"));
        assert_same_tier(&read.private_metadata, next, &format!("user {i} private"));
        assert_same_record(
            &Record::User(read),
            &Record::User(created.clone()),
            &format!("user {i}"),
        );
        written.push(Record::User(created));
        if i % 4 == 0 {
            let change = Change::new().replace(Tier::Public, tier.clone());
            let o = b
                .create_organization(&oid(&format!("org_{i:03}")), change.clone())
                .await
                .unwrap();
            assert_same_tier(
                &b.get_organization(&o.id).await.unwrap().public_metadata,
                tier,
                "organization",
            );
            let inv = InvitationId::new(format!("inv_{i:03}")).unwrap();
            let invitation = b
                .create_invitation(&inv, &org, "a@example.com", change)
                .await
                .unwrap();
            assert_same_tier(
                &b.get_invitation(&inv).await.unwrap().public_metadata,
                &invitation.public_metadata,
                "invitation",
            );
            let su = SignUpId::new(format!("su_{i:03}")).unwrap();
            let change = Change::new().replace(Tier::Unsafe, tier.clone());
            b.create_sign_up(&su, change).await.unwrap();
            assert_same_tier(
                &b.get_sign_up(&su).await.unwrap().unsafe_metadata,
                tier,
                "sign-up",
            );
        }
    }
    // Listings read the same text as point reads.
    let listed = crate::model::store_records(store.as_ref()).await;
    let users: Vec<&Record> = listed
        .iter()
        .filter(|r| r.kind() == ResourceKind::User)
        .collect();
    assert_eq!(users.len(), written.len());
    for (read, written) in users.into_iter().zip(&written) {
        assert_same_record(read, written, "listed user");
    }
    // A merge of edge values into edge values is stored as the core computed it.
    let patches = samples(edges::tier(), 16);
    for (i, patch) in patches.into_iter().enumerate() {
        let id = uid(&format!("user_{i:03}"));
        let patch = Patch::from_value(Value::Object(patch)).unwrap();
        match b
            .update_user(&id, Change::new().merge(Tier::Unsafe, patch))
            .await
        {
            Ok(merged) => assert_same_tier(
                &b.get_user(&id).await.unwrap().unsafe_metadata,
                &merged.unsafe_metadata,
                &format!("merge {i}"),
            ),
            Err(Error::TooLarge { .. }) => {}
            Err(other) => panic!("merge {i}: {other:?}"),
        }
    }
}

/// R8.3 (a value one store once refused): a string holding `\u0000` is stored, read back, and
/// the record is still found by its other paths and by the string itself; the frontend may
/// send it to its own unsafe tier.
pub async fn r8_3_a_nul_in_a_string_is_kept_and_found(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    let id = uid("user_nul");
    let public = json!({"s": "a\u{0}b", "role": "admin", "n": {"k": "\u{0}"}});
    b.create_user(&id, replace(Tier::Public, public.clone()))
        .await
        .unwrap();
    let me = m.frontend(FrontendPrincipal::user(id.clone()));
    let own = me
        .update_own(replace(Tier::Unsafe, json!({"s": "x\u{0}"})))
        .await
        .unwrap();
    let OwnRecord::User(view) = own else {
        panic!("a user's own record is a user")
    };
    assert_eq!(view.unsafe_metadata.to_value(), json!({"s": "x\u{0}"}));
    let read = b.get_user(&id).await.unwrap();
    assert_eq!(read.public_metadata.to_value(), public);
    assert_eq!(read.unsafe_metadata.to_json(), r#"{"s":"x\u0000"}"#);
    for (tier, path, value) in [
        (Tier::Public, "role", LookupValue::from("admin")),
        (Tier::Public, "s", LookupValue::from("a\u{0}b")),
        (Tier::Public, "n.k", LookupValue::from("\u{0}")),
        (Tier::Unsafe, "s", LookupValue::from("x\u{0}")),
    ] {
        let found = b
            .find_users(tier, path, value, PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(found.items.len(), 1, "R7.3: {tier} {path}");
    }
    for (path, value) in [("s", "a"), ("s", "a\u{0}"), ("s", "ab"), ("n.k", "")] {
        let found = b
            .find_users(Tier::Public, path, value, PageRequest::first(10))
            .await
            .unwrap();
        assert!(found.items.is_empty(), "R7.3: {path} = {value:?}");
    }
}

/// R8.3 (a value one store once re-spelled): `1e16` stays the float `1e16`, so its measured size
/// stays 11 bytes; a tier of such floats read back keeps its size, and merges into it are
/// measured from what was written.
pub async fn r8_3_integral_floats_keep_their_spelling_and_size(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    let id = uid("user_f");
    let one: Metadata = Metadata::from_str(r#"{"f":1e16}"#).unwrap();
    assert_eq!(one.size(), 11);
    b.create_user(&id, Change::new().replace(Tier::Public, one.clone()))
        .await
        .unwrap();
    let read = b.get_user(&id).await.unwrap();
    assert_same_tier(&read.public_metadata, &one, "1e16");
    assert!(read.public_metadata.get("f").unwrap().is_f64());
    // Many of them: 7,547 bytes as written; spelled as integers they would be about 14,000.
    let mut many = Map::new();
    let mut i = 0;
    while serde_json::to_vec(&many).unwrap().len() < 7_540 {
        many.insert(format!("k{i:04}"), serde_json::from_str("1e16").unwrap());
        i += 1;
    }
    let many = Metadata::from_map_with(many, &Limits::default()).unwrap();
    b.update_user(&id, Change::new().replace(Tier::Private, many.clone()))
        .await
        .unwrap();
    let read = b.get_user(&id).await.unwrap();
    assert_same_tier(&read.private_metadata, &many, "a tier of 1e16 floats");
    let merged = b
        .update_user(&id, merge(Tier::Private, json!({"extra": "x"})))
        .await
        .unwrap();
    assert_eq!(
        merged.private_metadata.size(),
        many.size() + r#","extra":"x""#.len()
    );
    assert_same_tier(
        &b.get_user(&id).await.unwrap().private_metadata,
        &merged.private_metadata,
        "after a merge",
    );
}

/// R8.3 (a value one store once changed): `-0.0` keeps its sign.
pub async fn r8_3_negative_zero_keeps_its_sign(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    let id = uid("user_z");
    let tier = Metadata::from_str(r#"{"f":-0.0,"g":[-0.0]}"#).unwrap();
    b.create_user(&id, Change::new().replace(Tier::Unsafe, tier.clone()))
        .await
        .unwrap();
    let read = b.get_user(&id).await.unwrap();
    assert_eq!(read.unsafe_metadata.to_json(), r#"{"f":-0.0,"g":[-0.0]}"#);
    let f = read.unsafe_metadata.get("f").unwrap().as_f64().unwrap();
    assert!(
        f == 0.0 && f.is_sign_negative(),
        "R8.3: -0.0 keeps its sign"
    );
    assert_same_tier(&read.unsafe_metadata, &tier, "-0.0");
}

/// R7.3 (a lookup one store once answered differently): a path's numeric segment names an
/// object key, never an array element; and values match by JSON type.
pub async fn r7_3_numeric_segments_never_index_arrays(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    for (id, public) in [
        ("user_array", json!({"items": ["x"], "n": [1]})),
        ("user_object", json!({"items": {"0": "x"}, "n": {"0": 1}})),
        ("user_string", json!({"items": {"0": "1"}, "n": {"0": "1"}})),
        (
            "user_float",
            serde_json::from_str(r#"{"n":{"0":1.0}}"#).unwrap(),
        ),
        ("user_true", json!({"n": {"0": true}})),
    ] {
        b.create_user(&uid(id), replace(Tier::Public, public))
            .await
            .unwrap();
    }
    let find = |path: &'static str, value: LookupValue| {
        let b = m.backend();
        async move {
            b.find_users(Tier::Public, path, value, PageRequest::first(10))
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|u| u.id.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        find("items.0", "x".into()).await,
        ["user_object"],
        "R7.3: items.0 is the key \"0\", never the first element"
    );
    assert_eq!(find("n.0", 1.into()).await, ["user_float", "user_object"]);
    assert_eq!(find("n.0", "1".into()).await, ["user_string"]);
    assert_eq!(find("n.0", true.into()).await, ["user_true"]);
    assert!(find("items.0", 0.into()).await.is_empty());
}
