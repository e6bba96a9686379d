//! Sign-ups, and lookups by metadata value of the kinds the reference product cannot search.

use super::*;

pub(super) async fn get_sign_up(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    Params(id): Params<String>,
) -> Result<Response> {
    let id = SignUpId::new(id).map_err(|_| ApiError::no_route())?;
    let sign_up = s.service.backend_as(actor).get_sign_up(&id).await?;
    Ok(response::record(
        shapes::sign_up(s.hooks.as_ref(), &sign_up).await,
    ))
}

/// A lookup of records the reference product cannot find: the query must name one.
pub(super) fn required_lookup(
    q: &[(String, String)],
) -> Result<(Filter, metadata_store::PageRequest)> {
    lookup(q)?.ok_or_else(|| {
        ApiError::invalid(
            codes::MISSING,
            "query",
            "name a metadata value to find, such as public_metadata.role=admin",
        )
    })
}

pub(super) async fn find_memberships(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (filter, page) = required_lookup(&q)?;
    let b = s.service.backend_as(actor);
    let found: Page<Membership> = b.list(filter, page).await?;
    let mut data = Vec::new();
    for m in &found.items {
        let org = b.get_organization(&m.organization_id).await?;
        data.push(Value::Object(
            shapes::membership(s.hooks.as_ref(), m, &org).await,
        ));
    }
    Ok(response::found(data, found.next))
}

/// `GET /v1/organization_invitations` and `GET /v1/sign_ups` with a metadata value to find:
/// records the reference product cannot search, each in its own shape.
pub(super) async fn find<R: Resource + shapes::Shape>(
    BackendKey(actor): BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (filter, page) = required_lookup(&q)?;
    let found: Page<R> = s.service.backend_as(actor).list(filter, page).await?;
    let data = shapes::all(s.hooks.as_ref(), &found.items).await;
    Ok(response::found(data, found.next))
}
