//! `POST /v1/bulk_changes`: one change to every record a query selects (R14.1), an endpoint of
//! this project's own.
//!
//! ```text
//! POST /v1/bulk_changes
//! {"object": "user",
//!  "where": {"public_metadata.plan": "free", "public_metadata.age[gte]": 30},
//!  "mode": "merge",                      // or "replace", or "remove"
//!  "public_metadata": {"plan": "pro"},   // for "remove": a list of paths, ["a", "b.c"]
//!  "dry_run": false,
//!  "operation_id": "plan_migration_1"}   // optional; names the run in the events
//! ```
//!
//! The answer counts what was read, changed, left as it was, gone meanwhile and refused, and
//! lists the first refusals. Sending the same request again changes nothing already changed,
//! so a request cut short is finished by sending it again.

use super::*;
use crate::paging::lookup_filter;
use crate::request::JsonBytes;
use metadata_core::{BulkChange, Change, MetadataPath, ResourceKind, Tier};
use metadata_store::BulkOptions;

/// The body's fields this route reads.
const FIELDS: [&str; 9] = [
    "object",
    "where",
    "mode",
    "dry_run",
    "operation_id",
    "public_metadata",
    "private_metadata",
    "unsafe_metadata",
    "page_size",
];

pub(super) async fn bulk_change(
    // The run's events name the library's bulk change (R14.2), not the caller's key.
    BackendKey(_): BackendKey,
    State(s): State<Shared>,
    JsonBytes(body): JsonBytes,
) -> Result<Response> {
    let body: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(
            codes::VALUE_INVALID,
            "body",
            format!("the body is not JSON: {e}"),
        )
    })?;
    let Value::Object(body) = body else {
        return Err(ApiError::invalid(
            codes::VALUE_INVALID,
            "body",
            "the body is a JSON object",
        ));
    };
    if let Some(unknown) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            codes::VALUE_INVALID,
            unknown,
            "not a field of a bulk change",
        ));
    }
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    let kind = text("object")
        .and_then(ResourceKind::from_object_name)
        .ok_or_else(|| {
            ApiError::invalid(
                codes::VALUE_INVALID,
                "object",
                "object names a kind: user, organization, organization_membership, ...",
            )
        })?;
    let filter = match body.get("where") {
        None => Filter::All,
        Some(Value::Object(conditions)) => {
            let pairs: Vec<(String, String)> = conditions
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect();
            lookup_filter(&pairs)?.unwrap_or(Filter::All)
        }
        Some(_) => {
            return Err(ApiError::invalid(
                codes::VALUE_INVALID,
                "where",
                "where is an object of conditions, as a lookup's query names them",
            ))
        }
    };
    let mode = text("mode").unwrap_or("merge");
    let mut change = Change::new();
    for tier in Tier::ALL {
        let Some(value) = body.get(tier.field_name()) else {
            continue;
        };
        change = match mode {
            "merge" => change.merge_json(tier, value.clone())?,
            "replace" => change.replace_json(tier, value.clone())?,
            "remove" => change.remove(tier, paths(tier, value)?),
            _ => {
                return Err(ApiError::invalid(
                    codes::VALUE_INVALID,
                    "mode",
                    "mode is merge, replace or remove",
                ))
            }
        };
    }
    let bulk = BulkChange::new(kind, filter, change)?;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut options = BulkOptions::new(
        text("operation_id")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("bulk_{started}")),
    )
    .dry_run(
        body.get("dry_run")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    );
    if let Some(n) = body.get("page_size").and_then(Value::as_u64) {
        options = options.page_size(n as usize);
    }
    let report = s
        .service
        .backend()
        .bulk_change(&bulk, &options, |_| {})
        .await?;
    let p = &report.progress;
    Ok(response::json(
        StatusCode::OK,
        json!({
            "object": "bulk_change",
            "operation_id": p.operation_id,
            "dry_run": report.dry_run,
            "complete": p.complete,
            "examined": p.examined,
            "changed": p.changed,
            "unchanged": p.unchanged,
            "gone": p.gone,
            "refused": p.refused,
            "refusals": report.refusals,
        }),
    ))
}

/// The paths a removal names for `tier`: a list of dotted paths.
fn paths(tier: Tier, value: &Value) -> Result<Vec<MetadataPath>> {
    let refuse = || {
        ApiError::invalid(
            codes::VALUE_INVALID,
            tier.field_name(),
            "a removal names a list of dotted paths, such as [\"plan\", \"billing.card\"]",
        )
    };
    let Value::Array(items) = value else {
        return Err(refuse());
    };
    items
        .iter()
        .map(|p| {
            p.as_str().ok_or_else(refuse).and_then(|p| {
                MetadataPath::parse(p).map_err(|e| ApiError::from(e).param(tier.field_name()))
            })
        })
        .collect()
}
