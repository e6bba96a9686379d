//! `--where` conditions (R7.4), as a lookup's query string names them.

use crate::Failure;
use metadata_core::{combine, Clause, Filter};

/// The filter of `conditions` (`public_metadata.plan=free`, `public_metadata.age[gte]=30`,
/// ...), combined with AND: every record when there is none.
pub fn filter_of(conditions: &[String]) -> Result<Filter, Failure> {
    let mut clauses = Vec::new();
    for condition in conditions {
        let (name, value) = condition.split_once('=').ok_or_else(|| {
            format!(
                "a condition is NAME=VALUE, such as public_metadata.plan=free; got {condition:?}"
            )
        })?;
        let clause = Clause::from_param(name, value)?.ok_or_else(|| {
            format!("{name:?} names no tier: start it with public_metadata., private_metadata. or unsafe_metadata.")
        })?;
        clauses.push(clause);
    }
    Ok(match clauses.is_empty() {
        true => Filter::All,
        false => Filter::Metadata(combine(clauses)?),
    })
}
