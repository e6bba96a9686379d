//! Applying operations to a service, comparing it with the reference after every step, and
//! the runners.

use super::*;
use metadata_core::*;
use metadata_store::{MetadataService, MetadataStore, PageRequest};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::Serialize;
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub(crate) fn res<T: Serialize>(r: Result<T, Error>) -> Outcome {
    r.map_or_else(|e| Err(code(e)), ok)
}

/// Applies one operation to the store through the facade.
pub async fn apply_to_service(m: &MetadataService, op: &Op) -> Outcome {
    let b = m.backend();
    match op {
        Op::Create(target, change, email) => {
            let c = change.clone();
            match *target {
                Target::User(n) => res(b.create_user(&user(n), c).await),
                Target::SignUp(n) => res(b.create_sign_up(&sign_up(n), c).await),
                Target::Organization(n) => res(b.create_organization(&org(n), c).await),
                Target::Membership(o, u) => {
                    let id = MembershipId::new(format!("m{o}{u}")).unwrap();
                    res(b.create_membership(&id, &org(o), &user(u), c).await)
                }
                Target::Invitation(n) => res(b
                    .create_invitation(&invitation(n), &org(n % 2), EMAILS[*email as usize], c)
                    .await),
            }
        }
        Op::Update(target, change) => {
            let c = change.clone();
            match *target {
                Target::User(n) => res(b.update_user(&user(n), c).await),
                Target::SignUp(n) => res(b.update_sign_up(&sign_up(n), c).await),
                Target::Organization(n) => res(b.update_organization(&org(n), c).await),
                Target::Membership(o, u) => res(b.update_membership(&org(o), &user(u), c).await),
                Target::Invitation(n) => res(b.update_invitation(&invitation(n), c).await),
            }
        }
        Op::FrontendUpdate(p, change) => {
            let f = m.frontend(p.build());
            match f.update_own(change.clone()).await {
                Ok(metadata_store::OwnRecord::User(u)) => ok(u),
                Ok(metadata_store::OwnRecord::SignUp(s)) => ok(s),
                Err(e) => Err(code(e)),
            }
        }
        Op::FrontendGet(p, target) => {
            let f = m.frontend(p.build());
            match *target {
                Target::User(n) => res(f.get_user(&user(n)).await),
                Target::SignUp(n) => res(f.get_sign_up(&sign_up(n)).await),
                Target::Organization(n) => res(f.get_organization(&org(n)).await),
                Target::Membership(o, u) => res(f.get_membership(&org(o), &user(u)).await),
                Target::Invitation(n) => res(f.get_invitation(&invitation(n)).await),
            }
        }
        Op::CompleteSignUp(s, u) => res(b
            .complete_sign_up(&sign_up(*s), &user(*u), Change::new())
            .await),
        Op::Accept(i, u) => {
            let id = MembershipId::new(format!("acc{i}")).unwrap();
            res(b.accept_invitation(&invitation(*i), &id, &user(*u)).await)
        }
        Op::Revoke(i) => res(b.revoke_invitation(&invitation(*i)).await),
        Op::Delete(target) => {
            let r = match *target {
                Target::User(n) => b.delete_user(&user(n)).await,
                Target::SignUp(n) => b.delete_sign_up(&sign_up(n)).await,
                Target::Organization(n) => b.delete_organization(&org(n)).await,
                Target::Membership(o, u) => b.delete_membership(&org(o), &user(u)).await,
                Target::Invitation(n) => b.delete_invitation(&invitation(n)).await,
            };
            res(r)
        }
        Op::Find(users, tier, n) => {
            let page = PageRequest::first(2);
            let filter = find_at(*n, *tier);
            let ids = if *users {
                b.list::<User>(filter, page).await.map(|p| {
                    (
                        p.items.iter().map(|r| r.id.to_string()).collect::<Vec<_>>(),
                        p.next.is_some(),
                    )
                })
            } else {
                b.list::<Organization>(filter, page).await.map(|p| {
                    (
                        p.items.iter().map(|r| r.id.to_string()).collect::<Vec<_>>(),
                        p.next.is_some(),
                    )
                })
            };
            ids.map_or_else(
                |e| Err(code(e)),
                |(ids, more)| ok(json!({"ids": ids, "more": more})),
            )
        }
    }
}

/// Every record in the store, in kind and key order.
pub async fn store_records(store: &dyn MetadataStore) -> Vec<Record> {
    let mut all = Vec::new();
    for kind in ResourceKind::ALL {
        let mut after = None;
        loop {
            let query = ListQuery {
                kind,
                filter: Filter::All,
                after: after.clone(),
                limit: 50,
                order: metadata_core::ListOrder::BY_ID,
                offset: 0,
            };
            let page = store.list(&query).await.expect("listing works");
            all.extend(page.items);
            match page.next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
    }
    all
}

/// The public and private tiers of every record: what the frontend must never change.
pub(crate) fn protected_tiers(model: &Model) -> Vec<(String, Option<Metadata>, Option<Metadata>)> {
    model
        .records
        .iter()
        .map(|((_, k), r)| {
            (
                k.clone(),
                r.tier(Tier::Public).cloned(),
                r.tier(Tier::Private).cloned(),
            )
        })
        .collect()
}

/// Applies `ops` to a fresh model and to `store` through the facade, comparing the outcome of
/// every step and the whole state after it, and checking that no frontend operation returns a
/// private tier or changes a public or private one. Returns the first difference found.
/// How much of the store a model check compares after each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Everything after every step: the whole state (listed, as values and as text), every
    /// record's point reads, the step's events. Its cost grows with all that was written
    /// before; for the property tests, whose cases are short.
    EveryStep,
    /// After each step only what it could have touched (the records the model wrote or removed,
    /// their point reads, the events it appended), and everything at the end of the case: a
    /// step costs what it wrote, for the fuzzer's long cases.
    TouchedThenAll,
}

/// Runs one operation sequence against a fresh `store` and the model, compared as `compare`
/// says; the first difference is the error.
pub async fn run_case(
    store: Arc<dyn MetadataStore>,
    ops: &[Op],
    compare: Compare,
) -> Result<(), String> {
    let service = MetadataService::from_arc(store.clone())
        .with_limits(model_limits())
        .with_schemas(model_schemas().clone())
        .with_clock(|| NOW);
    let mut model = Model::default();
    let mut feed_position = 0;
    for (step, op) in ops.iter().enumerate() {
        let at = |e: String| format!("step {step} {op:?}: {e}");
        let frontend = matches!(op, Op::FrontendGet(..) | Op::FrontendUpdate(..));
        let protected_before = frontend.then(|| protected_tiers(&model));
        let records_before = (compare == Compare::EveryStep).then(|| model.records());
        let expected = model.apply(op);
        let actual = apply_to_service(&service, op).await;
        if expected != actual {
            return Err(at(format!("model {expected:?}, store {actual:?}")));
        }
        if let Some(before) = protected_before {
            if let Ok(value) = &actual {
                if value.get("private_metadata").is_some() {
                    return Err(at("the frontend was shown a private tier".into()));
                }
            }
            if protected_tiers(&model) != before {
                return Err(at("the frontend changed a public or private tier".into()));
            }
        }
        let (touched_before, touched_now) = model.take_touched();
        let (before, now) = match records_before {
            Some(before) => {
                compare_states(store.as_ref(), &model).await.map_err(at)?;
                (before, model.records())
            }
            None => (touched_before, touched_now),
        };
        check_point_reads(store.as_ref(), &before, &now)
            .await
            .map_err(at)?;
        feed_position = check_feed(store.as_ref(), feed_position, &before, &now, op.actor())
            .await
            .map_err(at)?;
    }
    if compare == Compare::TouchedThenAll {
        let at_end = |e: String| format!("after the last step: {e}");
        compare_states(store.as_ref(), &model)
            .await
            .map_err(at_end)?;
        check_point_reads(store.as_ref(), &[], &model.records())
            .await
            .map_err(at_end)?;
    }
    Ok(())
}

/// The whole state, listed from the store, against the model's: as values and as text
/// (`-0.0 == 0.0` as a value, not as text, R8.3).
async fn compare_states(store: &dyn MetadataStore, model: &Model) -> Result<(), String> {
    let mut model_records = model.records();
    model_records.sort_by_key(|r| (r.kind(), r.key().storage_key()));
    let stored = store_records(store).await;
    let text = |records: &[Record]| records.iter().map(Record::to_json).collect::<Vec<_>>();
    if model_records != stored || text(&model_records) != text(&stored) {
        return Err(format!(
            "states differ:\nmodel {model_records:?}\nstore {stored:?}"
        ));
    }
    Ok(())
}

/// Every record the step could have touched, read by key: `get`, and `read_now` where the
/// store answers it, give exactly the model's record (or nothing, once deleted).
pub(crate) async fn check_point_reads(
    store: &dyn MetadataStore,
    before: &[Record],
    now: &[Record],
) -> Result<(), String> {
    let same = |a: &Option<Record>, b: Option<&Record>| {
        a.as_ref() == b && a.as_ref().map(Record::to_json) == b.map(Record::to_json)
    };
    for record in before.iter().chain(now) {
        let key = record.key();
        let expected = now.iter().find(|r| r.key() == key);
        let got = store
            .get(&key)
            .await
            .map_err(|e| format!("get {key}: {e}"))?;
        if !same(&got, expected) {
            return Err(format!("get {key}: {got:?}, expected {expected:?}"));
        }
        let mut handed = Vec::new();
        let answer = store.read_now(key.kind(), &key.storage_key_cow(), &mut |found| {
            handed.push(found.cloned())
        });
        match answer {
            None if handed.is_empty() => {}
            Some(Ok(())) if handed.len() == 1 => {
                if !same(&handed[0], expected) {
                    return Err(format!("read_now {key}: {handed:?}, expected {expected:?}"));
                }
            }
            Some(Err(e)) => return Err(format!("read_now {key}: {e}")),
            _ => {
                return Err(format!(
                    "read_now {key}: answered {answer:?}, read {handed:?}"
                ))
            }
        }
    }
    Ok(())
}

/// The step's events: exactly one per record the model says changed, as the core derives it
/// from the record before and after and made by `actor` (R14.2), sharing one commit id, at
/// the next positions. Returns the
/// new last position. A store without a feed is not checked.
pub(crate) async fn check_feed(
    store: &dyn MetadataStore,
    after: u64,
    before: &[Record],
    now: &[Record],
    actor: metadata_core::feed::Actor,
) -> Result<u64, String> {
    use metadata_core::feed::RecordChange;
    use std::collections::BTreeMap;
    let Some(feed) = store.feed() else {
        return Ok(after);
    };
    let events = feed
        .changes(after, 10_000)
        .await
        .map_err(|e| format!("reading the feed: {e}"))?;
    let by_key = |records: &[Record]| -> BTreeMap<(ResourceKind, String), Record> {
        records
            .iter()
            .map(|r| ((r.kind(), r.key().storage_key()), r.clone()))
            .collect()
    };
    let (before, now) = (by_key(before), by_key(now));
    let mut keys: Vec<_> = before.keys().chain(now.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let mut expected: Vec<RecordChange> = keys
        .iter()
        .filter(|k| before.get(*k).map(Record::to_json) != now.get(*k).map(Record::to_json))
        .filter_map(|k| RecordChange::of(before.get(k), now.get(k)))
        .map(|c| RecordChange {
            actor: Some(actor.clone()),
            ..c
        })
        .collect();
    let mut got: Vec<RecordChange> = events.iter().map(|e| e.change.clone()).collect();
    let order = |c: &RecordChange| (c.kind, c.id.clone());
    expected.sort_by_key(order);
    got.sort_by_key(order);
    if got != expected {
        return Err(format!("feed events {got:?}, expected {expected:?}"));
    }
    for (i, e) in events.iter().enumerate() {
        if e.position != after + i as u64 + 1 {
            return Err(format!(
                "position {} after {after}: not gapless",
                e.position
            ));
        }
        if e.commit_id != events[0].commit_id {
            return Err("one step's events have more than one commit id".into());
        }
    }
    Ok(events.last().map_or(after, |e| e.position))
}

pub(crate) type BoxFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Runs the model check: `cases` random sequences, each on a fresh store from `make`, compared
/// with the model after every step. `run` drives a future to completion on some executor.
pub fn check_with(
    make: &dyn Fn() -> Arc<dyn MetadataStore>,
    run: &dyn Fn(BoxFuture<'_>),
    cases: u32,
) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(), 1..60), |ops| {
        let store = make();
        let mut outcome = Ok(());
        run(Box::pin(async {
            outcome = run_case(store, &ops, Compare::EveryStep).await;
        }));
        outcome.map_err(proptest::test_runner::TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("model check failed: {e}");
    }
}

/// The model check with the default number of cases (64).
pub fn check(make: &dyn Fn() -> Arc<dyn MetadataStore>, run: impl Fn(BoxFuture<'_>)) {
    check_with(make, &run, 64);
}
