//! The reference product's Backend API as a source: users, then organizations, then each
//! organization's memberships and pending invitations, a page at a time, oldest first.
//!
//! Each page is read with its records' tiers as raw text, so they are written exactly as the
//! API sent them. A `429` waits as long as its `Retry-After` says (at most a minute) and asks
//! again; a `5xx` or a lost connection is tried again a few times with a growing pause.

use crate::item::{raw_tier_texts, Item, ItemKind, Locator, Refusal, MALFORMED};
use crate::{Read1, Source};
use metadata_core::Tier;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::time::Duration;
use tokio::sync::mpsc;

/// The records one page asks for (the product's largest `limit`).
pub const PAGE_SIZE: usize = 500;
/// How many times a failed page is asked for again (429s aside).
const RETRIES: u32 = 5;
/// The most `429` answers waited out for one page.
const RATE_LIMITED_WAITS: u32 = 100;
/// The longest wait a `Retry-After` is honoured for.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// A Backend API to import from: its base URL (such as `https://api.clerk.com`) and a secret
/// key, sent as `Authorization: Bearer`.
#[derive(Clone)]
pub struct ApiSource {
    base: String,
    secret_key: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for ApiSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("ApiSource")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Listed {
    data: Vec<Box<RawValue>>,
}

#[derive(Deserialize)]
struct Shaped {
    id: String,
    #[serde(default)]
    public_metadata: Option<Box<RawValue>>,
    #[serde(default)]
    private_metadata: Option<Box<RawValue>>,
    #[serde(default)]
    unsafe_metadata: Option<Box<RawValue>>,
    #[serde(default)]
    organization: Option<Parent>,
    #[serde(default)]
    public_user_data: Option<UserData>,
    #[serde(default)]
    email_address: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct Parent {
    id: String,
}

#[derive(Deserialize)]
struct UserData {
    user_id: String,
}

impl ApiSource {
    /// The API at `base_url` (no trailing slash needed), with `secret_key`.
    pub fn new(base_url: &str, secret_key: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(ApiSource {
            base: base_url.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
            client,
        })
    }

    /// Every record, read by a task of its own.
    pub fn source(self) -> Source {
        Source::from_task(move |tx| async move { self.read_all(&tx).await })
    }

    async fn read_all(&self, tx: &mpsc::Sender<Read1>) -> Result<(), String> {
        const TOP: &str = "order_by=%2Bcreated_at";
        self.pages("/v1/users", TOP, false, tx, &mut |_| {}).await?;
        let mut organizations = Vec::new();
        self.pages("/v1/organizations", TOP, true, tx, &mut |id| {
            organizations.push(id)
        })
        .await?;
        for org in organizations {
            let memberships = format!("/v1/organizations/{org}/memberships");
            self.pages(&memberships, "", true, tx, &mut |_| {}).await?;
            let invitations = format!("/v1/organizations/{org}/invitations");
            self.pages(&invitations, "", true, tx, &mut |_| {}).await?;
        }
        Ok(())
    }

    /// Every page of `path`, each record handed on; `listed` pages are `{"data": [...]}`, the
    /// others plain arrays. `seen` is told each organization's id.
    async fn pages(
        &self,
        path: &str,
        query: &str,
        listed: bool,
        tx: &mpsc::Sender<Read1>,
        seen: &mut (dyn FnMut(String) + Send),
    ) -> Result<(), String> {
        let mut offset = 0;
        loop {
            let url = format!(
                "{}{path}?limit={PAGE_SIZE}&offset={offset}{}{query}",
                self.base,
                if query.is_empty() { "" } else { "&" }
            );
            let body = self.get(&url).await?;
            let items: Vec<Box<RawValue>> = if listed {
                serde_json::from_slice::<Listed>(&body)
                    .map_err(|e| format!("{path}: not a listing: {e}"))?
                    .data
            } else {
                serde_json::from_slice(&body).map_err(|e| format!("{path}: not a list: {e}"))?
            };
            let n = items.len();
            for (i, raw) in items.into_iter().enumerate() {
                let at = Locator::Api(format!("{path} offset {}", offset + i));
                let read = item_of(path, at, raw.get());
                if let (Some(Ok(item)), ItemKind::Organization) = (&read, read_kind(path)) {
                    seen(item.id.clone());
                }
                if let Some(read) = read {
                    if tx.send(read).await.is_err() {
                        return Ok(()); // the import stopped
                    }
                }
            }
            if n < PAGE_SIZE {
                return Ok(());
            }
            offset += n;
        }
    }

    /// One page's body: waits out `429`s, asks again after failures.
    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let (mut failures, mut waits) = (0u32, 0u32);
        loop {
            let sent = self
                .client
                .get(url)
                .bearer_auth(&self.secret_key)
                .send()
                .await;
            let pause = match sent {
                Ok(r) if r.status().is_success() => {
                    return r
                        .bytes()
                        .await
                        .map(|b| b.to_vec())
                        .map_err(|e| e.to_string())
                }
                Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                    waits += 1;
                    if waits > RATE_LIMITED_WAITS {
                        return Err(format!("{url}: still rate limited after {waits} waits"));
                    }
                    let after = r
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map_or(Duration::from_secs(1), Duration::from_secs);
                    after.min(MAX_WAIT)
                }
                Ok(r) if r.status().is_server_error() && failures < RETRIES => {
                    failures += 1;
                    Duration::from_millis(200 << failures)
                }
                Ok(r) => return Err(format!("{url} answered {}", r.status())),
                Err(e) if failures < RETRIES => {
                    tracing::debug!(error = %e, "asking the Backend API again");
                    failures += 1;
                    Duration::from_millis(200 << failures)
                }
                Err(e) => return Err(e.to_string()),
            };
            tokio::time::sleep(pause).await;
        }
    }
}

/// A tier and its raw text, if the record had it.
type RawTier<'a> = (Tier, &'a Option<Box<RawValue>>);

/// Which kind `path` lists.
fn read_kind(path: &str) -> ItemKind {
    if path.ends_with("/memberships") {
        ItemKind::Membership {
            organization: String::new(),
            user: String::new(),
        }
    } else if path.ends_with("/invitations") {
        ItemKind::Invitation {
            organization: String::new(),
            email: String::new(),
        }
    } else if path.starts_with("/v1/organizations") {
        ItemKind::Organization
    } else {
        ItemKind::User
    }
}

/// One listed record as an item; `None` for an invitation that is no longer pending (its
/// acceptance or revocation is history this cannot write).
fn item_of(path: &str, at: Locator, text: &str) -> Option<Read1> {
    let shaped: Shaped = match serde_json::from_str(text) {
        Ok(s) => s,
        Err(e) => {
            return Some(Err(Refusal {
                at,
                id: None,
                code: MALFORMED,
                reason: format!("not a record: {e}"),
            }))
        }
    };
    let organization_of = |s: &Shaped| {
        s.organization
            .as_ref()
            .map(|o| o.id.clone())
            .or_else(|| path.split('/').nth(3).map(str::to_owned))
            .unwrap_or_default()
    };
    let (kind, tiers): (ItemKind, Vec<RawTier<'_>>) = match read_kind(path) {
        ItemKind::User => (
            ItemKind::User,
            vec![
                (Tier::Public, &shaped.public_metadata),
                (Tier::Private, &shaped.private_metadata),
                (Tier::Unsafe, &shaped.unsafe_metadata),
            ],
        ),
        ItemKind::Organization => (
            ItemKind::Organization,
            vec![
                (Tier::Public, &shaped.public_metadata),
                (Tier::Private, &shaped.private_metadata),
            ],
        ),
        ItemKind::Membership { .. } => (
            ItemKind::Membership {
                organization: organization_of(&shaped),
                user: shaped
                    .public_user_data
                    .as_ref()
                    .map(|u| u.user_id.clone())
                    .unwrap_or_default(),
            },
            vec![
                (Tier::Public, &shaped.public_metadata),
                (Tier::Private, &shaped.private_metadata),
            ],
        ),
        ItemKind::Invitation { .. } => {
            if shaped.status.as_deref().is_some_and(|s| s != "pending") {
                return None;
            }
            (
                ItemKind::Invitation {
                    organization: organization_of(&shaped),
                    email: shaped.email_address.clone().unwrap_or_default(),
                },
                vec![(Tier::Public, &shaped.public_metadata)],
            )
        }
    };
    Some(Ok(Item {
        at,
        kind,
        id: shaped.id.clone(),
        tiers: raw_tier_texts(&tiers),
    }))
}
