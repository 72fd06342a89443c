//! [`BacktestStore`] over Postgres. Creation locks the owner's row (`FOR NO KEY UPDATE`),
//! counts the running and today's backtests and inserts in one transaction; a chunk locks the
//! backtest row, compares its cursor, inserts the trades and updates the row in one
//! transaction. Reads and the delete are owner-scoped single statements. `cursor` is a JSON
//! number, `params` and `stats` JSON objects (JSONB).

use crate::rows::returned;
use crate::PgStore;
use cl_app::ports::backtests::{
    quota, BacktestId, BacktestQuota, BacktestStatus, BacktestStore, BacktestTradeRow, ChunkUpdate,
    NewBacktest, StoredBacktest,
};
use cl_app::ports::{exact_int, StoreError, SymbolId, UserId};
use cl_domain::backtest::Outcome;
use cl_domain::{PatternType, Timeframe};
use tokio_postgres::types::Type;
use tokio_postgres::Row;

const T: &str = "backtests";

const COLS: &str = "id, user_id, name, symbol_id, tf, pattern_type, params::text AS params, \
status, progress, cursor::text AS cursor, stats::text AS stats, error, created_at, started_at, \
finished_at";

fn get<'r, V: tokio_postgres::types::FromSql<'r>>(
    row: &'r Row,
    col: &str,
) -> Result<V, StoreError> {
    row.try_get(col)
        .map_err(|e| StoreError::corrupt(T, None, e))
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(T, None, what)
}

fn backtest(row: &Row) -> Result<StoredBacktest, StoreError> {
    let tf: String = get(row, "tf")?;
    let pt: String = get(row, "pattern_type")?;
    let status: String = get(row, "status")?;
    let cursor: Option<String> = get(row, "cursor")?;
    let params: String = get(row, "params")?;
    // The creation cursor is the range start.
    let first = cl_app::backtests::RunParams::from_json(&params).map_or(0, |r| r.from);
    Ok(StoredBacktest {
        id: BacktestId(get(row, "id")?),
        new: NewBacktest {
            user_id: UserId(get(row, "user_id")?),
            name: get(row, "name")?,
            symbol: SymbolId(get(row, "symbol_id")?),
            tf: Timeframe::parse(&tf).map_err(corrupt)?,
            pattern_type: PatternType::parse(&pt).map_err(corrupt)?,
            params,
            cursor: first,
            created_at: get(row, "created_at")?,
        },
        status: BacktestStatus::parse(&status).map_err(corrupt)?,
        progress: get(row, "progress")?,
        cursor: cursor
            .map(|c| c.trim().parse::<i64>().map_err(corrupt))
            .transpose()?,
        stats: get(row, "stats")?,
        error: get(row, "error")?,
        started_at: get(row, "started_at")?,
        finished_at: get(row, "finished_at")?,
    })
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Win => "win",
        Outcome::Loss => "loss",
        Outcome::Inconclusive => "inconclusive",
    }
}

fn trade(row: &Row) -> Result<BacktestTradeRow, StoreError> {
    let dir: String = get(row, "direction")?;
    let outcome: String = get(row, "outcome")?;
    Ok(BacktestTradeRow {
        long: dir == "long",
        detected_at: get(row, "detected_at")?,
        entry_time: get(row, "entry_time")?,
        entry_price: get(row, "entry_price")?,
        exit_time: get(row, "exit_time")?,
        exit_price: get(row, "exit_price")?,
        outcome: match outcome.as_str() {
            "win" => Outcome::Win,
            "loss" => Outcome::Loss,
            "inconclusive" => Outcome::Inconclusive,
            other => return Err(corrupt(format!("outcome {other}"))),
        },
        r: get(row, "r")?,
    })
}

fn count(rows: &[Row]) -> Result<i64, StoreError> {
    rows.first().map_or(Ok(0), |r| {
        r.try_get(0).map_err(|e| StoreError::corrupt(T, None, e))
    })
}

fn over(n: i64, max: Option<u32>) -> bool {
    max.is_some_and(|m| n >= i64::from(m))
}

impl BacktestStore for PgStore<'_> {
    async fn create_backtest(
        &self,
        new: &NewBacktest,
        q: BacktestQuota,
    ) -> Result<StoredBacktest, StoreError> {
        exact_int("backtests.created_at", new.created_at)?;
        exact_int("backtests.cursor", new.cursor)?;
        let tx = self.begin().await?;
        let result = async {
            let user = &new.user_id.0;
            if tx
                .query(
                    "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE",
                    &[(user, Type::INT8)],
                )
                .await?
                .is_empty()
            {
                return Err(StoreError::NotFound("user"));
            }
            let running = tx
                .query(
                    "SELECT count(*) FROM backtests WHERE user_id = $1 \
                     AND status IN ('queued', 'running')",
                    &[(user, Type::INT8)],
                )
                .await?;
            if over(count(&running)?, q.max_running) {
                return Err(StoreError::Conflict(quota::RUNNING));
            }
            let today = tx
                .query(
                    "SELECT count(*) FROM backtests WHERE user_id = $1 AND created_at >= $2",
                    &[(user, Type::INT8), (&q.day_start, Type::INT8)],
                )
                .await?;
            if over(count(&today)?, q.max_per_day) {
                return Err(StoreError::Conflict(quota::PER_DAY));
            }
            let cursor = new.cursor.to_string();
            let sql = format!(
                "INSERT INTO backtests (user_id, name, symbol_id, tf, pattern_type, params, \
                 status, progress, cursor, created_at) VALUES ($1, $2, $3, $4, $5, \
                 $6::text::jsonb, 'queued', 0, $7::text::jsonb, $8) RETURNING {COLS}"
            );
            let rows = tx
                .query(
                    &sql,
                    &[
                        (user, Type::INT8),
                        (&new.name, Type::TEXT),
                        (&new.symbol.0, Type::INT8),
                        (&new.tf.as_str(), Type::TEXT),
                        (&new.pattern_type.as_str(), Type::TEXT),
                        (&new.params, Type::TEXT),
                        (&cursor, Type::TEXT),
                        (&new.created_at, Type::INT8),
                    ],
                )
                .await
                .map_err(|e| match e {
                    StoreError::NotFound(_) => StoreError::NotFound("symbol"),
                    other => other,
                })?;
            returned(&rows, backtest, "insert returned no row")
        }
        .await;
        match result {
            Ok(v) => {
                tx.commit().await?;
                Ok(v)
            }
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn backtest(
        &self,
        user: UserId,
        id: BacktestId,
    ) -> Result<Option<StoredBacktest>, StoreError> {
        let sql = format!("SELECT {COLS} FROM backtests WHERE id = $1 AND user_id = $2");
        self.opt(
            &sql,
            &[(&id.0, Type::INT8), (&user.0, Type::INT8)],
            backtest,
        )
        .await
    }

    async fn backtests_of(&self, user: UserId) -> Result<Vec<StoredBacktest>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM backtests WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
        );
        self.all(&sql, &[(&user.0, Type::INT8)], backtest).await
    }

    async fn delete_backtest(&self, user: UserId, id: BacktestId) -> Result<(), StoreError> {
        let rows = self
            .query(
                "DELETE FROM backtests WHERE id = $1 AND user_id = $2 RETURNING id",
                &[(&id.0, Type::INT8), (&user.0, Type::INT8)],
            )
            .await?;
        if rows.is_empty() {
            Err(StoreError::NotFound("backtest"))
        } else {
            Ok(())
        }
    }

    async fn active_backtests(&self, limit: u32) -> Result<Vec<StoredBacktest>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM backtests WHERE status IN ('queued', 'running') \
             ORDER BY created_at, id LIMIT $1"
        );
        self.all(&sql, &[(&i64::from(limit), Type::INT8)], backtest)
            .await
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
        let tx = self.begin().await?;
        let result = async {
            let rows = tx
                .query(
                    "SELECT status, cursor::text FROM backtests WHERE id = $1 FOR NO KEY UPDATE",
                    &[(&id.0, Type::INT8)],
                )
                .await?;
            let Some(row) = rows.first() else {
                return Err(StoreError::NotFound("backtest"));
            };
            let status: String = get(row, "status")?;
            let cursor: Option<String> = row.try_get(1).map_err(corrupt)?;
            let active = matches!(status.as_str(), "queued" | "running");
            if !active || cursor.as_deref().map(str::trim) != Some(&expected_cursor.to_string()) {
                return Err(StoreError::Conflict(quota::CURSOR_MOVED));
            }
            for t in trades {
                let exit_price = t.exit_price.filter(|p| p.is_finite());
                tx.query(
                    "INSERT INTO backtest_trades (backtest_id, direction, detected_at, \
                     entry_time, entry_price, exit_time, exit_price, outcome, r) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    &[
                        (&id.0, Type::INT8),
                        (&if t.long { "long" } else { "short" }, Type::TEXT),
                        (&t.detected_at, Type::INT8),
                        (&t.entry_time, Type::INT8),
                        (&t.entry_price, Type::FLOAT8),
                        (&t.exit_time, Type::INT8),
                        (&exit_price, Type::FLOAT8),
                        (&outcome_str(t.outcome), Type::TEXT),
                        (&t.r, Type::FLOAT8),
                    ],
                )
                .await?;
            }
            let cursor = u.cursor.map(|c| c.to_string());
            let finished = (!u.status.is_active()).then_some(u.now);
            tx.query(
                "UPDATE backtests SET status = $2, progress = $3, cursor = $4::text::jsonb, \
                 stats = $5::text::jsonb, error = $6, started_at = COALESCE(started_at, $7), \
                 finished_at = $8 WHERE id = $1",
                &[
                    (&id.0, Type::INT8),
                    (&u.status.as_str(), Type::TEXT),
                    (&u.progress, Type::FLOAT8),
                    (&cursor, Type::TEXT),
                    (&u.stats, Type::TEXT),
                    (&u.error, Type::TEXT),
                    (&u.now, Type::INT8),
                    (&finished, Type::INT8),
                ],
            )
            .await?;
            Ok(())
        }
        .await;
        match result {
            Ok(()) => tx.commit().await,
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn backtest_trades(
        &self,
        user: UserId,
        id: BacktestId,
    ) -> Result<Vec<BacktestTradeRow>, StoreError> {
        if self.backtest(user, id).await?.is_none() {
            return Err(StoreError::NotFound("backtest"));
        }
        self.all(
            "SELECT direction, detected_at, entry_time, entry_price, exit_time, exit_price, \
                 outcome, r FROM backtest_trades WHERE backtest_id = $1 \
                 ORDER BY entry_time, detected_at, id",
            &[(&id.0, Type::INT8)],
            trade,
        )
        .await
    }
}
