//! The two ways lists are paged: the reference product's `limit` and `offset` with a
//! `total_count`, and the library's cursor for lookups by metadata value.

use crate::error::ApiError;
use crate::request::number_param;
use metadata_core::{
    codes, Cursor, Filter, ListOrder, LookupValue, MetadataPath, Resource, Tier, MAX_OFFSET,
    MAX_PAGE_SIZE,
};
use metadata_store::{Backend, PageRequest};

/// The most records one `limit` may ask for, as in the reference product.
pub(crate) const MAX_LIMIT: usize = 500;

/// `limit` (default 10) and `offset` (default 0) from a query.
pub(crate) fn limit_offset(query: &[(String, String)]) -> Result<(usize, usize), ApiError> {
    let limit = number_param(query, "limit", 10, MAX_LIMIT)?.max(1);
    let offset = number_param(query, "offset", 0, MAX_OFFSET)?;
    Ok((limit, offset))
}

/// `order_by` from a query (R7.5), or `default` when it names none.
pub(crate) fn order_by(
    query: &[(String, String)],
    default: ListOrder,
) -> Result<ListOrder, ApiError> {
    match query.iter().find(|(k, _)| k == "order_by") {
        None => Ok(default),
        Some((_, text)) => ListOrder::parse(text).map_err(|e| ApiError::from(e).param("order_by")),
    }
}

/// The page a listing by `limit`, `offset` and `order_by` asks for, `default` the order when
/// it names none.
pub(crate) fn offset_request(
    query: &[(String, String)],
    default: ListOrder,
) -> Result<PageRequest, ApiError> {
    let (limit, offset) = limit_offset(query)?;
    Ok(PageRequest::first(limit)
        .ordered(order_by(query, default)?)
        .skip(offset))
}

/// The page `page` of everything `filter` selects and, when `counted`, how many it selects
/// (0 otherwise): one listing and one count, each answered by the store (R7.5), whatever the
/// offset.
pub(crate) async fn offset_page<R: Resource>(
    backend: &Backend<'_>,
    filter: Filter,
    page: PageRequest,
    counted: bool,
) -> Result<(Vec<R>, u64), ApiError> {
    if !counted {
        return Ok((backend.list::<R>(filter, page).await?.items, 0));
    }
    let total = backend.count::<R>(filter.clone()).await?;
    if page.offset as u64 >= total {
        return Ok((Vec::new(), total));
    }
    let items = backend.list::<R>(filter, page).await?.items;
    Ok((items, total))
}

/// A lookup by metadata value from a query such as `public_metadata.role=admin`, with `limit`
/// and an optional `after` cursor; `None` if the query names no tier.
pub(crate) fn lookup(
    query: &[(String, String)],
) -> Result<Option<(Filter, PageRequest)>, ApiError> {
    let mut found = None;
    for (name, value) in query {
        let Some((tier_name, path)) = name.split_once('.') else {
            continue;
        };
        let Some(tier) = Tier::ALL.into_iter().find(|t| t.field_name() == tier_name) else {
            continue;
        };
        if found.is_some() {
            return Err(ApiError::invalid(
                codes::VALUE_INVALID,
                name,
                "one metadata lookup per request",
            ));
        }
        let path = MetadataPath::parse(path).map_err(|e| ApiError::from(e).param(name.clone()))?;
        found = Some(Filter::MetadataEquals {
            tier,
            path,
            value: LookupValue::from_text(value),
        });
    }
    let Some(filter) = found else {
        return Ok(None);
    };
    let limit = number_param(query, "limit", 10, MAX_PAGE_SIZE)?.max(1);
    let after = query
        .iter()
        .find(|(k, _)| k == "after")
        .map(|(_, v)| Cursor::new(v.clone()));
    let order = order_by(query, ListOrder::BY_ID)?;
    Ok(Some((
        filter,
        PageRequest::first(limit).ordered(order).after_cursor(after),
    )))
}
