//! Trading levels of a new pattern (detection.md §5) and, in [`trade`], the portfolio trade
//! formulas of product.md §7.
//!
//! # How the levels are built
//! For one `(symbol, TF, run)` the pipeline computes [`LevelInputs`] once from the candles it
//! loaded ([`LevelInputs::from_candles`]): the ATR of the last 14 candles and the swing high /
//! swing low of the 50 rows before the newest one. [`trading_levels`] then applies the per-type
//! table of §5 to each new pattern.
//!
//! The table is written for bullish patterns; bearish ones mirror it. The code uses a sign
//! `s = +1` (bullish) or `-1` (bearish) so both directions share one formula:
//! - entry: `zone_high` (bullish) / `zone_low` (bearish) for imbalance and sweep, `mid` for
//!   order blocks;
//! - stop: `zone_low - buf` (bullish) / `zone_high + buf` (bearish);
//! - `R = s·(entry − stop)`;
//! - the swing target `sw` is the swing high (bullish) or swing low (bearish) and counts only
//!   when it lies beyond the entry in the trade's direction (`s·(sw − entry) > 0`);
//! - `TP = entry + s·k·R` for an R multiple `k`; the imbalance TP1 cap `min(entry+R, sh)` becomes
//!   `max(entry−R, sl)` for bearish (the one closer to the entry); and the TP3 swing extension
//!   `sh + f·(sh − entry)` becomes `sl − f·(entry − sl)`, i.e. `sw + f·(sw − entry)` in both
//!   directions.
//!
//! Resolved details:
//! - ATR: the "candle before" a candle is the previous loaded candle, so when more than 14
//!   candles are loaded, the oldest of the last 14 uses its real predecessor; only the very first
//!   loaded candle falls back to `high − low`.
//! - Swing window: rows `[len−51, len−2]`, clamped at row 0 when fewer than 51 candles are
//!   loaded (the predecessor's `[-51:-1]` slice); an empty window gives no swing.
//! - `RR_k` is rounded half away from zero to 2 decimals.

use serde::Serialize;

use crate::{Candle, Direction, PatternType, Zone};

/// Candles in the ATR (§5): the mean true range of the last `ATR_PERIOD` candles.
pub const ATR_PERIOD: usize = 14;

/// The swing window starts this many rows before the end: row `len − 51` (§5).
pub const SWING_WINDOW_FROM_END: usize = 51;

/// The swing window ends this many rows before the end: row `len − 2`, so the newest candle is
/// excluded (§5).
pub const SWING_WINDOW_TO_END: usize = 2;

/// A strict fractal needs this many neighbours on each side (§5: "2-left / 2-right").
pub const FRACTAL_SIDE: usize = 2;

/// Decimals of the rounded reward/risk ratios `RR_k` (§5).
pub const RR_DECIMALS: i32 = 2;

/// True range of `candle`: `max(high − low, |high − prev_close|, |low − prev_close|)`, or
/// `high − low` when there is no previous candle (§5).
pub fn true_range(candle: &Candle, prev: Option<&Candle>) -> f64 {
    let range = candle.high() - candle.low();
    match prev {
        None => range,
        Some(p) => range
            .max((candle.high() - p.close()).abs())
            .max((candle.low() - p.close()).abs()),
    }
}

/// Mean true range of the last [`ATR_PERIOD`] candles, or 0 when fewer are given (§5, §6).
///
/// Each candle's true range uses the candle before it in `candles` (see the module docs).
pub fn atr(candles: &[Candle]) -> f64 {
    let n = candles.len();
    if n < ATR_PERIOD {
        return 0.0;
    }
    let start = n - ATR_PERIOD;
    let sum: f64 = (start..n)
        .map(|i| true_range(&candles[i], i.checked_sub(1).map(|p| &candles[p])))
        .sum();
    sum / ATR_PERIOD as f64
}

/// The swing window rows `[max(0, len−51), len−2]` as a half-open range.
fn swing_window(len: usize) -> std::ops::Range<usize> {
    let end = len.saturating_sub(SWING_WINDOW_TO_END - 1);
    let start = len.saturating_sub(SWING_WINDOW_FROM_END);
    start..end.max(start)
}

/// Shared fractal search: `better(a, b)` is true when `a` is strictly more extreme than `b`.
fn swing(
    candles: &[Candle],
    price: fn(&Candle) -> f64,
    better: fn(f64, f64) -> bool,
) -> Option<f64> {
    let window = swing_window(candles.len());
    let rows = candles.get(window)?;
    let mut fractal: Option<f64> = None;
    let mut extreme: Option<f64> = None;
    for (k, candle) in rows.iter().enumerate() {
        let v = price(candle);
        if extreme.is_none_or(|e| better(v, e)) {
            extreme = Some(v);
        }
        if k < FRACTAL_SIDE || k + FRACTAL_SIDE >= rows.len() {
            continue;
        }
        let neighbours = rows[k - FRACTAL_SIDE..k]
            .iter()
            .chain(&rows[k + 1..=k + FRACTAL_SIDE]);
        let is_fractal = neighbours.map(price).all(|n| better(v, n));
        if is_fractal && fractal.is_none_or(|f| better(v, f)) {
            fractal = Some(v);
        }
    }
    fractal.or(extreme)
}

/// The highest strict 2-left/2-right fractal high in rows `[len−51, len−2]` (all four
/// neighbours inside those rows), or else the max high there; `None` when the window is empty.
pub fn swing_high(candles: &[Candle]) -> Option<f64> {
    swing(candles, Candle::high, |a, b| a > b)
}

/// The lowest strict fractal low in rows `[len−51, len−2]`, or else the min low there; mirrors
/// [`swing_high`].
pub fn swing_low(candles: &[Candle]) -> Option<f64> {
    swing(candles, Candle::low, |a, b| a < b)
}

/// The per-run inputs of §5, computed once per `(symbol, TF, run)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LevelInputs {
    /// Mean true range of the last 14 loaded candles (0 when fewer).
    pub atr: f64,
    /// Swing high target, if any.
    pub swing_high: Option<f64>,
    /// Swing low target, if any; a value `<= 0` counts as none.
    pub swing_low: Option<f64>,
}

impl LevelInputs {
    /// Computes ATR, swing high and swing low from the loaded candles, oldest first.
    pub fn from_candles(candles: &[Candle]) -> Self {
        Self {
            atr: atr(candles),
            swing_high: swing_high(candles),
            swing_low: swing_low(candles),
        }
    }
}

/// Where a type enters inside its zone.
#[derive(Debug, Clone, Copy, PartialEq)]
enum EntryPoint {
    /// `zone_high` for bullish, `zone_low` for bearish.
    NearEdge,
    /// The zone's midpoint.
    Mid,
}

/// How TP3 extends past the swing target.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tp3Extension {
    /// `sw + f·(sw − entry)`.
    SwingDistance(f64),
    /// `sw + s·k·R`.
    RiskMultiple(f64),
}

/// One row of the §5 table.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LevelRule {
    /// buffer = `buffer_factor · atr`, or `buffer_factor · size` when atr = 0.
    buffer_factor: f64,
    entry: EntryPoint,
    /// R multiples of TP1..TP3 when the swing is not beyond the entry. TP1 uses `fallback[0]`
    /// in the swing case too.
    fallback: [f64; 3],
    /// Imbalance only: TP1 is capped at the swing target.
    cap_tp1_at_swing: bool,
    tp3_extension: Tp3Extension,
}

/// §5 table, imbalance row.
const IMBALANCE_RULE: LevelRule = LevelRule {
    buffer_factor: 0.5,
    entry: EntryPoint::NearEdge,
    fallback: [1.0, 2.0, 3.0],
    cap_tp1_at_swing: true,
    tp3_extension: Tp3Extension::SwingDistance(0.5),
};

/// §5 table, order_block row.
const ORDER_BLOCK_RULE: LevelRule = LevelRule {
    buffer_factor: 0.3,
    entry: EntryPoint::Mid,
    fallback: [1.0, 2.0, 3.0],
    cap_tp1_at_swing: false,
    tp3_extension: Tp3Extension::RiskMultiple(1.0),
};

/// §5 table, liquidity_sweep row.
const SWEEP_RULE: LevelRule = LevelRule {
    buffer_factor: 0.2,
    entry: EntryPoint::NearEdge,
    fallback: [1.5, 2.5, 4.0],
    cap_tp1_at_swing: false,
    tp3_extension: Tp3Extension::SwingDistance(0.618),
};

const fn rule(pattern_type: PatternType) -> LevelRule {
    match pattern_type {
        PatternType::Imbalance => IMBALANCE_RULE,
        PatternType::OrderBlock => ORDER_BLOCK_RULE,
        PatternType::LiquiditySweep => SWEEP_RULE,
    }
}

/// `+1` for bullish, `-1` for bearish: the direction in which profits grow.
pub(crate) const fn sign(direction: Direction) -> f64 {
    match direction {
        Direction::Bullish => 1.0,
        Direction::Bearish => -1.0,
    }
}

/// Rounds half away from zero to `decimals` places.
pub(crate) fn round_to(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// The entry, stop, three take-profits, risk and rounded reward/risk ratios of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TradingLevels {
    /// Limit entry price.
    pub entry: f64,
    /// Stop loss.
    pub stop_loss: f64,
    /// First take-profit.
    pub tp1: f64,
    /// Second take-profit.
    pub tp2: f64,
    /// Third take-profit.
    pub tp3: f64,
    /// `R`: `entry − stop` (bullish) or `stop − entry` (bearish); may be `<= 0` for a
    /// degenerate zone.
    pub risk: f64,
    /// `|tp1 − entry| / R` rounded to 2 decimals, 0 when `R <= 0`.
    pub rr1: f64,
    /// `|tp2 − entry| / R`, as `rr1`.
    pub rr2: f64,
    /// `|tp3 − entry| / R`, as `rr1`.
    pub rr3: f64,
}

/// `RR = |tp − entry| / R` rounded to 2 decimals, or 0 when `R <= 0` (§5).
pub fn reward_risk(tp: f64, entry: f64, risk: f64) -> f64 {
    if risk > 0.0 {
        round_to((tp - entry).abs() / risk, RR_DECIMALS)
    } else {
        0.0
    }
}

/// The §5 trading levels of a new pattern.
pub fn trading_levels(
    pattern_type: PatternType,
    direction: Direction,
    zone: &Zone,
    inputs: &LevelInputs,
) -> TradingLevels {
    let r = rule(pattern_type);
    let s = sign(direction);
    let buffer = if inputs.atr > 0.0 {
        r.buffer_factor * inputs.atr
    } else {
        r.buffer_factor * zone.size()
    };
    let (near_edge, far_edge) = match direction {
        Direction::Bullish => (zone.high(), zone.low()),
        Direction::Bearish => (zone.low(), zone.high()),
    };
    let entry = match r.entry {
        EntryPoint::NearEdge => near_edge,
        EntryPoint::Mid => zone.mid(),
    };
    let stop_loss = far_edge - s * buffer;
    let risk = s * (entry - stop_loss);
    let at = |k: f64| entry + s * k * risk;

    let target = match direction {
        Direction::Bullish => inputs.swing_high,
        Direction::Bearish => inputs.swing_low.filter(|sl| *sl > 0.0),
    }
    .filter(|sw| s * (sw - entry) > 0.0);

    let [k1, k2, k3] = r.fallback;
    let (tp1, tp2, tp3) = match target {
        Some(sw) => {
            let tp1 = if r.cap_tp1_at_swing {
                // min(entry + R, sh) bullish, max(entry − R, sl) bearish: the nearer one.
                entry + s * (k1 * risk).min(s * (sw - entry))
            } else {
                at(k1)
            };
            let tp3 = match r.tp3_extension {
                Tp3Extension::SwingDistance(f) => sw + f * (sw - entry),
                Tp3Extension::RiskMultiple(k) => sw + s * k * risk,
            };
            (tp1, sw, tp3)
        }
        None => (at(k1), at(k2), at(k3)),
    };

    TradingLevels {
        entry,
        stop_loss,
        tp1,
        tp2,
        tp3,
        risk,
        rr1: reward_risk(tp1, entry, risk),
        rr2: reward_risk(tp2, entry, risk),
        rr3: reward_risk(tp3, entry, risk),
    }
}

/// Portfolio trade formulas (product.md §7). Every function is total: a ratio whose
/// denominator is 0 (or not finite) is `None` rather than an infinity or NaN.
pub mod trade {
    use serde::{Deserialize, Serialize};

    use crate::Direction;

    /// Percent scale of the `…%` values.
    const PERCENT: f64 = 100.0;

    /// Trade side: `long` or `short` (a bullish pattern or signal becomes `long`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
                Direction::Bullish => Side::Long,
                Direction::Bearish => Side::Short,
            }
        }
    }

    fn ratio(num: f64, den: f64) -> Option<f64> {
        let q = num / den;
        (den != 0.0 && q.is_finite()).then_some(q)
    }

    /// Long: `(exit − entry)·qty − fees`; short: `(entry − exit)·qty − fees`.
    pub fn pnl(side: Side, entry: f64, exit: f64, quantity: f64, fees: f64) -> f64 {
        let per_unit = match side {
            Side::Long => exit - entry,
            Side::Short => entry - exit,
        };
        per_unit * quantity - fees
    }

    /// `PnL / (entry·qty) · 100`; `None` when `entry·qty` is 0.
    pub fn pnl_pct(pnl: f64, entry: f64, quantity: f64) -> Option<f64> {
        ratio(pnl, entry * quantity).map(|r| r * PERCENT)
    }

    /// Default risk amount: `|entry − SL|·qty`.
    pub fn risk_amount(entry: f64, stop_loss: f64, quantity: f64) -> f64 {
        (entry - stop_loss).abs() * quantity
    }

    /// R multiple: `PnL / risk amount`; `None` (null) when the risk is 0.
    pub fn r_multiple(pnl: f64, risk_amount: f64) -> Option<f64> {
        ratio(pnl, risk_amount)
    }

    /// `risk / balance at open · 100`; `None` when the balance is 0.
    pub fn risk_pct(risk_amount: f64, balance_at_open: f64) -> Option<f64> {
        ratio(risk_amount, balance_at_open).map(|r| r * PERCENT)
    }

    /// Prefilled quantity from the user's risk per trade:
    /// `balance × risk% / |entry − SL|`; `None` when entry equals the stop.
    pub fn prefill_quantity(
        balance: f64,
        risk_per_trade_pct: f64,
        entry: f64,
        stop_loss: f64,
    ) -> Option<f64> {
        ratio(
            balance * risk_per_trade_pct / PERCENT,
            (entry - stop_loss).abs(),
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn close(a: f64, b: f64) -> bool {
            (a - b).abs() < 1e-9
        }

        #[test]
        fn long_pnl_is_exit_minus_entry_times_quantity_minus_fees() {
            assert!(close(pnl(Side::Long, 100.0, 110.0, 2.0, 1.5), 18.5));
        }

        #[test]
        fn short_pnl_is_entry_minus_exit_times_quantity_minus_fees() {
            assert!(close(pnl(Side::Short, 100.0, 110.0, 2.0, 1.5), -21.5));
        }

        #[test]
        fn pnl_percent_is_relative_to_the_position_value() {
            assert_eq!(pnl_pct(18.5, 100.0, 2.0), Some(9.25));
            assert_eq!(pnl_pct(1.0, 100.0, 0.0), None);
        }

        #[test]
        fn r_is_pnl_over_risk_and_null_without_risk() {
            let risk = risk_amount(100.0, 95.0, 2.0);
            assert_eq!(risk, 10.0);
            assert_eq!(r_multiple(18.5, risk), Some(1.85));
            assert_eq!(r_multiple(18.5, 0.0), None);
        }

        #[test]
        fn risk_percent_is_relative_to_the_balance_at_open() {
            assert_eq!(risk_pct(10.0, 1_000.0), Some(1.0));
            assert_eq!(risk_pct(10.0, 0.0), None);
        }

        #[test]
        fn prefill_quantity_risks_the_users_percent_of_the_balance() {
            // 10 000 × 1% = 100 at risk; |100 − 95| = 5 per unit → 20 units.
            assert_eq!(prefill_quantity(10_000.0, 1.0, 100.0, 95.0), Some(20.0));
            // Short: |100 − 104| = 4 → 25 units.
            assert_eq!(prefill_quantity(10_000.0, 1.0, 100.0, 104.0), Some(25.0));
            assert_eq!(prefill_quantity(10_000.0, 1.0, 100.0, 100.0), None);
        }

        #[test]
        fn a_bullish_direction_trades_long() {
            assert_eq!(Side::from(Direction::Bullish), Side::Long);
            assert_eq!(Side::from(Direction::Bearish), Side::Short);
            assert_eq!(serde_json::to_string(&Side::Short).unwrap(), "\"short\"");
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A candle with the given OHLC at row `i` (ts = i minutes).
    pub(crate) fn candle(i: usize, o: f64, h: f64, l: f64, c: f64) -> Candle {
        Candle::new(i as i64 * 60_000, o, h, l, c, 1.0).unwrap()
    }

    /// Flat candles with high `h` and low `l`, open = close = mid.
    pub(crate) fn bar(i: usize, h: f64, l: f64) -> Candle {
        let m = (h + l) / 2.0;
        candle(i, m, h, l, m)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn zone(low: f64, high: f64) -> Zone {
        Zone::new(low, high).unwrap()
    }

    fn inputs(atr: f64, sh: Option<f64>, sl: Option<f64>) -> LevelInputs {
        LevelInputs {
            atr,
            swing_high: sh,
            swing_low: sl,
        }
    }

    #[test]
    fn true_range_uses_the_previous_close_when_there_is_one() {
        let prev = candle(0, 10.0, 10.0, 10.0, 10.0);
        let gap_up = candle(1, 12.0, 13.0, 12.0, 12.5);
        assert_eq!(true_range(&gap_up, None), 1.0);
        assert_eq!(true_range(&gap_up, Some(&prev)), 3.0);
        let gap_down = candle(1, 8.0, 8.5, 7.0, 8.0);
        assert_eq!(true_range(&gap_down, Some(&prev)), 3.0);
    }

    #[test]
    fn atr_is_zero_with_fewer_than_fourteen_candles() {
        let candles: Vec<_> = (0..13).map(|i| bar(i, 11.0, 9.0)).collect();
        assert_eq!(atr(&candles), 0.0);
    }

    #[test]
    fn atr_of_exactly_fourteen_candles_uses_high_minus_low_for_the_first() {
        // First candle range 14 (no predecessor); the other 13 have range 1 and closes at 10,
        // so each true range is 1. Mean = (14 + 13) / 14.
        let mut candles = vec![bar(0, 17.0, 3.0)];
        candles.extend((1..14).map(|i| bar(i, 10.5, 9.5)));
        assert!(close(atr(&candles), 27.0 / 14.0));
    }

    #[test]
    fn atr_uses_only_the_last_fourteen_and_the_real_predecessor() {
        // Row 0 closes at 20; rows 1..=14 are [9.5, 10.5] bars closing at 10.
        // Row 1's true range against row 0's close is |9.5 − 20| = 10.5; the others 1.
        let mut candles = vec![candle(0, 20.0, 20.0, 20.0, 20.0)];
        candles.extend((1..15).map(|i| bar(i, 10.5, 9.5)));
        assert!(close(atr(&candles), (10.5 + 13.0) / 14.0));
    }

    #[test]
    fn swing_high_is_the_highest_strict_fractal_in_the_window() {
        // 60 candles at 10; fractal highs of 12 (row 20) and 11 (row 40); the newest row (59)
        // is excluded from the window so its 99 does not count, and row 8 (< len − 51 = 9)
        // holds 50, outside the window too.
        let mut candles: Vec<_> = (0..60).map(|i| bar(i, 10.0, 9.0)).collect();
        candles[20] = bar(20, 12.0, 9.0);
        candles[40] = bar(40, 11.0, 9.0);
        candles[59] = bar(59, 99.0, 9.0);
        candles[8] = bar(8, 50.0, 9.0);
        assert_eq!(swing_high(&candles), Some(12.0));
    }

    #[test]
    fn a_fractal_needs_all_four_neighbours_inside_the_window() {
        // len 60: window rows 9..=58. Row 10 is the max but has only one left neighbour in the
        // window; row 57 has only one right neighbour in the window. Row 30 is a fractal of 11.
        let mut candles: Vec<_> = (0..60).map(|i| bar(i, 10.0, 9.0)).collect();
        candles[10] = bar(10, 15.0, 9.0);
        candles[57] = bar(57, 14.0, 9.0);
        candles[30] = bar(30, 11.0, 9.0);
        assert_eq!(swing_high(&candles), Some(11.0));
    }

    #[test]
    fn an_equal_neighbour_breaks_a_strict_fractal_and_the_max_high_is_the_fallback() {
        // A plateau of two 12s is no strict fractal; there is no other, so the max high (12).
        let mut candles: Vec<_> = (0..30).map(|i| bar(i, 10.0, 9.0)).collect();
        candles[10] = bar(10, 12.0, 9.0);
        candles[11] = bar(11, 12.0, 9.0);
        candles[29] = bar(29, 30.0, 9.0); // newest row: excluded
        assert_eq!(swing_high(&candles), Some(12.0));
    }

    #[test]
    fn swing_low_mirrors_swing_high() {
        let mut candles: Vec<_> = (0..30).map(|i| bar(i, 10.0, 9.0)).collect();
        candles[10] = bar(10, 10.0, 7.0);
        candles[20] = bar(20, 10.0, 8.0);
        candles[28] = bar(28, 10.0, 1.0); // only one right neighbour in the window
        assert_eq!(swing_low(&candles), Some(7.0));
        candles[10] = bar(10, 10.0, 9.0);
        candles[20] = bar(20, 10.0, 9.0);
        // No fractal left: the min low of the window, 1.
        assert_eq!(swing_low(&candles), Some(1.0));
    }

    #[test]
    fn fewer_than_two_candles_have_no_swing() {
        assert_eq!(swing_high(&[]), None);
        assert_eq!(swing_high(&[bar(0, 2.0, 1.0)]), None);
        assert_eq!(swing_high(&[bar(0, 2.0, 1.0), bar(1, 5.0, 1.0)]), Some(2.0));
    }

    #[test]
    fn bullish_imbalance_uses_the_swing_high_when_it_is_beyond_the_entry() {
        // zone [100, 104], atr 4 → buf 2, entry 104, stop 98, R 6.
        // sh 120: TP1 = min(110, 120) = 110, TP2 = 120, TP3 = 120 + 0.5·16 = 128.
        let l = trading_levels(
            PatternType::Imbalance,
            Direction::Bullish,
            &zone(100.0, 104.0),
            &inputs(4.0, Some(120.0), None),
        );
        assert_eq!((l.entry, l.stop_loss, l.risk), (104.0, 98.0, 6.0));
        assert_eq!((l.tp1, l.tp2, l.tp3), (110.0, 120.0, 128.0));
        assert_eq!((l.rr1, l.rr2, l.rr3), (1.0, 2.67, 4.0));
    }

    #[test]
    fn bullish_imbalance_caps_tp1_at_a_near_swing_high() {
        // R 6, sh 107 < entry + R = 110 → TP1 = 107; TP3 = 107 + 0.5·3 = 108.5.
        let l = trading_levels(
            PatternType::Imbalance,
            Direction::Bullish,
            &zone(100.0, 104.0),
            &inputs(4.0, Some(107.0), None),
        );
        assert_eq!((l.tp1, l.tp2, l.tp3), (107.0, 107.0, 108.5));
        assert_eq!(l.rr1, 0.5);
    }

    #[test]
    fn bullish_imbalance_falls_back_to_r_multiples_without_a_swing_beyond_entry() {
        // atr 0 → buf = 0.5·size = 2; entry 104, stop 98, R 6 → 110 / 116 / 122.
        for sh in [None, Some(104.0), Some(90.0)] {
            let l = trading_levels(
                PatternType::Imbalance,
                Direction::Bullish,
                &zone(100.0, 104.0),
                &inputs(0.0, sh, None),
            );
            assert_eq!(
                (l.stop_loss, l.tp1, l.tp2, l.tp3),
                (98.0, 110.0, 116.0, 122.0)
            );
            assert_eq!((l.rr1, l.rr2, l.rr3), (1.0, 2.0, 3.0));
        }
    }

    #[test]
    fn bearish_imbalance_mirrors_with_the_swing_low() {
        // zone [100, 104], atr 4 → buf 2; entry 100, stop 106, R 6.
        // sl 80: TP1 = max(94, 80) = 94, TP2 = 80, TP3 = 80 − 0.5·20 = 70.
        let l = trading_levels(
            PatternType::Imbalance,
            Direction::Bearish,
            &zone(100.0, 104.0),
            &inputs(4.0, None, Some(80.0)),
        );
        assert_eq!((l.entry, l.stop_loss, l.risk), (100.0, 106.0, 6.0));
        assert_eq!((l.tp1, l.tp2, l.tp3), (94.0, 80.0, 70.0));
        assert_eq!((l.rr1, l.rr2, l.rr3), (1.0, 3.33, 5.0));
        // A near swing low caps TP1: max(94, 97) = 97.
        let near = trading_levels(
            PatternType::Imbalance,
            Direction::Bearish,
            &zone(100.0, 104.0),
            &inputs(4.0, None, Some(97.0)),
        );
        assert_eq!((near.tp1, near.tp2, near.tp3), (97.0, 97.0, 95.5));
    }

    #[test]
    fn a_swing_low_of_zero_counts_as_none() {
        let l = trading_levels(
            PatternType::Imbalance,
            Direction::Bearish,
            &zone(100.0, 104.0),
            &inputs(4.0, None, Some(0.0)),
        );
        assert_eq!((l.tp1, l.tp2, l.tp3), (94.0, 88.0, 82.0));
    }

    #[test]
    fn bullish_order_block_enters_at_the_mid() {
        // zone [100, 110], atr 10 → buf 3; entry 105, stop 97, R 8.
        // sh 130: TP1 = 113, TP2 = 130, TP3 = 138. Fallback: 113 / 121 / 129.
        let z = zone(100.0, 110.0);
        let l = trading_levels(
            PatternType::OrderBlock,
            Direction::Bullish,
            &z,
            &inputs(10.0, Some(130.0), None),
        );
        assert_eq!((l.entry, l.stop_loss, l.risk), (105.0, 97.0, 8.0));
        assert_eq!((l.tp1, l.tp2, l.tp3), (113.0, 130.0, 138.0));
        assert_eq!((l.rr1, l.rr2, l.rr3), (1.0, 3.13, 4.13));
        let f = trading_levels(
            PatternType::OrderBlock,
            Direction::Bullish,
            &z,
            &inputs(10.0, None, None),
        );
        assert_eq!((f.tp1, f.tp2, f.tp3), (113.0, 121.0, 129.0));
    }

    #[test]
    fn bearish_order_block_mirrors_with_buffer_from_the_size_when_atr_is_zero() {
        // zone [100, 110], atr 0 → buf 0.3·10 = 3; entry 105, stop 113, R 8.
        // sl 90: TP1 = 97, TP2 = 90, TP3 = 82.
        let l = trading_levels(
            PatternType::OrderBlock,
            Direction::Bearish,
            &zone(100.0, 110.0),
            &inputs(0.0, None, Some(90.0)),
        );
        assert_eq!((l.entry, l.stop_loss, l.risk), (105.0, 113.0, 8.0));
        assert_eq!((l.tp1, l.tp2, l.tp3), (97.0, 90.0, 82.0));
    }

    #[test]
    fn bullish_sweep_uses_one_and_a_half_r_and_the_golden_extension() {
        // zone [100, 105], atr 10 → buf 2; entry 105, stop 98, R 7.
        // sh 125: TP1 = 115.5, TP2 = 125, TP3 = 125 + 0.618·20 = 137.36.
        let l = trading_levels(
            PatternType::LiquiditySweep,
            Direction::Bullish,
            &zone(100.0, 105.0),
            &inputs(10.0, Some(125.0), None),
        );
        assert_eq!((l.entry, l.stop_loss, l.risk), (105.0, 98.0, 7.0));
        assert!(close(l.tp1, 115.5) && close(l.tp2, 125.0) && close(l.tp3, 137.36));
        assert_eq!((l.rr1, l.rr2, l.rr3), (1.5, 2.86, 4.62));
    }

    #[test]
    fn bearish_sweep_falls_back_to_its_own_r_multiples() {
        // zone [100, 105], atr 0 → buf 0.2·5 = 1; entry 100, stop 106, R 6.
        // Swing low 101 is not below the entry: 91 / 85 / 76.
        let l = trading_levels(
            PatternType::LiquiditySweep,
            Direction::Bearish,
            &zone(100.0, 105.0),
            &inputs(0.0, None, Some(101.0)),
        );
        assert_eq!((l.entry, l.stop_loss, l.risk), (100.0, 106.0, 6.0));
        assert!(close(l.tp1, 91.0) && close(l.tp2, 85.0) && close(l.tp3, 76.0));
        assert_eq!((l.rr1, l.rr2, l.rr3), (1.5, 2.5, 4.0));
    }

    #[test]
    fn reward_risk_rounds_to_two_decimals_and_is_zero_without_risk() {
        assert_eq!(reward_risk(103.0, 100.0, 9.0), 0.33);
        assert_eq!(reward_risk(106.0, 100.0, 9.0), 0.67);
        assert_eq!(reward_risk(90.0, 100.0, 8.0), 1.25);
        assert_eq!(reward_risk(110.0, 100.0, 0.0), 0.0);
        assert_eq!(reward_risk(110.0, 100.0, -1.0), 0.0);
    }

    #[test]
    fn a_point_zone_without_atr_has_zero_risk_and_zero_ratios() {
        let l = trading_levels(
            PatternType::Imbalance,
            Direction::Bullish,
            &zone(100.0, 100.0),
            &inputs(0.0, Some(120.0), None),
        );
        assert_eq!(l.risk, 0.0);
        assert_eq!((l.rr1, l.rr2, l.rr3), (0.0, 0.0, 0.0));
    }

    #[test]
    fn level_inputs_combine_atr_and_both_swings() {
        let mut candles: Vec<_> = (0..20).map(|i| bar(i, 11.0, 9.0)).collect();
        candles[10] = bar(10, 13.0, 7.0);
        let li = LevelInputs::from_candles(&candles);
        assert_eq!(li.swing_high, Some(13.0));
        assert_eq!(li.swing_low, Some(7.0));
        assert!(li.atr > 0.0);
    }
}
