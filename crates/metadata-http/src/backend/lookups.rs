//! Sign-ups, and lookups by metadata value of the kinds the reference product cannot search.

use super::*;

pub(super) async fn get_sign_up(
    _: BackendKey,
    State(s): State<Shared>,
    Params(id): Params<String>,
) -> Result<Response> {
    let id = SignUpId::new(id).map_err(|_| ApiError::no_route())?;
    let sign_up = s.service.backend().get_sign_up(&id).await?;
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
    _: BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (filter, page) = required_lookup(&q)?;
    let b = s.service.backend();
    let found: Page<Membership> = b.list(filter, page).await?;
    let mut data = Vec::new();
    for m in &found.items {
        let org = b.get_organization(&m.organization_id).await?;
        data.push(Value::Object(
            shapes::membership(s.hooks.as_ref(), m, &org).await,
        ));
    }
    Ok(response::json(
        StatusCode::OK,
        json!({ "data": data, "next_cursor": found.next }),
    ))
}

pub(super) async fn find_invitations(
    _: BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (filter, page) = required_lookup(&q)?;
    let found: Page<Invitation> = s.service.backend().list(filter, page).await?;
    let mut data = Vec::new();
    for inv in &found.items {
        data.push(Value::Object(
            shapes::invitation(s.hooks.as_ref(), inv).await,
        ));
    }
    Ok(response::json(
        StatusCode::OK,
        json!({ "data": data, "next_cursor": found.next }),
    ))
}

pub(super) async fn find_sign_ups(
    _: BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (filter, page) = required_lookup(&q)?;
    let found: Page<SignUp> = s.service.backend().list(filter, page).await?;
    let mut data = Vec::new();
    for su in &found.items {
        data.push(Value::Object(shapes::sign_up(s.hooks.as_ref(), su).await));
    }
    Ok(response::json(
        StatusCode::OK,
        json!({ "data": data, "next_cursor": found.next }),
    ))
}
