//! # cl-store-memory
//!
//! In-memory implementation of the storage ports, for replay and host tests.
//!
//! Design: one [`RefCell`] around ordered maps, no `Send` (like every adapter here). Every
//! method validates its whole input first and only then mutates, so a failing call writes
//! nothing — the same all-or-nothing behaviour the SQL stores get from a statement or a
//! transaction. Ids are deterministic: 1, 2, 3 … in storing order, never reused. The contract
//! suite (`cl-store-contract`) pins this store to the same behaviour as Postgres and D1.

use cl_app::ports::CandleStore;
use cl_app::ports::{
    exact_int, Cursor, HealthProbe, KeyWindow, MatrixCell, MatrixPattern, NewPattern, NewSignal,
    NewSymbol, Page, PageRequest, PatternId, PatternStore, SignalFilter, SignalId, SignalStatus,
    SignalStore, StatusUpdate, StoreError, StoredPattern, StoredPatternKey, StoredSignal,
    StoredSymbol, SymbolId, SymbolStore,
};
use cl_domain::{Candle, Direction, PatternStatus, PatternType, Timeframe};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

type PatternKey = (SymbolId, Timeframe, PatternType, Direction, i64);

#[derive(Debug, Default)]
struct State {
    symbols: BTreeMap<SymbolId, StoredSymbol>,
    candles: BTreeMap<(SymbolId, Timeframe, i64), Candle>,
    patterns: BTreeMap<PatternId, StoredPattern>,
    pattern_keys: BTreeMap<PatternKey, PatternId>,
    /// Index of the `active` patterns, so per-symbol reads do not scan ended ones.
    active: BTreeSet<(SymbolId, PatternId)>,
    signals: BTreeMap<SignalId, StoredSignal>,
    last_symbol_id: i64,
    last_pattern_id: i64,
    last_signal_id: i64,
}

impl State {
    fn symbol_exists(&self, id: SymbolId) -> Result<(), StoreError> {
        if self.symbols.contains_key(&id) {
            Ok(())
        } else {
            Err(StoreError::NotFound("symbol"))
        }
    }

    fn insert_pattern(&mut self, new: &NewPattern) -> Option<PatternId> {
        let key = (
            new.symbol,
            new.tf,
            new.pattern_type,
            new.direction,
            new.detected_at,
        );
        if self.pattern_keys.contains_key(&key) {
            return None;
        }
        self.last_pattern_id += 1;
        let id = PatternId(self.last_pattern_id);
        self.pattern_keys.insert(key, id);
        self.active.insert((new.symbol, id));
        self.patterns.insert(
            id,
            StoredPattern {
                id,
                symbol: new.symbol,
                tf: new.tf,
                pattern_type: new.pattern_type,
                direction: new.direction,
                zone: new.zone,
                swept_level: new.swept_level,
                detected_at: new.detected_at,
                expires_at: new.expires_at,
                status: PatternStatus::Active,
                filled_at: None,
                fill_pct: 0.0,
                levels: new.levels,
                created_at: new.created_at,
            },
        );
        Some(id)
    }
}

/// The in-memory store. Create one per test or replay; it starts empty.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RefCell<State>,
    accounts: RefCell<accounts::AccountState>,
    api_keys: RefCell<api_keys::ApiKeyState>,
    billing: RefCell<billing::BillingState>,
    portfolio: RefCell<portfolio::PortfolioState>,
    cron: RefCell<cron::CronState>,
    notifications: RefCell<notifications::NotifyState>,
    maintenance: RefCell<maintenance::MaintenanceState>,
    admin: RefCell<admin::AdminState>,
    notice_admin: RefCell<notification_admin::NoticeAdminState>,
    broadcast_delivery: RefCell<broadcast_delivery::BroadcastDeliveryState>,
    optimization: RefCell<optimization::OptimizationState>,
    credentials: RefCell<exchange_credentials::CredentialState>,
    backtests: RefCell<backtests::BacktestState>,
    run_queue: RefCell<run_queue::RunQueueState>,
    stats: RefCell<stats::StatsState>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The candles of one series with `from <= ts < to`, oldest first, at most `limit`; from
    /// the newest end when `newest` (still returned oldest first). A range read of the ordered
    /// map: the cost does not depend on the length of the series.
    fn series_range(
        &self,
        key: (SymbolId, Timeframe),
        from: i64,
        to: i64,
        limit: u32,
        newest: bool,
    ) -> Vec<Candle> {
        let (symbol, tf) = key;
        if from >= to {
            return Vec::new();
        }
        let st = self.state.borrow();
        let range = st
            .candles
            .range((symbol, tf, from)..(symbol, tf, to))
            .map(|(_, c)| *c);
        if newest {
            let mut out: Vec<Candle> = range.rev().take(clamp(limit)).collect();
            out.reverse();
            out
        } else {
            range.take(clamp(limit)).collect()
        }
    }
}

fn clamp(limit: u32) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

impl SymbolStore for MemoryStore {
    async fn add_symbol(&self, new: &NewSymbol) -> Result<StoredSymbol, StoreError> {
        new.validate()?;
        let mut st = self.state.borrow_mut();
        if st.symbols.values().any(|s| s.symbol == new.symbol) {
            return Err(StoreError::Conflict("symbols.symbol"));
        }
        st.last_symbol_id += 1;
        let row = StoredSymbol {
            id: SymbolId(st.last_symbol_id),
            symbol: new.symbol.clone(),
            exchange: new.exchange.clone(),
            is_active: new.is_active,
            notify_enabled: new.notify_enabled,
            fetch_start_ms: new.fetch_start_ms,
            created_at: new.created_at,
        };
        st.symbols.insert(row.id, row.clone());
        Ok(row)
    }

    async fn symbol_by_name(&self, symbol: &str) -> Result<Option<StoredSymbol>, StoreError> {
        let st = self.state.borrow();
        Ok(st.symbols.values().find(|s| s.symbol == symbol).cloned())
    }

    async fn list_symbols(&self, active_only: bool) -> Result<Vec<StoredSymbol>, StoreError> {
        let st = self.state.borrow();
        Ok(st
            .symbols
            .values()
            .filter(|s| !active_only || s.is_active)
            .cloned()
            .collect())
    }

    async fn set_symbol_active(&self, id: SymbolId, active: bool) -> Result<(), StoreError> {
        let mut st = self.state.borrow_mut();
        let row = st
            .symbols
            .get_mut(&id)
            .ok_or(StoreError::NotFound("symbol"))?;
        row.is_active = active;
        Ok(())
    }
}

impl CandleStore for MemoryStore {
    async fn upsert_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        candles: &[Candle],
    ) -> Result<u64, StoreError> {
        if candles.is_empty() {
            return Ok(0);
        }
        for c in candles {
            exact_int("candle ts", c.ts())?;
        }
        let mut st = self.state.borrow_mut();
        st.symbol_exists(symbol)?;
        let mut inserted = 0;
        for c in candles {
            if let std::collections::btree_map::Entry::Vacant(e) =
                st.candles.entry((symbol, tf, c.ts()))
            {
                e.insert(*c);
                inserted += 1;
            }
        }
        Ok(inserted)
    }

    async fn last_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        n: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        Ok(self.series_range((symbol, tf), i64::MIN, i64::MAX, n, true))
    }

    async fn last_candles_many(
        &self,
        symbol: SymbolId,
        wants: &[(Timeframe, u32)],
    ) -> Result<Vec<Vec<Candle>>, StoreError> {
        cl_app::ports::check_series_per_read(wants.len())?;
        Ok(wants
            .iter()
            .map(|&(tf, n)| self.series_range((symbol, tf), i64::MIN, i64::MAX, n, true))
            .collect())
    }

    async fn last_candle_ts(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
    ) -> Result<Option<i64>, StoreError> {
        let st = self.state.borrow();
        Ok(st
            .candles
            .range((symbol, tf, i64::MIN)..=(symbol, tf, i64::MAX))
            .next_back()
            .map(|(_, c)| c.ts()))
    }

    async fn candles_in_range(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        from: i64,
        to: i64,
        limit: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        Ok(self.series_range((symbol, tf), from, to, limit, false))
    }

    async fn candles_before(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        before: i64,
        limit: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        Ok(self.series_range((symbol, tf), i64::MIN, before, limit, true))
    }
}

impl PatternStore for MemoryStore {
    async fn insert_pattern(&self, new: &NewPattern) -> Result<Option<PatternId>, StoreError> {
        new.validate()?;
        let mut st = self.state.borrow_mut();
        st.symbol_exists(new.symbol)?;
        Ok(st.insert_pattern(new))
    }

    async fn insert_patterns(
        &self,
        new: &[NewPattern],
    ) -> Result<Vec<Option<PatternId>>, StoreError> {
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let mut st = self.state.borrow_mut();
        for p in new {
            p.validate()?;
            st.symbol_exists(p.symbol)?;
        }
        Ok(new.iter().map(|p| st.insert_pattern(p)).collect())
    }

    async fn pattern(&self, id: PatternId) -> Result<Option<StoredPattern>, StoreError> {
        Ok(self.state.borrow().patterns.get(&id).copied())
    }

    async fn active_patterns(
        &self,
        symbol: SymbolId,
        tf: Option<Timeframe>,
    ) -> Result<Vec<StoredPattern>, StoreError> {
        let st = self.state.borrow();
        Ok(st
            .active
            .range((symbol, PatternId(i64::MIN))..=(symbol, PatternId(i64::MAX)))
            .filter_map(|(_, id)| st.patterns.get(id))
            .filter(|p| tf.is_none_or(|tf| p.tf == tf))
            .copied()
            .collect())
    }

    async fn update_statuses(&self, updates: &[StatusUpdate]) -> Result<u64, StoreError> {
        StatusUpdate::validate_batch(updates)?;
        let mut st = self.state.borrow_mut();
        let mut changed = 0;
        let mut ended = Vec::new();
        for u in updates {
            if let Some(p) = st.patterns.get_mut(&u.id) {
                if p.status == PatternStatus::Active {
                    p.status = u.status;
                    p.fill_pct = u.fill_pct;
                    p.filled_at = u.filled_at;
                    changed += 1;
                    if u.status != PatternStatus::Active {
                        ended.push((p.symbol, p.id));
                    }
                }
            }
        }
        for key in ended {
            st.active.remove(&key);
        }
        Ok(changed)
    }

    async fn expire_patterns(&self, symbol: SymbolId, now: i64) -> Result<u64, StoreError> {
        let mut st = self.state.borrow_mut();
        let State {
            patterns, active, ..
        } = &mut *st;
        let mut expired = 0;
        active.retain(|&(s, id)| {
            let Some(p) = patterns.get_mut(&id) else {
                return false;
            };
            if s == symbol && p.expires_at < now {
                p.status = PatternStatus::Expired;
                expired += 1;
                false
            } else {
                true
            }
        });
        Ok(expired)
    }

    async fn pattern_keys(
        &self,
        symbol: SymbolId,
        windows: &[KeyWindow],
    ) -> Result<Vec<StoredPatternKey>, StoreError> {
        for w in windows {
            exact_int("window start", w.from)?;
        }
        let st = self.state.borrow();
        let mut out = Vec::new();
        for w in windows {
            for &pattern_type in PatternType::ALL {
                for &direction in Direction::ALL {
                    let lo = (symbol, w.tf, pattern_type, direction, w.from);
                    let hi = (symbol, w.tf, pattern_type, direction, i64::MAX);
                    out.extend(
                        st.pattern_keys
                            .range(lo..=hi)
                            .map(|(k, _)| StoredPatternKey {
                                tf: k.1,
                                pattern_type: k.2,
                                direction: k.3,
                                detected_at: k.4,
                            }),
                    );
                }
            }
        }
        Ok(out)
    }

    async fn list_patterns(
        &self,
        filter: &cl_app::ports::PatternFilter,
        page: PageRequest,
    ) -> Result<Page<StoredPattern>, StoreError> {
        patterns::list(&self.state.borrow(), filter, page)
    }

    async fn matrix(&self) -> Result<Vec<MatrixCell>, StoreError> {
        let st = self.state.borrow();
        let mut symbols: Vec<&StoredSymbol> = st.symbols.values().filter(|s| s.is_active).collect();
        symbols.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        let mut cells = Vec::with_capacity(symbols.len() * Timeframe::VOTING.len());
        for s in symbols {
            for tf in Timeframe::VOTING {
                let mut latest: Option<&StoredPattern> = None;
                let mut active_count = 0u32;
                for p in st
                    .patterns
                    .values()
                    .filter(|p| p.symbol == s.id && p.tf == tf && p.status == PatternStatus::Active)
                {
                    active_count += 1;
                    // Greatest detected_at; a tie goes to the higher id (detection.md §7).
                    if latest.is_none_or(|l| (p.detected_at, p.id) > (l.detected_at, l.id)) {
                        latest = Some(p);
                    }
                }
                cells.push(MatrixCell {
                    symbol: s.id,
                    symbol_name: s.symbol.clone(),
                    tf,
                    latest: latest.map(|p| MatrixPattern {
                        id: p.id,
                        pattern_type: p.pattern_type,
                        direction: p.direction,
                        zone: p.zone,
                        detected_at: p.detected_at,
                    }),
                    active_count,
                });
            }
        }
        Ok(cells)
    }
}

impl SignalStore for MemoryStore {
    async fn insert_signal(
        &self,
        new: &NewSignal,
        cooldown_ms: i64,
    ) -> Result<Option<SignalId>, StoreError> {
        new.validate(cooldown_ms)?;
        let mut st = self.state.borrow_mut();
        // The cooldown guard runs first; references are checked only when a row is written
        // (as a SQL foreign key is).
        let threshold = new.created_at - cooldown_ms;
        if st.signals.values().any(|s| {
            s.symbol == new.symbol
                && s.direction == new.direction
                && s.created_at > threshold
                && s.created_at <= new.created_at
        }) {
            return Ok(None);
        }
        st.symbol_exists(new.symbol)?;
        if let Some(pid) = new.pattern_id {
            if !st.patterns.contains_key(&pid) {
                return Err(StoreError::NotFound("pattern"));
            }
        }
        st.last_signal_id += 1;
        let id = SignalId(st.last_signal_id);
        st.signals.insert(
            id,
            StoredSignal {
                id,
                symbol: new.symbol,
                direction: new.direction,
                entry: new.entry,
                stop_loss: new.stop_loss,
                tp1: new.tp1,
                tp2: new.tp2,
                tp3: new.tp3,
                risk_reward: new.risk_reward,
                confluence_score: new.confluence_score,
                timeframes_aligned: new.timeframes_aligned.clone(),
                pattern_id: new.pattern_id,
                status: SignalStatus::Pending,
                created_at: new.created_at,
                notified_at: None,
            },
        );
        Ok(Some(id))
    }

    async fn signal(&self, id: SignalId) -> Result<Option<StoredSignal>, StoreError> {
        Ok(self.state.borrow().signals.get(&id).cloned())
    }

    async fn last_signal_at(
        &self,
        symbol: SymbolId,
        direction: Direction,
    ) -> Result<Option<i64>, StoreError> {
        let st = self.state.borrow();
        Ok(st
            .signals
            .values()
            .filter(|s| s.symbol == symbol && s.direction == direction)
            .map(|s| s.created_at)
            .max())
    }

    async fn list_signals(
        &self,
        filter: &SignalFilter,
        page: PageRequest,
    ) -> Result<Page<StoredSignal>, StoreError> {
        page.validate()?;
        let st = self.state.borrow();
        let mut rows: Vec<&StoredSignal> = st
            .signals
            .values()
            .filter(|s| {
                filter.symbol.is_none_or(|x| s.symbol == x)
                    && filter.direction.is_none_or(|x| s.direction == x)
                    && filter.status.is_none_or(|x| s.status == x)
                    && page.after.is_none_or(|c| c.is_before(s.created_at, s.id.0))
            })
            .collect();
        rows.sort_by_key(|s| std::cmp::Reverse((s.created_at, s.id)));
        let limit = clamp(page.limit);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more {
            rows.last().map(|s| Cursor {
                ts: s.created_at,
                id: s.id.0,
            })
        } else {
            None
        };
        Ok(Page {
            items: rows.into_iter().cloned().collect(),
            next,
        })
    }
}

impl HealthProbe for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

mod accounts;
mod admin;
mod api_keys;
mod backtests;
mod billing;
mod broadcast_delivery;
mod cron;
mod exchange_credentials;
mod gate;
mod maintenance;
mod metrics;
mod notification_admin;
mod notifications;
mod optimization;
mod patterns;
mod portfolio;
mod ratelimit;
mod run_queue;
mod stats;
pub use ratelimit::MemoryRateLimits;
