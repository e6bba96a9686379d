//! contract §7.3 and 7.4: for users holding tiers at the edges real data has, every store selects
//! exactly the records the core's rule selects, for equality and for every other condition.

use super::values::samples;
use super::*;
use crate::edges;
use serde_json::Value;

/// Creates users whose three tiers are edge tiers and answers every record the store holds.
async fn edge_users(store: &Arc<dyn MetadataStore>) -> Vec<Record> {
    let m = service(store.clone());
    let b = m.backend();
    let limits = Limits::default();
    let mut tiers: Vec<Metadata> = edges::fixed_tiers().into_iter().map(meta).collect();
    tiers.extend(
        samples(edges::tier(), 40)
            .into_iter()
            .filter_map(|t| Metadata::from_map_with(t, &limits).ok()),
    );
    for (i, tier) in tiers.iter().enumerate() {
        let change = Change::new()
            .replace(Tier::Public, tier.clone())
            .replace(Tier::Private, tiers[(i + 7) % tiers.len()].clone())
            .replace(Tier::Unsafe, tiers[(i + 13) % tiers.len()].clone());
        b.create_user(&uid(&format!("user_{i:03}")), change)
            .await
            .unwrap();
    }
    crate::model::store_records(store.as_ref()).await
}

/// Pages through `filter` on the store, 7 records a page, and compares every page with the
/// reference's selection from `all`. Answers how many records matched.
async fn assert_selects_as_reference(
    store: &Arc<dyn MetadataStore>,
    all: &[Record],
    filter: Filter,
    what: &str,
) -> usize {
    let query = |after| ListQuery::new(ResourceKind::User, filter.clone(), 7).after(after);
    let expected: Vec<String> = all
        .iter()
        .filter(|r| query(None).matches(r))
        .map(|r| r.key().storage_key())
        .collect();
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let page = store.list(&query(after)).await.unwrap();
        found.extend(page.items.iter().map(|r| r.key().storage_key()));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
        assert!(found.len() <= all.len(), "pages never end");
    }
    assert_eq!(found, expected, "{what}");
    let counted = store.count(ResourceKind::User, &filter).await.unwrap();
    assert_eq!(counted as usize, expected.len(), "count of {what}");
    expected.len()
}

/// R7.3: for users holding edge tiers, every store returns exactly the records that
/// [`ListQuery::matches`] selects, in order, page by page, for every tier, every lookup path
/// and every edge value.
pub async fn r7_3_every_store_finds_exactly_what_the_reference_selects(
    store: Arc<dyn MetadataStore>,
) {
    let all = edge_users(&store).await;
    let mut queries = 0;
    for tier in Tier::ALL {
        for path in edges::PATHS {
            for value in edges::lookup_values() {
                let filter = Filter::MetadataEquals {
                    tier,
                    path: MetadataPath::parse(path).unwrap(),
                    value: value.clone(),
                };
                let what = format!("R7.3: {tier} {path} = {value:?}");
                assert_selects_as_reference(&store, &all, filter, &what).await;
                queries += 1;
            }
        }
    }
    assert!(queries > 500);
}

/// Every condition the suite asks of each path: existence both ways, any-of lists, ranges from
/// every edge number (each end, open and closed, and both ends), and prefixes of edge strings.
fn edge_conditions() -> Vec<Condition> {
    let mut conditions = vec![Condition::Exists, Condition::Missing];
    let values = edges::lookup_values();
    for chunk in values.chunks(5) {
        conditions.push(Condition::AnyOf(chunk.to_vec()));
    }
    let numbers: Vec<LookupNumber> = edges::NUMBERS
        .iter()
        .map(|n| LookupNumber::parse(n).unwrap())
        .chain([
            LookupNumber::Integer(i64::MAX),
            LookupNumber::Integer(i64::MIN),
            LookupNumber::Float(18_446_744_073_709_551_616.0),
        ])
        .collect();
    for (i, n) in numbers.iter().enumerate() {
        let b = |inclusive| {
            Some(Bound {
                value: *n,
                inclusive,
            })
        };
        conditions.push(Condition::Range {
            lower: b(i % 2 == 0),
            upper: None,
        });
        conditions.push(Condition::Range {
            lower: None,
            upper: b(i % 2 == 1),
        });
        let other = numbers[(i + 7) % numbers.len()];
        conditions.push(Condition::Range {
            lower: b(true),
            upper: Some(Bound {
                value: other,
                inclusive: i % 3 == 0,
            }),
        });
    }
    let mut prefixes = vec![
        String::new(),
        "x".into(),
        "\0".into(),
        "a\0".into(),
        "\u{10FFFF}".into(),
    ];
    for s in edges::strings() {
        if let Value::String(s) = s {
            let chars: Vec<char> = s.chars().collect();
            for n in [1, chars.len()] {
                prefixes.push(chars.iter().take(n).collect());
            }
        }
    }
    prefixes.sort();
    prefixes.dedup();
    conditions.extend(prefixes.into_iter().map(Condition::Prefix));
    conditions
}

/// R7.4: for users holding edge tiers, every store selects exactly what the core's conditions
/// select — existence, any-of, ranges over integers and floats, prefixes — alone and two
/// combined with AND, page by page, and counts the same.
pub async fn r7_4_every_store_selects_exactly_what_each_condition_selects(
    store: Arc<dyn MetadataStore>,
) {
    let all = edge_users(&store).await;
    let conditions = edge_conditions();
    let mut matched = 0;
    let mut queries = 0;
    for tier in [Tier::Public, Tier::Unsafe] {
        for path in edges::PATHS {
            for condition in &conditions {
                let clause = Clause::new(tier, path, condition.clone()).unwrap();
                let what = format!("R7.4: {tier} {path} {condition:?}");
                let filter = Filter::Metadata(vec![clause]);
                matched += assert_selects_as_reference(&store, &all, filter, &what).await;
                queries += 1;
            }
        }
    }
    // Two clauses together, on different paths and tiers.
    for (i, condition) in conditions.iter().enumerate() {
        let other = &conditions[(i * 7 + 3) % conditions.len()];
        let filter = Filter::Metadata(vec![
            Clause::new(
                Tier::Public,
                edges::PATHS[i % edges::PATHS.len()],
                condition.clone(),
            )
            .unwrap(),
            Clause::new(
                Tier::Private,
                edges::PATHS[(i + 1) % edges::PATHS.len()],
                other.clone(),
            )
            .unwrap(),
        ]);
        let what = format!("R7.4: {condition:?} AND {other:?}");
        matched += assert_selects_as_reference(&store, &all, filter, &what).await;
        queries += 1;
    }
    assert!(
        queries > 1000 && matched > 1000,
        "{queries} queries, {matched} matches"
    );
}
