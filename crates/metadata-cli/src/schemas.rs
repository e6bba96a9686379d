//! `check-schemas`: the records that do not match the declared schemas (R13.1).

use crate::commands::Out;
use crate::Failure;
use metadata_core::Error;
use metadata_store::MetadataService;
use std::io::IsTerminal;

/// Prints one line per record that does not match (kind, id, tier, pointer, what the schema
/// asks: never the value), a count on a terminal as it reads, and fails when there is one.
pub async fn check_schemas(service: &MetadataService) -> Result<(), Failure> {
    if service.schemas().is_empty() {
        return Err("name the schemas to check with --schemas PATH".into());
    }
    let progress = std::io::stderr().is_terminal();
    let found = service
        .backend()
        .schema_mismatches_with(|read| {
            if progress {
                eprint!("\rchecked {read} records ");
            }
        })
        .await?;
    if progress {
        eprintln!();
    }
    let mut out = Out::new();
    for (key, error) in &found {
        let line = match error {
            Error::SchemaMismatch {
                tier,
                pointer,
                reason,
                ..
            } => format!(
                "{}\t{}\t{tier}\t{pointer}\t{reason}",
                key.kind().object_name(),
                key.storage_key()
            ),
            other => format!(
                "{}\t{}\t{other}",
                key.kind().object_name(),
                key.storage_key()
            ),
        };
        out.line(&line)?;
    }
    match found.len() {
        0 => Ok(()),
        n => Err(format!("{n} records do not match their schemas").into()),
    }
}
