//! `bulk`: one change to every record the conditions select (R14.1).

use crate::args::BulkArgs;
use crate::commands::Out;
use crate::Failure;
use metadata_core::{BulkChange, Change, MetadataPath, Tier};
use metadata_store::{BulkOptions, MetadataService};
use std::io::IsTerminal;

/// Runs the bulk change `args` describe; prints one line per refused record (id, code), then
/// the counts as one JSON line.
pub async fn bulk(service: &MetadataService, args: &BulkArgs) -> Result<(), Failure> {
    let filter = crate::conditions::filter_of(&args.conditions)?;
    let tier = Tier::from(args.tier);
    let json = |text: &str| -> Result<serde_json::Value, Failure> {
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}").into())
    };
    let change = match (&args.merge, &args.replace) {
        (Some(patch), _) => Change::new().merge_json(tier, json(patch)?)?,
        (_, Some(value)) => Change::new().replace_json(tier, json(value)?)?,
        _ if !args.remove.is_empty() => Change::new().remove(
            tier,
            args.remove
                .iter()
                .map(|p| MetadataPath::parse(p))
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err("say what to do: --merge JSON, --replace JSON or --remove PATH".into()),
    };
    let bulk = BulkChange::new(args.kind.into(), filter, change)?;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let id = args
        .operation_id
        .clone()
        .unwrap_or_else(|| format!("bulk_{started}"));
    let mut options = BulkOptions::new(id)
        .dry_run(args.dry_run)
        .page_size(args.page_size)
        .concurrency(args.concurrency);
    if let Some(path) = &args.checkpoint {
        options = options.checkpoint(path);
    }
    let terminal = std::io::stderr().is_terminal();
    let report = service
        .backend()
        .bulk_change(&bulk, &options, |p| {
            if terminal {
                eprint!(
                    "\rread {} changed {} unchanged {} refused {} ",
                    p.examined, p.changed, p.unchanged, p.refused
                );
            }
        })
        .await?;
    if terminal {
        eprintln!();
    }
    let mut out = Out::new();
    for refusal in &report.refusals {
        out.line(&format!("refused\t{}\t{}", refusal.id, refusal.code))?;
    }
    let p = &report.progress;
    out.line(
        &serde_json::json!({
            "operation_id": p.operation_id,
            "dry_run": report.dry_run,
            "examined": p.examined,
            "changed": p.changed,
            "unchanged": p.unchanged,
            "gone": p.gone,
            "refused": p.refused,
        })
        .to_string(),
    )
}
