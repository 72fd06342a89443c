//! The backtester and the optimizer grid (detection.md §8, product.md §8).
//!
//! # Simulation, precisely
//! The input is the candles of one TF (date-filtered, oldest first) and the raw detections
//! found on them (`Detection::index` is a row of those candles). Each detection is simulated on
//! its own, so trades may overlap in time; there is no position sizing or portfolio.
//!
//! - **Window**: `W = round(lookback(tf) × expiry_multiplier)`, at least 1 (multiplier 1 for a
//!   user backtest). Entry and exit each get their own window of `W` candles.
//! - **Entry**: scan rows `index+1 ..= index+W` (the pattern is known only once its detection
//!   candle has closed). A long enters on the first candle with `low ≤ zone_high`, at
//!   `zone_high`, or at the candle's open when it opens at or below `zone_high` (gap-through).
//!   A short enters on `high ≥ zone_low`, at `zone_low` or at an open at or above it. Slippage
//!   worsens the fill: `entry × (1 ± slippage%)` (+ for long, − for short). No entry in the
//!   window: no trade.
//! - **Levels**: long stop = `zone_low − size × sl_buffer%`, short stop = `zone_high + size ×
//!   sl_buffer%`; `R = |entry − stop|` from the actual (slipped) entry, target = `entry ± R ×
//!   rr`. When the fill is already at or beyond the stop (`R ≤ 0`, possible on a gap), the trade
//!   is skipped as invalid.
//! - **Exit**: scan rows `entry+1 ..= entry+W`. A long hits the stop when `low ≤ stop` and the
//!   target when `high ≥ target` (short mirrors). Stop only: loss at the stop price; target
//!   only: win at the target price; both in one candle: `inconclusive` (no exit price). No exit
//!   in the window, or the data ends first: the trade is dropped (not counted).
//! - **Per trade**: `profit% = ±(exit − entry) / entry × 100` (0 for inconclusive), `R multiple
//!   = ±(exit − entry) / R` (so `rr` for a win, −1 for a loss, 0 for inconclusive) and duration =
//!   exit row − entry row, in candles.
//!
//! # Statistics
//! Win rate = wins / total × 100; win rate without inconclusive = wins / (wins + losses) × 100;
//! avg RR = mean R multiple over wins and losses; total profit % = the plain sum of the trades'
//! profit % (not compounded); max drawdown = the largest fall, in percentage points, of the
//! cumulative profit % (starting at 0, trades ordered by exit row) from its running peak,
//! rounded to 2 decimals; avg duration over all counted trades, rounded to 1 decimal; Sharpe =
//! mean / sample standard deviation of the per-trade profit % (none with fewer than 2 trades or
//! no variance), not annualised. Rates and averages are 0 when their denominator is 0.
//!
//! # Optimizer
//! [`OptimizerGrid::default`] is rr {1, 2, 3, 4, 5} × sl_buffer% {3, 5, 10, 15, 20, 25, 30} ×
//! expiry multiplier {0.5, 1, 2} (105 runs). [`best_runs`] keeps, per (symbol, type, TF), the
//! run with the highest metric among runs with at least [`MIN_TRADES_FOR_SELECTION`] trades;
//! ties keep the run with more trades, then the earlier run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::levels::{round_to, sign};
use crate::{Candle, Detection, Direction, PatternType, Timeframe};

/// Percent scale.
const PERCENT: f64 = 100.0;

/// Lowest accepted reward/risk target (product.md §8).
pub const RR_MIN: f64 = 0.5;
/// Highest accepted reward/risk target (product.md §8).
pub const RR_MAX: f64 = 10.0;
/// Highest accepted SL buffer, % of the zone size (product.md §8; the lowest is 0).
pub const SL_BUFFER_PCT_MAX: f64 = 100.0;
/// Highest accepted slippage % (product.md §8; the lowest is 0).
pub const SLIPPAGE_PCT_MAX: f64 = 5.0;
/// The optimizer only ranks runs with at least this many trades (§8).
pub const MIN_TRADES_FOR_SELECTION: usize = 10;
/// Decimals of the max drawdown (§8).
pub const DRAWDOWN_DECIMALS: i32 = 2;
/// Decimals of the average duration (§8).
pub const DURATION_DECIMALS: i32 = 1;

/// User-facing backtest parameters (product.md §8) with their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BacktestParams {
    /// Target in R multiples, `0.5..=10` (2).
    pub rr: f64,
    /// Stop buffer beyond the zone as % of its size, `0..=100` (10).
    pub sl_buffer_pct: f64,
    /// Entry slippage %, `0..=5` (0).
    pub slippage_pct: f64,
}

impl Default for BacktestParams {
    fn default() -> Self {
        Self {
            rr: 2.0,
            sl_buffer_pct: 10.0,
            slippage_pct: 0.0,
        }
    }
}

/// A backtest parameter out of range.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum BacktestParamsError {
    /// `rr` outside `0.5..=10` or not finite.
    #[error("rr must be between 0.5 and 10, got {0}")]
    Rr(f64),
    /// `sl_buffer_pct` outside `0..=100` or not finite.
    #[error("sl_buffer_pct must be between 0 and 100, got {0}")]
    SlBuffer(f64),
    /// `slippage_pct` outside `0..=5` or not finite.
    #[error("slippage_pct must be between 0 and 5, got {0}")]
    Slippage(f64),
}

impl BacktestParams {
    /// Checks the ranges of product.md §8 (bounds included).
    ///
    /// # Errors
    /// The first [`BacktestParamsError`] found.
    pub fn validate(&self) -> Result<(), BacktestParamsError> {
        if !(RR_MIN..=RR_MAX).contains(&self.rr) {
            return Err(BacktestParamsError::Rr(self.rr));
        }
        if !(0.0..=SL_BUFFER_PCT_MAX).contains(&self.sl_buffer_pct) {
            return Err(BacktestParamsError::SlBuffer(self.sl_buffer_pct));
        }
        if !(0.0..=SLIPPAGE_PCT_MAX).contains(&self.slippage_pct) {
            return Err(BacktestParamsError::Slippage(self.slippage_pct));
        }
        Ok(())
    }
}

/// Why a backtest could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BacktestError {
    /// A parameter is out of range.
    #[error(transparent)]
    Params(#[from] BacktestParamsError),
    /// The TF has no lookback window (1m is not backtested).
    #[error("timeframe {0} cannot be backtested")]
    Timeframe(Timeframe),
    /// The expiry multiplier is not a finite positive number.
    #[error("expiry multiplier must be a finite number > 0, got {0}")]
    ExpiryMultiplier(f64),
    /// A detection points past the candles.
    #[error("detection row {index} is outside the {len} candles")]
    DetectionOutOfRange {
        /// The detection's row.
        index: usize,
        /// Number of candles.
        len: usize,
    },
    /// A detection's time is not its candle's time: it came from other candles.
    #[error(
        "detection row {index} has detected_at {detected_at} but the candle opens at {candle_ts}"
    )]
    DetectionMismatch {
        /// The detection's row.
        index: usize,
        /// Its `detected_at`.
        detected_at: i64,
        /// The candle's `ts`.
        candle_ts: i64,
    },
}

/// How a counted trade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The target was hit first.
    Win,
    /// The stop was hit first.
    Loss,
    /// One candle hit both.
    Inconclusive,
}

/// One simulated trade.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BacktestTrade {
    /// Row of the detection.
    pub detection_index: usize,
    /// The detection's `detected_at`.
    pub detected_at: i64,
    /// Pattern type.
    pub pattern_type: PatternType,
    /// Direction (bullish = long).
    pub direction: Direction,
    /// Row of the entry candle.
    pub entry_index: usize,
    /// Entry candle time.
    pub entry_time: i64,
    /// Fill price, after slippage.
    pub entry_price: f64,
    /// Stop price.
    pub stop_loss: f64,
    /// Target price.
    pub target: f64,
    /// R from the actual entry.
    pub risk: f64,
    /// Row of the exit candle.
    pub exit_index: usize,
    /// Exit candle time.
    pub exit_time: i64,
    /// Exit price; `None` when inconclusive.
    pub exit_price: Option<f64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Realised R multiple (`rr`, −1 or 0).
    pub r_multiple: f64,
    /// Profit % of the entry price (0 when inconclusive).
    pub profit_pct: f64,
    /// Exit row − entry row.
    pub duration_candles: usize,
}

/// Detections that produced no counted trade, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Price never reached the zone within the window.
    pub no_entry: usize,
    /// Entered but neither stop nor target within the window: dropped.
    pub no_exit: usize,
    /// The fill was at or beyond the stop (`R ≤ 0`).
    pub invalid_risk: usize,
}

/// Summary statistics of a backtest (see the module docs for the definitions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BacktestStats {
    /// Counted trades (wins + losses + inconclusive).
    pub total: usize,
    /// Wins.
    pub wins: usize,
    /// Losses.
    pub losses: usize,
    /// Inconclusive trades.
    pub inconclusive: usize,
    /// wins / total × 100.
    pub win_rate: f64,
    /// wins / (wins + losses) × 100.
    pub win_rate_excluding_inconclusive: f64,
    /// Mean R multiple of wins and losses.
    pub avg_rr: f64,
    /// Sum of the trades' profit %.
    pub total_profit_pct: f64,
    /// Largest peak-to-trough fall of the cumulative profit %, 2 decimals.
    pub max_drawdown_pct: f64,
    /// Mean duration in candles, 1 decimal.
    pub avg_duration_candles: f64,
    /// Per-trade Sharpe ratio of the profit %, when defined.
    pub sharpe: Option<f64>,
}

/// One point of the equity curve: the cumulative profit % after a trade's exit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EquityPoint {
    /// Exit candle time.
    pub ts: i64,
    /// Cumulative profit % after this exit.
    pub cumulative_profit_pct: f64,
}

/// The result of one backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    /// The TF.
    pub timeframe: Timeframe,
    /// The parameters.
    pub params: BacktestParams,
    /// The expiry multiplier the window was scaled with.
    pub expiry_multiplier: f64,
    /// Entry and exit window, in candles.
    pub window: usize,
    /// Statistics.
    pub stats: BacktestStats,
    /// Counted trades, in detection order.
    pub trades: Vec<BacktestTrade>,
    /// Cumulative profit % by exit, oldest first.
    pub equity_curve: Vec<EquityPoint>,
    /// Detections without a counted trade.
    pub skipped: Skipped,
}

/// The entry/exit window: `round(lookback × multiplier)`, at least 1.
///
/// # Errors
/// [`BacktestError::Timeframe`] for 1m, [`BacktestError::ExpiryMultiplier`] for a multiplier
/// that is not finite and positive.
pub fn window(tf: Timeframe, expiry_multiplier: f64) -> Result<usize, BacktestError> {
    let lookback = tf.backtest_lookback().ok_or(BacktestError::Timeframe(tf))?;
    if !(expiry_multiplier.is_finite() && expiry_multiplier > 0.0) {
        return Err(BacktestError::ExpiryMultiplier(expiry_multiplier));
    }
    // A saturating float-to-int conversion of a finite positive value.
    let scaled = (lookback as f64 * expiry_multiplier).round() as usize;
    Ok(scaled.max(1))
}

/// What happened to one detection.
enum Simulated {
    Trade(BacktestTrade),
    NoEntry,
    NoExit,
    InvalidRisk,
}

fn simulate(
    candles: &[Candle],
    d: &Detection,
    params: &BacktestParams,
    window: usize,
) -> Simulated {
    let s = sign(d.direction);
    let zone = d.zone;
    let buffer = zone.size() * params.sl_buffer_pct / PERCENT;
    let (limit, stop) = match d.direction {
        Direction::Bullish => (zone.high(), zone.low() - buffer),
        Direction::Bearish => (zone.low(), zone.high() + buffer),
    };
    let last = candles.len().saturating_sub(1);

    let entry_rows = (d.index + 1)..=d.index.saturating_add(window).min(last);
    let touched = |c: &Candle| match d.direction {
        Direction::Bullish => c.low() <= limit,
        Direction::Bearish => c.high() >= limit,
    };
    let Some(entry_index) = entry_rows.into_iter().find(|&j| touched(&candles[j])) else {
        return Simulated::NoEntry;
    };
    let entry_candle = &candles[entry_index];
    // Gap-through: an open already at or past the limit fills at the open.
    let fill = if s * (entry_candle.open() - limit) <= 0.0 {
        entry_candle.open()
    } else {
        limit
    };
    let entry_price = fill * (1.0 + s * params.slippage_pct / PERCENT);
    let risk = s * (entry_price - stop);
    if risk <= 0.0 {
        return Simulated::InvalidRisk;
    }
    let target = entry_price + s * risk * params.rr;

    let exit_rows = (entry_index + 1)..=entry_index.saturating_add(window).min(last);
    for k in exit_rows {
        let c = &candles[k];
        let (hit_stop, hit_target) = match d.direction {
            Direction::Bullish => (c.low() <= stop, c.high() >= target),
            Direction::Bearish => (c.high() >= stop, c.low() <= target),
        };
        let (outcome, exit_price) = match (hit_stop, hit_target) {
            (false, false) => continue,
            (true, true) => (Outcome::Inconclusive, None),
            (true, false) => (Outcome::Loss, Some(stop)),
            (false, true) => (Outcome::Win, Some(target)),
        };
        let (r_multiple, profit_pct) = exit_price.map_or((0.0, 0.0), |x| {
            let gain = s * (x - entry_price);
            (gain / risk, gain / entry_price * PERCENT)
        });
        return Simulated::Trade(BacktestTrade {
            detection_index: d.index,
            detected_at: d.detected_at,
            pattern_type: d.pattern_type,
            direction: d.direction,
            entry_index,
            entry_time: entry_candle.ts(),
            entry_price,
            stop_loss: stop,
            target,
            risk,
            exit_index: k,
            exit_time: c.ts(),
            exit_price,
            outcome,
            r_multiple,
            profit_pct,
            duration_candles: k - entry_index,
        });
    }
    Simulated::NoExit
}

fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len();
    if n == 0 {
        0.0
    } else {
        values.sum::<f64>() / n as f64
    }
}

fn ratio_pct(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64 * PERCENT
    }
}

/// Mean over sample standard deviation of `xs`; `None` for fewer than 2 values or no variance.
fn sharpe(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs.iter().copied());
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    let sd = var.sqrt();
    (sd > 0.0 && sd.is_finite()).then(|| m / sd)
}

/// The equity curve of `trades`: cumulative profit % ordered by exit row (stable for ties).
pub fn equity_curve(trades: &[BacktestTrade]) -> Vec<EquityPoint> {
    let mut by_exit: Vec<&BacktestTrade> = trades.iter().collect();
    by_exit.sort_by_key(|t| t.exit_index);
    let mut cumulative = 0.0;
    by_exit
        .into_iter()
        .map(|t| {
            cumulative += t.profit_pct;
            EquityPoint {
                ts: t.exit_time,
                cumulative_profit_pct: cumulative,
            }
        })
        .collect()
}

/// Largest fall of the curve from its running peak, the peak starting at 0.
fn max_drawdown(curve: &[EquityPoint]) -> f64 {
    let mut peak = 0.0_f64;
    let mut worst = 0.0_f64;
    for p in curve {
        peak = peak.max(p.cumulative_profit_pct);
        worst = worst.max(peak - p.cumulative_profit_pct);
    }
    worst
}

/// Statistics of counted trades (see the module docs).
pub fn compute_stats(trades: &[BacktestTrade]) -> BacktestStats {
    let count = |o: Outcome| trades.iter().filter(|t| t.outcome == o).count();
    let (wins, losses, inconclusive) = (
        count(Outcome::Win),
        count(Outcome::Loss),
        count(Outcome::Inconclusive),
    );
    let decided: Vec<f64> = trades
        .iter()
        .filter(|t| t.outcome != Outcome::Inconclusive)
        .map(|t| t.r_multiple)
        .collect();
    let profits: Vec<f64> = trades.iter().map(|t| t.profit_pct).collect();
    BacktestStats {
        total: trades.len(),
        wins,
        losses,
        inconclusive,
        win_rate: ratio_pct(wins, trades.len()),
        win_rate_excluding_inconclusive: ratio_pct(wins, wins + losses),
        avg_rr: mean(decided.iter().copied()),
        total_profit_pct: profits.iter().sum(),
        max_drawdown_pct: round_to(max_drawdown(&equity_curve(trades)), DRAWDOWN_DECIMALS),
        avg_duration_candles: round_to(
            mean(trades.iter().map(|t| t.duration_candles as f64)),
            DURATION_DECIMALS,
        ),
        sharpe: sharpe(&profits),
    }
}

/// Checks that every detection belongs to `candles`.
fn check_detections(candles: &[Candle], detections: &[Detection]) -> Result<(), BacktestError> {
    for d in detections {
        let candle = candles
            .get(d.index)
            .ok_or(BacktestError::DetectionOutOfRange {
                index: d.index,
                len: candles.len(),
            })?;
        if candle.ts() != d.detected_at {
            return Err(BacktestError::DetectionMismatch {
                index: d.index,
                detected_at: d.detected_at,
                candle_ts: candle.ts(),
            });
        }
    }
    Ok(())
}

/// A user backtest (expiry multiplier 1) of `detections` on `candles` of one TF.
///
/// # Errors
/// Out-of-range parameters, a TF without a lookback (1m), or detections that do not belong to
/// `candles`.
pub fn run_backtest(
    tf: Timeframe,
    candles: &[Candle],
    detections: &[Detection],
    params: &BacktestParams,
) -> Result<BacktestReport, BacktestError> {
    run_backtest_scaled(tf, candles, detections, params, 1.0)
}

/// A backtest whose window is the TF lookback scaled by `expiry_multiplier` (the optimizer's
/// third axis).
///
/// # Errors
/// As [`run_backtest`], plus a multiplier that is not finite and positive.
pub fn run_backtest_scaled(
    tf: Timeframe,
    candles: &[Candle],
    detections: &[Detection],
    params: &BacktestParams,
    expiry_multiplier: f64,
) -> Result<BacktestReport, BacktestError> {
    params.validate()?;
    let window = window(tf, expiry_multiplier)?;
    check_detections(candles, detections)?;
    let mut trades = Vec::new();
    let mut skipped = Skipped::default();
    for d in detections {
        match simulate(candles, d, params, window) {
            Simulated::Trade(t) => trades.push(t),
            Simulated::NoEntry => skipped.no_entry += 1,
            Simulated::NoExit => skipped.no_exit += 1,
            Simulated::InvalidRisk => skipped.invalid_risk += 1,
        }
    }
    Ok(BacktestReport {
        timeframe: tf,
        params: *params,
        expiry_multiplier,
        window,
        stats: compute_stats(&trades),
        equity_curve: equity_curve(&trades),
        trades,
        skipped,
    })
}

/// One point of the optimizer grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridPoint {
    /// Target in R multiples.
    pub rr: f64,
    /// Stop buffer, % of the zone size.
    pub sl_buffer_pct: f64,
    /// Window multiplier.
    pub expiry_multiplier: f64,
}

/// The optimizer grid (§8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerGrid {
    /// Values of `rr` (1, 2, 3, 4, 5).
    pub rr: Vec<f64>,
    /// Values of the SL buffer % (3, 5, 10, 15, 20, 25, 30).
    pub sl_buffer_pct: Vec<f64>,
    /// Values of the expiry multiplier (0.5, 1, 2).
    pub expiry_multiplier: Vec<f64>,
}

impl Default for OptimizerGrid {
    fn default() -> Self {
        Self {
            rr: vec![1.0, 2.0, 3.0, 4.0, 5.0],
            sl_buffer_pct: vec![3.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0],
            expiry_multiplier: vec![0.5, 1.0, 2.0],
        }
    }
}

impl OptimizerGrid {
    /// Every combination, rr outermost, then SL buffer, then multiplier.
    pub fn points(&self) -> Vec<GridPoint> {
        let mut out = Vec::with_capacity(
            self.rr.len() * self.sl_buffer_pct.len() * self.expiry_multiplier.len(),
        );
        for &rr in &self.rr {
            for &sl_buffer_pct in &self.sl_buffer_pct {
                for &expiry_multiplier in &self.expiry_multiplier {
                    out.push(GridPoint {
                        rr,
                        sl_buffer_pct,
                        expiry_multiplier,
                    });
                }
            }
        }
        out
    }
}

/// One optimizer run: a grid point's statistics for one (symbol, type, TF).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptimizationRun {
    /// Canonical symbol.
    pub symbol: String,
    /// Pattern type.
    pub pattern_type: PatternType,
    /// TF.
    pub timeframe: Timeframe,
    /// The grid point.
    pub point: GridPoint,
    /// Its statistics.
    pub stats: BacktestStats,
}

/// Runs every grid point for one (symbol, type, TF), using only the detections of that type.
///
/// # Errors
/// The first grid point whose parameters are out of range (with `slippage_pct`), or a
/// [`BacktestError`] from the inputs.
pub fn optimize(
    symbol: &str,
    pattern_type: PatternType,
    tf: Timeframe,
    candles: &[Candle],
    detections: &[Detection],
    grid: &OptimizerGrid,
    slippage_pct: f64,
) -> Result<Vec<OptimizationRun>, BacktestError> {
    let of_type: Vec<Detection> = detections
        .iter()
        .filter(|d| d.pattern_type == pattern_type)
        .copied()
        .collect();
    grid.points()
        .into_iter()
        .map(|point| {
            let params = BacktestParams {
                rr: point.rr,
                sl_buffer_pct: point.sl_buffer_pct,
                slippage_pct,
            };
            let report =
                run_backtest_scaled(tf, candles, &of_type, &params, point.expiry_multiplier)?;
            Ok(OptimizationRun {
                symbol: symbol.to_owned(),
                pattern_type,
                timeframe: tf,
                point,
                stats: report.stats,
            })
        })
        .collect()
}

/// What "best" means when choosing a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectionMetric {
    /// Highest total profit %.
    TotalProfit,
    /// Highest win rate (wins / total, inconclusive counted as not won).
    WinRate,
    /// Highest per-trade Sharpe; runs without one are not eligible.
    Sharpe,
}

impl SelectionMetric {
    /// The value of this metric for `stats`, when defined.
    pub fn value(self, stats: &BacktestStats) -> Option<f64> {
        match self {
            Self::TotalProfit => Some(stats.total_profit_pct),
            Self::WinRate => Some(stats.win_rate),
            Self::Sharpe => stats.sharpe,
        }
        .filter(|v| v.is_finite())
    }
}

/// The best run per (symbol, type, TF) by `metric`, among runs with at least
/// [`MIN_TRADES_FOR_SELECTION`] trades; ties keep more trades, then the earlier run. Keys
/// without an eligible run are absent. Ordered by (symbol, type, TF).
pub fn best_runs(runs: &[OptimizationRun], metric: SelectionMetric) -> Vec<&OptimizationRun> {
    let mut best: BTreeMap<(&str, PatternType, Timeframe), (f64, &OptimizationRun)> =
        BTreeMap::new();
    for run in runs {
        if run.stats.total < MIN_TRADES_FOR_SELECTION {
            continue;
        }
        let Some(value) = metric.value(&run.stats) else {
            continue;
        };
        let key = (run.symbol.as_str(), run.pattern_type, run.timeframe);
        let better = best
            .get(&key)
            .is_none_or(|(v, r)| value > *v || (value == *v && run.stats.total > r.stats.total));
        if better {
            best.insert(key, (value, run));
        }
    }
    best.into_values().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::levels::tests::candle;
    use crate::Zone;
    use Direction::{Bearish, Bullish};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// A flat filler candle around `p` (range ±0.5).
    fn flat(i: usize, p: f64) -> Candle {
        candle(i, p, p + 0.5, p - 0.5, p)
    }

    fn det(index: usize, direction: Direction, low: f64, high: f64) -> Detection {
        Detection {
            index,
            detected_at: index as i64 * 60_000,
            pattern_type: PatternType::Imbalance,
            direction,
            zone: Zone::new(low, high).unwrap(),
            swept_level: None,
        }
    }

    /// 0: detection; then `rest` rows; padded with flats at 120.
    fn series(rest: &[(f64, f64, f64, f64)], pad_to: usize) -> Vec<Candle> {
        let mut v = vec![flat(0, 120.0)];
        for (i, &(o, h, l, c)) in rest.iter().enumerate() {
            v.push(candle(i + 1, o, h, l, c));
        }
        while v.len() < pad_to {
            v.push(flat(v.len(), 120.0));
        }
        v
    }

    fn params(rr: f64, sl: f64, slip: f64) -> BacktestParams {
        BacktestParams {
            rr,
            sl_buffer_pct: sl,
            slippage_pct: slip,
        }
    }

    #[test]
    fn a_long_enters_at_zone_high_and_wins_at_the_target() {
        // zone [100, 110], sl 10% → stop 99; entry 110 (opens 115 above the zone), R 11,
        // rr 2 → target 132.
        let candles = series(
            &[
                (115.0, 116.0, 109.0, 112.0), // row 1: entry at 110
                (112.0, 120.0, 105.0, 118.0), // row 2: neither
                (118.0, 133.0, 117.0, 130.0), // row 3: target
            ],
            5,
        );
        let r = run_backtest(
            Timeframe::H1,
            &candles,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 0.0),
        )
        .unwrap();
        let t = r.trades[0];
        assert_eq!(
            (t.entry_index, t.entry_price, t.stop_loss, t.risk, t.target),
            (1, 110.0, 99.0, 11.0, 132.0)
        );
        assert_eq!(
            (t.outcome, t.exit_index, t.exit_price),
            (Outcome::Win, 3, Some(132.0))
        );
        assert_eq!((t.r_multiple, t.duration_candles), (2.0, 2));
        assert!(close(t.profit_pct, 20.0));
        assert_eq!(r.stats.wins, 1);
    }

    #[test]
    fn a_gap_through_fills_at_the_open_and_r_comes_from_the_actual_entry() {
        // Opens at 105, below zone_high 110: entry 105, stop 99, R 6, target 117.
        let candles = series(
            &[(105.0, 106.0, 104.0, 105.0), (105.0, 118.0, 104.0, 117.0)],
            4,
        );
        let r = run_backtest(
            Timeframe::H1,
            &candles,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 0.0),
        )
        .unwrap();
        let t = r.trades[0];
        assert_eq!((t.entry_price, t.risk, t.target), (105.0, 6.0, 117.0));
        assert_eq!(t.outcome, Outcome::Win);
    }

    #[test]
    fn slippage_worsens_the_fill_and_shrinks_r() {
        // Long fill 110 × 1.01 = 111.1, R = 12.1, target = 111.1 + 24.2 = 135.3.
        let candles = series(
            &[(115.0, 116.0, 109.0, 112.0), (112.0, 136.0, 111.0, 135.0)],
            4,
        );
        let r = run_backtest(
            Timeframe::H1,
            &candles,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 1.0),
        )
        .unwrap();
        let t = r.trades[0];
        assert!(close(t.entry_price, 111.1) && close(t.risk, 12.1) && close(t.target, 135.3));
        // Short fill 100 × 0.99 = 99, stop 111, R 12; the next flat at 120 hits the stop.
        let short = series(&[(95.0, 101.0, 94.0, 96.0)], 4);
        let s = run_backtest(
            Timeframe::H1,
            &short,
            &[det(0, Bearish, 100.0, 110.0)],
            &params(2.0, 10.0, 1.0),
        )
        .unwrap();
        let t = s.trades[0];
        assert!(close(t.entry_price, 99.0) && close(t.risk, 12.0) && close(t.target, 75.0));
        assert_eq!(t.outcome, Outcome::Loss);
    }

    #[test]
    fn a_long_loses_at_the_stop() {
        // stop 99 reached on row 2 (low 98.5).
        let candles = series(
            &[(115.0, 116.0, 109.0, 112.0), (108.0, 109.0, 98.5, 99.5)],
            4,
        );
        let r = run_backtest(
            Timeframe::H1,
            &candles,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 0.0),
        )
        .unwrap();
        let t = r.trades[0];
        assert_eq!(
            (t.outcome, t.exit_price, t.r_multiple),
            (Outcome::Loss, Some(99.0), -1.0)
        );
        assert!(close(t.profit_pct, -10.0));
    }

    #[test]
    fn a_short_mirrors_the_long() {
        // zone [100, 110], sl 10% → stop 111; opens at 98, below the zone, and trades up to
        // 101: the limit fills at 100. R 11, rr 1 → target 89.
        let candles = series(&[(98.0, 101.0, 97.0, 99.0), (99.0, 100.0, 88.0, 89.0)], 4);
        let r = run_backtest(
            Timeframe::H1,
            &candles,
            &[det(0, Bearish, 100.0, 110.0)],
            &params(1.0, 10.0, 0.0),
        )
        .unwrap();
        let t = r.trades[0];
        assert_eq!(
            (t.entry_price, t.stop_loss, t.risk, t.target),
            (100.0, 111.0, 11.0, 89.0)
        );
        assert_eq!((t.outcome, t.r_multiple), (Outcome::Win, 1.0));
        assert!(close(t.profit_pct, 11.0));
        // Gap-through for a short: opens at 104, above zone_low 100.
        let gap = series(
            &[(104.0, 105.0, 103.0, 104.0), (104.0, 112.0, 103.0, 111.0)],
            4,
        );
        let g = run_backtest(
            Timeframe::H1,
            &gap,
            &[det(0, Bearish, 100.0, 110.0)],
            &params(1.0, 10.0, 0.0),
        )
        .unwrap();
        let t = g.trades[0];
        assert_eq!(
            (t.entry_price, t.risk, t.outcome),
            (104.0, 7.0, Outcome::Loss)
        );
    }

    #[test]
    fn exits_are_checked_only_from_the_candle_after_entry() {
        // Row 1 touches the entry and also the stop and target: ignored for exits.
        let candles = series(
            &[(115.0, 140.0, 90.0, 112.0), (112.0, 133.0, 111.0, 130.0)],
            4,
        );
        let r = run_backtest(
            Timeframe::H1,
            &candles,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 0.0),
        )
        .unwrap();
        assert_eq!(
            (r.trades[0].outcome, r.trades[0].exit_index),
            (Outcome::Win, 2)
        );
    }

    #[test]
    fn a_candle_hitting_stop_and_target_is_inconclusive() {
        let candles = series(
            &[(115.0, 116.0, 109.0, 112.0), (112.0, 140.0, 90.0, 120.0)],
            4,
        );
        let r = run_backtest(
            Timeframe::H1,
            &candles,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 0.0),
        )
        .unwrap();
        let t = r.trades[0];
        assert_eq!(
            (t.outcome, t.exit_price, t.r_multiple, t.profit_pct),
            (Outcome::Inconclusive, None, 0.0, 0.0)
        );
        assert_eq!(
            (r.stats.total, r.stats.inconclusive, r.stats.win_rate),
            (1, 1, 0.0)
        );
    }

    #[test]
    fn a_trade_without_exit_in_the_window_is_dropped() {
        // 1d window 30: entry on row 1, flats at 120 until the end; no exit.
        let candles = series(&[(115.0, 116.0, 109.0, 112.0)], 40);
        let r = run_backtest(
            Timeframe::D1,
            &candles,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 0.0),
        )
        .unwrap();
        assert!(r.trades.is_empty());
        assert_eq!(
            r.skipped,
            Skipped {
                no_entry: 0,
                no_exit: 1,
                invalid_risk: 0
            }
        );
        assert_eq!(r.stats, BacktestStats::default());
    }

    #[test]
    fn the_exit_window_ends_lookback_candles_after_the_entry() {
        // 1d: window 30. Entry on row 1; a target hit on row 31 counts, on row 32 it does not.
        let mut inside = series(&[(115.0, 116.0, 109.0, 112.0)], 40);
        inside[31] = candle(31, 120.0, 133.0, 119.0, 130.0);
        let r = run_backtest(
            Timeframe::D1,
            &inside,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 0.0),
        )
        .unwrap();
        assert_eq!((r.trades.len(), r.trades[0].duration_candles), (1, 30));
        let mut outside = series(&[(115.0, 116.0, 109.0, 112.0)], 40);
        outside[32] = candle(32, 120.0, 133.0, 119.0, 130.0);
        let r = run_backtest(
            Timeframe::D1,
            &outside,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 0.0),
        )
        .unwrap();
        assert_eq!(r.skipped.no_exit, 1);
    }

    #[test]
    fn the_entry_scan_stops_after_the_lookback_window() {
        // 1d window 30: price first reaches the zone on row 31 → no entry; on row 30 → entry.
        let mut late = series(&[], 40);
        late[31] = candle(31, 115.0, 116.0, 109.0, 112.0);
        let r = run_backtest(
            Timeframe::D1,
            &late,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 0.0),
        )
        .unwrap();
        assert_eq!(r.skipped.no_entry, 1);
        let mut edge = series(&[], 40);
        edge[30] = candle(30, 115.0, 116.0, 109.0, 112.0);
        edge[31] = candle(31, 112.0, 113.0, 98.0, 99.0);
        let r = run_backtest(
            Timeframe::D1,
            &edge,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 0.0),
        )
        .unwrap();
        assert_eq!(
            (r.trades[0].entry_index, r.trades[0].outcome),
            (30, Outcome::Loss)
        );
    }

    #[test]
    fn the_expiry_multiplier_scales_the_window() {
        assert_eq!(window(Timeframe::D1, 1.0), Ok(30));
        assert_eq!(window(Timeframe::D1, 0.5), Ok(15));
        assert_eq!(window(Timeframe::M5, 2.0), Ok(400));
        assert_eq!(
            window(Timeframe::M1, 1.0),
            Err(BacktestError::Timeframe(Timeframe::M1))
        );
        assert_eq!(
            window(Timeframe::H1, 0.0),
            Err(BacktestError::ExpiryMultiplier(0.0))
        );
    }

    #[test]
    fn a_gap_beyond_the_stop_is_skipped_as_invalid_risk() {
        // Opens at 95, below the stop 99 → R < 0.
        let candles = series(&[(95.0, 96.0, 94.0, 95.0)], 4);
        let r = run_backtest(
            Timeframe::H1,
            &candles,
            &[det(0, Bullish, 100.0, 110.0)],
            &params(2.0, 10.0, 0.0),
        )
        .unwrap();
        assert_eq!(r.skipped.invalid_risk, 1);
    }

    #[test]
    fn stats_follow_their_definitions() {
        // Three trades on one series, each on its own rows:
        //   A win +20% (rows 1→3), a loss −10% (rows 5→6), an inconclusive (rows 8→9).
        let candles = vec![
            flat(0, 120.0),
            candle(1, 115.0, 116.0, 109.0, 112.0),
            flat(2, 120.0),
            candle(3, 118.0, 133.0, 117.0, 130.0),
            flat(4, 120.0),
            candle(5, 115.0, 116.0, 109.0, 112.0),
            candle(6, 108.0, 109.0, 98.5, 99.5),
            flat(7, 120.0),
            candle(8, 115.0, 116.0, 109.0, 112.0),
            candle(9, 112.0, 140.0, 90.0, 120.0),
            flat(10, 120.0),
        ];
        let dets = [
            det(0, Bullish, 100.0, 110.0),
            det(4, Bullish, 100.0, 110.0),
            det(7, Bullish, 100.0, 110.0),
        ];
        let r = run_backtest(Timeframe::H1, &candles, &dets, &params(2.0, 10.0, 0.0)).unwrap();
        let s = r.stats;
        assert_eq!((s.total, s.wins, s.losses, s.inconclusive), (3, 1, 1, 1));
        assert!(close(s.win_rate, 100.0 / 3.0));
        assert_eq!(s.win_rate_excluding_inconclusive, 50.0);
        assert_eq!(s.avg_rr, 0.5); // (2 − 1) / 2
        assert!(close(s.total_profit_pct, 10.0));
        assert_eq!(s.max_drawdown_pct, 10.0); // 20 → 10
        assert_eq!(s.avg_duration_candles, 1.3); // (2 + 1 + 1) / 3 = 1.33
        let curve: Vec<_> = r
            .equity_curve
            .iter()
            .map(|p| p.cumulative_profit_pct)
            .collect();
        assert!(close(curve[0], 20.0) && close(curve[1], 10.0) && close(curve[2], 10.0));
        // profits 20, −10, 0: mean 3.33, sample sd 15.275 → 0.218.
        assert!(close(
            s.sharpe.unwrap(),
            (10.0 / 3.0) / (700.0f64 / 3.0).sqrt()
        ));
    }

    #[test]
    fn drawdown_counts_from_zero_and_orders_by_exit() {
        let t = |exit_index, profit_pct| BacktestTrade {
            detection_index: 0,
            detected_at: 0,
            pattern_type: PatternType::Imbalance,
            direction: Bullish,
            entry_index: 0,
            entry_time: 0,
            entry_price: 1.0,
            stop_loss: 0.5,
            target: 2.0,
            risk: 0.5,
            exit_index,
            exit_time: exit_index as i64,
            exit_price: Some(1.0),
            outcome: if profit_pct > 0.0 {
                Outcome::Win
            } else {
                Outcome::Loss
            },
            r_multiple: 0.0,
            profit_pct,
            duration_candles: exit_index,
        };
        // By exit: −5 (→ −5), +3 (→ −2), −4.333 (→ −6.333), +10 (→ 3.667), −1 (→ 2.667).
        // Peak 0 → trough −6.333: 6.33.
        let trades = [
            t(5, 10.0),
            t(1, -5.0),
            t(2, 3.0),
            t(9, -1.0),
            t(3, -13.0 / 3.0),
        ];
        let s = compute_stats(&trades);
        assert_eq!(s.max_drawdown_pct, 6.33);
        assert_eq!(s.avg_duration_candles, 4.0);
    }

    #[test]
    fn params_default_and_validate_their_ranges() {
        let d: BacktestParams = serde_json::from_str("{}").unwrap();
        assert_eq!(d, params(2.0, 10.0, 0.0));
        assert!(serde_json::from_str::<BacktestParams>(r#"{"tp": 1}"#).is_err());
        assert_eq!(params(0.5, 0.0, 0.0).validate(), Ok(()));
        assert_eq!(params(10.0, 100.0, 5.0).validate(), Ok(()));
        assert_eq!(
            params(0.49, 10.0, 0.0).validate(),
            Err(BacktestParamsError::Rr(0.49))
        );
        assert_eq!(
            params(10.5, 10.0, 0.0).validate(),
            Err(BacktestParamsError::Rr(10.5))
        );
        assert!(matches!(
            params(f64::NAN, 10.0, 0.0).validate(),
            Err(BacktestParamsError::Rr(_))
        ));
        assert_eq!(
            params(2.0, -1.0, 0.0).validate(),
            Err(BacktestParamsError::SlBuffer(-1.0))
        );
        assert_eq!(
            params(2.0, 101.0, 0.0).validate(),
            Err(BacktestParamsError::SlBuffer(101.0))
        );
        assert_eq!(
            params(2.0, 10.0, 5.1).validate(),
            Err(BacktestParamsError::Slippage(5.1))
        );
        let err = run_backtest(Timeframe::H1, &[], &[], &params(0.1, 10.0, 0.0)).unwrap_err();
        assert_eq!(err, BacktestError::Params(BacktestParamsError::Rr(0.1)));
    }

    #[test]
    fn detections_must_belong_to_the_candles() {
        let candles = series(&[], 3);
        let far = det(5, Bullish, 100.0, 110.0);
        assert_eq!(
            run_backtest(Timeframe::H1, &candles, &[far], &BacktestParams::default()).unwrap_err(),
            BacktestError::DetectionOutOfRange { index: 5, len: 3 }
        );
        let mut wrong = det(1, Bullish, 100.0, 110.0);
        wrong.detected_at = 7;
        assert!(matches!(
            run_backtest(
                Timeframe::H1,
                &candles,
                &[wrong],
                &BacktestParams::default()
            ),
            Err(BacktestError::DetectionMismatch { index: 1, .. })
        ));
    }

    #[test]
    fn the_default_grid_has_a_hundred_and_five_points() {
        let g = OptimizerGrid::default();
        let pts = g.points();
        assert_eq!(pts.len(), 5 * 7 * 3);
        assert_eq!(
            pts[0],
            GridPoint {
                rr: 1.0,
                sl_buffer_pct: 3.0,
                expiry_multiplier: 0.5
            }
        );
        assert_eq!(
            pts[104],
            GridPoint {
                rr: 5.0,
                sl_buffer_pct: 30.0,
                expiry_multiplier: 2.0
            }
        );
    }

    #[test]
    fn optimize_runs_every_point_on_the_detections_of_one_type() {
        let candles = series(
            &[(115.0, 116.0, 109.0, 112.0), (112.0, 200.0, 111.0, 190.0)],
            4,
        );
        let mut other = det(0, Bullish, 100.0, 110.0);
        other.pattern_type = PatternType::OrderBlock;
        let dets = [det(0, Bullish, 100.0, 110.0), other];
        let runs = optimize(
            "BTC/USDT",
            PatternType::Imbalance,
            Timeframe::H1,
            &candles,
            &dets,
            &OptimizerGrid::default(),
            0.0,
        )
        .unwrap();
        assert_eq!(runs.len(), 105);
        assert!(runs.iter().all(|r| r.stats.total == 1 && r.stats.wins == 1));
    }

    fn run(
        symbol: &str,
        total: usize,
        profit: f64,
        win_rate: f64,
        sharpe: Option<f64>,
    ) -> OptimizationRun {
        OptimizationRun {
            symbol: symbol.into(),
            pattern_type: PatternType::Imbalance,
            timeframe: Timeframe::H1,
            point: GridPoint {
                rr: total as f64,
                sl_buffer_pct: 10.0,
                expiry_multiplier: 1.0,
            },
            stats: BacktestStats {
                total,
                total_profit_pct: profit,
                win_rate,
                sharpe,
                ..BacktestStats::default()
            },
        }
    }

    #[test]
    fn the_best_run_needs_at_least_ten_trades() {
        let runs = [
            run("BTC/USDT", 9, 500.0, 90.0, Some(3.0)),
            run("BTC/USDT", 10, 50.0, 40.0, Some(0.5)),
            run("BTC/USDT", 12, 40.0, 60.0, Some(0.9)),
            run("ETH/USDT", 11, 10.0, 50.0, None),
        ];
        let by_profit = best_runs(&runs, SelectionMetric::TotalProfit);
        let picked: Vec<_> = by_profit
            .iter()
            .map(|r| (r.symbol.as_str(), r.stats.total))
            .collect();
        assert_eq!(picked, [("BTC/USDT", 10), ("ETH/USDT", 11)]);
        let by_win = best_runs(&runs, SelectionMetric::WinRate);
        assert_eq!(by_win[0].stats.total, 12);
        // ETH has no Sharpe: not eligible.
        let by_sharpe = best_runs(&runs, SelectionMetric::Sharpe);
        assert_eq!(by_sharpe.len(), 1);
        assert_eq!(by_sharpe[0].stats.total, 12);
    }

    #[test]
    fn a_tie_on_the_metric_keeps_the_run_with_more_trades() {
        let runs = [
            run("BTC/USDT", 10, 50.0, 40.0, None),
            run("BTC/USDT", 15, 50.0, 40.0, None),
        ];
        assert_eq!(
            best_runs(&runs, SelectionMetric::TotalProfit)[0]
                .stats
                .total,
            15
        );
    }

    #[test]
    fn reports_serialize_to_json() {
        let candles = series(
            &[(115.0, 116.0, 109.0, 112.0), (112.0, 200.0, 111.0, 190.0)],
            4,
        );
        let r = run_backtest(
            Timeframe::H1,
            &candles,
            &[det(0, Bullish, 100.0, 110.0)],
            &BacktestParams::default(),
        )
        .unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["trades"][0]["outcome"], "win");
        assert_eq!(json["timeframe"], "1h");
        assert_eq!(json["stats"]["wins"], 1);
    }

    proptest::proptest! {
        #[test]
        fn stats_are_consistent_on_random_walks(
            steps in proptest::collection::vec(-3.0f64..3.0, 20..120),
            rr in 0.5f64..10.0,
            sl in 0.0f64..100.0,
            slip in 0.0f64..5.0,
        ) {
            // A random walk of candles around 100 and a detection every 5 rows alternating
            // direction with a zone just below/above the close.
            let mut price = 100.0;
            let mut candles = Vec::new();
            for (i, step) in steps.iter().enumerate() {
                let open = price;
                price = (price + step).max(1.0);
                let (hi, lo) = (open.max(price) + 0.7, (open.min(price) - 0.7).max(0.5));
                candles.push(candle(i, open, hi, lo, price));
            }
            let dets: Vec<_> = (0..candles.len())
                .step_by(5)
                .map(|i| {
                    let c = candles[i].close();
                    if i % 10 == 0 {
                        det(i, Bullish, c * 0.97, c * 0.99)
                    } else {
                        det(i, Bearish, c * 1.01, c * 1.03)
                    }
                })
                .collect();
            let r = run_backtest(Timeframe::H4, &candles, &dets, &params(rr, sl, slip)).unwrap();
            let s = r.stats;
            proptest::prop_assert_eq!(s.total, s.wins + s.losses + s.inconclusive);
            proptest::prop_assert_eq!(
                s.total + r.skipped.no_entry + r.skipped.no_exit + r.skipped.invalid_risk,
                dets.len()
            );
            proptest::prop_assert!((0.0..=100.0).contains(&s.win_rate));
            proptest::prop_assert!(s.win_rate <= s.win_rate_excluding_inconclusive || s.wins == 0);
            proptest::prop_assert!(s.max_drawdown_pct >= 0.0);
            for t in &r.trades {
                proptest::prop_assert!(t.exit_index > t.entry_index && t.entry_index > t.detection_index);
                match t.outcome {
                    Outcome::Win => proptest::prop_assert!((t.r_multiple - rr).abs() < 1e-9),
                    Outcome::Loss => proptest::prop_assert!((t.r_multiple + 1.0).abs() < 1e-9),
                    Outcome::Inconclusive => proptest::prop_assert_eq!(t.profit_pct, 0.0),
                }
            }
        }
    }
}
