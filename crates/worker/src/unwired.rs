//! The store the worker uses until a storage adapter is wired: every call fails with
//! `Unavailable`, so the data routes answer `503 service_unavailable` (the cause is logged)
//! while health, OpenAPI and routing work. It never pretends to hold data.

use cl_app::ports::{
    CandleStore, MatrixCell, NewPattern, NewSignal, NewSymbol, Page, PageRequest, PatternId,
    PatternStore, SignalFilter, SignalId, SignalStore, StatusUpdate, StoreError, StoredPattern,
    StoredSignal, StoredSymbol, SymbolId, SymbolStore,
};
use cl_domain::{Candle, Direction, Timeframe};

/// No storage adapter.
pub struct Unwired;

fn unwired<T>() -> Result<T, StoreError> {
    Err(StoreError::Unavailable(
        "no storage adapter is wired for this STORAGE".into(),
    ))
}

impl SymbolStore for Unwired {
    async fn add_symbol(&self, _: &NewSymbol) -> Result<StoredSymbol, StoreError> {
        unwired()
    }
    async fn symbol_by_name(&self, _: &str) -> Result<Option<StoredSymbol>, StoreError> {
        unwired()
    }
    async fn list_symbols(&self, _: bool) -> Result<Vec<StoredSymbol>, StoreError> {
        unwired()
    }
    async fn set_symbol_active(&self, _: SymbolId, _: bool) -> Result<(), StoreError> {
        unwired()
    }
}

impl CandleStore for Unwired {
    async fn upsert_candles(
        &self,
        _: SymbolId,
        _: Timeframe,
        _: &[Candle],
    ) -> Result<u64, StoreError> {
        unwired()
    }
    async fn last_candles(
        &self,
        _: SymbolId,
        _: Timeframe,
        _: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        unwired()
    }
    async fn last_candle_ts(&self, _: SymbolId, _: Timeframe) -> Result<Option<i64>, StoreError> {
        unwired()
    }
    async fn candles_in_range(
        &self,
        _: SymbolId,
        _: Timeframe,
        _: i64,
        _: i64,
        _: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        unwired()
    }
    async fn candles_before(
        &self,
        _: SymbolId,
        _: Timeframe,
        _: i64,
        _: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        unwired()
    }
}

impl PatternStore for Unwired {
    async fn insert_pattern(&self, _: &NewPattern) -> Result<Option<PatternId>, StoreError> {
        unwired()
    }
    async fn insert_patterns(
        &self,
        _: &[NewPattern],
    ) -> Result<Vec<Option<PatternId>>, StoreError> {
        unwired()
    }
    async fn pattern(&self, _: PatternId) -> Result<Option<StoredPattern>, StoreError> {
        unwired()
    }
    async fn active_patterns(
        &self,
        _: SymbolId,
        _: Option<Timeframe>,
    ) -> Result<Vec<StoredPattern>, StoreError> {
        unwired()
    }
    async fn update_statuses(&self, _: &[StatusUpdate]) -> Result<u64, StoreError> {
        unwired()
    }
    async fn expire_patterns(&self, _: SymbolId, _: i64) -> Result<u64, StoreError> {
        unwired()
    }
    async fn matrix(&self) -> Result<Vec<MatrixCell>, StoreError> {
        unwired()
    }
}

impl SignalStore for Unwired {
    async fn insert_signal(&self, _: &NewSignal, _: i64) -> Result<Option<SignalId>, StoreError> {
        unwired()
    }
    async fn signal(&self, _: SignalId) -> Result<Option<StoredSignal>, StoreError> {
        unwired()
    }
    async fn last_signal_at(&self, _: SymbolId, _: Direction) -> Result<Option<i64>, StoreError> {
        unwired()
    }
    async fn list_signals(
        &self,
        _: &SignalFilter,
        _: PageRequest,
    ) -> Result<Page<StoredSignal>, StoreError> {
        unwired()
    }
}
