//! The subcommands that read and maintain a store.

use crate::args::{FeedCommand, Kind, TierArg};
use crate::open::{Opened, Store};
use crate::Failure;
use metadata_core::{
    Cursor, Filter, Invitation, LookupValue, Membership, MetadataPath, Organization, Page, Record,
    RecordKey, Resource, ResourceKind, SignUp, Tier, User,
};
use metadata_store::feed::FeedError;
use metadata_store::{MetadataService, PageRequest};
use serde_json::json;
use std::io::Write;

/// Writes lines to standard output; a closed pipe (`metadata ... | head`) ends the command
/// quietly.
pub struct Out(std::io::StdoutLock<'static>);

impl Out {
    pub fn new() -> Self {
        Out(std::io::stdout().lock())
    }

    pub fn line(&mut self, text: &str) -> Result<(), Failure> {
        match writeln!(self.0, "{text}").and_then(|()| self.0.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
            other => Ok(other?),
        }
    }
}

/// `get`: one record as JSON.
pub async fn get(service: &MetadataService, kind: Kind, ids: &[String]) -> Result<(), Failure> {
    let kind = ResourceKind::from(kind);
    let key = match (kind, ids) {
        (ResourceKind::Membership, [organization, user]) => RecordKey::Membership {
            organization_id: organization.parse()?,
            user_id: user.parse()?,
        },
        (ResourceKind::Membership, _) => {
            return Err("a membership is named by its organization's id and its user's id".into())
        }
        (ResourceKind::User, [id]) => RecordKey::User(id.parse()?),
        (ResourceKind::SignUp, [id]) => RecordKey::SignUp(id.parse()?),
        (ResourceKind::Organization, [id]) => RecordKey::Organization(id.parse()?),
        (ResourceKind::Invitation, [id]) => RecordKey::Invitation(id.parse()?),
        _ => return Err(format!("a {kind} is named by one id").into()),
    };
    match service.backend().get_record(&key).await? {
        Some(record) => Out::new().line(&record.to_json()),
        None => Err(format!("{kind} {} not found", key.storage_key()).into()),
    }
}

/// One page of the records of `kind` that `filter` selects.
async fn page_of(
    service: &MetadataService,
    kind: ResourceKind,
    filter: Filter,
    page: PageRequest,
) -> Result<Page<Record>, Failure> {
    async fn typed<R: Resource>(
        service: &MetadataService,
        filter: Filter,
        page: PageRequest,
    ) -> Result<Page<Record>, Failure> {
        Ok(service
            .backend()
            .list::<R>(filter, page)
            .await?
            .map(R::into_record))
    }
    match kind {
        ResourceKind::User => typed::<User>(service, filter, page).await,
        ResourceKind::SignUp => typed::<SignUp>(service, filter, page).await,
        ResourceKind::Organization => typed::<Organization>(service, filter, page).await,
        ResourceKind::Membership => typed::<Membership>(service, filter, page).await,
        ResourceKind::Invitation => typed::<Invitation>(service, filter, page).await,
    }
}

/// What `find` looks for: a value at a path of a tier, or conditions.
pub enum Lookup<'a> {
    /// `--tier`, `--path`, `--value`.
    Equals(TierArg, &'a str, &'a str),
    /// `--where`, one or more.
    Conditions(&'a [String]),
}

/// `find`: the records the lookup selects, one JSON line each.
pub async fn find(
    service: &MetadataService,
    kind: Kind,
    lookup: Lookup<'_>,
    limit: usize,
    after: Option<String>,
) -> Result<(), Failure> {
    let filter = match lookup {
        Lookup::Equals(tier, path, value) => Filter::MetadataEquals {
            tier: Tier::from(tier),
            path: MetadataPath::parse(path)?,
            value: LookupValue::from_text(value),
        },
        Lookup::Conditions(conditions) => crate::conditions::filter_of(conditions)?,
    };
    let page = PageRequest::first(limit).after_cursor(after.map(Cursor::new));
    let found = page_of(service, kind.into(), filter, page).await?;
    let mut out = Out::new();
    for record in &found.items {
        out.line(&record.to_json())?;
    }
    if let Some(next) = found.next {
        eprintln!("more: --after {}", next.as_str());
    }
    Ok(())
}

/// `feed tail` and `feed prune`.
pub async fn feed(service: &MetadataService, command: &FeedCommand) -> Result<(), Failure> {
    match *command {
        FeedCommand::Tail {
            after,
            follow,
            public,
        } => tail(service, after, follow, public).await,
        FeedCommand::Prune { older_than } => {
            let pruned = service.feed().prune(older_than, 10_000).await?;
            Out::new().line(&json!({ "pruned": pruned }).to_string())
        }
    }
}

async fn tail(
    service: &MetadataService,
    mut after: u64,
    follow: bool,
    public: bool,
) -> Result<(), Failure> {
    let mut out = Out::new();
    loop {
        let read = if public {
            service.feed().read_public(after, 1_000).await.map(|batch| {
                let lines = batch
                    .events
                    .iter()
                    .map(|e| serde_json::to_string(e).unwrap_or_default())
                    .collect::<Vec<_>>();
                (lines, batch.through)
            })
        } else {
            service.feed().read(after, 1_000).await.map(|events| {
                let through = events.last().map_or(after, |e| e.position);
                let lines = events
                    .iter()
                    .map(|e| serde_json::to_string(e).unwrap_or_default())
                    .collect::<Vec<_>>();
                (lines, through)
            })
        };
        let (lines, through) = match read {
            Ok(read) => read,
            Err(FeedError::CursorExpired { pruned_through, .. }) => {
                return Err(format!(
                    "the events after {after} were pruned (through {pruned_through}); \
                     start with --after {pruned_through}"
                )
                .into())
            }
            Err(e) => return Err(e.into()),
        };
        for line in &lines {
            out.line(line)?;
        }
        let caught_up = through == after;
        after = through;
        if caught_up {
            if !follow {
                return Ok(());
            }
            // Another process may be the one writing: poll.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

/// `declare-index`.
pub async fn declare_index(
    opened: &Opened,
    kind: Kind,
    tier: TierArg,
    path: &str,
) -> Result<(), Failure> {
    let (kind, tier) = (ResourceKind::from(kind), Tier::from(tier));
    match &opened.store {
        Store::Sqlite(store, _) => store.declare_index(kind, tier, path).await?,
        Store::Postgres(store) => store.declare_index(kind, tier, path).await?,
    }
    Out::new().line(&json!({ "declared": { "kind": kind.object_name(), "tier": tier.field_name(), "path": path } }).to_string())
}

/// `backup`.
pub async fn backup(opened: &Opened, to: &std::path::Path) -> Result<(), Failure> {
    let Store::Sqlite(store, _) = &opened.store else {
        return Err("backup is for SQLite files; back PostgreSQL up with its own tools".into());
    };
    let copy = store.backup(to).await?;
    Out::new().line(&json!({ "path": copy.path, "bytes": copy.bytes }).to_string())
}

/// `stats`: records per kind, the file's size, and where the feed stands.
pub async fn stats(opened: &Opened) -> Result<(), Failure> {
    let service = &opened.service;
    let mut records = serde_json::Map::new();
    for kind in ResourceKind::ALL {
        let mut count = 0u64;
        let mut page = PageRequest::first(1_000);
        loop {
            let found = page_of(service, kind, Filter::All, page).await?;
            count += found.items.len() as u64;
            match found.next {
                Some(next) => page = PageRequest::after(next, 1_000),
                None => break,
            }
        }
        records.insert(kind.object_name().into(), count.into());
    }
    let file_bytes = match &opened.store {
        Store::Sqlite(_, path) => {
            let size = |p: std::path::PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            json!({ "database": size(path.clone()), "wal": size(wal.into()) })
        }
        Store::Postgres(_) => serde_json::Value::Null,
    };
    let feed = match service.feed().stats().await {
        Ok(stats) => json!({
            "head": stats.head,
            "pruned_through": stats.pruned_through,
            "events": stats.events(),
            "cursors": stats.lag().zip(&stats.cursors).map(|((name, lag), (_, position))| {
                json!({ "name": name, "position": position, "lag": lag })
            }).collect::<Vec<_>>(),
        }),
        Err(FeedError::Disabled) => serde_json::Value::Null,
        Err(e) => return Err(e.into()),
    };
    Out::new().line(&serde_json::to_string_pretty(&json!({
        "records": records,
        "file_bytes": file_bytes,
        "feed": feed,
    }))?)
}
