//! The pure reference model: records in a `BTreeMap`, every commit atomic on a copy, the
//! core's pure functions called directly.

use super::*;
use metadata_core::*;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What an operation returned: the JSON of the value, or the error's code.
pub type Outcome = Result<Value, String>;

pub(crate) fn ok<T: Serialize>(value: T) -> Outcome {
    Ok(serde_json::to_value(value).unwrap())
}

pub(crate) fn code(err: Error) -> String {
    match err {
        Error::Conflict {
            expected, actual, ..
        } => format!("version_conflict {expected} {actual}"),
        other => other.code().to_owned(),
    }
}

pub(crate) type Key = (ResourceKind, String);

/// The pure reference model.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub(crate) records: BTreeMap<Key, Record>,
    /// The records the commits since the last [`Model::take_touched`] wrote or removed, each
    /// with what it was before the first of them.
    touched: BTreeMap<Key, Option<Record>>,
}

pub(crate) fn mkey(key: &RecordKey) -> Key {
    (key.kind(), key.storage_key())
}

/// Every record `writes` create against the model's schemas, as the facade checks a plan.
fn check_creates(writes: &[Write]) -> Result<(), Error> {
    writes.iter().try_for_each(|w| match w {
        Write::Create(record) => model_schemas().check_record(record),
        _ => Ok(()),
    })
}

pub(crate) fn not_found(key: &RecordKey) -> Error {
    Error::NotFound {
        kind: key.kind(),
        id: key.storage_key(),
    }
}

impl Model {
    pub(crate) fn get(&self, key: &RecordKey) -> Option<&Record> {
        self.records.get(&mkey(key))
    }

    pub(crate) fn load<R: Resource>(&self, key: &RecordKey) -> Result<R, Error> {
        self.get(key)
            .cloned()
            .and_then(R::from_record)
            .ok_or_else(|| not_found(key))
    }

    /// Applies writes all or none: on a copy, kept only if every write succeeds.
    pub(crate) fn commit(&mut self, writes: &[Write]) -> Result<Vec<u64>, Error> {
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
        self.note_touched(writes, &next);
        self.records = next;
        Ok(counts)
    }

    /// Remembers the records `writes` change, going from the current records to `next`.
    fn note_touched(&mut self, writes: &[Write], next: &BTreeMap<Key, Record>) {
        let mut keys: Vec<Key> = Vec::new();
        let mut cascades = false;
        for write in writes {
            match write {
                Write::Require(_) => {}
                Write::Create(record) | Write::Update { record, .. } => {
                    keys.push(mkey(&record.key()))
                }
                Write::Delete(key) => keys.push(mkey(key)),
                _ => cascades = true,
            }
        }
        if cascades {
            keys.extend(
                self.records
                    .keys()
                    .filter(|k| !next.contains_key(*k))
                    .cloned(),
            );
        }
        for key in keys {
            let before = self.records.get(&key).cloned();
            self.touched.entry(key).or_insert(before);
        }
    }

    /// The records written or removed since the last call, each as it was before and as it
    /// is now: what a step could have changed.
    pub(crate) fn take_touched(&mut self) -> (Vec<Record>, Vec<Record>) {
        let touched = std::mem::take(&mut self.touched);
        let now = touched
            .keys()
            .filter_map(|k| self.records.get(k).cloned())
            .collect();
        (touched.into_values().flatten().collect(), now)
    }

    pub(crate) fn create(
        &mut self,
        target: Target,
        change: &Change,
        email: u8,
    ) -> Result<Record, Error> {
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
        model_schemas().check_record(&record)?;
        let mut writes: Vec<Write> = requires.into_iter().map(Write::Require).collect();
        writes.push(Write::Create(record.clone()));
        self.commit(&writes)?;
        Ok(record)
    }

    pub(crate) fn update<R: Resource>(
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
        model_schemas().check_change(&next.clone().into_record(), change)?;
        self.commit(&[update_write(&current, next.clone())])?;
        Ok(next)
    }

    pub(crate) fn update_any(&mut self, target: Target, change: &Change) -> Outcome {
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

    pub(crate) fn frontend_get(&self, p: Principal, target: Target) -> Outcome {
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
                check_creates(&plan.writes())?;
                self.commit(&plan.writes())?;
                Ok(plan.user)
            })()
            .map_or_else(|e| Err(code(e)), ok),
            Op::Accept(i, u) => (|| {
                let inv: Invitation = self.load(&RecordKey::Invitation(invitation(*i)))?;
                let id = MembershipId::new(format!("acc{i}")).unwrap();
                let plan = accept_invitation(&inv, id, user(*u), &l, NOW)?;
                check_creates(&plan.writes())?;
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
                let query = ListQuery {
                    kind,
                    filter: find_at(*n, *tier),
                    after: None,
                    limit: 2,
                    order: metadata_core::ListOrder::BY_ID,
                    offset: 0,
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
