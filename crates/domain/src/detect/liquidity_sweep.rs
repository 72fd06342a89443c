//! Liquidity sweep (detection.md §3): a candle that pierces an earlier swing level and closes
//! back on the other side of it.

use super::{detection, Gate, Mode};
use crate::{Candle, Detection, DetectionParams, Direction, PatternType, Zone};

/// A swing: its row and its price (high for a swing high, low for a swing low).
type Swing = (usize, f64);

/// Finds liquidity sweeps in `candles`, in emission order.
///
/// Swing highs are the rows k (with `w` = [`DetectionParams::swing_half_width`] full
/// neighbours on each side) whose high is the max of `high[k−w..=k+w]`, ties counting; swing
/// lows mirror this. For each i from [`DetectionParams::sweep_first_row`], the swings with
/// index in `[i − sweep_max_age, i − sweep_min_age]` are tried oldest first:
/// bullish when `low[i] < swing_low < close[i]` (zone `[low[i], swing_low]`), bearish when
/// `high[i] > swing_high > close[i]` (zone `[swing_high, high[i]]`). Candidates that are empty,
/// not above 0 or too small are skipped; the first that passes the size test ends that
/// direction's search at i, even when the dedup then rejects it. `swept_level` is the swing
/// price. Fewer than [`DetectionParams::sweep_min_candles`] candles give nothing.
///
/// Cost: O(n·w) for the swings, then each i visits only the swings inside its window.
pub fn detect(candles: &[Candle], mode: Mode, params: &DetectionParams) -> Vec<Detection> {
    let mut out = Vec::new();
    if candles.len() < params.sweep_min_candles {
        return out;
    }
    let (highs, lows) = swings(candles, params.swing_half_width);
    let mut gate = Gate::new(mode, params);
    // Index of the oldest swing still inside the window; windows only move forward.
    let (mut first_high, mut first_low) = (0, 0);
    for (i, c) in candles.iter().enumerate().skip(params.sweep_first_row) {
        let Some(newest) = i.checked_sub(params.sweep_min_age) else {
            continue;
        };
        let oldest = i.saturating_sub(params.sweep_max_age);
        first_low = advance(&lows, first_low, oldest);
        first_high = advance(&highs, first_high, oldest);
        let bullish = in_window(&lows, first_low, newest)
            .filter(|&level| c.low() < level && level < c.close())
            .find_map(|level| sized(c.low(), level, params).map(|z| (z, level)));
        let bearish = in_window(&highs, first_high, newest)
            .filter(|&level| c.high() > level && level > c.close())
            .find_map(|level| sized(level, c.high(), params).map(|z| (z, level)));

        for (direction, found) in [(Direction::Bullish, bullish), (Direction::Bearish, bearish)] {
            let Some((zone, level)) = found else {
                continue;
            };
            if gate.admit(direction, zone) {
                out.extend(detection(
                    candles,
                    i,
                    PatternType::LiquiditySweep,
                    direction,
                    zone,
                    Some(level),
                ));
            }
        }
    }
    out
}

/// The candidate zone `[low, high]` when it is non-empty, above 0 and passes the size test.
#[inline]
fn sized(low: f64, high: f64, params: &DetectionParams) -> Option<Zone> {
    if high <= low || low <= 0.0 {
        return None;
    }
    Zone::new(low, high)
        .ok()
        .filter(|z| z.passes_size(params.min_zone_pct))
}

/// The swing prices from position `from` up to index `newest`, oldest first.
#[inline]
fn in_window(swings: &[Swing], from: usize, newest: usize) -> impl Iterator<Item = f64> + '_ {
    swings
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(move |&&(k, _)| k <= newest)
        .map(|&(_, p)| p)
}

/// Moves `from` past the swings older than `oldest`.
#[inline]
fn advance(swings: &[Swing], mut from: usize, oldest: usize) -> usize {
    while swings.get(from).is_some_and(|&(k, _)| k < oldest) {
        from += 1;
    }
    from
}

/// Swing highs and lows as `(index, price)`, oldest first. Row k qualifies when it has `w`
/// rows on each side (k in `[w, n−1−w]`) and its high (low) is the max (min) of
/// `k−w..=k+w`; an equal neighbour does not disqualify it.
fn swings(candles: &[Candle], w: usize) -> (Vec<Swing>, Vec<Swing>) {
    let (mut highs, mut lows) = (Vec::new(), Vec::new());
    for (k, around) in candles
        .windows(2 * w + 1)
        .enumerate()
        .map(|(s, win)| (s + w, win))
    {
        let Some(c) = around.get(w) else { continue };
        if around.iter().all(|o| o.high() <= c.high()) {
            highs.push((k, c.high()));
        }
        if around.iter().all(|o| o.low() >= c.low()) {
            lows.push((k, c.low()));
        }
    }
    (highs, lows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testutil::{candles, summary, walk, Ohlc};
    use proptest::prelude::*;

    /// A flat candle: every row of a flat run is a swing high (100.1) and low (99.9).
    const FLAT: Ohlc = (100.0, 100.1, 99.9, 100.0);

    fn with(n: usize, changes: &[(usize, Ohlc)]) -> Vec<Candle> {
        let mut rows = vec![FLAT; n];
        for &(k, row) in changes {
            rows[k] = row;
        }
        candles(&rows)
    }

    fn p() -> DetectionParams {
        DetectionParams::default()
    }

    fn bull(i: usize, low: f64, high: f64) -> (usize, Direction, f64, f64) {
        (i, Direction::Bullish, low, high)
    }

    #[test]
    fn a_wick_below_a_swing_low_that_closes_above_it_is_a_bullish_sweep() {
        // Arrange / Act
        let c = with(20, &[(15, (100.0, 100.05, 99.5, 100.05))]);
        let d = detect(&c, Mode::Raw, &p());
        // Assert
        assert_eq!(summary(&d), vec![bull(15, 99.5, 99.9)]);
        assert_eq!(d[0].swept_level, Some(99.9));
        assert_eq!(d[0].detected_at, 15 * 60_000);
    }

    #[test]
    fn one_candle_can_sweep_both_sides_bullish_first() {
        let c = with(20, &[(15, (100.0, 100.5, 99.5, 100.0))]);
        let d = detect(&c, Mode::Raw, &p());
        assert_eq!(
            summary(&d),
            vec![bull(15, 99.5, 99.9), (15, Direction::Bearish, 100.1, 100.5)]
        );
        assert_eq!(d[1].swept_level, Some(100.1));
    }

    #[test]
    fn the_oldest_swing_that_passes_the_size_test_wins() {
        // Arrange: swing lows 99.7 at row 5 and 99.8 at row 12.
        let changes = [
            (5, (100.0, 100.1, 99.7, 100.0)),
            (12, (100.0, 100.1, 99.8, 100.0)),
        ];
        let mut deep = changes.to_vec();
        deep.push((20, (100.0, 100.1, 99.0, 100.0)));
        let mut shallow = changes.to_vec();
        shallow.push((20, (100.0, 100.1, 99.6, 100.0)));
        // Act
        let deep = detect(&with(30, &deep), Mode::Raw, &p());
        let shallow = detect(&with(30, &shallow), Mode::Raw, &p());
        // Assert: the deep wick takes row 5's level; the shallow one is only 0.1% below it,
        // too small, so it falls to row 12's level (0.2%).
        assert_eq!(summary(&deep), vec![bull(20, 99.0, 99.7)]);
        assert_eq!(summary(&shallow), vec![bull(20, 99.6, 99.8)]);
    }

    #[test]
    fn a_first_passing_candidate_rejected_by_dedup_still_ends_the_search() {
        // Arrange: swing lows 99.7 (row 5) and 99.1 (row 14, a candle closing below 99.7).
        // Row 20 sweeps 99.7: zone [99.0, 99.7]. Row 28 sweeps 99.7 again: [98.5, 99.7],
        // which the dedup rejects; row 14's [98.5, 99.1] would pass, but is never tried.
        let c = with(
            32,
            &[
                (5, (100.0, 100.1, 99.7, 100.0)),
                (14, (99.5, 99.6, 99.1, 99.2)),
                (20, (100.0, 100.1, 99.0, 100.0)),
                (28, (100.0, 100.1, 98.5, 100.0)),
            ],
        );
        // Act
        let raw = detect(&c, Mode::Raw, &p());
        let dedup = detect(&c, Mode::Dedup, &p());
        // Assert
        assert_eq!(
            summary(&raw),
            vec![bull(20, 99.0, 99.7), bull(28, 98.5, 99.7)]
        );
        assert_eq!(summary(&dedup), vec![bull(20, 99.0, 99.7)]);
    }

    #[test]
    fn equal_neighbours_both_count_as_swings() {
        // Arrange: rows 6 and 7 share the low 99.5; a strict definition would find neither.
        let c = with(
            26,
            &[
                (6, (100.0, 100.1, 99.5, 100.0)),
                (7, (100.0, 100.1, 99.5, 100.0)),
            ],
        );
        // Act
        let (_, lows) = swings(&c, 3);
        // Assert
        assert!(lows.contains(&(6, 99.5)) && lows.contains(&(7, 99.5)));
        // And a sweep of that level closing below the flat 99.9 lows is found through them.
        let mut rows = vec![FLAT; 26];
        rows[6] = (100.0, 100.1, 99.5, 100.0);
        rows[7] = (100.0, 100.1, 99.5, 100.0);
        rows[20] = (99.6, 99.8, 99.0, 99.7);
        let d = detect(&candles(&rows), Mode::Raw, &p());
        assert_eq!(summary(&d), vec![bull(20, 99.0, 99.5)]);
    }

    #[test]
    fn swings_need_three_full_rows_on_each_side() {
        let c = with(
            12,
            &[
                (2, (100.0, 100.1, 99.0, 100.0)),
                (9, (100.0, 100.1, 99.0, 100.0)),
            ],
        );
        let (highs, lows) = swings(&c, 3);
        let ks: Vec<usize> = highs.iter().map(|&(k, _)| k).collect();
        assert_eq!(ks, vec![3, 4, 5, 6, 7, 8]);
        // Rows 2 and 9 are the lowest but lack room; their neighbours within 3 rows are not
        // minima either.
        assert!(lows.is_empty());
    }

    #[test]
    fn swings_from_i_minus_50_to_i_minus_4_are_considered() {
        let sweep = (99.6, 99.8, 99.0, 99.7);
        // The level's own candle closes below the flat lows, so it sweeps nothing itself.
        let level = (99.7, 99.8, 99.5, 99.6);
        // Newest end: a swing at i − 4 counts. (One at i − 3 never can: row i's lower low lies
        // within its 3 neighbours.)
        let at = |k: usize, i: usize| detect(&with(30, &[(k, level), (i, sweep)]), Mode::Raw, &p());
        assert_eq!(summary(&at(16, 20)), vec![bull(20, 99.0, 99.5)]);
        assert!(at(17, 20).is_empty());
        // Oldest end: i − 50 counts, i − 51 does not.
        let old =
            |k: usize, i: usize| detect(&with(70, &[(k, level), (i, sweep)]), Mode::Raw, &p());
        assert_eq!(summary(&old(10, 60)), vec![bull(60, 99.0, 99.5)]);
        assert!(old(10, 61).is_empty());
    }

    #[test]
    fn fewer_than_twenty_candles_give_nothing() {
        let row = (15, (100.0, 100.05, 99.5, 100.05));
        assert!(detect(&with(19, &[row]), Mode::Raw, &p()).is_empty());
        assert_eq!(detect(&with(20, &[row]), Mode::Raw, &p()).len(), 1);
    }

    #[test]
    fn the_loop_starts_at_row_ten() {
        let c = with(25, &[(9, (100.0, 100.05, 99.5, 100.05))]);
        assert!(detect(&c, Mode::Raw, &p()).is_empty());
        let c = with(25, &[(10, (100.0, 100.05, 99.5, 100.05))]);
        assert_eq!(
            summary(&detect(&c, Mode::Raw, &p())),
            vec![bull(10, 99.5, 99.9)]
        );
    }

    /// The spec's algorithm written directly: every window rescanned, plain loops.
    fn reference(c: &[Candle], params: &DetectionParams) -> Vec<(usize, Direction, f64, f64)> {
        let n = c.len();
        let w = 3;
        let mut out = Vec::new();
        if n < 20 {
            return out;
        }
        let is_high = |k: usize| (k - w..=k + w).all(|m| c[m].high() <= c[k].high());
        let is_low = |k: usize| (k - w..=k + w).all(|m| c[m].low() >= c[k].low());
        for i in 10..n {
            let ks: Vec<usize> = (i.saturating_sub(50)..=i - 4)
                .filter(|&k| k >= w && k + w < n)
                .collect();
            for &k in &ks {
                let sl = c[k].low();
                if is_low(k) && c[i].low() < sl && sl < c[i].close() {
                    let z = Zone::new(c[i].low(), sl).unwrap();
                    if z.passes_size(params.min_zone_pct) {
                        out.push((i, Direction::Bullish, z.low(), z.high()));
                        break;
                    }
                }
            }
            for &k in &ks {
                let sh = c[k].high();
                if is_high(k) && c[i].high() > sh && sh > c[i].close() {
                    let z = Zone::new(sh, c[i].high()).unwrap();
                    if z.passes_size(params.min_zone_pct) {
                        out.push((i, Direction::Bearish, z.low(), z.high()));
                        break;
                    }
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn raw_detection_matches_the_direct_definition(seed in any::<u64>(), n in 0usize..400) {
            let c = walk(n, seed);
            let params = DetectionParams { min_zone_pct: 0.05, ..p() };
            prop_assert_eq!(summary(&detect(&c, Mode::Raw, &params)), reference(&c, &params));
        }
    }
}
