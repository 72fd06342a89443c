//! [`MaintenanceStore`] over Postgres. Every method is ONE statement: multi-row writes go
//! through `unnest` arrays (atomic by themselves), purges are `WITH d AS (DELETE … LIMIT)
//! SELECT count(*)` (one statement even for two tables).

use crate::PgStore;
use cl_app::jobs::maintenance::{
    validate_gap_window, validate_known_gap, validate_stats_entry, CandleKey, MaintenanceStore,
    MinuteGap, NewKnownGap, RetentionTarget, StatsEntry, SymbolStats,
};
use cl_app::ports::{exact_int, StoreError, SymbolId};
use cl_domain::{Candle, Timeframe};
use tokio_postgres::types::Type;
use tokio_postgres::Row;

const SYMBOL_STATS: &str = "\
SELECT s.id, s.symbol, s.is_active,
    (SELECT count(*) FROM patterns p WHERE p.symbol_id = s.id AND p.status = 'active') AS active_patterns,
    (SELECT count(*) FROM patterns p WHERE p.symbol_id = s.id AND p.created_at >= $1) AS patterns_since,
    (SELECT count(*) FROM signals g WHERE g.symbol_id = s.id AND g.created_at >= $1) AS signals_since,
    (SELECT max(c.ts) FROM candles c WHERE c.symbol_id = s.id AND c.tf = '1m') AS last_1m_ts
FROM symbols s ORDER BY s.id";

const PUT_STATS: &str = "\
INSERT INTO stats_cache (key, data, computed_at)
SELECT k, d::jsonb, t FROM unnest($1::text[], $2::text[], $3::int8[]) AS u(k, d, t)
ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, computed_at = EXCLUDED.computed_at";

const STATS_ENTRY: &str = "\
SELECT key, data::text AS data, computed_at FROM stats_cache WHERE key = $1";

const MINUTE_GAPS: &str = "\
WITH s AS (
    SELECT ts FROM candles WHERE symbol_id = $1 AND tf = '1m' AND ts >= $2 AND ts < $3
    UNION ALL SELECT $2 - 60000
    UNION ALL SELECT $3
), g AS (SELECT ts, lag(ts) OVER (ORDER BY ts) AS prev FROM s)
SELECT g.prev + 60000 AS gap_start, g.ts - 60000 AS gap_end FROM g
WHERE g.ts - g.prev > 60000
  AND NOT EXISTS (SELECT 1 FROM known_gaps k WHERE k.symbol_id = $1 AND k.tf = '1m'
                  AND k.gap_start = g.prev + 60000 AND k.verified_empty)
ORDER BY g.prev LIMIT $4";

const RECORD_KNOWN_GAPS: &str = "\
WITH ins AS (
    INSERT INTO known_gaps (symbol_id, tf, gap_start, gap_end, missing, reason, verified_empty, created_at)
    SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::text[],
                         $7::bool[], $8::int8[])
    ON CONFLICT (symbol_id, tf, gap_start) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM ins";

/// Bad OHLC (NaN compares greater than every number in Postgres, so it fails `< 1e308`) or
/// off the TF's bucket grid.
const FLAGGED: &str = "\
SELECT symbol_id, tf, ts FROM candles
WHERE NOT (open > 0 AND open < 1e308 AND high > 0 AND high < 1e308 AND low > 0 AND low < 1e308
           AND close > 0 AND close < 1e308 AND volume >= 0 AND volume < 1e308
           AND low <= least(open, close) AND high >= greatest(open, close))
   OR ts % (CASE tf WHEN '1m' THEN 60000 WHEN '5m' THEN 300000 WHEN '15m' THEN 900000
            WHEN '30m' THEN 1800000 WHEN '1h' THEN 3600000 WHEN '2h' THEN 7200000
            WHEN '4h' THEN 14400000 ELSE 86400000 END) <> 0
ORDER BY symbol_id, ts, tf LIMIT $1";

const DELETE_CANDLES: &str = "\
WITH d AS (
    DELETE FROM candles c USING unnest($1::int8[], $2::text[], $3::int8[]) AS k(s, tf, ts)
    WHERE c.symbol_id = k.s AND c.tf = k.tf AND c.ts = k.ts
    RETURNING 1
)
SELECT count(*) FROM d";

const REWRITE_CANDLES: &str = "\
WITH up AS (
    INSERT INTO candles (symbol_id, tf, ts, open, high, low, close, volume)
    SELECT $1, $2, t.ts, t.o, t.h, t.l, t.c, t.v
    FROM unnest($3::int8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
         AS t(ts, o, h, l, c, v)
    ON CONFLICT (symbol_id, tf, ts) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high,
        low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume
    RETURNING 1
)
SELECT count(*) FROM up";

const SETTING: &str = "SELECT value::text AS value FROM settings WHERE key = $1";

/// One purge statement per target: `$1` cutoff, `$2` batch.
fn purge_sql(target: RetentionTarget) -> &'static str {
    match target {
        RetentionTarget::Candles1m => {
            "\
WITH d AS (DELETE FROM candles WHERE (symbol_id, tf, ts) IN (
    SELECT symbol_id, tf, ts FROM candles WHERE tf = '1m' AND ts < $1 LIMIT $2) RETURNING 1)
SELECT count(*) FROM d"
        }
        RetentionTarget::Logs => {
            "\
WITH d AS (DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE ts < $1 LIMIT $2) RETURNING 1)
SELECT count(*) FROM d"
        }
        RetentionTarget::CronRuns => {
            "\
WITH d AS (DELETE FROM cron_runs WHERE id IN (
    SELECT id FROM cron_runs WHERE status <> 'running' AND started_at < $1 LIMIT $2) RETURNING 1)
SELECT count(*) FROM d"
        }
        RetentionTarget::Notifications => {
            "\
WITH a AS (DELETE FROM user_notifications WHERE id IN (
    SELECT id FROM user_notifications WHERE created_at < $1 LIMIT $2) RETURNING 1),
b AS (DELETE FROM notifications WHERE id IN (
    SELECT id FROM notifications WHERE created_at < $1 LIMIT $2) RETURNING 1)
SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)"
        }
        RetentionTarget::EndedPatterns => {
            "\
WITH d AS (DELETE FROM patterns WHERE id IN (
    SELECT id FROM patterns WHERE status <> 'active' AND detected_at < $1 LIMIT $2) RETURNING 1)
SELECT count(*) FROM d"
        }
        RetentionTarget::ResolvedErrors => {
            "\
WITH d AS (DELETE FROM error_logs WHERE id IN (
    SELECT id FROM error_logs WHERE status IN ('resolved', 'ignored') AND last_seen < $1 LIMIT $2)
    RETURNING 1)
SELECT count(*) FROM d"
        }
        RetentionTarget::SessionsTokens => {
            "\
WITH a AS (DELETE FROM sessions WHERE token_hash IN (
    SELECT token_hash FROM sessions WHERE expires_at < $1 OR absolute_expires_at < $1 LIMIT $2)
    RETURNING 1),
b AS (DELETE FROM auth_tokens WHERE id IN (
    SELECT id FROM auth_tokens WHERE expires_at < $1 OR used_at < $1 LIMIT $2) RETURNING 1)
SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)"
        }
        RetentionTarget::ApiKeyUsage => {
            "\
WITH d AS (DELETE FROM api_key_usage WHERE id IN (
    SELECT id FROM api_key_usage WHERE hour_start < $1 LIMIT $2) RETURNING 1)
SELECT count(*) FROM d"
        }
        RetentionTarget::WebhookEvents => {
            "\
WITH d AS (DELETE FROM webhook_events WHERE id IN (
    SELECT id FROM webhook_events WHERE received_at < $1 LIMIT $2) RETURNING 1)
SELECT count(*) FROM d"
        }
        RetentionTarget::RunQueue => {
            "\
WITH d AS (DELETE FROM run_queue WHERE id IN (
    SELECT id FROM run_queue WHERE status IN ('ok', 'partial', 'failed')
    AND coalesce(ended_at, created_at) < $1 LIMIT $2) RETURNING 1)
SELECT count(*) FROM d"
        }
        RetentionTarget::BroadcastDeliveries => {
            "\
WITH d AS (DELETE FROM broadcast_deliveries WHERE id IN (
    SELECT id FROM broadcast_deliveries WHERE status IN ('sent', 'failed')
    AND coalesce(sent_at, created_at) < $1 LIMIT $2) RETURNING 1)
SELECT count(*) FROM d"
        }
    }
}

fn get<'r, T: tokio_postgres::types::FromSql<'r>>(
    row: &'r Row,
    col: usize,
    table: &'static str,
) -> Result<T, StoreError> {
    row.try_get(col)
        .map_err(|e| StoreError::corrupt(table, None, e))
}

fn count(rows: &[Row], table: &'static str) -> Result<u64, StoreError> {
    let n: i64 = match rows.first() {
        Some(row) => get(row, 0, table)?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

fn tf_of(text: &str) -> Result<Timeframe, StoreError> {
    Timeframe::parse(text).map_err(|e| StoreError::corrupt("candles", None, e))
}

impl MaintenanceStore for PgStore<'_> {
    async fn symbol_stats(&self, since: i64) -> Result<Vec<SymbolStats>, StoreError> {
        exact_int("since", since)?;
        let rows = self.query(SYMBOL_STATS, &[(&since, Type::INT8)]).await?;
        rows.iter()
            .map(|r| {
                let n = |i: usize| -> Result<u64, StoreError> {
                    Ok(u64::try_from(get::<i64>(r, i, "symbols")?).unwrap_or(0))
                };
                Ok(SymbolStats {
                    symbol: SymbolId(get(r, 0, "symbols")?),
                    name: get(r, 1, "symbols")?,
                    is_active: get(r, 2, "symbols")?,
                    active_patterns: n(3)?,
                    patterns_since: n(4)?,
                    signals_since: n(5)?,
                    last_1m_ts: get(r, 6, "symbols")?,
                })
            })
            .collect()
    }

    async fn put_stats(&self, entries: &[StatsEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut keys = Vec::new();
        let mut data = Vec::new();
        let mut at = Vec::new();
        for e in entries {
            validate_stats_entry(e)?;
            keys.push(e.key.as_str());
            data.push(e.data.as_str());
            at.push(exact_int("computed_at", e.computed_at)?);
        }
        self.query(
            PUT_STATS,
            &[
                (&keys, Type::TEXT_ARRAY),
                (&data, Type::TEXT_ARRAY),
                (&at, Type::INT8_ARRAY),
            ],
        )
        .await
        .map_err(|e| match e {
            StoreError::Unavailable(m) if m.starts_with("22P02") => {
                StoreError::Invalid("stats data is not JSON".into())
            }
            other => other,
        })
        .map(|_| ())
    }

    async fn stats_entry(&self, key: &str) -> Result<Option<StatsEntry>, StoreError> {
        let rows = self.query(STATS_ENTRY, &[(&key, Type::TEXT)]).await?;
        rows.first()
            .map(|r| {
                Ok(StatsEntry {
                    key: get(r, 0, "stats_cache")?,
                    data: get(r, 1, "stats_cache")?,
                    computed_at: get(r, 2, "stats_cache")?,
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
        let limit = i64::from(limit);
        let rows = self
            .query(
                MINUTE_GAPS,
                &[
                    (&symbol.0, Type::INT8),
                    (&from, Type::INT8),
                    (&to, Type::INT8),
                    (&limit, Type::INT8),
                ],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MinuteGap {
                    start: get(r, 0, "candles")?,
                    end: get(r, 1, "candles")?,
                })
            })
            .collect()
    }

    async fn record_known_gaps(&self, gaps: &[NewKnownGap]) -> Result<u64, StoreError> {
        if gaps.is_empty() {
            return Ok(0);
        }
        let (mut sym, mut tf, mut start, mut end, mut missing) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut reason, mut verified, mut created) = (Vec::new(), Vec::new(), Vec::new());
        for g in gaps {
            validate_known_gap(g)?;
            sym.push(g.symbol.0);
            tf.push(g.tf.as_str());
            start.push(g.gap.start);
            end.push(g.gap.end);
            missing.push(i64::try_from(g.gap.missing()).unwrap_or(i64::MAX));
            reason.push(g.reason.as_str());
            verified.push(g.verified_empty);
            created.push(exact_int("created_at", g.created_at)?);
        }
        let rows = self
            .query(
                RECORD_KNOWN_GAPS,
                &[
                    (&sym, Type::INT8_ARRAY),
                    (&tf, Type::TEXT_ARRAY),
                    (&start, Type::INT8_ARRAY),
                    (&end, Type::INT8_ARRAY),
                    (&missing, Type::INT8_ARRAY),
                    (&reason, Type::TEXT_ARRAY),
                    (&verified, Type::BOOL_ARRAY),
                    (&created, Type::INT8_ARRAY),
                ],
            )
            .await?;
        count(&rows, "known_gaps")
    }

    async fn flagged_candles(&self, limit: u32) -> Result<Vec<CandleKey>, StoreError> {
        let limit = i64::from(limit);
        let rows = self.query(FLAGGED, &[(&limit, Type::INT8)]).await?;
        rows.iter()
            .map(|r| {
                let tf: String = get(r, 1, "candles")?;
                Ok(CandleKey {
                    symbol: SymbolId(get(r, 0, "candles")?),
                    tf: tf_of(&tf)?,
                    ts: get(r, 2, "candles")?,
                })
            })
            .collect()
    }

    async fn delete_candles(&self, keys: &[CandleKey]) -> Result<u64, StoreError> {
        if keys.is_empty() {
            return Ok(0);
        }
        let sym: Vec<i64> = keys.iter().map(|k| k.symbol.0).collect();
        let tf: Vec<&str> = keys.iter().map(|k| k.tf.as_str()).collect();
        let ts: Vec<i64> = keys.iter().map(|k| k.ts).collect();
        let rows = self
            .query(
                DELETE_CANDLES,
                &[
                    (&sym, Type::INT8_ARRAY),
                    (&tf, Type::TEXT_ARRAY),
                    (&ts, Type::INT8_ARRAY),
                ],
            )
            .await?;
        count(&rows, "candles")
    }

    async fn rewrite_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        candles: &[Candle],
    ) -> Result<u64, StoreError> {
        if candles.is_empty() {
            return Ok(0);
        }
        let mut ts = Vec::with_capacity(candles.len());
        let (mut o, mut h, mut l, mut c, mut v) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for k in candles {
            ts.push(exact_int("candle ts", k.ts())?);
            o.push(k.open());
            h.push(k.high());
            l.push(k.low());
            c.push(k.close());
            v.push(k.volume());
        }
        let tf = tf.as_str();
        let rows = self
            .query(
                REWRITE_CANDLES,
                &[
                    (&symbol.0, Type::INT8),
                    (&tf, Type::TEXT),
                    (&ts, Type::INT8_ARRAY),
                    (&o, Type::FLOAT8_ARRAY),
                    (&h, Type::FLOAT8_ARRAY),
                    (&l, Type::FLOAT8_ARRAY),
                    (&c, Type::FLOAT8_ARRAY),
                    (&v, Type::FLOAT8_ARRAY),
                ],
            )
            .await?;
        count(&rows, "candles")
    }

    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let rows = self.query(SETTING, &[(&key, Type::TEXT)]).await?;
        rows.first().map(|r| get(r, 0, "settings")).transpose()
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
        let batch = i64::from(batch);
        let rows = self
            .query(
                purge_sql(target),
                &[(&cutoff, Type::INT8), (&batch, Type::INT8)],
            )
            .await?;
        count(&rows, "purge")
    }
}
