//! Every detection threshold in one value, with the spec's defaults (detection.md §2–§3).
//! Per-TF constants (expiry, live dedup threshold, backtest lookback) live on
//! [`crate::Timeframe`].

use serde::{Deserialize, Serialize};

/// Thresholds for the three detectors and the historical dedup.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionParams {
    /// Size test: minimum `(high - low) / low * 100` (`MIN_ZONE_PCT`, 0.15).
    pub min_zone_pct: f64,
    /// Historical dedup mode: reject a candidate whose overlap with an accepted zone of the
    /// same detector and direction is at least this (0.70).
    pub dedup_overlap: f64,
    /// Order block: candles in the rolling mean of `|body|` (20).
    pub ob_avg_window: usize,
    /// Order block: an impulse needs `|body| > ob_impulse_factor * avg` (1.5, strict).
    pub ob_impulse_factor: f64,
    /// Order block: how many candles before the impulse to search for the block (3).
    pub ob_lookback: usize,
    /// Order block: first loop row (3).
    pub ob_first_row: usize,
    /// Order block: minimum number of candles (5).
    pub ob_min_candles: usize,
    /// Imbalance: minimum number of candles (3).
    pub imbalance_min_candles: usize,
    /// Sweep: swing half-width, `k` is a swing when it is the extreme of `k-w..=k+w` (3).
    pub swing_half_width: usize,
    /// Sweep: first loop row (10).
    pub sweep_first_row: usize,
    /// Sweep: oldest swing considered is `i - sweep_max_age` (50).
    pub sweep_max_age: usize,
    /// Sweep: newest swing considered is `i - sweep_min_age` (4).
    pub sweep_min_age: usize,
    /// Sweep: minimum number of candles (20).
    pub sweep_min_candles: usize,
}

impl Default for DetectionParams {
    fn default() -> Self {
        Self {
            min_zone_pct: 0.15,
            dedup_overlap: 0.70,
            ob_avg_window: 20,
            ob_impulse_factor: 1.5,
            ob_lookback: 3,
            ob_first_row: 3,
            ob_min_candles: 5,
            imbalance_min_candles: 3,
            swing_half_width: 3,
            sweep_first_row: 10,
            sweep_max_age: 50,
            sweep_min_age: 4,
            sweep_min_candles: 20,
        }
    }
}
