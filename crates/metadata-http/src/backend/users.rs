//! `/v1/users`.

use super::*;

pub(super) async fn user_response(s: &Shared, user: &User) -> Response {
    if s.plain {
        let body = shapes::plain(user, &shapes::USER_DEFAULTS_TEXT);
        return response::record_bytes(body, Some(user.version));
    }
    response::record(shapes::user(s.hooks.as_ref(), user).await)
}

pub(super) async fn create_user(
    _: BackendKey,
    State(s): State<Shared>,
    Body(body): ReplaceBody,
) -> Result<Response> {
    let id = body_id(&body, "user", UserId::new)?;
    let user = s
        .service
        .backend()
        .create_user(&id, body.into_change())
        .await?;
    Ok(user_response(&s, &user).await)
}

/// The reference product's `GET /v1/users` answers with a plain array (`limit`, `offset`);
/// with a metadata lookup such as `public_metadata.role=admin` it answers with
/// `{"data": [...], "next_cursor": ...}`.
pub(super) async fn list_users(
    _: BackendKey,
    State(s): State<Shared>,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    if let Some((filter, page)) = lookup(&q)? {
        let found: Page<User> = s.service.backend().list(filter, page).await?;
        let data = shapes::all(s.hooks.as_ref(), &found.items).await;
        return Ok(response::found(data, found.next));
    }
    let (limit, offset) = limit_offset(&q)?;
    let (users, _) = offset_page::<User>(&s.service.backend(), Filter::All, limit, offset).await?;
    Ok(response::json(
        StatusCode::OK,
        Value::Array(shapes::all(s.hooks.as_ref(), &users).await),
    ))
}

pub(super) async fn count_users(_: BackendKey, State(s): State<Shared>) -> Result<Response> {
    let (_, total) = offset_page::<User>(&s.service.backend(), Filter::All, 0, 0).await?;
    Ok(response::json(
        StatusCode::OK,
        json!({ "object": "total_count", "total_count": total }),
    ))
}

pub(super) async fn get_user(
    _: BackendKey,
    State(s): State<Shared>,
    Params(id): Params<String>,
) -> Result<Response> {
    let user = s.service.backend().get_user(&user_id(id)?).await?;
    Ok(user_response(&s, &user).await)
}

/// `PATCH /v1/users/{id}/metadata` merges (`MERGE`); `PUT /v1/users/{id}/metadata` and
/// `PATCH /v1/users/{id}` (the reference product's updateUser) replace each tier given. Other
/// body fields are the host's and are ignored here; a body that names no tier writes nothing
/// and answers the user as it is.
pub(super) async fn write_user<const MERGE: bool>(
    _: BackendKey,
    State(s): State<Shared>,
    headers: HeaderMap,
    Params(id): Params<String>,
    Body(body): Body<MERGE>,
) -> Result<Response> {
    let id = user_id(id)?;
    let (change, expected) = write_request(&headers, body)?;
    let b = s.service.backend();
    let user = b.update_user(&id, change).await.map_err(fail(expected))?;
    Ok(user_response(&s, &user).await)
}

pub(super) async fn delete_user(
    _: BackendKey,
    State(s): State<Shared>,
    Params(id): Params<String>,
) -> Result<Response> {
    let id = user_id(id)?;
    if !s.service.backend().delete_user(&id).await? {
        return Err(not_found(User::KIND, id.as_str()));
    }
    Ok(response::deleted(id.as_str(), "user"))
}
