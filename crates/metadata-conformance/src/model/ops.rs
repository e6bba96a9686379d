//! The model check's operations, their generators, and fuzz input decoded into them.

use metadata_core::*;
use proptest::prelude::*;
use serde_json::{json, Value};

/// The limits both sides use: small, so that size errors come up often.
pub fn model_limits() -> Limits {
    Limits::default().with_tier_bytes(48)
}

/// The schemas both sides enforce (R13.1), chosen so that the small objects meet them
/// sometimes: a user's unsafe `a` is an integer (refusing `"1"` and `null`, so frontend
/// writes and sign-up copies are refused), an organization's private tier has at most one key,
/// a membership's public tier has no `big` (refusing some invitation copies).
pub fn model_schemas() -> &'static Schemas {
    static SCHEMAS: std::sync::LazyLock<Schemas> = std::sync::LazyLock::new(|| {
        let mut schemas = Schemas::new();
        let mut declare = |kind, tier, schema: Value| schemas.declare(kind, tier, &schema).unwrap();
        declare(
            ResourceKind::User,
            Tier::Unsafe,
            json!({"properties": {"a": {"type": "integer"}}}),
        );
        declare(
            ResourceKind::Organization,
            Tier::Private,
            json!({"maxProperties": 1}),
        );
        declare(
            ResourceKind::Membership,
            Tier::Public,
            json!({"properties": {"big": false}}),
        );
        schemas
    });
    &SCHEMAS
}

pub(crate) const NOW: Millis = 1_000;
pub(crate) const EMAILS: [&str; 2] = ["a@example.com", "b@example.com"];

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
    pub(crate) fn key(self) -> RecordKey {
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

pub(crate) fn user(n: u8) -> UserId {
    UserId::new(format!("u{n}")).unwrap()
}
pub(crate) fn sign_up(n: u8) -> SignUpId {
    SignUpId::new(format!("s{n}")).unwrap()
}
pub(crate) fn org(n: u8) -> OrganizationId {
    OrganizationId::new(format!("o{n}")).unwrap()
}
pub(crate) fn invitation(n: u8) -> InvitationId {
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
    pub(crate) fn build(self) -> FrontendPrincipal {
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

impl Op {
    /// Who the step's commit is made by (R14.2): the backend, the frontend principal, or the
    /// library for the copies of contract §5.
    pub fn actor(&self) -> metadata_core::feed::Actor {
        use metadata_core::feed::Actor;
        match self {
            Op::FrontendUpdate(principal, _) | Op::FrontendGet(principal, _) => Actor::Frontend {
                user_id: match principal {
                    Principal::User(u, _) => user(*u).to_string(),
                    Principal::SignUp(s) => sign_up(*s).to_string(),
                },
            },
            Op::CompleteSignUp(s, _) => Actor::library("sign_up_completion", sign_up(*s).as_str()),
            Op::Accept(i, _) => Actor::library("invitation_acceptance", invitation(*i).as_str()),
            _ => Actor::BACKEND,
        }
    }
}

pub(crate) fn target() -> impl Strategy<Value = Target> {
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
pub(crate) const SMALL_OBJECTS: usize = 12;

/// The lookups [`Op::Find`] makes, by index (modulo their number): the filter of one
/// condition on one path of `tier` — equalities (R7.3) and every other condition (R7.4).
pub fn find_at(i: usize, tier: Tier) -> Filter {
    let n = (i / FINDS % 3) as i64;
    let bound = |value, inclusive| Some(Bound { value, inclusive });
    let (path, condition) = match i % FINDS {
        0 => ("a", Condition::Equals(LookupValue::Integer(n))),
        1 => ("a", Condition::Equals(LookupValue::String(n.to_string()))),
        2 => ("b.c", Condition::Equals(LookupValue::Integer(n))),
        3 => ("items.0", Condition::Equals(LookupValue::from("x"))),
        4 => ("s", Condition::Equals(LookupValue::from("x\u{0}y"))),
        5 => (
            "f",
            Condition::Equals(LookupValue::Integer(10_000_000_000_000_000)),
        ),
        6 => ("f", Condition::Equals(LookupValue::Integer(0))),
        7 => ("0", Condition::Equals(LookupValue::from("0"))),
        8 => ("a", Condition::Exists),
        9 => ("b.c", Condition::Missing),
        10 => (
            "a",
            Condition::AnyOf(vec![
                LookupValue::Integer(n),
                LookupValue::String(n.to_string()),
            ]),
        ),
        11 => (
            "a",
            Condition::Range {
                lower: bound(LookupNumber::Integer(n), n != 1),
                upper: None,
            },
        ),
        12 => (
            "f",
            Condition::Range {
                lower: bound(LookupNumber::Float(-0.5), false),
                upper: bound(LookupNumber::Float(1e16), n == 0),
            },
        ),
        13 => (
            "s",
            Condition::Prefix(["x", "x\u{0}", ""][n as usize].to_owned()),
        ),
        14 => ("items", Condition::Exists),
        _ => (
            "b.c",
            Condition::Range {
                lower: None,
                upper: bound(LookupNumber::Float(1.5), true),
            },
        ),
    };
    let path = MetadataPath::parse(path).expect("a valid path");
    match condition {
        Condition::Equals(value) => Filter::MetadataEquals { tier, path, value },
        condition => Filter::Metadata(vec![Clause {
            tier,
            path,
            condition,
        }]),
    }
}

/// How many distinct lookups [`find_at`] gives.
pub(crate) const FINDS: usize = 16;

pub(crate) fn small_object() -> impl Strategy<Value = Value> {
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

pub(crate) fn change() -> impl Strategy<Value = Change> {
    (
        prop::collection::vec((0usize..3, any::<bool>(), small_object()), 0..3),
        prop_oneof![3 => Just(None), 1 => (0u64..4).prop_map(Some)],
    )
        .prop_map(|(ops, expected)| build_change(&ops, expected))
}

pub(crate) fn principal() -> impl Strategy<Value = Principal> {
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
