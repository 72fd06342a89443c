//! The paged pattern list in memory ([`PatternStore::list_patterns`]): every pattern is
//! scanned, filtered and ordered newest first (`detected_at` desc, ties by id desc), then cut
//! after the keyset cursor — the reference the SQL adapters are held to by the contract.
//!
//! [`PatternStore::list_patterns`]: cl_app::ports::PatternStore::list_patterns

use crate::State;
use cl_app::ports::{Cursor, Page, PageRequest, PatternFilter, StoreError, StoredPattern};
use std::cmp::Reverse;

/// One page of the patterns matching `filter`.
pub(crate) fn list(
    st: &State,
    filter: &PatternFilter,
    page: PageRequest,
) -> Result<Page<StoredPattern>, StoreError> {
    page.validate()?;
    let mut rows: Vec<StoredPattern> = st
        .patterns
        .values()
        .filter(|p| {
            filter.symbol.is_none_or(|s| p.symbol == s)
                && filter.tf.is_none_or(|t| p.tf == t)
                && filter.pattern_type.is_none_or(|t| p.pattern_type == t)
                && filter.direction.is_none_or(|d| p.direction == d)
                && filter.status.is_none_or(|s| p.status == s)
                && page
                    .after
                    .is_none_or(|c| c.is_before(p.detected_at, p.id.0))
        })
        .copied()
        .collect();
    rows.sort_by_key(|p| Reverse((p.detected_at, p.id)));
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|p| Cursor {
            ts: p.detected_at,
            id: p.id.0,
        })
    } else {
        None
    };
    Ok(Page { items: rows, next })
}
