//! In-memory [`MaintenanceStore`]: stats cache, known gaps and settings maps; the gap scan,
//! flag check and purges run over the store's ordered maps. The memory store never holds the
//! log, notification, session, usage or webhook tables' rows for retention purposes, so those
//! targets delete nothing here (the SQL adapters delete them; the contract pins the shared
//! targets).

use crate::MemoryStore;
use cl_app::jobs::maintenance::{
    validate_gap_window, validate_known_gap, validate_stats_entry, CandleKey, MaintenanceStore,
    MinuteGap, NewKnownGap, RetentionTarget, StatsEntry, SymbolStats,
};
use cl_app::ports::{exact_int, StoreError, SymbolId};
use cl_domain::{Candle, PatternStatus, Timeframe};
use std::collections::BTreeMap;

const MIN: i64 = 60_000;

/// Stats cache, known gaps (by `(symbol, tf, gap_start)`) and settings.
#[derive(Debug, Default)]
pub(crate) struct MaintenanceState {
    pub(crate) stats: BTreeMap<String, StatsEntry>,
    known_gaps: BTreeMap<(SymbolId, Timeframe, i64), NewKnownGap>,
    pub(crate) settings: BTreeMap<String, String>,
}

impl MemoryStore {
    /// Sets a `settings` row (raw JSON text), as an admin would; for tests and replays.
    pub fn put_setting(&self, key: &str, value: &str) {
        self.maintenance
            .borrow_mut()
            .settings
            .insert(key.to_owned(), value.to_owned());
    }

    /// The recorded known gaps, by key; for tests.
    pub fn known_gaps(&self) -> Vec<NewKnownGap> {
        self.maintenance
            .borrow()
            .known_gaps
            .values()
            .cloned()
            .collect()
    }
}

impl MaintenanceStore for MemoryStore {
    async fn symbol_stats(&self, since: i64) -> Result<Vec<SymbolStats>, StoreError> {
        exact_int("since", since)?;
        let st = self.state.borrow();
        Ok(st
            .symbols
            .values()
            .map(|s| SymbolStats {
                symbol: s.id,
                name: s.symbol.clone(),
                is_active: s.is_active,
                active_patterns: st
                    .active
                    .range((s.id, cl_app::ports::PatternId(i64::MIN))..)
                    .take_while(|(sym, _)| *sym == s.id)
                    .count() as u64,
                patterns_since: st
                    .patterns
                    .values()
                    .filter(|p| p.symbol == s.id && p.created_at >= since)
                    .count() as u64,
                signals_since: st
                    .signals
                    .values()
                    .filter(|x| x.symbol == s.id && x.created_at >= since)
                    .count() as u64,
                last_1m_ts: st
                    .candles
                    .range((s.id, Timeframe::M1, i64::MIN)..=(s.id, Timeframe::M1, i64::MAX))
                    .next_back()
                    .map(|(k, _)| k.2),
            })
            .collect())
    }

    async fn put_stats(&self, entries: &[StatsEntry]) -> Result<(), StoreError> {
        for e in entries {
            validate_stats_entry(e)?;
        }
        let mut m = self.maintenance.borrow_mut();
        for e in entries {
            m.stats.insert(e.key.clone(), e.clone());
        }
        Ok(())
    }

    async fn stats_entry(&self, key: &str) -> Result<Option<StatsEntry>, StoreError> {
        Ok(self.maintenance.borrow().stats.get(key).cloned())
    }

    async fn minute_gaps(
        &self,
        symbol: SymbolId,
        from: i64,
        to: i64,
        limit: u32,
    ) -> Result<Vec<MinuteGap>, StoreError> {
        validate_gap_window(from, to)?;
        let st = self.state.borrow();
        let m = self.maintenance.borrow();
        let stamps = st
            .candles
            .range((symbol, Timeframe::M1, from)..(symbol, Timeframe::M1, to))
            .map(|(k, _)| k.2)
            .chain(std::iter::once(to));
        let mut prev = from - MIN;
        let mut out = Vec::new();
        for ts in stamps {
            if ts - prev > MIN {
                let start = prev + MIN;
                let known = m
                    .known_gaps
                    .get(&(symbol, Timeframe::M1, start))
                    .is_some_and(|g| g.verified_empty);
                if !known {
                    out.push(MinuteGap {
                        start,
                        end: ts - MIN,
                    });
                }
            }
            prev = ts;
        }
        out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(out)
    }

    async fn record_known_gaps(&self, gaps: &[NewKnownGap]) -> Result<u64, StoreError> {
        for g in gaps {
            validate_known_gap(g)?;
            self.state.borrow().symbol_exists(g.symbol)?;
        }
        let mut m = self.maintenance.borrow_mut();
        let mut added = 0;
        for g in gaps {
            if let std::collections::btree_map::Entry::Vacant(e) =
                m.known_gaps.entry((g.symbol, g.tf, g.gap.start))
            {
                e.insert(g.clone());
                added += 1;
            }
        }
        Ok(added)
    }

    async fn flagged_candles(&self, limit: u32) -> Result<Vec<CandleKey>, StoreError> {
        // Stored candles passed `Candle::new`, so only the bucket grid can be broken here.
        let st = self.state.borrow();
        Ok(st
            .candles
            .keys()
            .filter(|(_, tf, ts)| tf.bucket_start(*ts) != *ts)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(symbol, tf, ts)| CandleKey {
                symbol: *symbol,
                tf: *tf,
                ts: *ts,
            })
            .collect())
    }

    async fn delete_candles(&self, keys: &[CandleKey]) -> Result<u64, StoreError> {
        let mut st = self.state.borrow_mut();
        Ok(keys
            .iter()
            .filter(|k| st.candles.remove(&(k.symbol, k.tf, k.ts)).is_some())
            .count() as u64)
    }

    async fn rewrite_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        candles: &[Candle],
    ) -> Result<u64, StoreError> {
        for c in candles {
            exact_int("candle ts", c.ts())?;
        }
        let mut st = self.state.borrow_mut();
        st.symbol_exists(symbol)?;
        for c in candles {
            st.candles.insert((symbol, tf, c.ts()), *c);
        }
        Ok(candles.len() as u64)
    }

    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.maintenance.borrow().settings.get(key).cloned())
    }

    async fn purge(
        &self,
        target: RetentionTarget,
        cutoff: i64,
        batch: u32,
    ) -> Result<u64, StoreError> {
        if batch == 0 {
            return Err(StoreError::Invalid("batch must be at least 1".into()));
        }
        let batch = usize::try_from(batch).unwrap_or(usize::MAX);
        match target {
            RetentionTarget::Candles1m => {
                let mut st = self.state.borrow_mut();
                let old: Vec<(SymbolId, Timeframe, i64)> = st
                    .candles
                    .keys()
                    .filter(|(_, tf, ts)| *tf == Timeframe::M1 && *ts < cutoff)
                    .take(batch)
                    .copied()
                    .collect();
                for k in &old {
                    st.candles.remove(k);
                }
                Ok(old.len() as u64)
            }
            RetentionTarget::EndedPatterns => {
                let mut st = self.state.borrow_mut();
                let old: Vec<cl_app::ports::PatternId> = st
                    .patterns
                    .values()
                    .filter(|p| p.status != PatternStatus::Active && p.detected_at < cutoff)
                    .take(batch)
                    .map(|p| p.id)
                    .collect();
                for id in &old {
                    if let Some(p) = st.patterns.remove(id) {
                        st.pattern_keys.remove(&(
                            p.symbol,
                            p.tf,
                            p.pattern_type,
                            p.direction,
                            p.detected_at,
                        ));
                    }
                }
                // `signals.pattern_id` is ON DELETE SET NULL.
                for s in st.signals.values_mut() {
                    if s.pattern_id.is_some_and(|p| old.contains(&p)) {
                        s.pattern_id = None;
                    }
                }
                Ok(old.len() as u64)
            }
            RetentionTarget::CronRuns => Ok(self.cron.borrow_mut().purge_runs(cutoff, batch)),
            RetentionTarget::RunQueue => Ok(self.run_queue.borrow_mut().purge(cutoff, batch)),
            RetentionTarget::BroadcastDeliveries => {
                Ok(self.broadcast_delivery.borrow_mut().purge(cutoff, batch))
            }
            _ => Ok(0),
        }
    }
}
