//! `metadata`: serve a metadata store over HTTP, read and find records, follow the change
//! feed, and maintain the store (indexes, backups, statistics) from a shell.
//!
//! ```sh
//! METADATA_SECRET_KEYS=sk_live_... metadata --sqlite metadata.db serve --listen 0.0.0.0:3000
//! metadata --sqlite metadata.db get user user_1
//! metadata --sqlite metadata.db find user --tier public --path role --value admin
//! metadata --sqlite metadata.db feed tail --follow
//! metadata --sqlite metadata.db backup /backups/metadata-2026-12-06.db
//! metadata --postgres postgres://app@db/metadata stats
//! metadata --sqlite metadata.db import json users.json --checkpoint users.checkpoint
//! CLERK_SECRET_KEY=sk_live_... metadata --sqlite metadata.db import api https://api.clerk.com
//! metadata --sqlite metadata.db export --format csv --out users.csv
//! ```
//!
//! Every failure is one line on standard error and a non-zero exit: 2 for arguments that do
//! not parse, 1 for the rest.

mod args;
mod bulk;
mod commands;
mod conditions;
mod open;
mod schemas;
mod serve;
mod transfer;
mod webhooks;

use args::{Cli, Command};
use clap::Parser;
use open::Tuning;
use std::process::ExitCode;

/// A failure, printed as one line.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Serve(_) => tracing::Level::INFO,
        _ => tracing::Level::ERROR,
    };
    tracing_subscriber::fmt()
        .with_max_level(cli.log.unwrap_or(default_level))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("metadata: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("metadata: {}", one_line(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line.
pub(crate) fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line.replace('\n', " ")
}

async fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::Restore { from } = &cli.command {
        let Some(to) = &cli.store.sqlite else {
            return Err("restore writes a SQLite file: name it with --sqlite PATH".into());
        };
        metadata_store_sqlite::SqliteStore::restore(from, to)?;
        return commands::Out::new().line(&format!(
            "restored {} to {}",
            from.display(),
            to.display()
        ));
    }
    let tuning = match &cli.command {
        Command::Serve(serve) => Tuning {
            create: true,
            durable: serve.durable,
            no_feed: serve.no_feed,
            retention: serve.feed_retention,
            page_cache_mib: serve.page_cache_mib.map(usize::from),
        },
        Command::Import(_) => Tuning {
            create: true,
            ..Tuning::default()
        },
        _ => Tuning::default(),
    };
    let schemas = open::schemas(cli.schemas.as_deref())?;
    let mut opened = open::open(&cli.store, tuning).await?;
    opened.service = opened.service.clone().with_schemas(schemas);
    let service = &opened.service;
    match &cli.command {
        Command::Serve(args) => serve::serve(service.clone(), args).await,
        Command::Get { kind, ids } => commands::get(service, *kind, ids).await,
        Command::Find {
            kind,
            tier,
            path,
            value,
            conditions,
            limit,
            after,
        } => {
            let lookup = match (tier, path, value) {
                (Some(tier), Some(path), Some(value)) => {
                    commands::Lookup::Equals(*tier, path, value)
                }
                _ => commands::Lookup::Conditions(conditions),
            };
            commands::find(service, *kind, lookup, *limit, after.clone()).await
        }
        Command::Feed { command } => commands::feed(service, command).await,
        Command::DeclareIndex { kind, tier, path } => {
            commands::declare_index(&opened, *kind, *tier, path).await
        }
        Command::Backup { to } => commands::backup(&opened, to).await,
        Command::Stats => commands::stats(&opened).await,
        Command::CheckSchemas => schemas::check_schemas(service).await,
        Command::Bulk(args) => bulk::bulk(service, args).await,
        Command::Webhooks(args) => webhooks::deliver(service.clone(), args).await,
        Command::Import(args) => transfer::import(service, args).await,
        Command::Export { format, out } => transfer::export(service, *format, out.as_deref()).await,
        Command::Restore { .. } => unreachable!("handled above"),
    }
}
