//! The paged pattern list over Postgres ([`PatternStore::list_patterns`]): ONE statement,
//! newest first (`detected_at DESC, id DESC`), keyset on `(detected_at, id)`.
//!
//! The statement text holds only the filters that are set (no `$n IS NULL OR …`), so each
//! combination gets a plan that uses its index: `patterns_status_recent_idx (status,
//! detected_at DESC, id DESC)` for a status (the API always names one), `patterns_matrix_idx`
//! when symbol and TF are set too, `patterns_recent_idx` without a status. The other filters
//! are checked on the rows the index walks, and the walk stops after `limit + 1` rows.
//!
//! [`PatternStore::list_patterns`]: cl_app::ports::PatternStore::list_patterns

use crate::{pattern_row, Param, PgStore};
use cl_app::ports::{Cursor, Page, PageRequest, PatternFilter, StoreError, StoredPattern};
use tokio_postgres::types::Type;

/// The select list `pattern_row` decodes.
const COLS: &str = "id, symbol_id, tf, pattern_type, direction, zone_low, zone_high, \
     swept_level, detected_at, expires_at, status, filled_at, fill_pct, entry, stop_loss, tp1, \
     tp2, tp3, risk, rr1, rr2, rr3, created_at";

/// The statement for the filters that are set, `$1…` in the order `status, symbol, tf, type,
/// direction, cursor ts, cursor id, limit` (absent ones skipped).
pub(crate) fn list_sql(filter: &PatternFilter, cursor: bool) -> String {
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    let mut conds = Vec::new();
    for (set, col) in [
        (filter.status.is_some(), "status"),
        (filter.symbol.is_some(), "symbol_id"),
        (filter.tf.is_some(), "tf"),
        (filter.pattern_type.is_some(), "pattern_type"),
        (filter.direction.is_some(), "direction"),
    ] {
        if set {
            conds.push(format!("{col} = {}", next()));
        }
    }
    if cursor {
        let (ts, id) = (next(), next());
        conds.push(format!("(detected_at, id) < ({ts}, {id})"));
    }
    let limit = next();
    let cond = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    format!("SELECT {COLS} FROM patterns{cond} ORDER BY detected_at DESC, id DESC LIMIT {limit}")
}

impl PgStore<'_> {
    /// One page of the patterns matching `filter`.
    pub(crate) async fn list_patterns_page(
        &self,
        filter: &PatternFilter,
        page: PageRequest,
    ) -> Result<Page<StoredPattern>, StoreError> {
        page.validate()?;
        let status = filter.status.map(|s| s.as_str());
        let symbol = filter.symbol.map(|s| s.0);
        let tf = filter.tf.map(|t| t.as_str());
        let ty = filter.pattern_type.map(|t| t.as_str());
        let dir = filter.direction.map(|d| d.as_str());
        let after = page.after.map(|c| (c.ts, c.id));
        let fetch = i64::from(page.limit) + 1;
        let mut params: Vec<Param<'_>> = Vec::with_capacity(8);
        if let Some(v) = &status {
            params.push((v, Type::TEXT));
        }
        if let Some(v) = &symbol {
            params.push((v, Type::INT8));
        }
        if let Some(v) = &tf {
            params.push((v, Type::TEXT));
        }
        if let Some(v) = &ty {
            params.push((v, Type::TEXT));
        }
        if let Some(v) = &dir {
            params.push((v, Type::TEXT));
        }
        if let Some((ts, id)) = &after {
            params.push((ts, Type::INT8));
            params.push((id, Type::INT8));
        }
        params.push((&fetch, Type::INT8));
        let rows = self
            .query(&list_sql(filter, after.is_some()), &params)
            .await?;
        let mut items = rows
            .iter()
            .map(pattern_row)
            .collect::<Result<Vec<_>, _>>()?;
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|p| Cursor {
                ts: p.detected_at,
                id: p.id.0,
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cl_app::ports::SymbolId;
    use cl_domain::{PatternStatus, Timeframe};

    #[test]
    fn only_the_filters_set_reach_the_statement() {
        let all = list_sql(&PatternFilter::default(), false);
        assert!(
            all.ends_with("FROM patterns ORDER BY detected_at DESC, id DESC LIMIT $1"),
            "{all}"
        );
        let f = PatternFilter {
            status: Some(PatternStatus::Expired),
            symbol: Some(SymbolId(3)),
            tf: Some(Timeframe::H1),
            ..PatternFilter::default()
        };
        let sql = list_sql(&f, true);
        assert!(
            sql.contains(
                "WHERE status = $1 AND symbol_id = $2 AND tf = $3 AND (detected_at, id) < ($4, $5) \
                 ORDER BY detected_at DESC, id DESC LIMIT $6"
            ),
            "{sql}"
        );
    }
}
