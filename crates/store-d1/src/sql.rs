//! The SQL of the D1 store (SQLite dialect), one constant per statement, translated from the
//! Postgres adapter's statements (`cl-store-pg/src/sql.rs`). Parameters are always numbered
//! `?N` placeholders bound at the call site; no value is ever formatted into the text. The
//! only generated text is the placeholder list of the pattern-keys statement
//! ([`pattern_keys`]), which holds placeholder numbers and nothing else.
//!
//! Row sets (candles, new patterns, status changes) travel as ONE JSON text parameter read
//! with `json_each`: one statement per call whatever the row count, so the statements of a
//! pipeline tick do not grow with the number of patterns (docs/pipeline.md). Floats are
//! written in Rust's shortest round-trip form, which SQLite's JSON parser reads back exactly.
//!
//! Column aliases are unique in every select list: D1 returns rows as objects keyed by
//! column name, so two columns of the same name would overwrite each other.

/// D1's limit of bound parameters per statement.
pub(crate) const MAX_PARAMS: usize = 100;

pub(crate) const INSERT_SYMBOL: &str = "\
INSERT INTO symbols (symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
RETURNING id, symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at";

pub(crate) const SYMBOL_BY_NAME: &str = "\
SELECT id, symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at
FROM symbols WHERE symbol = ?1";

/// `?1` = 1 for active symbols only, 0 for all.
pub(crate) const LIST_SYMBOLS: &str = "\
SELECT id, symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at
FROM symbols WHERE (?1 = 0 OR is_active = 1) ORDER BY id";

pub(crate) const SET_SYMBOL_ACTIVE: &str = "\
UPDATE symbols SET is_active = ?2 WHERE id = ?1";

/// Rows per JSON statement: a candle row is about 100 bytes of JSON, so a statement's
/// parameter stays far below D1's 2 MB value limit. A port call sends one `batch()` of
/// `ceil(n / JSON_ROWS)` statements (one for any tick: a tick stores at most 5,000 candles).
pub(crate) const JSON_ROWS: usize = 5_000;

/// `?1` symbol id, `?2` timeframe, `?3` = `[[ts, open, high, low, close, volume], …]`: new
/// keys are inserted, stored ones are left untouched; `changes` is the count of new rows.
/// Only the key's uniqueness is ignored (not `INSERT OR IGNORE`, which would also swallow
/// CHECK and NOT NULL failures). `WHERE true` keeps SQLite from reading `ON CONFLICT` as a
/// join constraint.
pub(crate) const UPSERT_CANDLES: &str = "\
INSERT INTO candles (symbol_id, tf, ts, open, high, low, close, volume)
SELECT ?1, ?2, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'),
    json_extract(j.value, '$[2]'), json_extract(j.value, '$[3]'),
    json_extract(j.value, '$[4]'), json_extract(j.value, '$[5]')
FROM json_each(?3) j WHERE true ORDER BY j.key
ON CONFLICT (symbol_id, tf, ts) DO NOTHING";

pub(crate) const LAST_CANDLES: &str = "\
SELECT ts, open, high, low, close, volume FROM (
    SELECT ts, open, high, low, close, volume FROM candles
    WHERE symbol_id = ?1 AND tf = ?2 ORDER BY ts DESC LIMIT ?3
) ORDER BY ts";

/// `LAST_CANDLES` of every `[tf, n]` pair of the JSON array `?2`, in one statement; `k` is
/// the pair's 0-based position. A recursive walk steps back from each series' newest `ts`, one
/// primary-key seek `(symbol_id, tf, ts < …)` per candle, and the candles are then read by
/// primary key: no scan of a whole series (a window function over `tf IN (…)` would read every
/// candle of those TFs), and no compound SELECT (D1 rejects a UNION ALL of 12 subqueries with
/// "too many terms in compound SELECT"). SQLite allows no correlated LIMIT, hence the walk.
pub(crate) const LAST_CANDLES_MANY: &str = "\
WITH RECURSIVE
w(k, tf, n) AS (
    SELECT key, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2)
),
r(k, tf, left, ts) AS (
    SELECT k, tf, n, (SELECT max(ts) FROM candles WHERE symbol_id = ?1 AND tf = w.tf)
    FROM w WHERE n > 0
    UNION ALL
    SELECT k, tf, left - 1,
        (SELECT max(ts) FROM candles WHERE symbol_id = ?1 AND tf = r.tf AND ts < r.ts)
    FROM r WHERE left > 1 AND ts IS NOT NULL
)
SELECT r.k AS k, c.ts, c.open, c.high, c.low, c.close, c.volume
FROM r JOIN candles AS c ON c.symbol_id = ?1 AND c.tf = r.tf AND c.ts = r.ts
ORDER BY r.k, c.ts";

pub(crate) const LAST_CANDLE_TS: &str = "\
SELECT max(ts) AS ts FROM candles WHERE symbol_id = ?1 AND tf = ?2";

pub(crate) const CANDLES_IN_RANGE: &str = "\
SELECT ts, open, high, low, close, volume FROM candles
WHERE symbol_id = ?1 AND tf = ?2 AND ts >= ?3 AND ts < ?4
ORDER BY ts LIMIT ?5";

pub(crate) const CANDLES_BEFORE: &str = "\
SELECT ts, open, high, low, close, volume FROM (
    SELECT ts, open, high, low, close, volume FROM candles
    WHERE symbol_id = ?1 AND tf = ?2 AND ts < ?3 ORDER BY ts DESC LIMIT ?4
) ORDER BY ts";

/// Insert-if-absent on the pattern key; no row back = it existed.
pub(crate) const INSERT_PATTERN: &str = "\
INSERT INTO patterns (symbol_id, tf, pattern_type, direction, zone_low, zone_high, swept_level,
    detected_at, expires_at, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
ON CONFLICT (symbol_id, tf, pattern_type, direction, detected_at) DO NOTHING
RETURNING id";

/// The insert-if-absent of many patterns in ONE statement: `?1` = `[[symbol, tf, type,
/// direction, zone_low, zone_high, swept_level|null, detected_at, expires_at, entry,
/// stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at], …]`. Rows are inserted in
/// input order (ids follow it); the rows back carry their key, so the caller maps ids to its
/// inputs (a key that existed, or came twice, returns no row for the later input).
pub(crate) const INSERT_PATTERNS: &str = "\
INSERT INTO patterns (symbol_id, tf, pattern_type, direction, zone_low, zone_high, swept_level,
    detected_at, expires_at, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at)
SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'),
    json_extract(j.value, '$[2]'), json_extract(j.value, '$[3]'),
    json_extract(j.value, '$[4]'), json_extract(j.value, '$[5]'),
    json_extract(j.value, '$[6]'), json_extract(j.value, '$[7]'),
    json_extract(j.value, '$[8]'), json_extract(j.value, '$[9]'),
    json_extract(j.value, '$[10]'), json_extract(j.value, '$[11]'),
    json_extract(j.value, '$[12]'), json_extract(j.value, '$[13]'),
    json_extract(j.value, '$[14]'), json_extract(j.value, '$[15]'),
    json_extract(j.value, '$[16]'), json_extract(j.value, '$[17]'),
    json_extract(j.value, '$[18]')
FROM json_each(?1) j WHERE true ORDER BY j.key
ON CONFLICT (symbol_id, tf, pattern_type, direction, detected_at) DO NOTHING
RETURNING id, symbol_id, tf, pattern_type, direction, detected_at";

pub(crate) const PATTERN_BY_ID: &str = "\
SELECT id, symbol_id, tf, pattern_type, direction, zone_low, zone_high, swept_level,
       detected_at, expires_at, status, filled_at, fill_pct, entry, stop_loss, tp1, tp2, tp3,
       risk, rr1, rr2, rr3, created_at
FROM patterns WHERE id = ?1";

/// `?2` = a timeframe, or NULL for all.
pub(crate) const ACTIVE_PATTERNS: &str = "\
SELECT id, symbol_id, tf, pattern_type, direction, zone_low, zone_high, swept_level,
       detected_at, expires_at, status, filled_at, fill_pct, entry, stop_loss, tp1, tp2, tp3,
       risk, rr1, rr2, rr3, created_at
FROM patterns
WHERE status = 'active' AND symbol_id = ?1 AND (?2 IS NULL OR tf = ?2)
ORDER BY id";

/// `?1` = `[[id, status, fill_pct, filled_at|null], …]` (ids unique): ONE statement for every
/// change of a tick. Only a still-active pattern changes (an ended pattern is never revived);
/// `changes` is the count updated. The unary `+` keeps SQLite off the status index, so it
/// walks the JSON rows and finds each pattern by primary key (with the index it scanned every
/// active pattern once per row: seconds per symbol with 16k active patterns).
pub(crate) const UPDATE_STATUSES: &str = "\
UPDATE patterns SET status = json_extract(u.value, '$[1]'),
    fill_pct = json_extract(u.value, '$[2]'), filled_at = json_extract(u.value, '$[3]')
FROM json_each(?1) u
WHERE patterns.id = json_extract(u.value, '$[0]') AND +patterns.status = 'active'";

/// Parameters shared by a pattern-keys statement: `?1` symbol id.
pub(crate) const KEY_SHARED_PARAMS: usize = 1;
/// Parameters of one key window: timeframe, lowest `detected_at`.
pub(crate) const KEY_WINDOW_PARAMS: usize = 2;
/// Windows per pattern-keys statement so that it binds at most [`MAX_PARAMS`] (49).
pub(crate) const KEY_WINDOWS_PER_STATEMENT: usize =
    (MAX_PARAMS - KEY_SHARED_PARAMS) / KEY_WINDOW_PARAMS;

/// The keys (any status) of a symbol's patterns within `windows` (1..=
/// [`KEY_WINDOWS_PER_STATEMENT`]) TF windows, in one statement (the Postgres `PATTERN_KEYS`
/// with a `VALUES` list for its `unnest`); served by the unique key index
/// `patterns_key_uq (symbol_id, tf, pattern_type, direction, detected_at)`.
pub(crate) fn pattern_keys(windows: usize) -> String {
    let mut sql = String::from("WITH w(tf, from_ts) AS (VALUES ");
    for k in 0..windows {
        if k > 0 {
            sql.push_str(", ");
        }
        let first = KEY_SHARED_PARAMS + k * KEY_WINDOW_PARAMS + 1;
        sql.push_str(&format!("(?{first}, ?{})", first + 1));
    }
    sql.push_str(
        ")\nSELECT p.tf AS tf, p.pattern_type AS pattern_type, p.direction AS direction, \
         p.detected_at AS detected_at\nFROM patterns AS p\n\
         JOIN w ON p.tf = w.tf AND p.detected_at >= w.from_ts\nWHERE p.symbol_id = ?1",
    );
    sql
}

pub(crate) const EXPIRE_PATTERNS: &str = "\
UPDATE patterns SET status = 'expired'
WHERE symbol_id = ?1 AND status = 'active' AND expires_at < ?2";

/// The matrix in ONE statement (detection.md §7), the Postgres `MATRIX` in SQLite: every
/// active symbol × 5m..1d, the active pattern with the greatest detected_at (ties → higher id)
/// and the active count. SQLite has no `LATERAL`; correlated scalar subqueries do the same:
/// per cell, the id of the first row of its `patterns_matrix_idx` range (`LIMIT 1`) and a
/// covering-index count, then the pattern by primary key. (Ranking every active pattern with
/// window functions made SQLite scan the ranked rows once per cell: 1.6 s instead of 13 ms on
/// 200 symbols and 100k patterns.) Ordered by name with SQLite's default BINARY collation
/// (bytewise, as the memory store and Postgres `COLLATE "C"`).
pub(crate) const MATRIX: &str = "\
WITH tfs(tf, ord) AS (
    VALUES ('5m', 1), ('15m', 2), ('30m', 3), ('1h', 4), ('2h', 5), ('4h', 6), ('1d', 7)
),
cells AS (
    SELECT s.id AS sid, s.symbol AS symbol, t.tf AS tf, t.ord AS ord,
           (SELECT p.id FROM patterns p
            WHERE p.status = 'active' AND p.symbol_id = s.id AND p.tf = t.tf
            ORDER BY p.detected_at DESC, p.id DESC LIMIT 1) AS pid,
           (SELECT count(*) FROM patterns p
            WHERE p.status = 'active' AND p.symbol_id = s.id AND p.tf = t.tf) AS n
    FROM symbols s CROSS JOIN tfs t
    WHERE s.is_active = 1
)
SELECT c.sid AS symbol_id, c.symbol AS symbol, c.tf AS tf, p.id AS pattern_id,
       p.pattern_type AS pattern_type, p.direction AS direction, p.zone_low AS zone_low,
       p.zone_high AS zone_high, p.detected_at AS detected_at, c.n AS active_count
FROM cells c
LEFT JOIN patterns p ON p.id = c.pid
ORDER BY c.symbol, c.ord";

/// The cooldown guard and the insert are one statement (`?12` = now, `?13` = cooldown ms).
pub(crate) const INSERT_SIGNAL: &str = "\
INSERT INTO signals (symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward,
    confluence_score, timeframes_aligned, pattern_id, created_at)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
WHERE NOT EXISTS (
    SELECT 1 FROM signals
    WHERE symbol_id = ?1 AND direction = ?2 AND created_at > ?12 - ?13 AND created_at <= ?12
)
RETURNING id";

/// Whether a symbol exists (to name the missing side of a failed foreign key).
pub(crate) const SYMBOL_EXISTS: &str = "\
SELECT EXISTS (SELECT 1 FROM symbols WHERE id = ?1) AS found";

pub(crate) const SIGNAL_BY_ID: &str = "\
SELECT id, symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward, confluence_score,
       timeframes_aligned, pattern_id, status, created_at, notified_at
FROM signals WHERE id = ?1";

pub(crate) const LAST_SIGNAL_AT: &str = "\
SELECT max(created_at) AS ts FROM signals WHERE symbol_id = ?1 AND direction = ?2";

/// Newest first, keyset on (created_at, id); served by `signals_recent_idx`. `?1`..`?3` are
/// filters (NULL = any), `?4`/`?5` the cursor (NULL = first page), `?6` the row count.
pub(crate) const LIST_SIGNALS: &str = "\
SELECT id, symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward, confluence_score,
       timeframes_aligned, pattern_id, status, created_at, notified_at
FROM signals
WHERE (?1 IS NULL OR symbol_id = ?1)
  AND (?2 IS NULL OR direction = ?2)
  AND (?3 IS NULL OR status = ?3)
  AND (?4 IS NULL OR (created_at, id) < (?4, ?5))
ORDER BY created_at DESC, id DESC
LIMIT ?6";

pub(crate) const PING: &str = "SELECT 1 AS one";

#[cfg(test)]
mod tests {
    use super::*;
    use cl_domain::Timeframe;

    fn highest_placeholder(sql: &str) -> usize {
        sql.split('?')
            .skip(1)
            .filter_map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn row_sets_are_one_json_parameter() {
        assert_eq!(highest_placeholder(UPSERT_CANDLES), 3);
        assert_eq!(highest_placeholder(INSERT_PATTERNS), 1);
        assert_eq!(highest_placeholder(UPDATE_STATUSES), 1);
        assert!(INSERT_PATTERNS.contains("'$[18]'") && !INSERT_PATTERNS.contains("'$[19]'"));
        assert!(UPSERT_CANDLES.contains("'$[5]'") && !UPSERT_CANDLES.contains("'$[6]'"));
    }

    #[test]
    fn a_full_pattern_keys_statement_stays_within_the_parameter_limit() {
        assert_eq!(KEY_WINDOWS_PER_STATEMENT, 49);
        assert_eq!(
            highest_placeholder(&pattern_keys(KEY_WINDOWS_PER_STATEMENT)),
            99
        );
        let one = pattern_keys(1);
        assert!(
            one.starts_with("WITH w(tf, from_ts) AS (VALUES (?2, ?3))"),
            "{one}"
        );
        assert!(pattern_keys(2).contains("(?2, ?3), (?4, ?5)"));
    }

    #[test]
    fn every_statement_binds_at_most_the_parameter_limit() {
        for sql in [
            INSERT_PATTERN,
            INSERT_SIGNAL,
            LIST_SIGNALS,
            MATRIX,
            UPDATE_STATUSES,
            UPSERT_CANDLES,
            INSERT_PATTERNS,
        ] {
            assert!(highest_placeholder(sql) <= MAX_PARAMS, "{sql}");
        }
        assert_eq!(highest_placeholder(INSERT_PATTERN), 19);
        assert_eq!(
            highest_placeholder(MATRIX),
            0,
            "the matrix takes no parameter"
        );
    }

    #[test]
    fn the_matrix_lists_the_voting_timeframes_shortest_first() {
        let mut at = 0;
        for (ord, tf) in Timeframe::VOTING.iter().enumerate() {
            let needle = format!("('{}', {})", tf.as_str(), ord + 1);
            let found = MATRIX[at..].find(&needle);
            assert!(found.is_some(), "{needle} missing or out of order");
            at += found.unwrap_or(0);
        }
    }
}
