//! `/v1/users` and `/v1/organizations`: the kinds with routes of their own at the top level,
//! created, listed, read, written and deleted the same way.

use super::*;
use metadata_store::Backend;
use std::future::Future;

/// A kind with routes of its own at the top level.
pub(super) trait TopLevel: Resource + shapes::Shape {
    /// Its id type.
    type Id: Send + Sync;
    /// The prefix of a new id, as the reference product writes it (`user_...`, `org_...`).
    const ID_PREFIX: &'static str;
    /// Parses an id.
    fn id(text: String) -> std::result::Result<Self::Id, metadata_core::IdError>;
    /// Creates one through the facade.
    fn create<'a>(
        backend: &'a Backend<'a>,
        id: &'a Self::Id,
        change: metadata_core::Change,
    ) -> impl Future<Output = std::result::Result<Self, Error>> + Send + 'a;
    /// Reads one through the facade.
    fn get<'a>(
        backend: &'a Backend<'a>,
        id: &'a Self::Id,
    ) -> impl Future<Output = std::result::Result<Self, Error>> + Send + 'a;
    /// Applies a change through the facade.
    fn update<'a>(
        backend: &'a Backend<'a>,
        id: &'a Self::Id,
        change: metadata_core::Change,
    ) -> impl Future<Output = std::result::Result<Self, Error>> + Send + 'a;
    /// Deletes one through the facade; whether it was there.
    fn delete<'a>(
        backend: &'a Backend<'a>,
        id: &'a Self::Id,
    ) -> impl Future<Output = std::result::Result<bool, Error>> + Send + 'a;
    /// The id as text.
    fn id_text(id: &Self::Id) -> &str;
}

/// A [`TopLevel`] impl from the facade's calls for the kind.
macro_rules! top_level {
    ($kind:ty, $id:ty, $prefix:literal, $create:ident, $get:ident, $update:ident, $delete:ident) => {
        impl TopLevel for $kind {
            type Id = $id;
            const ID_PREFIX: &'static str = $prefix;
            fn id(text: String) -> std::result::Result<$id, metadata_core::IdError> {
                <$id>::new(text)
            }
            fn create<'a>(
                backend: &'a Backend<'a>,
                id: &'a $id,
                change: metadata_core::Change,
            ) -> impl Future<Output = std::result::Result<$kind, Error>> + Send + 'a {
                backend.$create(id, change)
            }
            fn get<'a>(
                backend: &'a Backend<'a>,
                id: &'a $id,
            ) -> impl Future<Output = std::result::Result<$kind, Error>> + Send + 'a {
                backend.$get(id)
            }
            fn update<'a>(
                backend: &'a Backend<'a>,
                id: &'a $id,
                change: metadata_core::Change,
            ) -> impl Future<Output = std::result::Result<$kind, Error>> + Send + 'a {
                backend.$update(id, change)
            }
            fn delete<'a>(
                backend: &'a Backend<'a>,
                id: &'a $id,
            ) -> impl Future<Output = std::result::Result<bool, Error>> + Send + 'a {
                backend.$delete(id)
            }
            fn id_text(id: &$id) -> &str {
                id.as_str()
            }
        }
    };
}

top_level!(
    User,
    UserId,
    "user",
    create_user,
    get_user,
    update_user,
    delete_user
);
top_level!(
    Organization,
    OrganizationId,
    "org",
    create_organization,
    get_organization,
    update_organization,
    delete_organization
);

/// How a kind's page listed by `limit` and `offset` is answered, as the reference product does.
pub(super) trait Listing {
    /// Whether the response carries the total, so the store counts.
    const COUNTED: bool;

    /// The response for `data`, of `total` records in all.
    fn listing(data: Vec<Value>, total: u64) -> Response;
}

impl Listing for User {
    const COUNTED: bool = false;

    /// The reference product's `GET /v1/users` answers with a plain array.
    fn listing(data: Vec<Value>, _: u64) -> Response {
        response::json(StatusCode::OK, Value::Array(data))
    }
}

impl Listing for Organization {
    const COUNTED: bool = true;

    fn listing(data: Vec<Value>, total: u64) -> Response {
        response::counted(data, total)
    }
}

/// `POST /v1/users`, `POST /v1/organizations`: the id from the body, or a new one.
pub(super) async fn create<R: TopLevel>(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    Body(body): ReplaceBody,
) -> Result<Response> {
    let id = body_id(&body, R::ID_PREFIX, R::id)?;
    let backend = s.service.backend_as(actor);
    let record = R::create(&backend, &id, body.into_change()).await?;
    Ok(whole(&s, &record).await)
}

/// `GET /v1/users`, `GET /v1/organizations`: by `limit` and `offset` as the reference product
/// answers; with a metadata lookup such as `public_metadata.role=admin`, a page of what it
/// finds, `{"data": [...], "next_cursor": ...}`.
pub(super) async fn list<R: TopLevel + Listing>(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (b, hooks) = (s.service.backend_as(actor), s.hooks.as_ref());
    if let Some((filter, page)) = lookup(&q)? {
        let found: Page<R> = b.list(filter, page).await?;
        let data = shapes::all(hooks, &found.items).await;
        return Ok(response::found(data, found.next));
    }
    // Newest first unless `order_by` says otherwise, as the reference product lists (R7.5).
    let page = offset_request(&q, ListOrder::NEWEST_FIRST)?;
    let (items, total) = offset_page::<R>(&b, Filter::All, page, R::COUNTED).await?;
    // Without hooks, each record is written straight from its text: tiers exactly as stored.
    if let (true, Some(defaults)) = (s.plain, R::PLAIN_DEFAULTS) {
        let items = items.iter().map(|r| shapes::plain(r, defaults)).collect();
        return Ok(response::items_bytes(items, R::COUNTED.then_some(total)));
    }
    Ok(R::listing(shapes::all(hooks, &items).await, total))
}

/// `GET /v1/users/count`: the store's count, no record read (R7.5); with metadata conditions
/// (R7.4), how many users meet them.
pub(super) async fn count_users(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let filter = crate::paging::lookup_filter(&q)?.unwrap_or(Filter::All);
    let total = s.service.backend_as(actor).count::<User>(filter).await?;
    Ok(response::json(
        StatusCode::OK,
        json!({ "object": "total_count", "total_count": total }),
    ))
}

/// `GET /v1/users/{id}`, `GET /v1/organizations/{id}`.
pub(super) async fn read<R: TopLevel>(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    Params(text): Params<String>,
) -> Result<Response> {
    let (backend, id) = (s.service.backend_as(actor), id(R::id, text)?);
    let record = R::get(&backend, &id).await?;
    Ok(whole(&s, &record).await)
}

/// `PATCH .../metadata` merges (`MERGE`); `PUT .../metadata` and `PATCH /v1/users/{id}` (the
/// reference product's updateUser) replace each tier given. Other body fields are the host's
/// and are ignored here; a body that names no tier writes nothing and answers the record as it
/// is.
pub(super) async fn write<R: TopLevel, const MERGE: bool>(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    headers: HeaderMap,
    Params(text): Params<String>,
    Body(body): Body<MERGE>,
) -> Result<Response> {
    let (backend, id) = (s.service.backend_as(actor), id(R::id, text)?);
    let (change, expected) = write_request(&headers, body)?;
    let record = R::update(&backend, &id, change).await;
    Ok(whole(&s, &record.map_err(fail(expected))?).await)
}

/// `DELETE /v1/users/{id}` (with the user's memberships), `DELETE /v1/organizations/{id}`
/// (with its memberships and invitations).
pub(super) async fn remove<R: TopLevel>(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    Params(text): Params<String>,
) -> Result<Response> {
    let (backend, id) = (s.service.backend_as(actor), id(R::id, text)?);
    if !R::delete(&backend, &id).await? {
        return Err(not_found(R::KIND, R::id_text(&id)));
    }
    Ok(response::deleted(R::id_text(&id), R::KIND.object_name()))
}
