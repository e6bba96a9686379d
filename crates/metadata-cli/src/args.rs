//! The command line, as clap reads it.

use clap::{Args, Parser, Subcommand, ValueEnum};
use metadata_core::{ResourceKind, Tier};
use metadata_store::feed::Retention;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Serve, inspect and maintain a metadata store.
#[derive(Debug, Parser)]
#[command(name = "metadata", version, about)]
pub struct Cli {
    /// Which store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Log level on standard error: error, warn, info, debug or trace (by default info for
    /// serve, error for the rest, whose failures are printed anyway).
    #[arg(long, global = true, env = "METADATA_LOG")]
    pub log: Option<tracing::Level>,
    /// A JSON file of metadata schemas that every write must match: kinds as the wire names
    /// them, each an object from tier fields to JSON Schemas (draft 2020-12), such as
    /// {"user": {"public_metadata": {"type": "object"}}}.
    #[arg(long, global = true, env = "METADATA_SCHEMAS", value_name = "PATH")]
    pub schemas: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The store to open: a SQLite file or a PostgreSQL server.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct StoreArgs {
    /// A SQLite database file (`serve` and `restore` create it; the others need it to exist).
    #[arg(long, global = true, env = "METADATA_SQLITE", value_name = "PATH")]
    pub sqlite: Option<PathBuf>,
    /// A PostgreSQL URL, such as postgres://user@host:5432/database.
    #[arg(long, global = true, env = "METADATA_POSTGRES_URL", value_name = "URL")]
    pub postgres: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP endpoints, with /healthz, /readyz and /metrics, until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Print one record as JSON.
    Get {
        /// The record's kind.
        kind: Kind,
        /// Its id (a membership: the organization's id, then the user's).
        #[arg(num_args = 1..=2, required = true)]
        ids: Vec<String>,
    },
    /// Print the records whose metadata holds a value (--tier, --path, --value) or meets
    /// conditions (--where), one JSON line each.
    Find {
        /// The records' kind.
        kind: Kind,
        /// The tier to look in.
        #[arg(long, requires_all = ["path", "value"], conflicts_with = "conditions")]
        tier: Option<TierArg>,
        /// The dotted path inside the tier, such as `billing.plan`.
        #[arg(long, requires = "tier")]
        path: Option<String>,
        /// The value: a JSON integer, true/false or a quoted JSON string is that value;
        /// anything else is the text itself.
        #[arg(long, requires = "tier")]
        value: Option<String>,
        /// A condition, as a lookup's query names it, such as `public_metadata.age[gte]=30`;
        /// several combine with AND.
        #[arg(
            long = "where",
            value_name = "CONDITION",
            required_unless_present = "tier"
        )]
        conditions: Vec<String>,
        /// The most records to print.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Start after this cursor (printed on standard error after a full page).
        #[arg(long)]
        after: Option<String>,
    },
    /// The change feed.
    Feed {
        /// What to do with it.
        #[command(subcommand)]
        command: FeedCommand,
    },
    /// Apply one change to every record the conditions select, a page at a time, each record
    /// by compare-and-set; one that the change leaves as it was is not written, so running the
    /// same command again (after a crash, with or without --checkpoint) finishes the job.
    Bulk(BulkArgs),
    /// Print every record that does not match the --schemas file, one line each (kind, id,
    /// tier, JSON pointer, what the schema asks); fails when there is one.
    CheckSchemas,
    /// Declare an index on a metadata path, so finding by it reads the index.
    DeclareIndex {
        /// The records' kind.
        kind: Kind,
        /// The tier.
        tier: TierArg,
        /// The dotted path inside the tier.
        path: String,
    },
    /// Write a consistent copy of the SQLite database to a new file, while writers go on.
    Backup {
        /// The copy to write; it must not exist.
        to: PathBuf,
    },
    /// Check a backup and put it in place as the --sqlite file, which must not exist.
    Restore {
        /// The backup to restore.
        from: PathBuf,
    },
    /// Print records per kind, the file's size, and the feed's head, prune mark and cursors.
    Stats,
    /// Deliver the change feed to one endpoint as signed webhooks, until SIGTERM or Ctrl-C.
    Webhooks(WebhookArgs),
    /// Import users (and from the API organizations, memberships and pending invitations)
    /// from the reference product: an export file or its Backend API. Creates the SQLite file
    /// if it is missing. One line per refused record on standard error (or --report).
    Import(ImportArgs),
    /// Export every user in the layout `import` reads, to standard output or --out.
    Export {
        /// json (one array), jsonl (one object per line) or csv.
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
        /// The file to write (it must not exist); standard output without it.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
}

/// `bulk`: which records, and what to do to them.
#[derive(Debug, Args)]
pub struct BulkArgs {
    /// The records' kind.
    pub kind: Kind,
    /// A condition, as a lookup's query names it, such as `public_metadata.plan=free` or
    /// `public_metadata.age[gte]=30`; several combine with AND; none selects every record.
    #[arg(long = "where", value_name = "CONDITION")]
    pub conditions: Vec<String>,
    /// The tier to change.
    #[arg(long)]
    pub tier: TierArg,
    /// Merge this JSON Merge Patch into the tier.
    #[arg(long, value_name = "JSON", group = "what")]
    pub merge: Option<String>,
    /// Replace the tier with this JSON object.
    #[arg(long, value_name = "JSON", group = "what")]
    pub replace: Option<String>,
    /// Remove the value at this dotted path (repeatable).
    #[arg(long, value_name = "PATH", group = "what")]
    pub remove: Vec<String>,
    /// Count what would change, and what would be refused, without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// The run's id, named by its events (by default `bulk_` and the start time in ms).
    #[arg(long)]
    pub operation_id: Option<String>,
    /// A checkpoint file: resume after the pages it counts, and keep it up to date.
    #[arg(long, value_name = "PATH")]
    pub checkpoint: Option<PathBuf>,
    /// Records read per page.
    #[arg(long, default_value_t = 500)]
    pub page_size: usize,
    /// Records written at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// Where `import` reads.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The source.
    #[command(subcommand)]
    pub from: ImportFrom,
    /// A record already stored with other tiers: skip it, overwrite its tiers, or merge the
    /// source's into them.
    #[arg(long, value_enum, default_value = "skip", global = true)]
    pub policy: PolicyArg,
    /// A checkpoint file: resume after the records it counts, and keep it up to date.
    #[arg(long, value_name = "PATH", global = true)]
    pub checkpoint: Option<PathBuf>,
    /// Write the report of refused records here instead of standard error.
    #[arg(long, value_name = "PATH", global = true)]
    pub report: Option<PathBuf>,
    /// About how many records are written at once (in batches of up to 256, at least two
    /// batches in flight).
    #[arg(long, default_value_t = 512, global = true)]
    pub concurrency: usize,
}

/// The sources `import` reads.
#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// The JSON user export (an array, or one object per line).
    Json {
        /// The file.
        file: PathBuf,
    },
    /// The CSV user export (JSON text in its metadata columns).
    Csv {
        /// The file.
        file: PathBuf,
    },
    /// The Backend API at a base URL (such as `https://api.clerk.com`), with the secret key in
    /// the environment variable --secret-key-env names.
    Api {
        /// The base URL.
        url: String,
        /// The environment variable that holds the secret key.
        #[arg(long, default_value = "CLERK_SECRET_KEY")]
        secret_key_env: String,
    },
}

/// `import --policy`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PolicyArg {
    /// Leave it.
    Skip,
    /// Replace its tiers.
    Overwrite,
    /// Merge into its tiers.
    Merge,
}

/// `export --format`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExportFormat {
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// CSV.
    Csv,
}

/// The feed's subcommands.
#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Print events as JSON lines.
    Tail {
        /// Start after this position.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// Keep following new events.
        #[arg(long)]
        follow: bool,
        /// Without private tiers, and without events that changed only them.
        #[arg(long)]
        public: bool,
    },
    /// Delete events older than an age (such as 7d, 12h, 30m, 10s), never past a cursor.
    Prune {
        /// The age.
        #[arg(long, value_parser = parse_age)]
        older_than: std::time::Duration,
    },
}

/// `serve`'s options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// A file of secret keys, one per line, for the backend routes. Without it the keys come
    /// from METADATA_SECRET_KEYS (comma-separated). Keys are never printed.
    #[arg(long, value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,
    /// For development only: trust this request header to name the signed-in user of the
    /// frontend routes. Without it the frontend routes answer 401.
    #[arg(long, value_name = "HEADER", conflicts_with = "session_jwks_url")]
    pub dev_user_header: Option<String>,
    /// Verify the frontend's session tokens (the reference product's session JWTs, RS256 or
    /// ES256) against the key set at this URL, such as
    /// `https://INSTANCE/.well-known/jwks.json`. Needs --session-issuer.
    #[arg(long, value_name = "URL", requires = "session_issuer")]
    pub session_jwks_url: Option<String>,
    /// The `iss` session tokens must name.
    #[arg(long, value_name = "URL", requires = "session_jwks_url")]
    pub session_issuer: Option<String>,
    /// An origin a session token's `azp` may name; repeat for several. None: any.
    #[arg(long = "session-authorized-party", value_name = "ORIGIN")]
    pub session_authorized_parties: Vec<String>,
    /// With the SQLite store, fsync every commit group (synchronous=FULL).
    #[arg(long)]
    pub durable: bool,
    /// Keep no change feed (its cost saved; nothing can follow the writes).
    #[arg(long)]
    pub no_feed: bool,
    /// With the SQLite store, the most memory SQLite's page cache takes on each of its
    /// connections, in MiB (64 by default). The server keeps several connections (readers,
    /// point reads, the writer), so its memory levels off at about that many times this.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u16).range(1..))]
    pub page_cache_mib: Option<u16>,
    /// How long the feed keeps its events: an age such as 7d, 12h or 30m, or `forever`.
    #[arg(long, value_parser = parse_retention, default_value = "7d")]
    pub feed_retention: Retention,
}

/// `webhooks`' options.
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// The endpoint's name: its place in the feed is the cursor `webhook:<name>`.
    #[arg(long)]
    pub name: String,
    /// Where to POST the events.
    #[arg(long)]
    pub url: String,
    /// Only these event types (comma-separated, such as user.created,user.deleted).
    #[arg(long, value_delimiter = ',')]
    pub types: Vec<String>,
    /// Send webhook-id/-timestamp/-signature instead of the svix-* headers.
    #[arg(long)]
    pub standard_headers: bool,
    /// The instance id events carry and message ids start with.
    #[arg(long, default_value = "ins_metadata")]
    pub instance_id: String,
    /// How often to look for events another process wrote, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub poll_ms: u64,
}

/// A record kind on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Kind {
    /// Users.
    User,
    /// Sign-up attempts.
    SignUp,
    /// Organizations.
    Organization,
    /// Organization memberships.
    Membership,
    /// Organization invitations.
    Invitation,
}

impl From<Kind> for ResourceKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::User => ResourceKind::User,
            Kind::SignUp => ResourceKind::SignUp,
            Kind::Organization => ResourceKind::Organization,
            Kind::Membership => ResourceKind::Membership,
            Kind::Invitation => ResourceKind::Invitation,
        }
    }
}

/// A tier on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TierArg {
    /// public_metadata.
    Public,
    /// private_metadata.
    Private,
    /// unsafe_metadata.
    Unsafe,
}

impl From<TierArg> for Tier {
    fn from(tier: TierArg) -> Self {
        match tier {
            TierArg::Public => Tier::Public,
            TierArg::Private => Tier::Private,
            TierArg::Unsafe => Tier::Unsafe,
        }
    }
}

/// A retention: an age (see [`parse_age`]) or `forever`.
fn parse_retention(text: &str) -> Result<Retention, String> {
    match text {
        "forever" => Ok(Retention::Forever),
        age => parse_age(age).map(Retention::For),
    }
}

/// An age such as `7d`, `12h`, `30m`, `10s` or `0s`.
fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} needs a unit: s, m, h or d"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a number"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit is s, m, h or d")),
    };
    n.checked_mul(seconds)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_their_units_and_refuse_the_rest() {
        assert_eq!(parse_age("7d").unwrap().as_secs(), 7 * 86_400);
        assert_eq!(parse_age("0s").unwrap().as_secs(), 0);
        assert_eq!(parse_age("90m").unwrap().as_secs(), 5_400);
        for bad in ["", "7", "d", "7w", "-1s", "99999999999999999999d", "1.5h"] {
            assert!(parse_age(bad).is_err(), "{bad}");
            assert!(parse_retention(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_retention("forever").unwrap(), Retention::Forever);
        assert_eq!(
            parse_retention("2h").unwrap(),
            Retention::For(std::time::Duration::from_secs(7_200))
        );
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
