//! [`MaintenanceStore`] over D1. Reads are one statement each (the gap scan is one window
//! query); multi-row writes are one `batch()` (one round trip, one transaction); a purge
//! deletes by `rowid IN (SELECT … LIMIT ?)`, one statement per table (two-table targets are
//! one batch).

use crate::values::{count, flag, int, read_flag, read_int, read_opt_int, real, text};
use crate::{changes, decode, D1Store};
use cl_app::jobs::maintenance::{
    validate_gap_window, validate_known_gap, validate_stats_entry, CandleKey, MaintenanceStore,
    MinuteGap, NewKnownGap, RetentionTarget, StatsEntry, SymbolStats,
};
use cl_app::ports::{exact_int, StoreError, SymbolId};
use cl_domain::{Candle, Timeframe};
use serde::Deserialize;

const SYMBOL_STATS: &str = "\
SELECT s.id AS id, s.symbol AS symbol, s.is_active AS is_active,
    (SELECT count(*) FROM patterns p WHERE p.symbol_id = s.id AND p.status = 'active') AS active_patterns,
    (SELECT count(*) FROM patterns p WHERE p.symbol_id = s.id AND p.created_at >= ?1) AS patterns_since,
    (SELECT count(*) FROM signals g WHERE g.symbol_id = s.id AND g.created_at >= ?1) AS signals_since,
    (SELECT max(c.ts) FROM candles c WHERE c.symbol_id = s.id AND c.tf = '1m') AS last_1m_ts
FROM symbols s ORDER BY s.id";

const PUT_STATS: &str = "\
INSERT INTO stats_cache (key, data, computed_at) VALUES (?1, ?2, ?3)
ON CONFLICT (key) DO UPDATE SET data = excluded.data, computed_at = excluded.computed_at";

const STATS_ENTRY: &str = "SELECT key, data, computed_at FROM stats_cache WHERE key = ?1";

const MINUTE_GAPS: &str = "\
WITH s AS (
    SELECT ts FROM candles WHERE symbol_id = ?1 AND tf = '1m' AND ts >= ?2 AND ts < ?3
    UNION ALL SELECT ?2 - 60000
    UNION ALL SELECT ?3
), g AS (SELECT ts, lag(ts) OVER (ORDER BY ts) AS prev FROM s)
SELECT g.prev + 60000 AS gap_start, g.ts - 60000 AS gap_end FROM g
WHERE g.ts - g.prev > 60000
  AND NOT EXISTS (SELECT 1 FROM known_gaps k WHERE k.symbol_id = ?1 AND k.tf = '1m'
                  AND k.gap_start = g.prev + 60000 AND k.verified_empty = 1)
ORDER BY g.prev LIMIT ?4";

const RECORD_KNOWN_GAP: &str = "\
INSERT INTO known_gaps (symbol_id, tf, gap_start, gap_end, missing, reason, verified_empty, created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT (symbol_id, tf, gap_start) DO NOTHING";

const FLAGGED: &str = "\
SELECT symbol_id, tf, ts FROM candles
WHERE NOT (open > 0 AND open < 1e308 AND high > 0 AND high < 1e308 AND low > 0 AND low < 1e308
           AND close > 0 AND close < 1e308 AND volume >= 0 AND volume < 1e308
           AND low <= min(open, close) AND high >= max(open, close))
   OR ts % (CASE tf WHEN '1m' THEN 60000 WHEN '5m' THEN 300000 WHEN '15m' THEN 900000
            WHEN '30m' THEN 1800000 WHEN '1h' THEN 3600000 WHEN '2h' THEN 7200000
            WHEN '4h' THEN 14400000 ELSE 86400000 END) <> 0
ORDER BY symbol_id, ts, tf LIMIT ?1";

const DELETE_CANDLE: &str = "DELETE FROM candles WHERE symbol_id = ?1 AND tf = ?2 AND ts = ?3";

const REWRITE_CANDLE: &str = "\
INSERT INTO candles (symbol_id, tf, ts, open, high, low, close, volume)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT (symbol_id, tf, ts) DO UPDATE SET open = excluded.open, high = excluded.high,
    low = excluded.low, close = excluded.close, volume = excluded.volume";

const SETTING: &str = "SELECT value FROM settings WHERE key = ?1";

/// The purge statements of a target: `?1` cutoff, `?2` batch.
fn purge_sql(target: RetentionTarget) -> &'static [&'static str] {
    match target {
        RetentionTarget::Candles1m => &["DELETE FROM candles WHERE rowid IN (
            SELECT rowid FROM candles WHERE tf = '1m' AND ts < ?1 LIMIT ?2)"],
        RetentionTarget::Logs => &["DELETE FROM logs WHERE id IN (
            SELECT id FROM logs WHERE ts < ?1 LIMIT ?2)"],
        RetentionTarget::CronRuns => &["DELETE FROM cron_runs WHERE id IN (
            SELECT id FROM cron_runs WHERE status <> 'running' AND started_at < ?1 LIMIT ?2)"],
        RetentionTarget::Notifications => &[
            "DELETE FROM user_notifications WHERE id IN (
            SELECT id FROM user_notifications WHERE created_at < ?1 LIMIT ?2)",
            "DELETE FROM notifications WHERE id IN (
            SELECT id FROM notifications WHERE created_at < ?1 LIMIT ?2)",
        ],
        RetentionTarget::EndedPatterns => &["DELETE FROM patterns WHERE id IN (
            SELECT id FROM patterns WHERE status <> 'active' AND detected_at < ?1 LIMIT ?2)"],
        RetentionTarget::ResolvedErrors => &["DELETE FROM error_logs WHERE id IN (
            SELECT id FROM error_logs WHERE status IN ('resolved', 'ignored') AND last_seen < ?1
            LIMIT ?2)"],
        RetentionTarget::SessionsTokens => &[
            "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions
            WHERE expires_at < ?1 OR absolute_expires_at < ?1 LIMIT ?2)",
            "DELETE FROM auth_tokens WHERE id IN (
            SELECT id FROM auth_tokens WHERE expires_at < ?1 OR used_at < ?1 LIMIT ?2)",
        ],
        RetentionTarget::ApiKeyUsage => &["DELETE FROM api_key_usage WHERE rowid IN (
            SELECT rowid FROM api_key_usage WHERE hour_start < ?1 LIMIT ?2)"],
        RetentionTarget::WebhookEvents => &["DELETE FROM webhook_events WHERE id IN (
            SELECT id FROM webhook_events WHERE received_at < ?1 LIMIT ?2)"],
        RetentionTarget::RunQueue => &["DELETE FROM run_queue WHERE id IN (
            SELECT id FROM run_queue WHERE status IN ('ok', 'partial', 'failed')
            AND coalesce(ended_at, created_at) < ?1 LIMIT ?2)"],
        RetentionTarget::BroadcastDeliveries => &["DELETE FROM broadcast_deliveries WHERE id IN (
            SELECT id FROM broadcast_deliveries WHERE status IN ('sent', 'failed')
            AND coalesce(sent_at, created_at) < ?1 LIMIT ?2)"],
    }
}

#[derive(Debug, Deserialize)]
struct StatsRow {
    id: f64,
    symbol: String,
    is_active: f64,
    active_patterns: f64,
    patterns_since: f64,
    signals_since: f64,
    last_1m_ts: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct EntryRow {
    key: String,
    data: String,
    computed_at: f64,
}

#[derive(Debug, Deserialize)]
struct GapRow {
    gap_start: f64,
    gap_end: f64,
}

#[derive(Debug, Deserialize)]
struct KeyRow {
    symbol_id: f64,
    tf: String,
    ts: f64,
}

#[derive(Debug, Deserialize)]
struct ValueRow {
    value: String,
}

fn n(table: &'static str, what: &'static str, v: f64) -> Result<u64, StoreError> {
    Ok(u64::try_from(read_int(table, None, what, v)?).unwrap_or(0))
}

impl D1Store {
    async fn sum_changes(
        &self,
        stmts: Vec<worker::D1PreparedStatement>,
        missing: &'static str,
    ) -> Result<u64, StoreError> {
        let results = self.batch(stmts, missing).await?;
        results
            .iter()
            .try_fold(0u64, |sum, r| Ok(sum + changes(r)?))
    }
}

impl MaintenanceStore for D1Store {
    async fn symbol_stats(&self, since: i64) -> Result<Vec<SymbolStats>, StoreError> {
        let stmt = self.stmt(SYMBOL_STATS, &[int("since", since)?])?;
        let res = self.exec(stmt, "symbol").await?;
        decode::<StatsRow>("symbols", &res)?
            .into_iter()
            .map(|r| {
                Ok(SymbolStats {
                    symbol: SymbolId(read_int("symbols", None, "id", r.id)?),
                    is_active: read_flag("symbols", None, "is_active", r.is_active)?,
                    name: r.symbol,
                    active_patterns: n("patterns", "count", r.active_patterns)?,
                    patterns_since: n("patterns", "count", r.patterns_since)?,
                    signals_since: n("signals", "count", r.signals_since)?,
                    last_1m_ts: read_opt_int("candles", None, "ts", r.last_1m_ts)?,
                })
            })
            .collect()
    }

    async fn put_stats(&self, entries: &[StatsEntry]) -> Result<(), StoreError> {
        let mut stmts = Vec::with_capacity(entries.len());
        for e in entries {
            validate_stats_entry(e)?;
            stmts.push(self.stmt(
                PUT_STATS,
                &[
                    text(&e.key),
                    text(&e.data),
                    int("computed_at", e.computed_at)?,
                ],
            )?);
        }
        self.batch(stmts, "stats").await.map(|_| ())
    }

    async fn stats_entry(&self, key: &str) -> Result<Option<StatsEntry>, StoreError> {
        let stmt = self.stmt(STATS_ENTRY, &[text(key)])?;
        let res = self.exec(stmt, "stats").await?;
        decode::<EntryRow>("stats_cache", &res)?
            .into_iter()
            .next()
            .map(|r| {
                Ok(StatsEntry {
                    computed_at: read_int("stats_cache", None, "computed_at", r.computed_at)?,
                    key: r.key,
                    data: r.data,
                })
            })
            .transpose()
    }

    async fn minute_gaps(
        &self,
        symbol: SymbolId,
        from: i64,
        to: i64,
        limit: u32,
    ) -> Result<Vec<MinuteGap>, StoreError> {
        validate_gap_window(from, to)?;
        let stmt = self.stmt(
            MINUTE_GAPS,
            &[
                int("symbol id", symbol.0)?,
                int("from", from)?,
                int("to", to)?,
                count(limit),
            ],
        )?;
        let res = self.exec(stmt, "symbol").await?;
        decode::<GapRow>("candles", &res)?
            .into_iter()
            .map(|r| {
                Ok(MinuteGap {
                    start: read_int("candles", None, "gap_start", r.gap_start)?,
                    end: read_int("candles", None, "gap_end", r.gap_end)?,
                })
            })
            .collect()
    }

    async fn record_known_gaps(&self, gaps: &[NewKnownGap]) -> Result<u64, StoreError> {
        let mut stmts = Vec::with_capacity(gaps.len());
        for g in gaps {
            validate_known_gap(g)?;
            stmts.push(self.stmt(
                RECORD_KNOWN_GAP,
                &[
                    int("symbol id", g.symbol.0)?,
                    text(g.tf.as_str()),
                    int("gap start", g.gap.start)?,
                    int("gap end", g.gap.end)?,
                    int(
                        "missing",
                        i64::try_from(g.gap.missing()).unwrap_or(i64::MAX),
                    )?,
                    text(&g.reason),
                    flag(g.verified_empty),
                    int("created_at", g.created_at)?,
                ],
            )?);
        }
        self.sum_changes(stmts, "symbol").await
    }

    async fn flagged_candles(&self, limit: u32) -> Result<Vec<CandleKey>, StoreError> {
        let stmt = self.stmt(FLAGGED, &[count(limit)])?;
        let res = self.exec(stmt, "symbol").await?;
        decode::<KeyRow>("candles", &res)?
            .into_iter()
            .map(|r| {
                Ok(CandleKey {
                    symbol: SymbolId(read_int("candles", None, "symbol_id", r.symbol_id)?),
                    tf: Timeframe::parse(&r.tf)
                        .map_err(|e| StoreError::corrupt("candles", None, e))?,
                    ts: read_int("candles", None, "ts", r.ts)?,
                })
            })
            .collect()
    }

    async fn delete_candles(&self, keys: &[CandleKey]) -> Result<u64, StoreError> {
        let mut stmts = Vec::with_capacity(keys.len());
        for k in keys {
            stmts.push(self.stmt(
                DELETE_CANDLE,
                &[
                    int("symbol id", k.symbol.0)?,
                    text(k.tf.as_str()),
                    int("ts", k.ts)?,
                ],
            )?);
        }
        self.sum_changes(stmts, "symbol").await
    }

    async fn rewrite_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        candles: &[Candle],
    ) -> Result<u64, StoreError> {
        let mut stmts = Vec::with_capacity(candles.len());
        for c in candles {
            stmts.push(self.stmt(
                REWRITE_CANDLE,
                &[
                    int("symbol id", symbol.0)?,
                    text(tf.as_str()),
                    int("candle ts", c.ts())?,
                    real("open", c.open())?,
                    real("high", c.high())?,
                    real("low", c.low())?,
                    real("close", c.close())?,
                    real("volume", c.volume())?,
                ],
            )?);
        }
        self.sum_changes(stmts, "symbol").await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let stmt = self.stmt(SETTING, &[text(key)])?;
        let res = self.exec(stmt, "setting").await?;
        Ok(decode::<ValueRow>("settings", &res)?
            .into_iter()
            .next()
            .map(|r| r.value))
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
        exact_int("cutoff", cutoff)?;
        let mut stmts = Vec::new();
        for sql in purge_sql(target) {
            stmts.push(self.stmt(sql, &[int("cutoff", cutoff)?, count(batch)])?);
        }
        self.sum_changes(stmts, "row").await
    }
}
