//! The SQL of the Postgres store, one constant per statement. Parameters are always `$n`
//! placeholders with types given at the call site (`query_typed`); nothing is formatted in.

pub(crate) const INSERT_SYMBOL: &str = "\
INSERT INTO symbols (symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at";

pub(crate) const SYMBOL_BY_NAME: &str = "\
SELECT id, symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at
FROM symbols WHERE symbol = $1";

pub(crate) const LIST_SYMBOLS: &str = "\
SELECT id, symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at
FROM symbols WHERE (NOT $1 OR is_active) ORDER BY id";

pub(crate) const SET_SYMBOL_ACTIVE: &str = "\
UPDATE symbols SET is_active = $2 WHERE id = $1 RETURNING id";

/// One statement for the whole batch; the count comes back in the same round trip.
pub(crate) const UPSERT_CANDLES: &str = "\
WITH ins AS (
    INSERT INTO candles (symbol_id, tf, ts, open, high, low, close, volume)
    SELECT $1, $2, t.ts, t.o, t.h, t.l, t.c, t.v
    FROM unnest($3::int8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
         AS t(ts, o, h, l, c, v)
    ON CONFLICT (symbol_id, tf, ts) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM ins";

pub(crate) const LAST_CANDLES: &str = "\
SELECT ts, open, high, low, close, volume FROM (
    SELECT ts, open, high, low, close, volume FROM candles
    WHERE symbol_id = $1 AND tf = $2 ORDER BY ts DESC LIMIT $3
) newest ORDER BY ts";

/// `LAST_CANDLES` of each `(tf, n)` pair; one LATERAL index scan per pair. `k` is the pair's
/// 1-based position.
pub(crate) const LAST_CANDLES_MANY: &str = "\
SELECT c.ts, c.open, c.high, c.low, c.close, c.volume, w.k
FROM unnest($2::text[], $3::int8[]) WITH ORDINALITY AS w(tf, n, k)
CROSS JOIN LATERAL (
    SELECT ts, open, high, low, close, volume FROM candles
    WHERE symbol_id = $1 AND tf = w.tf ORDER BY ts DESC LIMIT w.n
) c ORDER BY w.k, c.ts";

pub(crate) const LAST_CANDLE_TS: &str = "\
SELECT max(ts) FROM candles WHERE symbol_id = $1 AND tf = $2";

pub(crate) const CANDLES_IN_RANGE: &str = "\
SELECT ts, open, high, low, close, volume FROM candles
WHERE symbol_id = $1 AND tf = $2 AND ts >= $3 AND ts < $4
ORDER BY ts LIMIT $5";

pub(crate) const CANDLES_BEFORE: &str = "\
SELECT ts, open, high, low, close, volume FROM (
    SELECT ts, open, high, low, close, volume FROM candles
    WHERE symbol_id = $1 AND tf = $2 AND ts < $3 ORDER BY ts DESC LIMIT $4
) older ORDER BY ts";

#[cfg(test)]
const PATTERN_COLS: &str = "id, symbol_id, tf, pattern_type, direction, zone_low, zone_high, \
swept_level, detected_at, expires_at, status, filled_at, fill_pct, entry, stop_loss, tp1, tp2, \
tp3, risk, rr1, rr2, rr3, created_at";

/// The insert-if-absent of many patterns in ONE statement (one array per column, in input
/// order: ids follow it). The rows back carry their key, so the caller maps ids to its
/// inputs (a key that existed, or came twice, returns no row for the later input).
pub(crate) const INSERT_PATTERNS: &str = "\
INSERT INTO patterns (symbol_id, tf, pattern_type, direction, zone_low, zone_high, swept_level,
    detected_at, expires_at, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at)
SELECT t.symbol_id, t.tf, t.pattern_type, t.direction, t.zone_low, t.zone_high, t.swept_level,
    t.detected_at, t.expires_at, t.entry, t.stop_loss, t.tp1, t.tp2, t.tp3, t.risk, t.rr1,
    t.rr2, t.rr3, t.created_at
FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[],
    $7::float8[], $8::int8[], $9::int8[], $10::float8[], $11::float8[], $12::float8[],
    $13::float8[], $14::float8[], $15::float8[], $16::float8[], $17::float8[], $18::float8[],
    $19::int8[]) WITH ORDINALITY
    AS t(symbol_id, tf, pattern_type, direction, zone_low, zone_high, swept_level, detected_at,
         expires_at, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at, ord)
ORDER BY t.ord
ON CONFLICT (symbol_id, tf, pattern_type, direction, detected_at) DO NOTHING
RETURNING id, symbol_id, tf, pattern_type, direction, detected_at";

pub(crate) const PATTERN_BY_ID: &str = "\
SELECT id, symbol_id, tf, pattern_type, direction, zone_low, zone_high, swept_level,
       detected_at, expires_at, status, filled_at, fill_pct, entry, stop_loss, tp1, tp2, tp3,
       risk, rr1, rr2, rr3, created_at
FROM patterns WHERE id = $1";

pub(crate) const ACTIVE_PATTERNS: &str = "\
SELECT id, symbol_id, tf, pattern_type, direction, zone_low, zone_high, swept_level,
       detected_at, expires_at, status, filled_at, fill_pct, entry, stop_loss, tp1, tp2, tp3,
       risk, rr1, rr2, rr3, created_at
FROM patterns
WHERE status = 'active' AND symbol_id = $1 AND ($2::text IS NULL OR tf = $2)
ORDER BY id";

/// All updates in one statement; only still-active patterns change.
pub(crate) const UPDATE_STATUSES: &str = "\
UPDATE patterns AS p
SET status = u.status, fill_pct = u.fill_pct, filled_at = u.filled_at
FROM unnest($1::int8[], $2::text[], $3::float8[], $4::int8[]) AS u(id, status, fill_pct, filled_at)
WHERE p.id = u.id AND p.status = 'active'
RETURNING p.id";

/// The keys (any status) per TF window, in one statement; served by the unique key index
/// `(symbol_id, tf, pattern_type, direction, detected_at)`.
pub(crate) const PATTERN_KEYS: &str = "\
SELECT p.tf, p.pattern_type, p.direction, p.detected_at
FROM patterns AS p
JOIN unnest($2::text[], $3::int8[]) AS w(tf, from_ts) ON p.tf = w.tf AND p.detected_at >= w.from_ts
WHERE p.symbol_id = $1";

pub(crate) const EXPIRE_PATTERNS: &str = "\
UPDATE patterns SET status = 'expired'
WHERE symbol_id = $1 AND status = 'active' AND expires_at < $2
RETURNING id";

/// The matrix in ONE statement (detection.md §7): every active symbol × 5m..1d, the active
/// pattern with the greatest detected_at (ties → higher id) and the active count. Each cell is
/// two index probes of `patterns_matrix_idx (status, symbol_id, tf, detected_at DESC, id DESC)`
/// through `LATERAL`: the first row of the cell's range (`LIMIT 1`) and an index-only count.
/// Measured ~3× faster than ranking every active pattern with window functions
/// (docs/storage.md, "Benchmark").
pub(crate) const MATRIX: &str = "\
WITH tfs(tf, ord) AS (
    VALUES ('5m', 1), ('15m', 2), ('30m', 3), ('1h', 4), ('2h', 5), ('4h', 6), ('1d', 7)
)
SELECT s.id, s.symbol, t.tf, l.id, l.pattern_type, l.direction, l.zone_low, l.zone_high,
       l.detected_at, c.n
FROM symbols s
CROSS JOIN tfs t
LEFT JOIN LATERAL (
    SELECT p.id, p.pattern_type, p.direction, p.zone_low, p.zone_high, p.detected_at
    FROM patterns p
    WHERE p.status = 'active' AND p.symbol_id = s.id AND p.tf = t.tf
    ORDER BY p.detected_at DESC, p.id DESC
    LIMIT 1
) l ON true
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM patterns p
    WHERE p.status = 'active' AND p.symbol_id = s.id AND p.tf = t.tf
) c
WHERE s.is_active
ORDER BY s.symbol COLLATE \"C\", t.ord";

/// The cooldown guard and the insert are one statement ($12 = now, $13 = cooldown ms).
pub(crate) const INSERT_SIGNAL: &str = "\
INSERT INTO signals (symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward,
    confluence_score, timeframes_aligned, pattern_id, created_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
WHERE NOT EXISTS (
    SELECT 1 FROM signals
    WHERE symbol_id = $1 AND direction = $2 AND created_at > $12 - $13 AND created_at <= $12
)
RETURNING id";

#[cfg(test)]
const SIGNAL_COLS: &str = "id, symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, \
risk_reward, confluence_score, timeframes_aligned, pattern_id, status, created_at, notified_at";

pub(crate) const SIGNAL_BY_ID: &str = "\
SELECT id, symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward, confluence_score,
       timeframes_aligned, pattern_id, status, created_at, notified_at
FROM signals WHERE id = $1";

pub(crate) const LAST_SIGNAL_AT: &str = "\
SELECT max(created_at) FROM signals WHERE symbol_id = $1 AND direction = $2";

/// Newest first, keyset on (created_at, id); served by `signals_recent_idx`.
pub(crate) const LIST_SIGNALS: &str = "\
SELECT id, symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward, confluence_score,
       timeframes_aligned, pattern_id, status, created_at, notified_at
FROM signals
WHERE ($1::int8 IS NULL OR symbol_id = $1)
  AND ($2::text IS NULL OR direction = $2)
  AND ($3::text IS NULL OR status = $3)
  AND ($4::int8 IS NULL OR (created_at, id) < ($4, $5))
ORDER BY created_at DESC, id DESC
LIMIT $6";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_select_lists_match_the_row_decoders() {
        // The decoders in lib.rs read columns by position in exactly this order.
        for (sql, cols) in [
            (PATTERN_BY_ID, PATTERN_COLS),
            (ACTIVE_PATTERNS, PATTERN_COLS),
            (SIGNAL_BY_ID, SIGNAL_COLS),
            (LIST_SIGNALS, SIGNAL_COLS),
        ] {
            let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(norm(sql).contains(&norm(cols)), "{sql}");
        }
    }
}
