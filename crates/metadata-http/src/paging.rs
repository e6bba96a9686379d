//! The two ways lists are paged: the reference product's `limit` and `offset` with a
//! `total_count`, and the library's cursor for lookups by metadata value.

use crate::error::ApiError;
use crate::request::number_param;
use metadata_core::{
    combine, Clause, Condition, Cursor, Filter, ListOrder, Resource, MAX_OFFSET, MAX_PAGE_SIZE,
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

/// The metadata conditions a query names (R7.4), such as `public_metadata.role=admin` or
/// `public_metadata.age[gte]=30`, combined with AND; `None` if it names no tier.
pub(crate) fn lookup_filter(query: &[(String, String)]) -> Result<Option<Filter>, ApiError> {
    let mut clauses = Vec::new();
    for (name, value) in query {
        let clause =
            Clause::from_param(name, value).map_err(|e| ApiError::from(e).param(name.clone()))?;
        clauses.extend(clause);
    }
    if clauses.is_empty() {
        return Ok(None);
    }
    let mut clauses = combine(clauses).map_err(|e| ApiError::from(e).param("query"))?;
    // One equality is the lookup R7.2 serves: the same filter a library caller builds.
    if let [Clause {
        condition: Condition::Equals(_),
        ..
    }] = clauses.as_slice()
    {
        if let Some(Clause {
            tier,
            path,
            condition: Condition::Equals(value),
        }) = clauses.pop()
        {
            return Ok(Some(Filter::MetadataEquals { tier, path, value }));
        }
    }
    Ok(Some(Filter::Metadata(clauses)))
}

/// A lookup by metadata conditions from a query such as `public_metadata.role=admin` (see
/// [`lookup_filter`]), with `limit`, `order_by` and an optional `after` cursor; `None` if the
/// query names no tier.
pub(crate) fn lookup(
    query: &[(String, String)],
) -> Result<Option<(Filter, PageRequest)>, ApiError> {
    let Some(filter) = lookup_filter(query)? else {
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
