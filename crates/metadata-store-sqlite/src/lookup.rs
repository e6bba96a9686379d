//! The SQL of lookups (R7.2 to R7.4). Each clause is written over [`LOOKUP_JSON`]'s
//! `json_extract`, the expression a declared index holds, so that an equality, an any-of, a
//! range and a prefix read the index; `json_type` then keeps only the JSON types the core's rule
//! accepts (`json_extract` reads `true` as `1` and a string is greater than every number).
//!
//! SQLite's JSON functions compare an object key holding `\u0000` only up to the `\u0000`
//! (`{"a\u0000b": 1}` answers the path `$."a"`), so a record with such a key is looked up in
//! `lookup_body`: its text with those keys left out. No path can name such a key (R7.3), so
//! nothing a lookup can see changes; every other record has no `lookup_body` and is looked up
//! in its body.

use crate::sql::{json_path, Binds};
use metadata_core::{
    prefix_upper_bound, Bound, Clause, Condition, LookupNumber, LookupValue, MetadataPath, Tier,
};
use rusqlite::types::Value as SqlValue;

/// The JSON lookups read: `lookup_body` where a record has one, its body otherwise. Declared
/// indexes hold `json_extract` of this, spelled exactly so.
pub(crate) const LOOKUP_JSON: &str = "coalesce(lookup_body, body)";

/// The `lookup_body` of a record written as `body`: `None` unless some key holds `\u0000`,
/// else the body without those keys. The common case costs one scan of the text.
pub(crate) fn lookup_body(body: &str) -> Option<String> {
    if !body.contains("\\u0000") {
        return None;
    }
    let mut value: serde_json::Value = serde_json::from_str(body).ok()?;
    strip_nul_keys(&mut value).then(|| value.to_string())
}

/// Removes every object key holding `\u0000`, at every depth; answers whether there was one.
fn strip_nul_keys(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            let before = map.len();
            map.retain(|k, _| !k.contains('\0'));
            let mut stripped = map.len() != before;
            for v in map.values_mut() {
                // Recursion is bounded by the tiers' depth limit (at most 100 levels).
                stripped |= strip_nul_keys(v);
            }
            stripped
        }
        serde_json::Value::Array(items) => {
            items.iter_mut().fold(false, |s, v| strip_nul_keys(v) | s)
        }
        _ => false,
    }
}

/// ` AND ...` for every clause.
pub(crate) fn clauses_condition(clauses: &[Clause], binds: &mut Binds) -> String {
    clauses
        .iter()
        .map(|c| clause_condition(c.tier, &c.path, &c.condition, binds))
        .collect()
}

/// ` AND ...` for one condition on `path` of `tier`.
pub(crate) fn clause_condition(
    tier: Tier,
    path: &MetadataPath,
    condition: &Condition,
    binds: &mut Binds,
) -> String {
    let path = json_path(tier, path);
    let value = format!("json_extract({LOOKUP_JSON}, '{path}')");
    let kind = format!("json_type({LOOKUP_JSON}, '{path}')");
    match condition {
        Condition::Equals(v) => {
            let (at, types) = bind_value(v, binds);
            format!(" AND {value} = {at} AND {kind} {types}")
        }
        Condition::AnyOf(values) => {
            let mut all = Vec::with_capacity(values.len());
            let mut each = Vec::with_capacity(values.len());
            for v in values {
                let (at, types) = bind_value(v, binds);
                all.push(at.clone());
                each.push(format!("({value} = {at} AND {kind} {types})"));
            }
            format!(
                " AND {value} IN ({}) AND ({})",
                all.join(", "),
                each.join(" OR ")
            )
        }
        Condition::Exists => format!(" AND {kind} IS NOT NULL"),
        Condition::Missing => format!(" AND {kind} IS NULL"),
        Condition::Range { lower, upper } => {
            let mut out = String::new();
            let mut end = |b: &Bound, ops: (&str, &str)| {
                let at = binds.bind(match b.value {
                    LookupNumber::Integer(i) => SqlValue::Integer(i),
                    LookupNumber::Float(f) => SqlValue::Real(f),
                });
                let op = if b.inclusive { ops.0 } else { ops.1 };
                out.push_str(&format!(" AND {value} {op} {at}"));
            };
            if let Some(b) = lower {
                end(b, (">=", ">"));
            }
            match upper {
                Some(b) => end(b, ("<=", "<")),
                // Every string sorts after every number: this ends the index range there.
                None => out.push_str(&format!(" AND {value} < ''")),
            }
            out.push_str(&format!(" AND {kind} IN ('integer', 'real')"));
            out
        }
        Condition::Prefix(prefix) => {
            let from = binds.bind(SqlValue::Text(prefix.clone()));
            let mut out = format!(" AND {value} >= {from}");
            if let Some(upper) = prefix_upper_bound(prefix) {
                let to = binds.bind(SqlValue::Text(upper));
                out.push_str(&format!(" AND {value} < {to}"));
            }
            out.push_str(&format!(" AND {kind} = 'text'"));
            out
        }
    }
}

/// Binds a lookup value: its placeholder, and the `json_type` test its JSON type needs.
pub(crate) fn bind_value(value: &LookupValue, binds: &mut Binds) -> (String, &'static str) {
    let (bound, types) = match value {
        LookupValue::String(s) => (SqlValue::Text(s.clone()), "= 'text'"),
        LookupValue::Integer(i) => (SqlValue::Integer(*i), "IN ('integer', 'real')"),
        LookupValue::Bool(true) => (SqlValue::Integer(1), "= 'true'"),
        LookupValue::Bool(false) => (SqlValue::Integer(0), "= 'false'"),
    };
    (binds.bind(bound), types)
}
