//! Rendering a compiled claims template against building the same claims by hand with
//! `serde_json::json!` (contract §10).

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use metadata_core::claims::{ClaimsContext, ClaimsTemplate};
use metadata_core::{
    create_organization, create_user, Change, Limits, OrganizationId, Tier, User, UserId,
};
use serde_json::{json, Value};

fn hand_written(user: &User, org: &metadata_core::Organization) -> Value {
    let public = user.public_metadata.as_map();
    let age = public
        .get("age")
        .filter(|v| !v.is_null())
        .or_else(|| user.unsafe_metadata.get("age").filter(|v| !v.is_null()))
        .cloned()
        .unwrap_or(json!(30));
    let name = match public.get("name") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    json!({
        "role": public.get("role").cloned().unwrap_or(Value::Null),
        "meta": Value::Object(public.clone()),
        "age": age,
        "greeting": format!("hello {name}"),
        "org": {"id": org.id.to_string(), "plan": org.public_metadata.get("plan").cloned().unwrap_or(Value::Null)},
    })
}

fn render(c: &mut Criterion) {
    let template = ClaimsTemplate::compile(
        br#"{
            "role": "{{user.public_metadata.role}}",
            "meta": "{{user.public_metadata}}",
            "age": "{{user.public_metadata.age || user.unsafe_metadata.age || 30}}",
            "greeting": "hello {{user.public_metadata.name}}",
            "org": {"id": "{{org.id}}", "plan": "{{org.public_metadata.plan}}"}
        }"#,
    )
    .unwrap();
    let limits = Limits::default();
    let change = Change::new()
        .replace_json(Tier::Public, json!({"role": "admin", "name": "Ada", "flags": {"beta": true, "tier": 2}, "tags": ["a", "b", "c"]}))
        .unwrap()
        .replace_json(Tier::Unsafe, json!({"age": 41}))
        .unwrap();
    let user = create_user(UserId::new("user_1").unwrap(), &change, &limits, 1).unwrap();
    let org_change = Change::new()
        .replace_json(Tier::Public, json!({"plan": "pro"}))
        .unwrap();
    let org = create_organization(
        OrganizationId::new("org_1").unwrap(),
        &org_change,
        &limits,
        1,
    )
    .unwrap();
    let cx = ClaimsContext::with_organization(&user, &org, None);
    assert_eq!(template.render(&cx).unwrap(), hand_written(&user, &org));
    let mut g = c.benchmark_group("claims_render");
    g.bench_function("baseline_hand_written_json", |b| {
        b.iter(|| hand_written(black_box(&user), black_box(&org)))
    });
    g.bench_function("project_compiled_template", |b| {
        b.iter(|| template.render(black_box(&cx)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
