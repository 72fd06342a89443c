//! Market-data DTOs of the read endpoints (product.md §3): symbols, candles, charts, patterns,
//! signals and the matrix. Enumerations reuse the domain's serde forms (`"1h"`,
//! `"order_block"`, `"bullish"`, …), so the wire strings have one definition.

use cl_domain::matrix::Bias;
use cl_domain::signal::SignalStatus;
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};
use serde::{Deserialize, Serialize};

/// `GET /api/v1/symbols`: one tracked market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Symbol))]
pub struct SymbolDto {
    /// Canonical `BASE/QUOTE`, e.g. `BTC/USDT`.
    pub symbol: String,
    /// The exchange its candles come from.
    pub exchange: String,
    /// Fetched, detected and shown in the matrix.
    pub active: bool,
}

/// One OHLCV candle; `ts` is its OPEN time, UTC ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Candle))]
pub struct CandleDto {
    /// Open time, UTC ms.
    pub ts: i64,
    /// Open price.
    pub open: f64,
    /// High price.
    pub high: f64,
    /// Low price.
    pub low: f64,
    /// Close price.
    pub close: f64,
    /// Base volume.
    pub volume: f64,
}

/// `GET /api/v1/candles/{symbol}/{tf}`: a page of candles, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Candles))]
pub struct CandlesDto {
    /// Canonical symbol.
    pub symbol: String,
    /// Timeframe.
    pub tf: Timeframe,
    /// Candles, oldest first.
    pub candles: Vec<CandleDto>,
    /// True when older candles exist: ask again with `before` = the first candle's `ts`.
    pub has_more: bool,
}

/// `GET /api/v1/chart/{symbol}/{tf}`: candles plus the TF's active patterns in view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Chart))]
pub struct ChartDto {
    /// Canonical symbol.
    pub symbol: String,
    /// Timeframe.
    pub tf: Timeframe,
    /// Candles, oldest first.
    pub candles: Vec<CandleDto>,
    /// True when older candles exist.
    pub has_more: bool,
    /// Active patterns of this TF detected up to the last candle, newest first.
    pub patterns: Vec<PatternDto>,
}

/// A price zone, `low <= high`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Zone))]
pub struct ZoneDto {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// Entry, stop, targets and reward ratios of a pattern (detection.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Levels))]
pub struct LevelsDto {
    /// Limit entry.
    pub entry: f64,
    /// Stop loss.
    pub stop_loss: f64,
    /// Take-profit 1.
    pub tp1: f64,
    /// Take-profit 2.
    pub tp2: f64,
    /// Take-profit 3.
    pub tp3: f64,
    /// R = |entry − stop|.
    pub risk: f64,
    /// Reward ratio of TP1.
    pub rr1: f64,
    /// Reward ratio of TP2.
    pub rr2: f64,
    /// Reward ratio of TP3.
    pub rr3: f64,
}

/// `GET /api/v1/patterns[/{id}]`: one detected pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Pattern))]
pub struct PatternDto {
    /// Id.
    pub id: i64,
    /// Canonical symbol.
    pub symbol: String,
    /// Timeframe.
    pub tf: Timeframe,
    /// Detector.
    #[serde(rename = "type")]
    pub pattern_type: PatternType,
    /// `bullish` or `bearish`.
    pub direction: Direction,
    /// Lifecycle status.
    pub status: PatternStatus,
    /// The zone.
    pub zone: ZoneDto,
    /// For sweeps, the swing price that was swept.
    pub swept_level: Option<f64>,
    /// UTC ms of the detecting candle.
    pub detected_at: i64,
    /// When it expires while still active, UTC ms.
    pub expires_at: i64,
    /// When it was filled, UTC ms.
    pub filled_at: Option<i64>,
    /// Fill percentage, 0–100.
    pub fill_pct: f64,
    /// Trading levels.
    pub levels: LevelsDto,
    /// When it was stored, UTC ms.
    pub created_at: i64,
}

/// The side of a signal: `long` (bullish) or `short` (bearish).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Profits when price rises.
    Long,
    /// Profits when price falls.
    Short,
}

impl From<Direction> for Side {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Bullish => Self::Long,
            Direction::Bearish => Self::Short,
        }
    }
}

/// `GET /api/v1/signals[/{id}]`: one confluence signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Signal))]
pub struct SignalDto {
    /// Id.
    pub id: i64,
    /// Canonical symbol.
    pub symbol: String,
    /// `long` or `short`.
    pub direction: Side,
    /// Lifecycle status.
    pub status: SignalStatus,
    /// Limit entry.
    pub entry: f64,
    /// Stop loss.
    pub stop_loss: f64,
    /// Take-profit 1.
    pub tp1: f64,
    /// Take-profit 2.
    pub tp2: f64,
    /// Take-profit 3.
    pub tp3: f64,
    /// Reward ratio.
    pub risk_reward: f64,
    /// Number of agreeing TFs, 0–7.
    #[cfg_attr(feature = "openapi", schema(maximum = 7))]
    pub confluence_score: u8,
    /// The agreeing TFs, shortest first.
    pub timeframes_aligned: Vec<Timeframe>,
    /// The source pattern.
    pub pattern_id: Option<i64>,
    /// UTC ms of creation.
    pub created_at: i64,
    /// UTC ms of the first successful notification.
    pub notified_at: Option<i64>,
}

/// `GET /api/v1/matrix`: active symbols × the seven TFs from 5m to 1d (detection.md §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Matrix))]
pub struct MatrixDto {
    /// The column order of every row's cells: 5m, 15m, 30m, 1h, 2h, 4h, 1d.
    pub timeframes: Vec<Timeframe>,
    /// One row per active symbol, by symbol name.
    pub rows: Vec<MatrixRowDto>,
}

/// One matrix row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = MatrixRow))]
pub struct MatrixRowDto {
    /// Canonical symbol.
    pub symbol: String,
    /// One cell per entry of [`MatrixDto::timeframes`], in that order.
    pub cells: Vec<MatrixCellDto>,
}

/// One matrix cell: the latest active pattern of a symbol and TF, or neutral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = MatrixCell))]
pub struct MatrixCellDto {
    /// Timeframe.
    pub tf: Timeframe,
    /// The latest active pattern's direction, else `neutral`.
    pub direction: Bias,
    /// The latest active pattern's type; `null` when neutral.
    #[serde(rename = "type")]
    pub pattern_type: Option<PatternType>,
    /// How many active patterns the cell holds.
    pub count: u32,
    /// The latest active pattern's zone; `null` when neutral.
    pub zone: Option<ZoneDto>,
    /// The latest active pattern's id; `null` when neutral.
    pub pattern_id: Option<i64>,
    /// The latest active pattern's detection time, UTC ms; `null` when neutral.
    pub detected_at: Option<i64>,
}
