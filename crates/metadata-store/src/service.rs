//! [`MetadataService`]: the facade that applies every rule of the core over any store.

use crate::backend::Backend;
use crate::error::{ServiceError, StoreError};
use crate::frontend::Frontend;
use crate::observe::{self, observed, Op};
use crate::store::{Applied, ApplyFn, MetadataStore};
use metadata_core::feed::{Actor, Stamp};
use metadata_core::{
    apply_change_owned, unchanged, Change, Error, FrontendPrincipal, Limits, Millis, Record,
    RecordKey, Resource, ResourceKind, Schemas, Surface,
};
use std::fmt;
use std::sync::Arc;

/// How many times an update without an expected version is re-applied to a record that another
/// writer changed between the read and the write.
pub const MAX_UPDATE_ATTEMPTS: usize = 64;

type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// Reads and writes metadata through every rule, over any [`MetadataStore`].
///
/// [`MetadataService::backend`] is the host's trusted surface; [`MetadataService::frontend`]
/// acts for one signed-in user or sign-up attempt and can reach only what contract §2 lets it.
/// Cloning is cheap; clones share the store.
///
/// ```
/// # use metadata_store::*;
/// # use metadata_core::*;
/// # async fn demo(store: std::sync::Arc<dyn MetadataStore>) -> Result<(), Error> {
/// let metadata = MetadataService::from_arc(store);
/// let id = UserId::new("user_1")?;
/// metadata.backend().create_user(&id, Change::new()).await?;
/// let me = metadata.frontend(FrontendPrincipal::user(id.clone()));
/// let view = me.update_own_user(Change::new().replace_json(Tier::Unsafe, serde_json::json!({"theme": "dark"}))?).await?;
/// assert_eq!(view.version, 2);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MetadataService {
    pub(crate) store: Arc<dyn MetadataStore>,
    pub(crate) limits: Limits,
    clock: Clock,
    /// The store's [`MetadataStore::name`], read once.
    pub(crate) store_name: &'static str,
    /// Whether operations are recorded through the `metrics` facade.
    pub(crate) metrics: bool,
    /// The schemas every write of a tier must match (R13.1).
    pub(crate) schemas: Arc<Schemas>,
}

impl fmt::Debug for MetadataService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataService")
            .field("store", &self.store)
            .field("limits", &self.limits)
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

impl MetadataService {
    /// A service over `store`, with the default [`Limits`] and the system clock.
    pub fn new(store: impl MetadataStore) -> Self {
        Self::from_arc(Arc::new(store))
    }

    /// A service over a shared store.
    pub fn from_arc(store: Arc<dyn MetadataStore>) -> Self {
        MetadataService {
            store_name: store.name(),
            store,
            limits: Limits::default(),
            clock: Arc::new(system_clock),
            metrics: false,
            schemas: Arc::new(Schemas::new()),
        }
    }

    /// Uses `limits` for every write (R4.2).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Uses `clock`, in ms since the epoch, for every time the service gives: the records'
    /// `created_at` and `updated_at`, the time each commit's events are stamped with, and the
    /// cut-off of [`crate::Feed::prune`] (for tests and replays).
    pub fn with_clock(mut self, clock: impl Fn() -> Millis + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Records every operation through the `metrics` facade (to the exporter the host
    /// installs): counts by operation, surface, kind and outcome, latency histograms, retries,
    /// the feed's head and each consumer's lag. Off by default, so a host that exports no metrics
    /// pays nothing for them; spans are always emitted at `DEBUG` (see the crate's `observe`
    /// docs: no metadata value is ever in a span, an event or a metric).
    ///
    /// ```
    /// # use metadata_store::*;
    /// # fn demo(store: std::sync::Arc<dyn MetadataStore>) {
    /// let metadata = MetadataService::from_arc(store).with_metrics(true);
    /// # }
    /// ```
    pub fn with_metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Enforces `schemas` on every write (R13.1): creates, backend and frontend updates, merge
    /// results, the copies of sign-up completion and invitation acceptance, imports and bulk
    /// changes. A write whose tier does not match is refused as [`Error::SchemaMismatch`].
    ///
    /// ```
    /// # use metadata_store::*;
    /// # use metadata_core::*;
    /// # async fn demo(store: std::sync::Arc<dyn MetadataStore>) -> Result<(), Error> {
    /// let mut schemas = Schemas::new();
    /// schemas.declare(
    ///     ResourceKind::User,
    ///     Tier::Public,
    ///     &serde_json::json!({"properties": {"age": {"type": "integer"}}}),
    /// )?;
    /// let metadata = MetadataService::from_arc(store).with_schemas(schemas);
    /// let change = Change::new().replace_json(Tier::Public, serde_json::json!({"age": "23"}))?;
    /// let refused = metadata.backend().create_user(&UserId::new("user_1")?, change).await;
    /// assert!(matches!(refused, Err(Error::SchemaMismatch { .. })));
    /// # Ok(()) }
    /// ```
    pub fn with_schemas(mut self, schemas: Schemas) -> Self {
        self.schemas = Arc::new(schemas);
        self
    }

    /// The schemas in force.
    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// Checks every record `writes` create against the schemas (R13.1).
    pub(crate) fn check_creates(&self, writes: &[metadata_core::Write]) -> Result<(), Error> {
        if self.schemas.is_empty() {
            return Ok(());
        }
        writes.iter().try_for_each(|w| match w {
            metadata_core::Write::Create(record) => self.schemas.check_record(record),
            _ => Ok(()),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The trusted backend surface.
    pub fn backend(&self) -> Backend<'_> {
        Backend {
            service: self,
            actor: Actor::BACKEND,
        }
    }

    /// The backend surface acting as `actor` (R14.2): [`Actor::backend_key`] for a request made
    /// with a secret key, [`Actor::library`] for the library's own runs.
    pub fn backend_as(&self, actor: Actor) -> Backend<'_> {
        Backend {
            service: self,
            actor,
        }
    }

    /// The change feed: every committed create, update and delete, in commit order.
    pub fn feed(&self) -> crate::Feed<'_> {
        crate::Feed { service: self }
    }

    /// The frontend surface, acting for `principal`. The host authenticates the request and
    /// builds the principal from its own session.
    pub fn frontend(&self, principal: FrontendPrincipal) -> Frontend<'_> {
        Frontend {
            service: self,
            principal,
        }
    }

    pub(crate) fn now(&self) -> Millis {
        (self.clock)()
    }

    /// Loads a record of kind `R`, or `NotFound`.
    pub(crate) async fn load<R: Resource>(&self, key: &RecordKey) -> Result<R, Error> {
        self.try_load(key).await?.ok_or_else(|| not_found(key))
    }

    /// Loads a record of kind `R` if it is there.
    pub(crate) async fn try_load<R: Resource>(&self, key: &RecordKey) -> Result<Option<R>, Error> {
        let found = self
            .fetch(key.kind(), &key.storage_key_cow(), || key.clone())
            .await;
        match found.map_err(|e| e.into_error(None))? {
            Some(record) => R::from_record(record)
                .map(Some)
                .ok_or_else(|| ServiceError::WrongKind { key: key.clone() }.into_error()),
            None => Ok(None),
        }
    }

    /// Loads the record of `kind` stored under the single id `id`, or `NotFound`; `key` builds
    /// its [`RecordKey`] only when one is needed (a store that cannot answer at once, or an
    /// error), which spares a point read from a memory store copying the id twice.
    #[inline]
    pub(crate) fn load_id<'a, R: Resource>(
        &'a self,
        kind: ResourceKind,
        id: &'a str,
        key: impl Fn() -> RecordKey + Unpin + Send + 'a,
    ) -> impl std::future::Future<Output = Result<R, Error>> + Send + 'a {
        crate::load::LoadId::new(self, kind, id, key)
    }

    /// The stored record: answered at once where the store can ([`MetadataStore::read_now`]),
    /// else awaited by `key`, built only then.
    async fn fetch(
        &self,
        kind: ResourceKind,
        storage_key: &str,
        key: impl Fn() -> RecordKey,
    ) -> Result<Option<Record>, StoreError> {
        let mut found = None;
        match self
            .store
            .read_now(kind, storage_key, &mut |r| found = r.cloned())
        {
            Some(answered) => answered.map(|()| found),
            None => self.store.get(&key()).await,
        }
    }

    /// Reads, applies `change` through the core, and writes back conditionally. Without an
    /// expected version, a write that lost a race is re-applied to the newer record, so no
    /// concurrent update is lost; with one, the race is the caller's conflict (R3.5). A change
    /// that names no tier writes nothing and answers the record as it is
    /// ([`metadata_core::unchanged`]).
    pub(crate) async fn update<R: Resource>(
        &self,
        key: &RecordKey,
        change: &Change,
        surface: Surface,
        actor: &Actor,
    ) -> Result<R, Error> {
        let op = Op::start(self, "update", surface, key.kind(), &key.storage_key_cow());
        let updated = async {
            self.update_unobserved(key, change, surface, actor, false)
                .await?
                .ok_or_else(|| not_found(key))
        };
        observed(op, updated, |r: &R| Some(r.version())).await
    }

    async fn update_unobserved<R: Resource>(
        &self,
        key: &RecordKey,
        change: &Change,
        surface: Surface,
        actor: &Actor,
        skip_same: bool,
    ) -> Result<Option<R>, Error> {
        if change.is_empty() {
            return unchanged(self.load(key).await?, change).map(Some);
        }
        let now = self.now();
        let apply: ApplyFn = {
            let (change, limits) = (change.clone(), self.limits);
            let key = key.clone();
            let schemas = (!self.schemas.is_empty()).then(|| self.schemas.clone());
            Arc::new(move |record: Record| {
                let current = R::from_record(record)
                    .ok_or_else(|| ServiceError::WrongKind { key: key.clone() }.into_error())?;
                let rules = UpdateRules {
                    change: &change,
                    surface,
                    limits: &limits,
                    schemas: schemas.as_deref(),
                    now,
                    skip_same,
                };
                // Not written when it changes nothing: answered below as `None`.
                rules.apply(current)?.ok_or(Error::EmptyChange)
            })
        };
        let stamp = Stamp::by(now, actor.clone());
        let mut attempts = Attempts::new(self, key);
        while attempts.next() {
            match self.store.update(key, apply.clone(), &stamp).await {
                Ok(Applied::Stored(record)) => {
                    return R::from_record(record)
                        .map(Some)
                        .ok_or_else(|| ServiceError::WrongKind { key: key.clone() }.into_error())
                }
                Ok(Applied::Refused(Error::EmptyChange)) if skip_same => return Ok(None),
                Ok(Applied::Refused(refused)) => return Err(refused),
                Ok(Applied::Missing) => return Err(not_found(key)),
                Err(StoreError::Conflict { .. }) if change.expected_version().is_none() => continue,
                Err(err) => return Err(err.into_error(change.expected_version())),
            }
        }
        Err(attempts.gave_up())
    }
}

impl MetadataService {
    /// Applies `change` to the record under `key` for the backend as `actor`, unless it would
    /// leave the record's tiers as they are (R14.1): `None` then, and nothing is written.
    /// Answers the version written.
    pub(crate) async fn update_if_changed(
        &self,
        key: &RecordKey,
        change: &Change,
        actor: &Actor,
    ) -> Result<Option<u64>, Error> {
        use metadata_core::{Invitation, Membership, Organization, SignUp, User};
        match key.kind() {
            ResourceKind::User => self.version_if_changed::<User>(key, change, actor).await,
            ResourceKind::SignUp => self.version_if_changed::<SignUp>(key, change, actor).await,
            ResourceKind::Organization => {
                self.version_if_changed::<Organization>(key, change, actor)
                    .await
            }
            ResourceKind::Membership => {
                self.version_if_changed::<Membership>(key, change, actor)
                    .await
            }
            ResourceKind::Invitation => {
                self.version_if_changed::<Invitation>(key, change, actor)
                    .await
            }
        }
    }

    async fn version_if_changed<R: Resource>(
        &self,
        key: &RecordKey,
        change: &Change,
        actor: &Actor,
    ) -> Result<Option<u64>, Error> {
        let updated = self
            .update_unobserved::<R>(key, change, Surface::Backend, actor, true)
            .await?;
        Ok(updated.map(|r| r.version()))
    }
}

/// Every rule the facade applies to an update, in one place: the core's change (R3), then the
/// schemas of the tiers it writes (R13.1); with `skip_same`, a change that leaves the record's
/// tiers as they are is no write (R14.1). The write path and a bulk change's dry run both ask it.
pub(crate) struct UpdateRules<'a> {
    pub(crate) change: &'a Change,
    pub(crate) surface: Surface,
    pub(crate) limits: &'a Limits,
    pub(crate) schemas: Option<&'a Schemas>,
    pub(crate) now: metadata_core::Millis,
    pub(crate) skip_same: bool,
}

impl UpdateRules<'_> {
    /// The record the update makes of `current`, or `None` when it would not be written.
    pub(crate) fn apply<R: Resource>(&self, current: R) -> Result<Option<Record>, Error> {
        let before = self.skip_same.then(|| current.clone().into_record());
        let updated = apply_change_owned(current, self.change, self.surface, self.limits, self.now)
            .map(R::into_record)?;
        if before.is_some_and(|b| !metadata_core::BulkChange::changes(&b, &updated)) {
            return Ok(None);
        }
        if let Some(schemas) = self.schemas {
            schemas.check_change(&updated, self.change)?;
        }
        Ok(Some(updated))
    }

    /// [`UpdateRules::apply`] to a record of any kind.
    pub(crate) fn apply_record(&self, record: Record) -> Result<Option<Record>, Error> {
        match record {
            Record::User(r) => self.apply(r),
            Record::SignUp(r) => self.apply(r),
            Record::Organization(r) => self.apply(r),
            Record::Membership(r) => self.apply(r),
            Record::Invitation(r) => self.apply(r),
        }
    }
}

/// The attempts of a read-plan-write cycle that plans again from a fresh read when it loses a
/// race to another writer: at most [`MAX_UPDATE_ATTEMPTS`], then
/// [`ServiceError::KeptChanging`]. Every write that re-plans after a race counts through it.
///
/// ```text
/// let mut attempts = Attempts::new(service, &key);
/// while attempts.next() {
///     // read, plan, write; `continue` on a lost race, `return` otherwise
/// }
/// Err(attempts.gave_up())
/// ```
pub(crate) struct Attempts<'k> {
    service: &'k MetadataService,
    key: &'k RecordKey,
    made: usize,
}

impl<'k> Attempts<'k> {
    pub(crate) fn new(service: &'k MetadataService, key: &'k RecordKey) -> Self {
        Attempts {
            service,
            key,
            made: 0,
        }
    }

    /// Whether another attempt may be made (and counts it; every attempt after the first is a
    /// retry, observed as one).
    pub(crate) fn next(&mut self) -> bool {
        self.made += 1;
        if self.made > 1 {
            observe::retried(self.service, self.key.kind(), self.made);
        }
        self.made <= MAX_UPDATE_ATTEMPTS
    }

    /// The error once every attempt lost its race.
    pub(crate) fn gave_up(self) -> Error {
        ServiceError::KeptChanging {
            key: self.key.clone(),
            attempts: MAX_UPDATE_ATTEMPTS,
        }
        .into_error()
    }
}

/// The system clock in ms since the epoch: the default clock of a service.
fn system_clock() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

pub(crate) fn not_found(key: &RecordKey) -> Error {
    Error::NotFound {
        kind: key.kind(),
        id: key.storage_key(),
    }
}
