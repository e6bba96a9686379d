//! The bodies of the fuzz targets in `fuzz/`, as plain functions, so that the committed corpus
//! and every minimized finding replay on the stable toolchain in `cargo test`.
//! Each function panics when it finds a defect.

use metadata_core::*;
use metadata_store::MetadataStore;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Bytes to a tier, a patch and a request body: never a panic; whatever is accepted is within
/// the limits, measures exactly, and re-parses to itself.
pub fn parse_metadata(data: &[u8]) {
    for limits in [
        Limits::default(),
        Limits::default().with_tier_bytes(64).with_max_depth(4),
    ] {
        match Metadata::from_slice_with(data, &limits) {
            Ok(m) => {
                let json = m.to_json();
                assert_eq!(m.size(), json.len(), "measured size");
                // Spelled the same after a second trip (R8.3): -0.0, 1e16 and \u0000 stay.
                let again = Metadata::from_slice_with(json.as_bytes(), &limits).unwrap();
                assert_eq!(again.to_json(), json, "spelling");
                assert!(m.size() <= limits.tier_bytes());
                assert_eq!(
                    Metadata::from_slice_with(json.as_bytes(), &limits).unwrap(),
                    m
                );
                assert_eq!(Metadata::from_value_with(m.to_value(), &limits).unwrap(), m);
            }
            Err(e) => {
                assert!(!e.code().is_empty());
            }
        }
        let _ = Patch::from_slice_with(data, &limits);
        let _ = Change::replace_from_request(data, &limits);
        let _ = Change::merge_from_request(data, &limits);
    }
}

/// Bytes to a request body through the core's one body parser, as every HTTP route reads its
/// body: never a panic; an accepted body keeps no tier among its other fields, every tier it
/// takes is within the limits, the strict form agrees with it, and writing the body out again
/// reads back to the same body.
pub fn request_body(data: &[u8]) {
    for limits in [
        Limits::default(),
        Limits::default().with_tier_bytes(64).with_max_depth(4),
    ] {
        for mode in [BodyMode::Replace, BodyMode::Merge] {
            let strict = match mode {
                BodyMode::Replace => Change::replace_from_request(data, &limits),
                BodyMode::Merge => Change::merge_from_request(data, &limits),
            };
            let body = match RequestBody::parse(data, mode, &limits) {
                Ok(body) => body,
                Err(e) => {
                    assert!(!e.code().is_empty());
                    assert!(
                        strict.is_err(),
                        "the strict form accepts what the parser refuses"
                    );
                    continue;
                }
            };
            for tier in Tier::ALL {
                assert!(
                    !body.fields().contains_key(tier.field_name()),
                    "{tier} left in fields"
                );
            }
            match (&strict, body.fields().is_empty()) {
                (Ok(change), true) => assert_eq!(change, body.change(), "strict form"),
                (Err(Error::UnknownField { .. }), false) => {}
                (other, _) => panic!("strict form {other:?} for {body:?}"),
            }
            let mut again = body.fields().clone();
            for (tier, op) in body.change().ops() {
                let value = match op {
                    TierOp::Replace(value) => {
                        assert!(value.size() <= limits.tier_bytes(), "{tier} over the limit");
                        value.to_value()
                    }
                    TierOp::Merge(patch) => Value::Object(patch.as_map().clone()),
                    TierOp::Remove(_) => panic!("a request body never removes"),
                };
                again.insert(tier.field_name().to_owned(), value);
            }
            let text = serde_json::to_vec(&Value::Object(again)).unwrap();
            // Written out again, a number may be spelled longer than it came (`1E5` is
            // `100000.0`): past the raw input limit the re-read is refused before parsing, as
            // any input that long is, and there is nothing to compare.
            if text.len() > RequestBody::max_len(&limits) {
                continue;
            }
            let reread = RequestBody::parse(&text, mode, &limits).unwrap();
            assert_eq!(reread, body, "a body written out reads back the same");
        }
    }
}

/// RFC 7396 written out plainly, as the reference.
pub fn reference_merge(target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut result = match target {
                Value::Object(t) => t.clone(),
                _ => Map::new(),
            };
            for (k, v) in p {
                if v.is_null() {
                    result.remove(k);
                } else {
                    let merged = reference_merge(result.get(k).unwrap_or(&Value::Null), v);
                    result.insert(k.clone(), merged);
                }
            }
            Value::Object(result)
        }
        other => other.clone(),
    }
}

/// Splits the input at its first zero byte into a target tier and a patch; merges them with the
/// core and with the reference, and checks the size rule on the result (R3.2, R4.1).
pub fn merge_patch(data: &[u8]) {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (target, patch) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let roomy = Limits::default().with_tier_bytes(1 << 16);
    let (Ok(target), Ok(patch)) = (
        Metadata::from_slice_with(target, &roomy),
        Patch::from_slice_with(patch, &roomy),
    ) else {
        return;
    };
    let merged = patch.apply_to(&target);
    let expected = reference_merge(&target.to_value(), &Value::Object(patch.as_map().clone()));
    assert_eq!(merged.to_value(), expected, "merge differs from RFC 7396");
    let expected_text = serde_json::to_string(&expected).unwrap();
    assert_eq!(merged.size(), expected_text.len(), "merged size");
    // In place, into a tier that keeps its text (R3.2): only the entries the patch touches are
    // written again, and the text must still be exactly the merged object's.
    let mut owned = Metadata::from_slice_with(&data[..split], &roomy).unwrap();
    let _ = owned.json();
    owned = patch.apply_to_owned(owned);
    assert_eq!(
        owned.to_value(),
        expected,
        "in-place merge differs from RFC 7396"
    );
    assert_eq!(owned.json(), expected_text, "in-place merge's kept text");
    assert_eq!(owned.size(), expected_text.len(), "in-place merge's size");
    // The size rule on the result: refused exactly when the merged tier is over the limit.
    let limits = Limits::default().with_tier_bytes(target.size().max(16));
    let user = create_user(UserId::new("u").unwrap(), &Change::new(), &roomy, 1).unwrap();
    let user = apply_change(
        &user,
        &Change::new().replace(Tier::Public, target),
        Surface::Backend,
        &roomy,
        2,
    )
    .unwrap();
    let result = apply_change(
        &user,
        &Change::new().merge(Tier::Public, patch),
        Surface::Backend,
        &limits,
        3,
    );
    match result {
        Ok(next) => {
            assert!(merged.size() <= limits.tier_bytes());
            assert_eq!(next.public_metadata, merged);
        }
        Err(Error::TooLarge { size, limit, .. }) => {
            assert_eq!(size, merged.size());
            assert!(size > limit);
        }
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// Operation sequences from both surfaces against the memory-like `store` and the reference
/// model, compared after every step in what the step could have touched and in full at the
/// end (R2, R3, R5, R6, R7).
pub fn operations(store: Arc<dyn MetadataStore>, data: &[u8]) {
    let ops = crate::model::decode_ops(data);
    let case = crate::model::run_case(store, &ops, crate::model::Compare::TouchedThenAll);
    if let Err(difference) = futures::executor::block_on(case) {
        panic!("{difference}");
    }
}

/// Whatever deserializes as a record serializes back to an equal record (R8.2); whatever
/// deserializes as a change feed event, to an equal event.
pub fn wire_roundtrip(data: &[u8]) {
    if let Ok(record) = serde_json::from_slice::<Record>(data) {
        let json = record.to_json();
        let again: Record = serde_json::from_str(&json).expect("a serialized record reads back");
        assert_eq!(again, record);
        assert_eq!(
            Record::from_json(record.kind(), json.as_bytes()).unwrap(),
            record
        );
        assert_eq!(again.to_json(), json);
    }
    // A change feed event (what a relay's consumers parse): it reads back as itself, and its
    // public view and claims scope never panic.
    if let Ok(event) = serde_json::from_slice::<metadata_core::feed::ChangeEvent>(data) {
        let json = serde_json::to_string(&event).expect("a parsed event serializes");
        let again: metadata_core::feed::ChangeEvent =
            serde_json::from_str(&json).expect("a serialized event reads back");
        assert_eq!(again, event);
        let _ = event.without_private();
        let _ = event.claims_scope();
    }
    for kind in ResourceKind::ALL {
        if let Ok(record) = Record::from_json(kind, data) {
            assert_eq!(record.kind(), kind);
            assert_eq!(
                Record::from_json(kind, record.to_json().as_bytes()).unwrap(),
                record
            );
        }
    }
}

/// Compiles the input up to its first zero byte as a claims template and renders it against a
/// user whose public tier is the rest of the input and whose private tier holds a marker: no
/// panic, and the marker never reaches the rendered claims (R10).
pub fn claims(data: &[u8]) {
    use metadata_core::claims::{ClaimsContext, ClaimsTemplate};
    const MARKER: &str = "PRIVATE-MARKER-fz";
    // The fuzzer learns the marker from comparisons and may type it into the template or the
    // public tier itself; then seeing it in the output proves nothing.
    if data.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()) {
        return;
    }
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (template, public) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let Ok(template) = ClaimsTemplate::compile(template) else {
        return;
    };
    let public = Metadata::from_slice(public).unwrap_or_default();
    let private = Metadata::from_value(serde_json::json!({"a": MARKER, "role": MARKER})).unwrap();
    let change = Change::new()
        .replace(Tier::Public, public.clone())
        .replace(Tier::Private, private.clone())
        .replace(Tier::Unsafe, public);
    let limits = Limits::default();
    let user = create_user(UserId::new("u").unwrap(), &change, &limits, 1).unwrap();
    let org_change = Change::new().replace(Tier::Private, private);
    let org =
        create_organization(OrganizationId::new("o").unwrap(), &org_change, &limits, 1).unwrap();
    for budget in [usize::MAX, 64] {
        let template = template.clone().with_budget(budget);
        if let Ok(rendered) = template.render(&ClaimsContext::with_organization(&user, &org, None))
        {
            let text = rendered.to_string();
            assert!(
                !text.contains(MARKER),
                "a private value was rendered: {text}"
            );
            assert!(text.len() <= budget);
        }
    }
}

/// Reads the input as a query string (`name=value` pairs joined by `&`) of metadata conditions
/// as the HTTP surface reads it (R7.4): never a panic; whatever is accepted validates as a
/// users' listing, and each condition holds for the value it names (a bound for an inclusive
/// end, the prefix itself, each listed value) and not for what it excludes.
pub fn lookup_params(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut clauses = Vec::new();
    for pair in text.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match Clause::from_param(name, value) {
            Ok(Some(clause)) => clauses.push(clause),
            Ok(None) => {}
            Err(e) => {
                assert_eq!(e.code(), codes::VALUE_INVALID, "{e}");
                return;
            }
        }
    }
    let Ok(clauses) = combine(clauses) else {
        return;
    };
    for clause in &clauses {
        let c = &clause.condition;
        match c {
            Condition::Equals(v) => assert!(c.holds(Some(&v.to_json())), "{v:?}"),
            Condition::AnyOf(vs) => vs.iter().for_each(|v| assert!(c.holds(Some(&v.to_json())))),
            Condition::Exists => assert!(c.holds(Some(&Value::Null)) && !c.holds(None)),
            Condition::Missing => assert!(!c.holds(Some(&Value::Null)) && c.holds(None)),
            Condition::Prefix(p) => assert!(c.holds(Some(&Value::from(p.as_str())))),
            Condition::Range { lower, upper } => {
                for b in [lower, upper].into_iter().flatten() {
                    let n = match b.value {
                        LookupNumber::Integer(i) => Value::from(i),
                        LookupNumber::Float(f) => Value::from(f),
                    };
                    if lower.is_none() || upper.is_none() {
                        assert_eq!(c.holds(Some(&n)), b.inclusive, "{b:?}");
                    } else if !b.inclusive {
                        assert!(!c.holds(Some(&n)), "{b:?}");
                    }
                }
                assert!(!c.holds(Some(&Value::from("1"))));
            }
        }
    }
    let query = ListQuery::new(ResourceKind::User, Filter::Metadata(clauses), 10);
    let valid = query.validate();
    assert!(valid.is_ok(), "{valid:?}");
}

/// Reads the input up to its first zero byte as a schema document (R13.1) and the rest as a
/// tier: never a panic or a hang; a document is accepted or refused with a typed error, and a
/// tier that does not match names a pointer that exists in it.
pub fn schema_document(data: &[u8]) {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (document, tier) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let Ok(document) = serde_json::from_slice::<Value>(document) else {
        return;
    };
    let schemas = match Schemas::from_document(&document) {
        Ok(schemas) => schemas,
        Err(e) => {
            assert!(
                matches!(
                    e,
                    Error::InvalidQuery { .. }
                        | Error::SchemaInvalid { .. }
                        | Error::UnsupportedTier { .. }
                ),
                "{e:?}"
            );
            return;
        }
    };
    let Ok(metadata) = Metadata::from_slice(tier) else {
        return;
    };
    let value = metadata.to_value();
    for kind in ResourceKind::ALL {
        for t in Tier::ALL {
            match schemas.check(kind, t, &metadata) {
                Ok(()) => {}
                Err(Error::SchemaMismatch { pointer, tier, .. }) => {
                    assert_eq!(tier, t);
                    assert!(value.pointer(&pointer).is_some(), "{pointer:?} in {value}");
                }
                Err(other) => panic!("{other:?}"),
            }
        }
    }
}

/// Seeds built from [`crate::edges`], as `(target, file name, bytes)`: every fixed edge tier for
/// `parse_metadata`, pairs of them for `merge_patch`, a user holding them for
/// `wire_roundtrip`, and for `operations` a sequence that writes every edge object of the model
/// and looks each edge lookup up. `fuzz/corpus/` holds them all (a test checks it).
pub fn edge_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let tiers: Vec<String> = crate::edges::fixed_tiers()
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
    let mut seeds = Vec::new();
    for (i, tier) in tiers.iter().enumerate() {
        seeds.push((
            "parse_metadata",
            format!("edge-{i:02}"),
            tier.clone().into_bytes(),
        ));
        let patch = &tiers[(i + 1) % tiers.len()];
        let mut pair = tier.clone().into_bytes();
        pair.push(0);
        pair.extend_from_slice(patch.as_bytes());
        seeds.push(("merge_patch", format!("edge-{i:02}"), pair));
        let user = format!(
            r#"{{"id":"u{i}","object":"user","public_metadata":{tier},"private_metadata":{patch},"unsafe_metadata":{{}},"created_at":1,"updated_at":2,"version":3}}"#
        );
        seeds.push(("wire_roundtrip", format!("edge-{i:02}"), user.into_bytes()));
    }
    seeds.push(("operations", "edge-values".into(), edge_operations()));
    seeds
}

/// Bytes that [`crate::model::decode_ops`] reads as: create user 0; replace its tiers with each
/// edge object of the model in turn (tier by tier); and find users by every edge lookup in
/// every tier.
fn edge_operations() -> Vec<u8> {
    // Create(User 0, no change): tag 0, target 0 0 0, email 0, change of 0 ops, no version.
    let mut bytes = vec![0, 0, 0, 0, 0, 0, 1];
    for object in 5..12u8 {
        for tier in 0..3u8 {
            // Update(User 0): tag 1, target 0 0 0, one op (tier, replace, object), no version.
            bytes.extend([1, 0, 0, 0, 1, tier, 0, object, 1]);
        }
        for find in 0..8u8 {
            for tier in 0..3u8 {
                // Find(users, tier, find): tag 8, users, tier, lookup.
                bytes.extend([8, 0, tier, find]);
            }
        }
    }
    bytes
}
