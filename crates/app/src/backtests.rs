//! User backtests (product.md §8): premium, 1 running and 20 per UTC day, run by the domain
//! backtester over stored candles IN CHUNKS across invocations.
//!
//! Design:
//! - [`BacktestService::create`] validates the request into typed values (symbol of the tier,
//!   TF 5m..1d, `from < to ≤ now`, ≤ 2 years, candles stored in the range, rr / SL buffer /
//!   slippage by the domain's ranges with ≤ 8 decimals), then the store inserts a queued row
//!   within the tier quotas atomically.
//! - A chunk ([`BacktestService::run_chunk`]) detects (raw mode, like the CLI) on the candles
//!   `[cursor − CONTEXT, cursor + CHUNK)` and simulates the detections whose time falls in
//!   `[cursor, cursor + CHUNK)` with their entry and exit windows, all clipped to `[from, to)`.
//!   Raw detection at a row depends only on a bounded look-back (≤ [`CONTEXT_CANDLES`]), so the
//!   chunked result equals one run over the whole range (pinned by a host test). Trades and
//!   the new cursor/progress are saved in one compare-and-set write; the last chunk stores the
//!   statistics (computed by `cl_domain::backtest::compute_stats` from the stored trades).
//! - [`continue_backtests`] runs up to `max_chunks` chunks of the oldest active backtests: the
//!   scheduled job's entry point (and the request path runs the first chunk when small).

use crate::accounts::FieldError;
use crate::policy::{Access, Quota};
use crate::portfolio::{decimals, utc_day_start, MAX_DECIMALS};
use crate::ports::backtests::{
    BacktestId, BacktestQuota, BacktestStatus, BacktestStore, BacktestTradeRow, ChunkUpdate,
    NewBacktest, StoredBacktest,
};
use crate::ports::{CandleStore, StoreError, SymbolStore, UserId};
use cl_domain::backtest::{
    compute_stats, equity_curve, run_backtest, window, BacktestParams, BacktestStats,
    BacktestTrade, EquityPoint, Outcome,
};
use cl_domain::detect::{detect, Mode};
use cl_domain::{DetectionParams, Direction, PatternType, Timeframe};

/// Candles detected per chunk.
pub const CHUNK_CANDLES: i64 = 2_000;
/// Candles of look-back loaded before a chunk (≥ every detector's raw look-back).
pub const CONTEXT_CANDLES: i64 = 100;
/// Longest date range.
pub const MAX_RANGE_MS: i64 = 731 * 86_400_000;
/// Longest name.
pub const MAX_NAME_CHARS: usize = 50;

/// A backtest request as received.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BacktestInput {
    /// Symbol, e.g. `BTC/USDT`.
    pub symbol: String,
    /// `5m` … `1d`.
    pub tf: String,
    /// Start (UTC ms, inclusive).
    pub from: i64,
    /// End (UTC ms, exclusive).
    pub to: i64,
    /// Detector.
    pub pattern_type: String,
    /// R:R target (default 2, 0.5–10).
    pub rr: Option<f64>,
    /// SL buffer % (default 10, 0–100).
    pub sl_buffer_pct: Option<f64>,
    /// Slippage % (default 0, 0–5).
    pub slippage_pct: Option<f64>,
    /// Optional name (≤ 50).
    pub name: Option<String>,
}

/// The stored run parameters (`backtests.params`, a flat JSON object of numbers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunParams {
    /// Simulation parameters.
    pub params: BacktestParams,
    /// Start (inclusive).
    pub from: i64,
    /// End (exclusive).
    pub to: i64,
}

impl RunParams {
    /// `{"rr":…,"sl_buffer_pct":…,"slippage_pct":…,"from":…,"to":…}`.
    pub fn to_json(&self) -> String {
        let p = &self.params;
        format!(
            "{{\"rr\":{},\"sl_buffer_pct\":{},\"slippage_pct\":{},\"from\":{},\"to\":{}}}",
            p.rr, p.sl_buffer_pct, p.slippage_pct, self.from, self.to
        )
    }

    /// Parses [`Self::to_json`]'s output (`None` for anything else).
    pub fn from_json(text: &str) -> Option<Self> {
        let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
        let get = |key: &str| -> Option<String> {
            inner.split(',').find_map(|pair| {
                let (k, v) = pair.split_once(':')?;
                (k.trim().trim_matches('"') == key).then(|| v.trim().to_owned())
            })
        };
        Some(Self {
            params: BacktestParams {
                rr: get("rr")?.parse().ok()?,
                sl_buffer_pct: get("sl_buffer_pct")?.parse().ok()?,
                slippage_pct: get("slippage_pct")?.parse().ok()?,
            },
            from: get("from")?.parse().ok()?,
            to: get("to")?.parse().ok()?,
        })
    }
}

/// The statistics as a flat JSON object (`backtests.stats`; `sharpe` null when undefined).
pub fn stats_json(s: &BacktestStats) -> String {
    let sharpe = s
        .sharpe
        .filter(|v| v.is_finite())
        .map_or_else(|| "null".to_owned(), |v| v.to_string());
    let num = |v: f64| {
        if v.is_finite() {
            v.to_string()
        } else {
            "0".to_owned()
        }
    };
    format!(
        "{{\"total\":{},\"wins\":{},\"losses\":{},\"inconclusive\":{},\"win_rate\":{},\
         \"win_rate_excluding_inconclusive\":{},\"avg_rr\":{},\"total_profit_pct\":{},\
         \"max_drawdown_pct\":{},\"avg_duration_candles\":{},\"sharpe\":{}}}",
        s.total,
        s.wins,
        s.losses,
        s.inconclusive,
        num(s.win_rate),
        num(s.win_rate_excluding_inconclusive),
        num(s.avg_rr),
        num(s.total_profit_pct),
        num(s.max_drawdown_pct),
        num(s.avg_duration_candles),
        sharpe
    )
}

/// Why a backtest operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BacktestError {
    /// Invalid fields (400).
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// Not premium (403 `tier_required`).
    #[error("backtests need premium")]
    TierRequired,
    /// A quota is used up (403 `quota_exceeded`).
    #[error("quota used up: {0}")]
    LimitReached(&'static str),
    /// Absent or another user's (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for BacktestError {
    fn from(e: StoreError) -> Self {
        use crate::ports::backtests::quota;
        match e {
            StoreError::NotFound(w) => Self::NotFound(w),
            StoreError::Conflict(q @ (quota::RUNNING | quota::PER_DAY)) => Self::LimitReached(q),
            other => Self::Store(other),
        }
    }
}

/// A backtest with its trades and derived results.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestView {
    /// The row.
    pub backtest: StoredBacktest,
    /// Its parameters.
    pub run: RunParams,
    /// Trades so far.
    pub trades: Vec<BacktestTradeRow>,
    /// Statistics of the trades so far.
    pub stats: BacktestStats,
    /// Cumulative profit % by exit.
    pub equity_curve: Vec<EquityPoint>,
}

fn limit(q: Quota) -> Option<u32> {
    match q {
        Quota::Limited(n) => Some(n),
        Quota::Unlimited => None,
    }
}

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &'static str, code: &'static str, message: &str) {
        self.0.push(FieldError {
            field,
            code,
            message: message.to_owned(),
        });
    }

    fn num(&mut self, field: &'static str, v: Option<f64>, default: f64, lo: f64, hi: f64) -> f64 {
        match v {
            None => default,
            Some(x) if !(x.is_finite() && (lo..=hi).contains(&x)) => {
                self.add(field, "out_of_range", &format!("between {lo} and {hi}"));
                default
            }
            Some(x) if decimals(x) > MAX_DECIMALS => {
                self.add(field, "too_many_decimals", "at most 8 decimal places");
                default
            }
            Some(x) => x,
        }
    }
}

/// Rebuilds the domain trade of a stored row (what the statistics read).
fn domain_trade(
    r: &BacktestTradeRow,
    tf_ms: i64,
    pattern_type: PatternType,
) -> Option<BacktestTrade> {
    let exit_time = r.exit_time?;
    let idx = |t: i64| usize::try_from(t / tf_ms).ok();
    let profit_pct = match r.exit_price {
        Some(x) if r.entry_price > 0.0 => {
            let sign = if r.long { 1.0 } else { -1.0 };
            sign * (x - r.entry_price) / r.entry_price * 100.0
        }
        _ => 0.0,
    };
    Some(BacktestTrade {
        detection_index: idx(r.detected_at)?,
        detected_at: r.detected_at,
        pattern_type,
        direction: if r.long {
            Direction::Bullish
        } else {
            Direction::Bearish
        },
        entry_index: idx(r.entry_time)?,
        entry_time: r.entry_time,
        entry_price: r.entry_price,
        stop_loss: 0.0,
        target: 0.0,
        risk: 0.0,
        exit_index: idx(exit_time)?,
        exit_time,
        exit_price: r.exit_price,
        outcome: r.outcome,
        r_multiple: r.r,
        profit_pct,
        duration_candles: usize::try_from((exit_time - r.entry_time) / tf_ms).unwrap_or(0),
    })
}

fn row_of(t: &BacktestTrade) -> BacktestTradeRow {
    BacktestTradeRow {
        long: t.direction == Direction::Bullish,
        detected_at: t.detected_at,
        entry_time: t.entry_time,
        entry_price: t.entry_price,
        exit_time: Some(t.exit_time),
        exit_price: t.exit_price,
        outcome: t.outcome,
        r: t.r_multiple,
    }
}

/// Statistics and equity curve of stored trades.
pub fn results(
    trades: &[BacktestTradeRow],
    tf: Timeframe,
    pattern_type: PatternType,
) -> (BacktestStats, Vec<EquityPoint>) {
    let tf_ms = tf.millis();
    let domain: Vec<BacktestTrade> = trades
        .iter()
        .filter_map(|t| domain_trade(t, tf_ms, pattern_type))
        .collect();
    (compute_stats(&domain), equity_curve(&domain))
}

/// The backtest use cases.
#[derive(Debug)]
pub struct BacktestService<'a, S> {
    store: &'a S,
}

impl<'a, S> BacktestService<'a, S>
where
    S: BacktestStore + SymbolStore + CandleStore,
{
    /// Borrows the store.
    pub fn new(store: &'a S) -> Self {
        Self { store }
    }

    /// Validates and queues a backtest within the tier's quotas.
    ///
    /// # Errors
    /// `TierRequired`, `Invalid`, `LimitReached`, `Store`.
    pub async fn create(
        &self,
        user: UserId,
        access: &Access,
        input: &BacktestInput,
        now: i64,
    ) -> Result<StoredBacktest, BacktestError> {
        if !access.limits.backtests_per_day.is_available() {
            return Err(BacktestError::TierRequired);
        }
        let mut e = Errors(Vec::new());
        let tf = Timeframe::parse(&input.tf)
            .ok()
            .filter(|t| *t != Timeframe::M1 && t.backtest_lookback().is_some());
        if tf.is_none() {
            e.add("tf", "invalid_choice", "5m, 15m, 30m, 1h, 2h, 4h or 1d");
        }
        let pattern_type = PatternType::parse(&input.pattern_type).ok();
        if pattern_type.is_none() {
            e.add("pattern_type", "invalid_choice", "unknown pattern type");
        }
        if pattern_type.is_some_and(|t| !access.limits.allows_pattern_type(t)) {
            e.add("pattern_type", "not_in_tier", "not in your plan");
        }
        let symbol = match self.store.symbol_by_name(input.symbol.trim()).await? {
            Some(s) if access.limits.symbols.allows(&s.symbol) => Some(s),
            _ => {
                e.add("symbol", "invalid_choice", "not a symbol of your plan");
                None
            }
        };
        if !(0 <= input.from && input.from < input.to && input.to <= now) {
            e.add("to", "out_of_range", "0 ≤ from < to ≤ now");
        } else if input.to - input.from > MAX_RANGE_MS {
            e.add("to", "out_of_range", "at most 2 years");
        }
        let params = BacktestParams {
            rr: e.num("rr", input.rr, 2.0, 0.5, 10.0),
            sl_buffer_pct: e.num("sl_buffer_pct", input.sl_buffer_pct, 10.0, 0.0, 100.0),
            slippage_pct: e.num("slippage_pct", input.slippage_pct, 0.0, 0.0, 5.0),
        };
        let name = input
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if name.is_some_and(|n| n.chars().count() > MAX_NAME_CHARS) {
            e.add("name", "too_long", "at most 50 characters");
        }
        let (Some(tf), Some(pattern_type), Some(symbol)) = (tf, pattern_type, symbol) else {
            return Err(BacktestError::Invalid(e.0));
        };
        if e.0.is_empty() {
            let any = self
                .store
                .candles_in_range(symbol.id, tf, input.from, input.to, 1)
                .await?;
            if any.is_empty() {
                e.add("from", "no_candles", "no stored candles in this range");
            }
        }
        if !e.0.is_empty() {
            return Err(BacktestError::Invalid(e.0));
        }
        let run = RunParams {
            params,
            from: input.from,
            to: input.to,
        };
        let new = NewBacktest {
            user_id: user,
            name: name.map(str::to_owned),
            symbol: symbol.id,
            tf,
            pattern_type,
            params: run.to_json(),
            cursor: input.from,
            created_at: now,
        };
        let quota = BacktestQuota {
            max_running: limit(access.limits.backtests_running),
            max_per_day: limit(access.limits.backtests_per_day),
            day_start: utc_day_start(now),
        };
        Ok(self.store.create_backtest(&new, quota).await?)
    }

    /// The user's backtests, newest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn list(&self, user: UserId) -> Result<Vec<StoredBacktest>, BacktestError> {
        Ok(self.store.backtests_of(user).await?)
    }

    /// One backtest with its trades, statistics and equity curve so far.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn view(&self, user: UserId, id: BacktestId) -> Result<BacktestView, BacktestError> {
        let backtest = self
            .store
            .backtest(user, id)
            .await?
            .ok_or(BacktestError::NotFound("backtest"))?;
        let run = run_params(&backtest)?;
        let trades = self.store.backtest_trades(user, id).await?;
        let (stats, equity_curve) = results(&trades, backtest.new.tf, backtest.new.pattern_type);
        Ok(BacktestView {
            backtest,
            run,
            trades,
            stats,
            equity_curve,
        })
    }

    /// Deletes a backtest of the user.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn delete(&self, user: UserId, id: BacktestId) -> Result<(), BacktestError> {
        Ok(self.store.delete_backtest(user, id).await?)
    }

    /// Runs the next chunk of an active backtest and saves it; returns whether it finished.
    ///
    /// # Errors
    /// `Store` (a lost compare-and-set is `Conflict(backtests.cursor)`: another invocation
    /// saved this chunk).
    pub async fn run_chunk(&self, bt: &StoredBacktest, now: i64) -> Result<bool, StoreError> {
        let Some(cursor) = bt.cursor.filter(|_| bt.status.is_active()) else {
            return Ok(true);
        };
        let run = run_params(bt).map_err(|_| StoreError::Invalid("backtest params".into()))?;
        let tf = bt.new.tf;
        let tf_ms = tf.millis();
        let fail = |error: String| ChunkUpdate {
            status: BacktestStatus::Failed,
            progress: bt.progress,
            cursor: None,
            stats: None,
            error: Some(error),
            now,
        };
        let w = match window(tf, 1.0) {
            Ok(w) => i64::try_from(w).unwrap_or(i64::MAX / 4),
            Err(err) => {
                self.store
                    .save_chunk(bt.id, cursor, &fail(err.to_string()), &[])
                    .await?;
                return Ok(true);
            }
        };
        let chunk_end = (cursor + CHUNK_CANDLES * tf_ms).min(run.to);
        let load_from = (cursor - CONTEXT_CANDLES * tf_ms).max(run.from);
        let load_to = (chunk_end + (2 * w + 2) * tf_ms).min(run.to);
        let cap = u32::try_from(CONTEXT_CANDLES + CHUNK_CANDLES + 2 * w + 4).unwrap_or(u32::MAX);
        let candles = self
            .store
            .candles_in_range(bt.new.symbol, tf, load_from, load_to, cap)
            .await?;
        let detections: Vec<_> = detect(
            &candles,
            bt.new.pattern_type,
            Mode::Raw,
            &DetectionParams::default(),
        )
        .into_iter()
        .filter(|d| (cursor..chunk_end).contains(&d.detected_at))
        .collect();
        let trades: Vec<BacktestTradeRow> =
            match run_backtest(tf, &candles, &detections, &run.params) {
                Ok(report) => report.trades.iter().map(row_of).collect(),
                Err(err) => {
                    self.store
                        .save_chunk(bt.id, cursor, &fail(err.to_string()), &[])
                        .await?;
                    return Ok(true);
                }
            };
        let done = chunk_end >= run.to;
        let span = (run.to - run.from).max(1) as f64;
        let progress = ((chunk_end - run.from) as f64 / span * 100.0).clamp(0.0, 100.0);
        let stats = if done {
            let mut all = self.store.backtest_trades(bt.new.user_id, bt.id).await?;
            all.extend_from_slice(&trades);
            let (stats, _) = results(&all, tf, bt.new.pattern_type);
            Some(stats_json(&stats))
        } else {
            None
        };
        let update = ChunkUpdate {
            status: if done {
                BacktestStatus::Done
            } else {
                BacktestStatus::Running
            },
            progress,
            cursor: (!done).then_some(chunk_end),
            stats,
            error: None,
            now,
        };
        self.store
            .save_chunk(bt.id, cursor, &update, &trades)
            .await?;
        Ok(done)
    }
}

/// Runs up to `max_chunks` chunks of the oldest active backtests (the scheduled job's entry
/// point); returns how many chunks ran. A chunk lost to a concurrent invocation is skipped.
///
/// # Errors
/// `Unavailable` and other store failures.
pub async fn continue_backtests<S>(store: &S, max_chunks: u32, now: i64) -> Result<u32, StoreError>
where
    S: BacktestStore + SymbolStore + CandleStore,
{
    let svc = BacktestService::new(store);
    let mut ran = 0;
    while ran < max_chunks {
        let active = store.active_backtests(1).await?;
        let Some(bt) = active.first() else { break };
        match svc.run_chunk(bt, now).await {
            Ok(_) | Err(StoreError::Conflict(_)) => ran += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(ran)
}

fn run_params(bt: &StoredBacktest) -> Result<RunParams, BacktestError> {
    RunParams::from_json(&bt.new.params).ok_or_else(|| {
        BacktestError::Store(StoreError::corrupt("backtests", Some(bt.id.0), "params"))
    })
}

/// The outcome's stored word.
pub const fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Win => "win",
        Outcome::Loss => "loss",
        Outcome::Inconclusive => "inconclusive",
    }
}
