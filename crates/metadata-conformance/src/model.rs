//! The model check: random operation sequences from both surfaces, applied to a pure reference
//! model and to a store through [`MetadataService`], compared after every step.
//!
//! The reference keeps records in a `BTreeMap`, makes every commit atomic by working on a copy,
//! and calls the core's pure functions directly: it shares the rules, not the facade or the
//! storage code it checks.

use metadata_core::*;
use metadata_store::{MetadataService, MetadataStore, PageRequest};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The limits both sides use: small, so that size errors come up often.
pub fn model_limits() -> Limits {
    Limits::default().with_tier_bytes(48)
}

const NOW: Millis = 1_000;
const EMAILS: [&str; 2] = ["a@example.com", "b@example.com"];

/// A record one operation aims at, by small indexes into fixed id pools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `u{n}`
    User(u8),
    /// `s{n}`
    SignUp(u8),
    /// `o{n}`
    Organization(u8),
    /// membership of `u{1}` in `o{0}`
    Membership(u8, u8),
    /// `i{n}`
    Invitation(u8),
}

impl Target {
    fn key(self) -> RecordKey {
        match self {
            Target::User(n) => RecordKey::User(user(n)),
            Target::SignUp(n) => RecordKey::SignUp(sign_up(n)),
            Target::Organization(n) => RecordKey::Organization(org(n)),
            Target::Membership(o, u) => RecordKey::Membership {
                organization_id: org(o),
                user_id: user(u),
            },
            Target::Invitation(n) => RecordKey::Invitation(invitation(n)),
        }
    }
}

fn user(n: u8) -> UserId {
    UserId::new(format!("u{n}")).unwrap()
}
fn sign_up(n: u8) -> SignUpId {
    SignUpId::new(format!("s{n}")).unwrap()
}
fn org(n: u8) -> OrganizationId {
    OrganizationId::new(format!("o{n}")).unwrap()
}
fn invitation(n: u8) -> InvitationId {
    InvitationId::new(format!("i{n}")).unwrap()
}

/// A frontend principal.
#[derive(Clone, Copy, Debug)]
pub enum Principal {
    /// User `u{n}`, with verified email `EMAILS[e]`.
    User(u8, u8),
    /// Sign-up `s{n}`.
    SignUp(u8),
}

impl Principal {
    fn build(self) -> FrontendPrincipal {
        match self {
            Principal::User(n, e) => {
                FrontendPrincipal::user(user(n)).with_verified_email(EMAILS[e as usize])
            }
            Principal::SignUp(n) => FrontendPrincipal::sign_up(sign_up(n)),
        }
    }
}

/// One operation.
#[derive(Clone, Debug)]
pub enum Op {
    /// Backend creates a record.
    Create(Target, Change, u8),
    /// Backend applies a change.
    Update(Target, Change),
    /// Frontend applies a change to its own record.
    FrontendUpdate(Principal, Change),
    /// Frontend reads a record.
    FrontendGet(Principal, Target),
    /// Backend completes a sign-up as a user.
    CompleteSignUp(u8, u8),
    /// Backend accepts an invitation for a user.
    Accept(u8, u8),
    /// Backend revokes an invitation.
    Revoke(u8),
    /// Backend deletes a record.
    Delete(Target),
    /// Backend finds users (or organizations) by the lookup [`find_at`] gives for the index:
    /// first page of 2.
    Find(bool, Tier, usize),
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        (0u8..3).prop_map(Target::User),
        (0u8..2).prop_map(Target::SignUp),
        (0u8..2).prop_map(Target::Organization),
        (0u8..2, 0u8..3).prop_map(|(o, u)| Target::Membership(o, u)),
        (0u8..2).prop_map(Target::Invitation),
    ]
}

/// The small tier values operations use, by index (modulo their number): ordinary ones, one
/// over the model's 48-byte limit, and edge values every store must keep exactly (R8.3) and
/// find exactly (R7.3): `\u0000`, `-0.0`, `1e16`, `u64::MAX`, `1.0` against `1`, `"1"`
/// against `1`, an array and an object where a path has a numeric segment, empty and
/// numeric-looking keys.
pub fn small_object_at(i: usize) -> Value {
    let n = (i / SMALL_OBJECTS % 3) as i64;
    let parse = |text: &str| serde_json::from_str::<Value>(text).expect("a valid small object");
    match i % SMALL_OBJECTS {
        0 => json!({}),
        1 => json!({ "a": n }),
        2 => json!({ "b": { "c": n } }),
        3 => json!({ "a": null, "b": { "c": null } }),
        4 => json!({ "big": "0123456789012345678901234567890123456789" }),
        5 => parse(&format!(r#"{{"a":{n}.0}}"#)),
        6 => parse(r#"{"s":"x\u0000y","f":-0.0}"#),
        7 => parse(r#"{"f":1e16,"u":18446744073709551615}"#),
        8 => json!({ "items": ["x"] }),
        9 => json!({ "items": { "0": "x" } }),
        10 => json!({ "": { "-1": true }, "0": "0" }),
        _ => json!({ "a": n.to_string() }),
    }
}

/// How many distinct small objects [`small_object_at`] gives (before the value `n` varies).
const SMALL_OBJECTS: usize = 12;

/// The lookups [`Op::Find`] makes, by index (modulo their number): a path and a value.
pub fn find_at(i: usize) -> (&'static str, LookupValue) {
    let n = (i / FINDS % 3) as i64;
    match i % FINDS {
        0 => ("a", LookupValue::Integer(n)),
        1 => ("a", LookupValue::String(n.to_string())),
        2 => ("b.c", LookupValue::Integer(n)),
        3 => ("items.0", LookupValue::from("x")),
        4 => ("s", LookupValue::from("x\u{0}y")),
        5 => ("f", LookupValue::Integer(10_000_000_000_000_000)),
        6 => ("f", LookupValue::Integer(0)),
        _ => ("0", LookupValue::from("0")),
    }
}

/// How many distinct lookups [`find_at`] gives.
const FINDS: usize = 8;

fn small_object() -> impl Strategy<Value = Value> {
    (0..SMALL_OBJECTS * 3).prop_map(small_object_at)
}

/// Builds a change from (tier index, merge?, value) operations and an expected version.
pub fn build_change(ops: &[(usize, bool, Value)], expected: Option<u64>) -> Change {
    let limits = Limits::default();
    let mut change = Change::new();
    for (tier, merge, value) in ops {
        let tier = Tier::ALL[tier % 3];
        let patch = Patch::from_value_with(value.clone(), &limits)
            .expect("small objects are valid patches");
        change = if *merge {
            change.merge(tier, patch)
        } else {
            // A replace cannot hold the nulls meant for a merge; strip them by merging into {}.
            change.replace(tier, patch.apply_to(&Metadata::new()))
        };
    }
    match expected {
        Some(v) => change.expect_version(v),
        None => change,
    }
}

fn change() -> impl Strategy<Value = Change> {
    (
        prop::collection::vec((0usize..3, any::<bool>(), small_object()), 0..3),
        prop_oneof![3 => Just(None), 1 => (0u64..4).prop_map(Some)],
    )
        .prop_map(|(ops, expected)| build_change(&ops, expected))
}

fn principal() -> impl Strategy<Value = Principal> {
    prop_oneof![
        (0u8..3, 0u8..2).prop_map(|(u, e)| Principal::User(u, e)),
        (0u8..2).prop_map(Principal::SignUp),
    ]
}

/// Generates one operation.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (target(), 0u8..2).prop_map(|(t, e)| Op::Create(t, Change::new(), e)),
        3 => (target(), change(), 0u8..2).prop_map(|(t, c, e)| Op::Create(t, c, e)),
        4 => (target(), change()).prop_map(|(t, c)| Op::Update(t, c)),
        3 => (principal(), change()).prop_map(|(p, c)| Op::FrontendUpdate(p, c)),
        3 => (principal(), target()).prop_map(|(p, t)| Op::FrontendGet(p, t)),
        1 => (0u8..2, 0u8..3).prop_map(|(s, u)| Op::CompleteSignUp(s, u)),
        1 => (0u8..2, 0u8..3).prop_map(|(i, u)| Op::Accept(i, u)),
        1 => (0u8..2).prop_map(Op::Revoke),
        2 => target().prop_map(Op::Delete),
        2 => (any::<bool>(), (0usize..3).prop_map(|t| Tier::ALL[t]), 0..FINDS * 3).prop_map(|(u, t, n)| Op::Find(u, t, n)),
    ]
}

/// What an operation returned: the JSON of the value, or the error's code.
pub type Outcome = Result<Value, String>;

fn ok<T: Serialize>(value: T) -> Outcome {
    Ok(serde_json::to_value(value).unwrap())
}

fn code(err: Error) -> String {
    match err {
        Error::Conflict {
            expected, actual, ..
        } => format!("version_conflict {expected} {actual}"),
        other => other.code().to_owned(),
    }
}

type Key = (ResourceKind, String);

/// The pure reference model.
#[derive(Clone, Debug, Default)]
pub struct Model {
    records: BTreeMap<Key, Record>,
}

fn mkey(key: &RecordKey) -> Key {
    (key.kind(), key.storage_key())
}

fn not_found(key: &RecordKey) -> Error {
    Error::NotFound {
        kind: key.kind(),
        id: key.storage_key(),
    }
}

impl Model {
    fn get(&self, key: &RecordKey) -> Option<&Record> {
        self.records.get(&mkey(key))
    }

    fn load<R: Resource>(&self, key: &RecordKey) -> Result<R, Error> {
        self.get(key)
            .cloned()
            .and_then(R::from_record)
            .ok_or_else(|| not_found(key))
    }

    /// Applies writes all or none: on a copy, kept only if every write succeeds.
    fn commit(&mut self, writes: &[Write]) -> Result<Vec<u64>, Error> {
        let mut next = self.records.clone();
        let mut counts = Vec::new();
        for write in writes {
            let n = match write {
                Write::Require(key) => {
                    if !next.contains_key(&mkey(key)) {
                        return Err(not_found(key));
                    }
                    1
                }
                Write::Create(record) => {
                    let key = record.key();
                    if next.contains_key(&mkey(&key)) {
                        return Err(Error::AlreadyExists {
                            kind: key.kind(),
                            id: key.storage_key(),
                        });
                    }
                    next.insert(mkey(&key), record.clone());
                    1
                }
                Write::Update {
                    record,
                    expected_version,
                } => {
                    let key = record.key();
                    match next.get(&mkey(&key)) {
                        None => return Err(not_found(&key)),
                        Some(r) if r.version() != *expected_version => {
                            unreachable!("single-threaded")
                        }
                        Some(_) => {
                            next.insert(mkey(&key), record.clone());
                            1
                        }
                    }
                }
                Write::Delete(key) => next.remove(&mkey(key)).map_or(0, |_| 1),
                Write::DeleteMembershipsOfUser(u) => {
                    let before = next.len();
                    next.retain(|_, r| {
                        !(r.kind() == ResourceKind::Membership && r.user_id() == Some(u))
                    });
                    (before - next.len()) as u64
                }
                Write::DeleteMembershipsOfOrganization(o) => {
                    let before = next.len();
                    next.retain(|_, r| {
                        !(r.kind() == ResourceKind::Membership && r.organization_id() == Some(o))
                    });
                    (before - next.len()) as u64
                }
                Write::DeleteInvitationsOfOrganization(o) => {
                    let before = next.len();
                    next.retain(|_, r| {
                        !(r.kind() == ResourceKind::Invitation && r.organization_id() == Some(o))
                    });
                    (before - next.len()) as u64
                }
            };
            counts.push(n);
        }
        self.records = next;
        Ok(counts)
    }

    fn create(&mut self, target: Target, change: &Change, email: u8) -> Result<Record, Error> {
        let l = model_limits();
        let (record, requires) = match target {
            Target::User(n) => (create_user(user(n), change, &l, NOW)?.into_record(), vec![]),
            Target::SignUp(n) => (
                create_sign_up(sign_up(n), change, &l, NOW)?.into_record(),
                vec![],
            ),
            Target::Organization(n) => (
                create_organization(org(n), change, &l, NOW)?.into_record(),
                vec![],
            ),
            Target::Membership(o, u) => {
                let id = MembershipId::new(format!("m{o}{u}")).unwrap();
                let m = create_membership(id, org(o), user(u), change, &l, NOW)?;
                let req = vec![RecordKey::Organization(org(o)), RecordKey::User(user(u))];
                (m.into_record(), req)
            }
            Target::Invitation(n) => {
                let inv = create_invitation(
                    invitation(n),
                    org(n % 2),
                    EMAILS[email as usize],
                    change,
                    &l,
                    NOW,
                )?;
                (inv.into_record(), vec![RecordKey::Organization(org(n % 2))])
            }
        };
        let mut writes: Vec<Write> = requires.into_iter().map(Write::Require).collect();
        writes.push(Write::Create(record.clone()));
        self.commit(&writes)?;
        Ok(record)
    }

    fn update<R: Resource>(
        &mut self,
        key: &RecordKey,
        change: &Change,
        surface: Surface,
    ) -> Result<R, Error> {
        let current: R = self.load(key)?;
        if change.is_empty() {
            return unchanged(current, change);
        }
        let next = apply_change(&current, change, surface, &model_limits(), NOW)?;
        self.commit(&[update_write(&current, next.clone())])?;
        Ok(next)
    }

    fn update_any(&mut self, target: Target, change: &Change) -> Outcome {
        let key = target.key();
        let s = Surface::Backend;
        match target {
            Target::User(_) => self
                .update::<User>(&key, change, s)
                .map_or_else(|e| Err(code(e)), ok),
            Target::SignUp(_) => self
                .update::<SignUp>(&key, change, s)
                .map_or_else(|e| Err(code(e)), ok),
            Target::Organization(_) => self
                .update::<Organization>(&key, change, s)
                .map_or_else(|e| Err(code(e)), ok),
            Target::Membership(..) => self
                .update::<Membership>(&key, change, s)
                .map_or_else(|e| Err(code(e)), ok),
            Target::Invitation(_) => self
                .update::<Invitation>(&key, change, s)
                .map_or_else(|e| Err(code(e)), ok),
        }
    }

    fn frontend_get(&self, p: Principal, target: Target) -> Outcome {
        let key = target.key();
        let record = self
            .get(&key)
            .cloned()
            .ok_or_else(|| code(not_found(&key)))?;
        let principal = p.build();
        let org_of = match &record {
            Record::Organization(o) => Some(o.id.clone()),
            Record::Membership(m) => Some(m.organization_id.clone()),
            _ => None,
        };
        let is_member = match (org_of, principal.user_id()) {
            (Some(o), Some(u)) => self
                .get(&RecordKey::Membership {
                    organization_id: o,
                    user_id: u.clone(),
                })
                .is_some(),
            _ => false,
        };
        if !frontend_sees(&principal, &record, Facts { is_member }) {
            return Err(code(not_found(&key)));
        }
        match record {
            Record::User(u) => ok(UserView::from(u)),
            Record::Organization(o) => ok(OrganizationView::from(o)),
            Record::Membership(m) => ok(MembershipView::from(m)),
            other => ok(other),
        }
    }

    /// Applies one operation to the model.
    pub fn apply(&mut self, op: &Op) -> Outcome {
        let l = model_limits();
        match op {
            Op::Create(target, change, email) => self
                .create(*target, change, *email)
                .map_or_else(|e| Err(code(e)), ok),
            Op::Update(target, change) => self.update_any(*target, change),
            Op::FrontendUpdate(p, change) => match p {
                Principal::User(n, _) => self
                    .update::<User>(&RecordKey::User(user(*n)), change, Surface::Frontend)
                    .map_or_else(|e| Err(code(e)), |u| ok(UserView::from(u))),
                Principal::SignUp(n) => self
                    .update::<SignUp>(&RecordKey::SignUp(sign_up(*n)), change, Surface::Frontend)
                    .map_or_else(|e| Err(code(e)), ok),
            },
            Op::FrontendGet(p, target) => self.frontend_get(*p, *target),
            Op::CompleteSignUp(s, u) => (|| {
                let su: SignUp = self.load(&RecordKey::SignUp(sign_up(*s)))?;
                let plan = complete_sign_up(&su, user(*u), &Change::new(), &l, NOW)?;
                self.commit(&plan.writes())?;
                Ok(plan.user)
            })()
            .map_or_else(|e| Err(code(e)), ok),
            Op::Accept(i, u) => (|| {
                let inv: Invitation = self.load(&RecordKey::Invitation(invitation(*i)))?;
                let id = MembershipId::new(format!("acc{i}")).unwrap();
                let plan = accept_invitation(&inv, id, user(*u), &l, NOW)?;
                self.commit(&plan.writes())?;
                Ok(plan.membership)
            })()
            .map_or_else(|e| Err(code(e)), ok),
            Op::Revoke(i) => (|| {
                let inv: Invitation = self.load(&RecordKey::Invitation(invitation(*i)))?;
                let revoked = revoke_invitation(&inv, NOW)?;
                self.commit(&[update_write(&inv, revoked.clone())])?;
                Ok(revoked)
            })()
            .map_or_else(|e| Err(code(e)), ok),
            Op::Delete(target) => {
                let counts = self.commit(&delete_writes(&target.key())).map_err(code)?;
                ok(counts[0] > 0)
            }
            Op::Find(users, tier, n) => {
                let kind = if *users {
                    ResourceKind::User
                } else {
                    ResourceKind::Organization
                };
                if !kind.has_tier(*tier) {
                    return Err(code(Error::UnsupportedTier { kind, tier: *tier }));
                }
                let (path, value) = find_at(*n);
                let query = ListQuery {
                    kind,
                    filter: Filter::MetadataEquals {
                        tier: *tier,
                        path: MetadataPath::parse(path).unwrap(),
                        value,
                    },
                    after: None,
                    limit: 2,
                };
                let found: Vec<Record> = self
                    .records
                    .values()
                    .filter(|r| query.matches(r))
                    .take(3)
                    .cloned()
                    .collect();
                let page = Page::from_overfetch(found, 2);
                ok(json!({
                    "ids": page.items.iter().map(|r| r.key().storage_key()).collect::<Vec<_>>(),
                    "more": page.next.is_some(),
                }))
            }
        }
    }

    /// Every record, in key order.
    pub fn records(&self) -> Vec<Record> {
        self.records.values().cloned().collect()
    }
}

fn res<T: Serialize>(r: Result<T, Error>) -> Outcome {
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
            let (path, value) = find_at(*n);
            let ids = if *users {
                b.find::<User>(*tier, path, value, page).await.map(|p| {
                    (
                        p.items.iter().map(|r| r.id.to_string()).collect::<Vec<_>>(),
                        p.next.is_some(),
                    )
                })
            } else {
                b.find::<Organization>(*tier, path, value, page)
                    .await
                    .map(|p| {
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
fn protected_tiers(model: &Model) -> Vec<(String, Option<Metadata>, Option<Metadata>)> {
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
pub async fn run_case(store: Arc<dyn MetadataStore>, ops: &[Op]) -> Result<(), String> {
    let service = MetadataService::from_arc(store.clone())
        .with_limits(model_limits())
        .with_clock(|| NOW);
    let mut model = Model::default();
    let mut feed_position = 0;
    for (step, op) in ops.iter().enumerate() {
        let records_before = model.records();
        let frontend = matches!(op, Op::FrontendGet(..) | Op::FrontendUpdate(..));
        let protected_before = frontend.then(|| protected_tiers(&model));
        let expected = model.apply(op);
        let actual = apply_to_service(&service, op).await;
        if expected != actual {
            return Err(format!(
                "step {step} {op:?}: model {expected:?}, store {actual:?}"
            ));
        }
        if let Some(before) = protected_before {
            if let Ok(value) = &actual {
                if value.get("private_metadata").is_some() {
                    return Err(format!(
                        "step {step} {op:?}: the frontend was shown a private tier"
                    ));
                }
            }
            if protected_tiers(&model) != before {
                return Err(format!(
                    "step {step} {op:?}: the frontend changed a public or private tier"
                ));
            }
        }
        let mut model_records = model.records();
        model_records.sort_by_key(|r| (r.kind(), r.key().storage_key()));
        let stored = store_records(store.as_ref()).await;
        // Compared as values and as text: `-0.0 == 0.0` as a value, not as text (R8.3).
        let text = |records: &[Record]| records.iter().map(Record::to_json).collect::<Vec<_>>();
        if model_records != stored || text(&model_records) != text(&stored) {
            return Err(format!(
                "step {step} {op:?}: states differ:\nmodel {model_records:?}\nstore {stored:?}"
            ));
        }
        check_point_reads(store.as_ref(), &records_before, &model_records)
            .await
            .map_err(|e| format!("step {step} {op:?}: {e}"))?;
        feed_position = check_feed(
            store.as_ref(),
            feed_position,
            &records_before,
            &model_records,
        )
        .await
        .map_err(|e| format!("step {step} {op:?}: {e}"))?;
    }
    Ok(())
}

/// Every record the step could have touched, read by key: `get`, and `read_now` where the
/// store answers it, give exactly the model's record (or nothing, once deleted).
async fn check_point_reads(
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
/// from the record before and after, sharing one commit id, at the next positions. Returns the
/// new last position. A store without a feed is not checked.
async fn check_feed(
    store: &dyn MetadataStore,
    after: u64,
    before: &[Record],
    now: &[Record],
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

type BoxFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

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
            outcome = run_case(store, &ops).await;
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

/// Reads operations from raw bytes (for the fuzzer): each byte chooses what comes next, and
/// running out of bytes ends the sequence.
pub fn decode_ops(data: &[u8]) -> Vec<Op> {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let mut ops = Vec::new();
    while ops.len() < 200 {
        let Some(tag) = next() else { break };
        let mut b = || next().unwrap_or(0);
        let target = |t: u8, x: u8, y: u8| match t % 5 {
            0 => Target::User(x % 3),
            1 => Target::SignUp(x % 2),
            2 => Target::Organization(x % 2),
            3 => Target::Membership(x % 2, y % 3),
            _ => Target::Invitation(x % 2),
        };
        let principal = |p: u8, x: u8| {
            if p.is_multiple_of(2) {
                Principal::User(x % 3, p / 2 % 2)
            } else {
                Principal::SignUp(x % 2)
            }
        };
        let change = |b: &mut dyn FnMut() -> u8| {
            let n = b() % 3;
            let ops: Vec<(usize, bool, Value)> = (0..n)
                .map(|_| (b() as usize, b() % 2 == 1, small_object_at(b() as usize)))
                .collect();
            let e = b();
            build_change(&ops, e.is_multiple_of(4).then_some(u64::from(e / 4 % 4)))
        };
        let op = match tag % 9 {
            0 => {
                let (t, x, y, e) = (b(), b(), b(), b());
                Op::Create(target(t, x, y), change(&mut b), e % 2)
            }
            1 => {
                let (t, x, y) = (b(), b(), b());
                Op::Update(target(t, x, y), change(&mut b))
            }
            2 => {
                let (p, x) = (b(), b());
                Op::FrontendUpdate(principal(p, x), change(&mut b))
            }
            3 => {
                let (p, x, t, y, z) = (b(), b(), b(), b(), b());
                Op::FrontendGet(principal(p, x), target(t, y, z))
            }
            4 => Op::CompleteSignUp(b() % 2, b() % 3),
            5 => Op::Accept(b() % 2, b() % 3),
            6 => Op::Revoke(b() % 2),
            7 => {
                let (t, x, y) = (b(), b(), b());
                Op::Delete(target(t, x, y))
            }
            _ => Op::Find(
                b() % 2 == 0,
                Tier::ALL[b() as usize % 3],
                b() as usize % (FINDS * 3),
            ),
        };
        ops.push(op);
    }
    ops
}
