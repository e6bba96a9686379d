//! Session claims templates (contract §10).

use metadata_core::claims::{ClaimsContext, ClaimsError, ClaimsTemplate, DEFAULT_CLAIMS_BUDGET};
use metadata_core::*;
use proptest::prelude::*;
use serde_json::{json, Value};

fn user_with(public: Value, private: Value, unsafe_: Value) -> User {
    let change = Change::new()
        .replace_json(Tier::Public, public)
        .unwrap()
        .replace_json(Tier::Private, private)
        .unwrap()
        .replace_json(Tier::Unsafe, unsafe_)
        .unwrap();
    create_user(
        UserId::new("user_1").unwrap(),
        &change,
        &Limits::default(),
        1,
    )
    .unwrap()
}

fn org_with(public: Value) -> Organization {
    let change = Change::new()
        .replace_json(Tier::Public, public)
        .unwrap()
        .replace_json(Tier::Private, json!({"secret": "org-secret"}))
        .unwrap();
    create_organization(
        OrganizationId::new("org_1").unwrap(),
        &change,
        &Limits::default(),
        1,
    )
    .unwrap()
}

fn member(public: Value) -> Membership {
    let change = Change::new().replace_json(Tier::Public, public).unwrap();
    create_membership(
        MembershipId::new("mem_1").unwrap(),
        OrganizationId::new("org_1").unwrap(),
        UserId::new("user_1").unwrap(),
        &change,
        &Limits::default(),
        1,
    )
    .unwrap()
}

#[test]
fn r10_1_whole_shortcodes_keep_their_json_type() {
    let user = user_with(
        json!({"role": "admin", "meta": {"a": [1, {"b": true}]}, "n": 4.5, "ok": false}),
        json!({}),
        json!({}),
    );
    let t = ClaimsTemplate::compile(
        br#"{"role":"{{user.public_metadata.role}}","meta":"{{user.public_metadata}}","deep":"{{user.public_metadata.meta}}","n":"{{user.public_metadata.n}}","ok":"{{user.public_metadata.ok}}"}"#,
    )
    .unwrap();
    let claims = t.render(&ClaimsContext::user(&user)).unwrap();
    assert_eq!(claims["role"], json!("admin"));
    assert_eq!(
        claims["meta"],
        json!({"role": "admin", "meta": {"a": [1, {"b": true}]}, "n": 4.5, "ok": false})
    );
    assert_eq!(
        claims["deep"],
        json!({"a": [1, {"b": true}]}),
        "an object stays an object"
    );
    assert_eq!(claims["n"], json!(4.5));
    assert_eq!(claims["ok"], json!(false));
}

#[test]
fn r10_1_fallbacks_run_left_to_right_past_null_and_missing() {
    let t = ClaimsTemplate::compile(
        br#"{"age":"{{user.public_metadata.age || user.unsafe_metadata.age || 30}}"}"#,
    )
    .unwrap();
    let render = |public, unsafe_| {
        t.render(&ClaimsContext::user(&user_with(public, json!({}), unsafe_)))
            .unwrap()["age"]
            .clone()
    };
    assert_eq!(render(json!({"age": 41}), json!({"age": 20})), json!(41));
    assert_eq!(render(json!({}), json!({"age": 20})), json!(20));
    assert_eq!(
        render(json!({"age": null}), json!({"age": 20})),
        json!(20),
        "null falls through"
    );
    assert_eq!(render(json!({}), json!({})), json!(30));
    assert_eq!(
        render(json!({"age": 0}), json!({})),
        json!(0),
        "0 and false are values, not missing"
    );
    let t =
        ClaimsTemplate::compile(br#"{"plan":"{{org.public_metadata.plan || 'free'}}"}"#).unwrap();
    let user = user_with(json!({}), json!({}), json!({}));
    assert_eq!(
        t.render(&ClaimsContext::user(&user)).unwrap()["plan"],
        json!("free")
    );
}

#[test]
fn r10_1_interpolation_into_a_longer_string() {
    let user = user_with(
        json!({"first": "Ada", "level": 3, "tags": ["x"]}),
        json!({}),
        json!({}),
    );
    let org = org_with(json!({"name": "Acme"}));
    let t = ClaimsTemplate::compile(
        br#"{"greeting":"Hi {{user.public_metadata.first}} of {{ org.public_metadata.name }} (level {{user.public_metadata.level}}, tags {{user.public_metadata.tags}}){{user.public_metadata.none}}!","id":"u:{{user.id}} o:{{org.id}}"}"#,
    )
    .unwrap();
    let claims = t
        .render(&ClaimsContext::with_organization(&user, &org, None))
        .unwrap();
    assert_eq!(
        claims["greeting"],
        json!("Hi Ada of Acme (level 3, tags [\"x\"])!")
    );
    assert_eq!(claims["id"], json!("u:user_1 o:org_1"));
}

#[test]
fn r10_1_missing_paths_give_null() {
    let user = user_with(json!({"a": {"b": 1}}), json!({}), json!({}));
    let t = ClaimsTemplate::compile(
        br#"{"x":"{{user.public_metadata.nope}}","y":"{{user.public_metadata.a.b.c}}","o":"{{org.public_metadata.plan}}","oid":"{{org.id}}","m":"{{org_membership.public_metadata}}"}"#,
    )
    .unwrap();
    let claims = t.render(&ClaimsContext::user(&user)).unwrap();
    assert_eq!(
        claims,
        json!({"x": null, "y": null, "o": null, "oid": null, "m": null})
    );
}

#[test]
fn r10_2_org_and_membership_sources() {
    let user = user_with(json!({}), json!({}), json!({}));
    let org = org_with(json!({"plan": "pro"}));
    let membership = member(json!({"role": "editor"}));
    let t = ClaimsTemplate::compile(
        br#"{"org":{"plan":"{{org.public_metadata.plan}}","role":"{{org_membership.public_metadata.role}}","ids":["{{org.id}}","{{user.id}}"]},"static":[1,true,null,"text"]}"#,
    )
    .unwrap();
    let claims = t
        .render(&ClaimsContext::with_organization(
            &user,
            &org,
            Some(&membership),
        ))
        .unwrap();
    assert_eq!(
        claims,
        json!({"org": {"plan": "pro", "role": "editor", "ids": ["org_1", "user_1"]}, "static": [1, true, null, "text"]})
    );
}

#[test]
fn r10_2_bad_templates_are_refused_at_compile_time_pointing_at_the_claim() {
    let cases: Vec<(&[u8], &str, &str)> = vec![
        (
            br#"{"a":{"b":["x","{{user.private_metadata.k}}"]}}"#,
            "a.b[1]",
            "private",
        ),
        (br#"{"s":"{{org.private_metadata}}"}"#, "s", "private"),
        (
            br#"{"s":"x {{org_membership.private_metadata.k || 1}}"}"#,
            "s",
            "private",
        ),
        (br#"{"s":"{{user.email}}"}"#, "s", "unknown"),
        (br#"{"s":"{{user.public_metadata.a"}"#, "s", "syntax"),
        (br#"{"s":"{{}}"}"#, "s", "syntax"),
        (br#"{"s":"{{ 1 || user.id }}"}"#, "s", "syntax"),
    ];
    for (template, claim, kind) in cases {
        let err = ClaimsTemplate::compile(template).unwrap_err();
        assert_eq!(err.claim(), Some(claim), "{err}");
        assert_eq!(err.code(), "claims_template_invalid");
        let ok = match kind {
            "private" => matches!(err, ClaimsError::PrivateTier { .. }),
            "unknown" => matches!(err, ClaimsError::UnknownSource { .. }),
            _ => matches!(err, ClaimsError::Syntax { .. }),
        };
        assert!(ok, "{err:?}");
    }
    for bad in [&b"[1]"[..], b"not json", b"{\"a\":1,\"a\":2}"] {
        assert!(matches!(
            ClaimsTemplate::compile(bad),
            Err(ClaimsError::InvalidTemplate { .. })
        ));
    }
}

#[test]
fn r10_3_over_the_budget_is_an_error_with_size_and_budget() {
    let t = ClaimsTemplate::compile(br#"{"meta":"{{user.public_metadata}}"}"#).unwrap();
    assert_eq!(t.budget(), DEFAULT_CLAIMS_BUDGET);
    let user = user_with(json!({"k": "x".repeat(1200)}), json!({}), json!({}));
    let err = t.render(&ClaimsContext::user(&user)).unwrap_err();
    assert!(
        matches!(
            err,
            ClaimsError::OverBudget {
                size: 1217,
                budget: 1200
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "claims_over_budget");
    // Exactly at the budget passes.
    let t = t.with_budget(1217);
    assert!(t.render(&ClaimsContext::user(&user)).is_ok());
}

const MARKER: &str = "PRIVATE-MARKER-7f3a";

fn term() -> impl Strategy<Value = String> {
    let owner = prop_oneof![
        Just("user"),
        Just("org"),
        Just("org_membership"),
        Just("session")
    ];
    let tier = prop_oneof![
        Just("public_metadata"),
        Just("private_metadata"),
        Just("unsafe_metadata"),
        Just("id"),
        Just("secret")
    ];
    let path = prop::collection::vec(prop_oneof![Just("a"), Just("k"), Just("secret")], 0..3);
    let source = (owner, tier, path).prop_map(|(o, t, p)| {
        let mut s = format!("{o}.{t}");
        for k in p {
            s.push('.');
            s.push_str(k);
        }
        s
    });
    prop_oneof![4 => source, 1 => Just("7".to_owned()), 1 => Just("'lit'".to_owned())]
}

fn string_claim() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(term(), 1..4),
        "[a-z ]{0,3}",
        any::<bool>(),
    )
        .prop_map(|(terms, text, whole)| {
            let code = format!("{{{{{}}}}}", terms.join(" || "));
            Value::String(if whole {
                code
            } else {
                format!("{text}{code}{text}")
            })
        })
}

fn template() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![4 => string_claim(), 1 => Just(json!(1)), 1 => Just(json!("plain"))];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn r10_2_no_compiling_template_ever_outputs_a_private_value(
        claims in prop::collection::btree_map("[a-d]", template(), 1..4)
    ) {
        let secret = json!({"a": MARKER, "k": {"a": MARKER}, "secret": MARKER});
        let user = user_with(json!({"a": "pub"}), secret.clone(), json!({"k": "uns"}));
        let change = Change::new()
            .replace_json(Tier::Public, json!({"a": 1}))
            .unwrap()
            .replace_json(Tier::Private, secret.clone())
            .unwrap();
        let org = create_organization(OrganizationId::new("org_1").unwrap(), &change, &Limits::default(), 1).unwrap();
        let membership = create_membership(
            MembershipId::new("m").unwrap(),
            org.id.clone(),
            user.id.clone(),
            &change,
            &Limits::default(),
            1,
        )
        .unwrap();
        let template: serde_json::Map<String, Value> = claims.into_iter().collect();
        let names_private = Value::Object(template.clone()).to_string().contains("private_metadata");
        match ClaimsTemplate::compile_value(&template) {
            Ok(compiled) => {
                prop_assert!(!names_private, "a template naming a private tier compiled");
                let compiled = compiled.with_budget(usize::MAX);
                let cx = ClaimsContext::with_organization(&user, &org, Some(&membership));
                let rendered = compiled.render(&cx).unwrap();
                prop_assert!(!rendered.to_string().contains(MARKER), "{}", rendered);
            }
            Err(err) => prop_assert_eq!(err.code(), "claims_template_invalid"),
        }
    }
}
