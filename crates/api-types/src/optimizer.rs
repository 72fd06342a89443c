//! Optimizer DTOs (`/admin/optimizer/*`) and the trading preferences
//! (`/me/preferences/trading`, `/me/preferences/tuned`).

use serde::{Deserialize, Serialize};

/// `POST /admin/optimizer/jobs`: what to search (the grid is detection.md's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OptimizerJobRequest {
    /// Canonical symbols (1–20).
    pub symbols: Vec<String>,
    /// Timeframes `5m` … `1d`.
    pub tfs: Vec<String>,
    /// Pattern types.
    pub pattern_types: Vec<String>,
    /// Start, UTC ms (inclusive).
    pub from: i64,
    /// End, UTC ms (exclusive, ≤ now, ≤ 2 years after `from`).
    pub to: i64,
    /// Slippage % of every run (0–5, default 0).
    #[serde(default)]
    pub slippage_pct: Option<f64>,
}

/// One optimizer job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = OptimizerJob))]
pub struct OptimizerJobDto {
    /// Id.
    pub id: i64,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub status: String,
    /// 0–100.
    pub progress: f64,
    /// Symbols.
    pub symbols: Vec<String>,
    /// Timeframes.
    pub tfs: Vec<String>,
    /// Pattern types.
    pub pattern_types: Vec<String>,
    /// Start (UTC ms).
    pub from: i64,
    /// End (UTC ms).
    pub to: i64,
    /// Slippage %.
    pub slippage_pct: f64,
    /// The grid's rr values.
    pub rr: Vec<f64>,
    /// The grid's SL buffer % values.
    pub sl_buffer_pct: Vec<f64>,
    /// The grid's expiry multipliers.
    pub expiry_multiplier: Vec<f64>,
    /// Runs when finished.
    pub total_runs: u32,
    /// Why it failed.
    pub error: Option<String>,
    /// UTC ms.
    pub created_at: i64,
    /// UTC ms.
    pub started_at: Option<i64>,
    /// UTC ms.
    pub finished_at: Option<i64>,
}

/// One run: a grid point's statistics for one (symbol, type, TF).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = OptimizerRun))]
pub struct OptimizerRunDto {
    /// Id.
    pub id: i64,
    /// Symbol.
    pub symbol: String,
    /// Timeframe.
    pub tf: String,
    /// Pattern type.
    pub pattern_type: String,
    /// Target R.
    pub rr: f64,
    /// SL buffer %.
    pub sl_buffer_pct: f64,
    /// Window multiplier.
    pub expiry_multiplier: f64,
    /// Trades.
    pub trade_count: u32,
    /// Total profit %.
    pub total_profit_pct: Option<f64>,
    /// Win rate %.
    pub win_rate: Option<f64>,
    /// Per-trade Sharpe.
    pub sharpe: Option<f64>,
}

/// `GET /admin/optimizer/jobs/{id}`: progress, the top runs and the best params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = OptimizerJobDetail))]
pub struct OptimizerJobDetailDto {
    /// The job.
    pub job: OptimizerJobDto,
    /// The ranking metric (`total_profit`, `win_rate`, `sharpe`).
    pub metric: String,
    /// Runs best-first by the metric (at most 100).
    pub results: Vec<OptimizerRunDto>,
    /// The best run per (symbol, type, TF) with ≥ 10 trades.
    pub best: Vec<OptimizerRunDto>,
}

/// One (symbol, type, TF) of a comparison of two jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = OptimizerComparison))]
pub struct OptimizerComparisonDto {
    /// Symbol.
    pub symbol: String,
    /// Timeframe.
    pub tf: String,
    /// Pattern type.
    pub pattern_type: String,
    /// The first job's best run.
    pub a: Option<OptimizerRunDto>,
    /// The second job's best run.
    pub b: Option<OptimizerRunDto>,
}

/// `POST /admin/optimizer/jobs/{id}/apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OptimizerApplyRequest {
    /// The user whose preferences receive the params.
    pub user_id: i64,
    /// `total_profit`, `win_rate` or `sharpe`.
    pub metric: String,
}

/// The result of apply or clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = OptimizerApplied))]
pub struct OptimizerAppliedDto {
    /// The user.
    pub user_id: i64,
    /// Symbols written (apply) or cleared (clear).
    pub symbols: u64,
}

/// One applied (type, TF) entry of tuned params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TunedEntry))]
pub struct TunedEntryDto {
    /// Pattern type.
    pub pattern_type: String,
    /// Timeframe.
    pub tf: String,
    /// Target R.
    pub rr: f64,
    /// SL buffer %.
    pub sl_buffer_pct: f64,
    /// Window multiplier.
    pub expiry_multiplier: f64,
    /// The source run.
    pub run_id: i64,
    /// That run's trades.
    pub trade_count: u32,
}

/// Optimizer-tuned params of one of the user's symbols (read-only for the user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TunedParams))]
pub struct TunedParamsDto {
    /// Symbol.
    pub symbol: String,
    /// The optimizer job.
    pub job_id: i64,
    /// The metric the runs were chosen by.
    pub metric: String,
    /// The recorded source run (`null` once deleted).
    pub run_id: Option<i64>,
    /// When applied (UTC ms).
    pub updated_at: i64,
    /// One entry per (type, TF).
    pub entries: Vec<TunedEntryDto>,
}

/// `GET /me/preferences/trading`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TradingPrefs))]
pub struct TradingPrefsDto {
    /// Risk per trade % (`null` = the default).
    pub risk_per_trade_pct: Option<f64>,
    /// Default R:R (`null` = the default).
    pub default_rr: Option<f64>,
    /// The default risk per trade %.
    pub default_risk_per_trade_pct: f64,
    /// The default R:R.
    pub default_default_rr: f64,
    /// Whether the caller may change them (pro and premium).
    pub editable: bool,
    /// Tuned params applied by an admin from the optimizer.
    pub tuned: Vec<TunedParamsDto>,
}

/// `PUT /me/preferences/trading`: both values; `null` or absent = back to the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TradingPrefsRequest {
    /// 0.1–10, at most 2 decimals.
    #[serde(default)]
    pub risk_per_trade_pct: Option<f64>,
    /// 0.5–10, at most 2 decimals.
    #[serde(default)]
    pub default_rr: Option<f64>,
}
