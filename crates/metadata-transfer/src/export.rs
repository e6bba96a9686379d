//! Every user out, in the layouts the importer reads: the JSON user export (an array, or one
//! object per line) or CSV, a page at a time, each tier exactly as stored.

use metadata_core::{Error, Filter, Metadata, User};
use metadata_store::{MetadataService, PageRequest};
use std::io::Write;

/// The layout of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON array of objects in the reference product's export layout (`userId`,
    /// `publicMetadata`, `privateMetadata`, `unsafeMetadata`, `createdAt`, `updatedAt`).
    Json,
    /// The same objects, one per line.
    JsonLines,
    /// CSV: `id,public_metadata,private_metadata,unsafe_metadata,created_at,updated_at`, the
    /// tiers as JSON text.
    Csv,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the users failed.
    #[error("reading the users failed: {0}")]
    Read(#[from] Error),
    /// Writing the export failed.
    #[error("writing the export failed: {0}")]
    Write(#[from] std::io::Error),
}

/// The users one page reads.
const PAGE: usize = 1000;

/// Writes every user to `out` in `format`, in id order, one page of users in memory at a
/// time; calls `progress` with the count after each page. Answers how many were written.
pub async fn export_users(
    service: &MetadataService,
    format: Format,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ExportError> {
    let b = service.backend();
    let mut page = PageRequest::first(PAGE);
    let mut written = 0u64;
    let mut line = Vec::with_capacity(4096);
    match format {
        Format::Json => out.write_all(b"[")?,
        Format::Csv => out.write_all(
            b"id,public_metadata,private_metadata,unsafe_metadata,created_at,updated_at\n",
        )?,
        Format::JsonLines => {}
    }
    loop {
        let got = b.list::<User>(Filter::All, page.clone()).await?;
        for user in &got.items {
            line.clear();
            match format {
                Format::Csv => {
                    for (i, field) in [
                        user.id.as_str(),
                        user.public_metadata.json(),
                        user.private_metadata.json(),
                        user.unsafe_metadata.json(),
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        if i > 0 {
                            line.push(b',');
                        }
                        csv_field(&mut line, field);
                    }
                    line.extend_from_slice(
                        format!(",{},{}\n", user.created_at, user.updated_at).as_bytes(),
                    );
                    out.write_all(&line)?;
                }
                Format::Json | Format::JsonLines => {
                    if format == Format::Json && written > 0 {
                        out.write_all(b",\n")?;
                    }
                    object(&mut line, user);
                    if format == Format::JsonLines {
                        line.push(b'\n');
                    }
                    out.write_all(&line)?;
                }
            }
            written += 1;
        }
        progress(written);
        match got.next {
            Some(next) => page = PageRequest::after(next, PAGE),
            None => break,
        }
    }
    if format == Format::Json {
        out.write_all(b"]\n")?;
    }
    out.flush()?;
    Ok(written)
}

/// One CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line break.
fn csv_field(out: &mut Vec<u8>, field: &str) {
    if !field.contains([',', '"', '\n', '\r']) {
        out.extend_from_slice(field.as_bytes());
        return;
    }
    out.push(b'"');
    out.extend_from_slice(field.replace('"', "\"\"").as_bytes());
    out.push(b'"');
}

/// One user in the JSON export's layout, its tiers as stored.
fn object(out: &mut Vec<u8>, user: &User) {
    let tier = |m: &Metadata| m.json().to_owned();
    out.extend_from_slice(b"{\"userId\":");
    out.extend_from_slice(
        serde_json::Value::from(user.id.as_str())
            .to_string()
            .as_bytes(),
    );
    for (name, text) in [
        ("publicMetadata", tier(&user.public_metadata)),
        ("privateMetadata", tier(&user.private_metadata)),
        ("unsafeMetadata", tier(&user.unsafe_metadata)),
    ] {
        out.extend_from_slice(format!(",\"{name}\":").as_bytes());
        out.extend_from_slice(text.as_bytes());
    }
    out.extend_from_slice(
        format!(
            ",\"createdAt\":{},\"updatedAt\":{}}}",
            user.created_at, user.updated_at
        )
        .as_bytes(),
    );
}
