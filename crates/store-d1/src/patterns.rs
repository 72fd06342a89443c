//! The paged pattern list over D1 ([`PatternStore::list_patterns`]): ONE statement, newest
//! first (`detected_at DESC, id DESC`), keyset on `(detected_at, id)`.
//!
//! The statement holds only the filters that are set: SQLite plans a statement once, before
//! the parameters are bound, so `?n IS NULL OR col = ?n` would keep it from using an index
//! on `col`. With the text per combination, a status filter walks `patterns_status_recent_idx
//! (status, detected_at DESC, id DESC)`, status + symbol + TF `patterns_matrix_idx`, and no
//! status `patterns_recent_idx`; the walk stops after `limit + 1` rows.
//!
//! [`PatternStore::list_patterns`]: cl_app::ports::PatternStore::list_patterns

use crate::rows::PatternRow;
use crate::values::{count, int, text};
use crate::{D1Store, SYMBOL};
use cl_app::ports::{Cursor, Page, PageRequest, PatternFilter, StoreError, StoredPattern};
use worker::wasm_bindgen::JsValue;

/// The select list `PatternRow` decodes.
const COLS: &str = "id, symbol_id, tf, pattern_type, direction, zone_low, zone_high, \
     swept_level, detected_at, expires_at, status, filled_at, fill_pct, entry, stop_loss, tp1, \
     tp2, tp3, risk, rr1, rr2, rr3, created_at";

/// The statement for the filters that are set, `?1…` in the order `status, symbol, tf, type,
/// direction, cursor ts, cursor id, limit` (absent ones skipped).
pub(crate) fn list_sql(filter: &PatternFilter, cursor: bool) -> String {
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("?{n}")
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

impl D1Store {
    /// One page of the patterns matching `filter`.
    pub(crate) async fn list_patterns_page(
        &self,
        filter: &PatternFilter,
        page: PageRequest,
    ) -> Result<Page<StoredPattern>, StoreError> {
        page.validate()?;
        let mut params: Vec<JsValue> = Vec::with_capacity(8);
        if let Some(s) = filter.status {
            params.push(text(s.as_str()));
        }
        if let Some(s) = filter.symbol {
            params.push(int("symbol id", s.0)?);
        }
        if let Some(t) = filter.tf {
            params.push(text(t.as_str()));
        }
        if let Some(t) = filter.pattern_type {
            params.push(text(t.as_str()));
        }
        if let Some(d) = filter.direction {
            params.push(text(d.as_str()));
        }
        if let Some(c) = page.after {
            params.push(int("cursor time", c.ts)?);
            params.push(int("cursor id", c.id)?);
        }
        // One row more than the page tells whether a next page exists.
        params.push(count(page.limit.saturating_add(1)));
        let stmt = self.stmt(&list_sql(filter, page.after.is_some()), &params)?;
        let mut items = self
            .rows::<PatternRow, StoredPattern>("patterns", stmt, SYMBOL)
            .await?;
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
    use cl_domain::{Direction, PatternStatus};

    #[test]
    fn only_the_filters_set_reach_the_statement() {
        let all = list_sql(&PatternFilter::default(), false);
        assert!(
            all.ends_with("FROM patterns ORDER BY detected_at DESC, id DESC LIMIT ?1"),
            "{all}"
        );
        let f = PatternFilter {
            status: Some(PatternStatus::Filled),
            symbol: Some(SymbolId(3)),
            direction: Some(Direction::Bearish),
            ..PatternFilter::default()
        };
        let sql = list_sql(&f, true);
        assert!(
            sql.contains(
                "WHERE status = ?1 AND symbol_id = ?2 AND direction = ?3 \
                 AND (detected_at, id) < (?4, ?5) ORDER BY detected_at DESC, id DESC LIMIT ?6"
            ),
            "{sql}"
        );
    }
}
