//! The two ways lists are paged: the reference product's `limit` and `offset` with a
//! `total_count`, and the library's cursor for lookups by metadata value.

use crate::error::ApiError;
use crate::request::number_param;
use metadata_core::{
    codes, Cursor, Filter, LookupValue, MetadataPath, Page, Resource, Tier, MAX_PAGE_SIZE,
};
use metadata_store::{Backend, PageRequest};

/// The most records one `limit` may ask for, as in the reference product.
pub(crate) const MAX_LIMIT: usize = 500;

/// `limit` (default 10) and `offset` (default 0) from a query.
pub(crate) fn limit_offset(query: &[(String, String)]) -> Result<(usize, usize), ApiError> {
    let limit = number_param(query, "limit", 10, MAX_LIMIT)?.max(1);
    let offset = number_param(query, "offset", 0, usize::MAX)?;
    Ok((limit, offset))
}

/// Records `offset..offset + limit` of everything `filter` selects, and how many it selects.
/// The store pages by cursor, so this walks the whole listing: O(n) in the records selected.
pub(crate) async fn offset_page<R: Resource>(
    backend: &Backend<'_>,
    filter: Filter,
    limit: usize,
    offset: usize,
) -> Result<(Vec<R>, usize), ApiError> {
    let mut items = Vec::new();
    let mut total = 0;
    let mut page = PageRequest::first(MAX_PAGE_SIZE);
    loop {
        let got: Page<R> = backend.list(filter.clone(), page).await?;
        for record in got.items {
            if total >= offset && items.len() < limit {
                items.push(record);
            }
            total += 1;
        }
        match got.next {
            Some(cursor) => page = PageRequest::after(cursor, MAX_PAGE_SIZE),
            None => return Ok((items, total)),
        }
    }
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
    Ok(Some((filter, PageRequest { after, limit })))
}
