//! [`BacktestStore`] over D1. Creation is one batch: a probe (user, symbol, running and
//! today's counts) and an `INSERT … SELECT … WHERE` that re-checks both quotas in SQL (D1 runs
//! a batch as one serialised transaction). A chunk is one batch: each trade insert and the
//! row update are guarded by the cursor read (`cursor = ? AND status IN (queued, running)`),
//! so a stale invocation writes nothing. `cursor` is a JSON number text.

use crate::values::{int, opt_int, opt_text, read_int, read_opt_int, real, text};
use crate::{changes, decode, D1Store};
use cl_app::ports::backtests::{
    quota, BacktestId, BacktestQuota, BacktestStatus, BacktestStore, BacktestTradeRow, ChunkUpdate,
    NewBacktest, StoredBacktest,
};
use cl_app::ports::{StoreError, SymbolId, UserId};
use cl_domain::backtest::Outcome;
use cl_domain::{PatternType, Timeframe};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;

const T: &str = "backtests";

const COLS: &str = "id, user_id, name, symbol_id, tf, pattern_type, params, status, progress, \
cursor, stats, error, created_at, started_at, finished_at";

const ACTIVE: &str = "status IN ('queued', 'running')";

#[derive(Deserialize)]
struct Row {
    id: f64,
    user_id: f64,
    name: Option<String>,
    symbol_id: f64,
    tf: String,
    pattern_type: String,
    params: String,
    status: String,
    progress: f64,
    cursor: Option<String>,
    stats: Option<String>,
    error: Option<String>,
    created_at: f64,
    started_at: Option<f64>,
    finished_at: Option<f64>,
}

fn corrupt(at: Option<i64>, what: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(T, at, what)
}

impl TryFrom<Row> for StoredBacktest {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        // The creation cursor is the range start.
        let first = cl_app::backtests::RunParams::from_json(&r.params).map_or(0, |p| p.from);
        Ok(StoredBacktest {
            id: BacktestId(id),
            new: NewBacktest {
                user_id: UserId(read_int(T, at, "user_id", r.user_id)?),
                name: r.name,
                symbol: SymbolId(read_int(T, at, "symbol_id", r.symbol_id)?),
                tf: Timeframe::parse(&r.tf).map_err(|e| corrupt(at, e))?,
                pattern_type: PatternType::parse(&r.pattern_type).map_err(|e| corrupt(at, e))?,
                params: r.params,
                cursor: first,
                created_at: read_int(T, at, "created_at", r.created_at)?,
            },
            status: BacktestStatus::parse(&r.status).map_err(|e| corrupt(at, e))?,
            progress: r.progress,
            cursor: r
                .cursor
                .map(|c| c.trim().parse::<i64>().map_err(|e| corrupt(at, e)))
                .transpose()?,
            stats: r.stats,
            error: r.error,
            started_at: read_opt_int(T, at, "started_at", r.started_at)?,
            finished_at: read_opt_int(T, at, "finished_at", r.finished_at)?,
        })
    }
}

#[derive(Deserialize)]
struct TradeRow {
    direction: String,
    detected_at: f64,
    entry_time: f64,
    entry_price: f64,
    exit_time: Option<f64>,
    exit_price: Option<f64>,
    outcome: String,
    r: f64,
}

impl TryFrom<TradeRow> for BacktestTradeRow {
    type Error = StoreError;

    fn try_from(t: TradeRow) -> Result<Self, StoreError> {
        const TT: &str = "backtest_trades";
        Ok(BacktestTradeRow {
            long: t.direction == "long",
            detected_at: read_int(TT, None, "detected_at", t.detected_at)?,
            entry_time: read_int(TT, None, "entry_time", t.entry_time)?,
            entry_price: t.entry_price,
            exit_time: read_opt_int(TT, None, "exit_time", t.exit_time)?,
            exit_price: t.exit_price,
            outcome: match t.outcome.as_str() {
                "win" => Outcome::Win,
                "loss" => Outcome::Loss,
                "inconclusive" => Outcome::Inconclusive,
                other => return Err(StoreError::corrupt(TT, None, format!("outcome {other}"))),
            },
            r: t.r,
        })
    }
}

#[derive(Deserialize)]
struct Probe {
    u: f64,
    s: f64,
    running: f64,
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Win => "win",
        Outcome::Loss => "loss",
        Outcome::Inconclusive => "inconclusive",
    }
}

fn max(v: Option<u32>) -> JsValue {
    JsValue::from_f64(v.map_or(-1.0, f64::from))
}

impl BacktestStore for D1Store {
    async fn create_backtest(
        &self,
        new: &NewBacktest,
        q: BacktestQuota,
    ) -> Result<StoredBacktest, StoreError> {
        let args = || -> Result<Vec<JsValue>, StoreError> {
            Ok(vec![
                int("backtests.user_id", new.user_id.0)?,
                int("backtests.symbol_id", new.symbol.0)?,
                max(q.max_running),
                max(q.max_per_day),
                int("backtests.day_start", q.day_start)?,
                opt_text(new.name.as_deref()),
                text(new.tf.as_str()),
                text(new.pattern_type.as_str()),
                text(&new.params),
                text(&new.cursor.to_string()),
                int("backtests.created_at", new.created_at)?,
            ])
        };
        let running = format!("(SELECT count(*) FROM backtests WHERE user_id = ?1 AND {ACTIVE})");
        let today = "(SELECT count(*) FROM backtests WHERE user_id = ?1 AND created_at >= ?5)";
        let probe = format!(
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1) AS u, \
             EXISTS (SELECT 1 FROM symbols WHERE id = ?2) AS s, {running} AS running, \
             {today} AS today, ?3 AS m3, ?4 AS m4, ?6 AS x6, ?7 AS x7, ?8 AS x8, ?9 AS x9, \
             ?10 AS x10, ?11 AS x11"
        );
        let insert = format!(
            "INSERT INTO backtests (user_id, name, symbol_id, tf, pattern_type, params, status, \
             progress, cursor, created_at) \
             SELECT ?1, ?6, ?2, ?7, ?8, ?9, 'queued', 0, ?10, ?11 \
             WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1) \
             AND EXISTS (SELECT 1 FROM symbols WHERE id = ?2) \
             AND (?3 < 0 OR {running} < ?3) AND (?4 < 0 OR {today} < ?4) \
             RETURNING {COLS}"
        );
        let results = self
            .batch(
                vec![self.stmt(&probe, &args()?)?, self.stmt(&insert, &args()?)?],
                "user",
            )
            .await?;
        let short = || StoreError::Unavailable("d1 batch returned fewer results".into());
        if let Some(row) = decode::<Row>(T, results.get(1).ok_or_else(short)?)?
            .into_iter()
            .next()
        {
            return StoredBacktest::try_from(row);
        }
        let p = decode::<Probe>(T, results.first().ok_or_else(short)?)?
            .into_iter()
            .next()
            .ok_or_else(short)?;
        let full = |n: f64, m: Option<u32>| m.is_some_and(|m| n >= f64::from(m));
        Err(if p.u == 0.0 {
            StoreError::NotFound("user")
        } else if p.s == 0.0 {
            StoreError::NotFound("symbol")
        } else if full(p.running, q.max_running) {
            StoreError::Conflict(quota::RUNNING)
        } else {
            StoreError::Conflict(quota::PER_DAY)
        })
    }

    async fn backtest(
        &self,
        user: UserId,
        id: BacktestId,
    ) -> Result<Option<StoredBacktest>, StoreError> {
        let stmt = self.stmt(
            &format!("SELECT {COLS} FROM backtests WHERE id = ?1 AND user_id = ?2"),
            &[int("backtest id", id.0)?, int("user id", user.0)?],
        )?;
        self.opt_row::<Row, StoredBacktest>(T, stmt, "backtest")
            .await
    }

    async fn backtests_of(&self, user: UserId) -> Result<Vec<StoredBacktest>, StoreError> {
        let stmt = self.stmt(
            &format!(
                "SELECT {COLS} FROM backtests WHERE user_id = ?1 \
                 ORDER BY created_at DESC, id DESC"
            ),
            &[int("user id", user.0)?],
        )?;
        self.rows::<Row, StoredBacktest>(T, stmt, "user").await
    }

    async fn delete_backtest(&self, user: UserId, id: BacktestId) -> Result<(), StoreError> {
        // The trades go with the row (ON DELETE CASCADE).
        let stmt = self.stmt(
            "DELETE FROM backtests WHERE id = ?1 AND user_id = ?2",
            &[int("backtest id", id.0)?, int("user id", user.0)?],
        )?;
        if changes(&self.exec(stmt, "backtest").await?)? == 0 {
            Err(StoreError::NotFound("backtest"))
        } else {
            Ok(())
        }
    }

    async fn active_backtests(&self, limit: u32) -> Result<Vec<StoredBacktest>, StoreError> {
        let stmt = self.stmt(
            &format!(
                "SELECT {COLS} FROM backtests WHERE {ACTIVE} ORDER BY created_at, id LIMIT ?1"
            ),
            &[JsValue::from_f64(f64::from(limit))],
        )?;
        self.rows::<Row, StoredBacktest>(T, stmt, "backtest").await
    }

    async fn save_chunk(
        &self,
        id: BacktestId,
        expected_cursor: i64,
        u: &ChunkUpdate,
        trades: &[BacktestTradeRow],
    ) -> Result<(), StoreError> {
        if !(u.progress.is_finite() && (0.0..=100.0).contains(&u.progress))
            || trades
                .iter()
                .any(|t| !(t.entry_price.is_finite() && t.r.is_finite()))
        {
            return Err(StoreError::Invalid("backtest chunk values".into()));
        }
        let bid = int("backtest id", id.0)?;
        let expected = text(&expected_cursor.to_string());
        let guard =
            format!("EXISTS (SELECT 1 FROM backtests WHERE id = ?1 AND cursor = ?2 AND {ACTIVE})");
        let mut stmts = vec![self.stmt(
            "SELECT EXISTS (SELECT 1 FROM backtests WHERE id = ?1) AS a",
            std::slice::from_ref(&bid),
        )?];
        for t in trades {
            stmts.push(self.stmt(
                &format!(
                    "INSERT INTO backtest_trades (backtest_id, direction, detected_at, entry_time, \
                     entry_price, exit_time, exit_price, outcome, r) \
                     SELECT ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE {guard}"
                ),
                &[
                    bid.clone(),
                    expected.clone(),
                    text(if t.long { "long" } else { "short" }),
                    int("backtest_trades.detected_at", t.detected_at)?,
                    int("backtest_trades.entry_time", t.entry_time)?,
                    real("backtest_trades.entry_price", t.entry_price)?,
                    opt_int("backtest_trades.exit_time", t.exit_time)?,
                    match t.exit_price {
                        Some(p) => real("backtest_trades.exit_price", p)?,
                        None => JsValue::NULL,
                    },
                    text(outcome_str(t.outcome)),
                    real("backtest_trades.r", t.r)?,
                ],
            )?);
        }
        let finished = (!u.status.is_active()).then_some(u.now);
        stmts.push(self.stmt(
            &format!(
                "UPDATE backtests SET status = ?3, progress = ?4, cursor = ?5, stats = ?6, \
                 error = ?7, started_at = COALESCE(started_at, ?8), finished_at = ?9 \
                 WHERE id = ?1 AND cursor = ?2 AND {ACTIVE}"
            ),
            &[
                bid.clone(),
                expected.clone(),
                text(u.status.as_str()),
                real("backtests.progress", u.progress)?,
                opt_text(u.cursor.map(|c| c.to_string()).as_deref()),
                opt_text(u.stats.as_deref()),
                opt_text(u.error.as_deref()),
                int("backtests.started_at", u.now)?,
                opt_int("backtests.finished_at", finished)?,
            ],
        )?);
        let results = self.batch(stmts, "backtest").await?;
        let short = || StoreError::Unavailable("d1 batch returned fewer results".into());
        let updated = changes(results.last().ok_or_else(short)?)?;
        if updated == 1 {
            return Ok(());
        }
        #[derive(Deserialize)]
        struct Exists {
            a: f64,
        }
        let exists = decode::<Exists>(T, results.first().ok_or_else(short)?)?
            .first()
            .is_some_and(|e| e.a != 0.0);
        Err(if exists {
            StoreError::Conflict(quota::CURSOR_MOVED)
        } else {
            StoreError::NotFound("backtest")
        })
    }

    async fn backtest_trades(
        &self,
        user: UserId,
        id: BacktestId,
    ) -> Result<Vec<BacktestTradeRow>, StoreError> {
        let owned = self.stmt(
            "SELECT EXISTS (SELECT 1 FROM backtests WHERE id = ?1 AND user_id = ?2) AS a",
            &[int("backtest id", id.0)?, int("user id", user.0)?],
        )?;
        let list = self.stmt(
            "SELECT t.direction, t.detected_at, t.entry_time, t.entry_price, t.exit_time, \
             t.exit_price, t.outcome, t.r FROM backtest_trades t \
             JOIN backtests b ON b.id = t.backtest_id \
             WHERE t.backtest_id = ?1 AND b.user_id = ?2 \
             ORDER BY t.entry_time, t.detected_at, t.id",
            &[int("backtest id", id.0)?, int("user id", user.0)?],
        )?;
        let results = self.batch(vec![owned, list], "backtest").await?;
        let short = || StoreError::Unavailable("d1 batch returned fewer results".into());
        #[derive(Deserialize)]
        struct Exists {
            a: f64,
        }
        let mine = decode::<Exists>(T, results.first().ok_or_else(short)?)?
            .first()
            .is_some_and(|e| e.a != 0.0);
        if !mine {
            return Err(StoreError::NotFound("backtest"));
        }
        decode::<TradeRow>("backtest_trades", results.get(1).ok_or_else(short)?)?
            .into_iter()
            .map(BacktestTradeRow::try_from)
            .collect()
    }
}
