//! `import` and `export`: moving records in from the reference product and out again.

use crate::args::{ExportFormat, ImportArgs, ImportFrom, PolicyArg};
use crate::commands::Out;
use crate::Failure;
use metadata_store::MetadataService;
use metadata_transfer::api::ApiSource;
use metadata_transfer::export::{export_users, Format};
use metadata_transfer::{Importer, Policy, Source};
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Imports what `args` names, then prints one summary line.
pub async fn import(service: &MetadataService, args: &ImportArgs) -> Result<(), Failure> {
    let open = |path: &Path| {
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let source = match &args.from {
        ImportFrom::Json { file } => Source::json(open(file)?),
        ImportFrom::Csv { file } => Source::csv(open(file)?),
        ImportFrom::Api {
            url,
            secret_key_env,
        } => {
            let key = std::env::var(secret_key_env)
                .map_err(|_| format!("set the secret key in {secret_key_env}"))?;
            ApiSource::new(url, &key)?.source()
        }
    };
    let mut importer = Importer::new(service.clone())
        .policy(match args.policy {
            PolicyArg::Skip => Policy::Skip,
            PolicyArg::Overwrite => Policy::Overwrite,
            PolicyArg::Merge => Policy::Merge,
        })
        .concurrency(args.concurrency);
    if let Some(path) = &args.checkpoint {
        importer = importer.checkpoint(path);
    }
    if let Some(path) = &args.report {
        let file = std::fs::File::create(path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        importer = importer.report(std::io::BufWriter::new(file));
    }
    let s = importer.import(source).await?;
    Out::new().line(&format!(
        "read {}, created {}, unchanged {}, updated {}, skipped {}, refused {}",
        s.read, s.created, s.unchanged, s.updated, s.skipped, s.refused
    ))
}

/// Exports every user to `out` (a new file) or standard output.
pub async fn export(
    service: &MetadataService,
    format: ExportFormat,
    out: Option<&Path>,
) -> Result<(), Failure> {
    let format = match format {
        ExportFormat::Json => Format::Json,
        ExportFormat::Jsonl => Format::JsonLines,
        ExportFormat::Csv => Format::Csv,
    };
    let mut writer: Box<dyn Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create_new(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let progress = out.is_some() && std::io::stderr().is_terminal();
    let written = export_users(service, format, &mut writer, &mut |n| {
        if progress {
            eprint!("\rexported {n} users ");
        }
    })
    .await?;
    drop(writer);
    if progress {
        eprintln!();
    }
    if out.is_some() {
        Out::new().line(&format!("exported {written} users"))?;
    }
    Ok(())
}
