//! The backtest port in memory. Checks first, then one `RefCell` borrow (atomic like the SQL
//! transaction): quotas counted with the insert, chunks compare-and-set on the cursor.

use crate::MemoryStore;
use cl_app::ports::backtests::{
    quota, BacktestId, BacktestQuota, BacktestStatus, BacktestStore, BacktestTradeRow, ChunkUpdate,
    NewBacktest, StoredBacktest,
};
use cl_app::ports::{exact_int, StoreError, SymbolStore, UserId, UserStore};
use std::collections::BTreeMap;

/// The backtest tables.
#[derive(Debug, Default)]
pub(crate) struct BacktestState {
    rows: BTreeMap<BacktestId, StoredBacktest>,
    trades: BTreeMap<BacktestId, Vec<BacktestTradeRow>>,
    last_id: i64,
}

fn within(n: usize, max: Option<u32>) -> bool {
    max.is_none_or(|m| u32::try_from(n).unwrap_or(u32::MAX) < m)
}

impl BacktestStore for MemoryStore {
    async fn create_backtest(
        &self,
        new: &NewBacktest,
        q: BacktestQuota,
    ) -> Result<StoredBacktest, StoreError> {
        exact_int("backtests.created_at", new.created_at)?;
        if new.name.as_ref().is_some_and(|n| n.chars().count() > 50) {
            return Err(StoreError::Invalid("backtests.name longer than 50".into()));
        }
        if self.user(new.user_id).await?.is_none() {
            return Err(StoreError::NotFound("user"));
        }
        if !self
            .list_symbols(false)
            .await?
            .iter()
            .any(|s| s.id == new.symbol)
        {
            return Err(StoreError::NotFound("symbol"));
        }
        let mut st = self.backtests.borrow_mut();
        let mine = || st.rows.values().filter(|b| b.new.user_id == new.user_id);
        if !within(
            mine().filter(|b| b.status.is_active()).count(),
            q.max_running,
        ) {
            return Err(StoreError::Conflict(quota::RUNNING));
        }
        if !within(
            mine().filter(|b| b.new.created_at >= q.day_start).count(),
            q.max_per_day,
        ) {
            return Err(StoreError::Conflict(quota::PER_DAY));
        }
        st.last_id += 1;
        let row = StoredBacktest {
            id: BacktestId(st.last_id),
            new: new.clone(),
            status: BacktestStatus::Queued,
            progress: 0.0,
            cursor: Some(new.cursor),
            stats: None,
            error: None,
            started_at: None,
            finished_at: None,
        };
        st.rows.insert(row.id, row.clone());
        Ok(row)
    }

    async fn backtest(
        &self,
        user: UserId,
        id: BacktestId,
    ) -> Result<Option<StoredBacktest>, StoreError> {
        Ok(self
            .backtests
            .borrow()
            .rows
            .get(&id)
            .filter(|b| b.new.user_id == user)
            .cloned())
    }

    async fn backtests_of(&self, user: UserId) -> Result<Vec<StoredBacktest>, StoreError> {
        let st = self.backtests.borrow();
        let mut v: Vec<StoredBacktest> = st
            .rows
            .values()
            .filter(|b| b.new.user_id == user)
            .cloned()
            .collect();
        v.sort_by_key(|b| std::cmp::Reverse((b.new.created_at, b.id)));
        Ok(v)
    }

    async fn delete_backtest(&self, user: UserId, id: BacktestId) -> Result<(), StoreError> {
        let mut st = self.backtests.borrow_mut();
        if st.rows.get(&id).is_none_or(|b| b.new.user_id != user) {
            return Err(StoreError::NotFound("backtest"));
        }
        st.rows.remove(&id);
        st.trades.remove(&id);
        Ok(())
    }

    async fn active_backtests(&self, limit: u32) -> Result<Vec<StoredBacktest>, StoreError> {
        let st = self.backtests.borrow();
        let mut v: Vec<StoredBacktest> = st
            .rows
            .values()
            .filter(|b| b.status.is_active())
            .cloned()
            .collect();
        v.sort_by_key(|b| (b.new.created_at, b.id));
        v.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(v)
    }

    async fn save_chunk(
        &self,
        id: BacktestId,
        expected_cursor: i64,
        update: &ChunkUpdate,
        trades: &[BacktestTradeRow],
    ) -> Result<(), StoreError> {
        if !(update.progress.is_finite() && (0.0..=100.0).contains(&update.progress))
            || trades
                .iter()
                .any(|t| !(t.entry_price.is_finite() && t.r.is_finite()))
        {
            return Err(StoreError::Invalid("backtest chunk values".into()));
        }
        let mut st = self.backtests.borrow_mut();
        let row = st
            .rows
            .get(&id)
            .cloned()
            .ok_or(StoreError::NotFound("backtest"))?;
        if !row.status.is_active() || row.cursor != Some(expected_cursor) {
            return Err(StoreError::Conflict(quota::CURSOR_MOVED));
        }
        let next = StoredBacktest {
            status: update.status,
            progress: update.progress,
            cursor: update.cursor,
            stats: update.stats.clone(),
            error: update.error.clone(),
            started_at: row.started_at.or(Some(update.now)),
            finished_at: (!update.status.is_active()).then_some(update.now),
            ..row
        };
        st.rows.insert(id, next);
        st.trades.entry(id).or_default().extend_from_slice(trades);
        Ok(())
    }

    async fn backtest_trades(
        &self,
        user: UserId,
        id: BacktestId,
    ) -> Result<Vec<BacktestTradeRow>, StoreError> {
        let st = self.backtests.borrow();
        if st.rows.get(&id).is_none_or(|b| b.new.user_id != user) {
            return Err(StoreError::NotFound("backtest"));
        }
        let mut v = st.trades.get(&id).cloned().unwrap_or_default();
        v.sort_by_key(|t| (t.entry_time, t.detected_at));
        Ok(v)
    }
}
